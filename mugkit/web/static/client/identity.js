// What this browser keeps per experiment in localStorage: the participant id and resume token the
// server gave it (so a reload resumes), and the last `seq` of each game's `keys` messages (so a
// reload keeps them increasing). Falls back to memory when storage is unavailable.

const memory = new Map();

function read(key) {
  try {
    const value = localStorage.getItem(key);
    return value === null ? memory.get(key) ?? null : value;
  } catch {
    return memory.get(key) ?? null;
  }
}

function write(key, value) {
  memory.set(key, value);
  try {
    localStorage.setItem(key, value);
  } catch {
    // Storage full or blocked (private windows, iframes): memory keeps it for this page.
  }
}

const prefix = (experiment) => `mugkit:${experiment}:`;

/** {participant, resume} from an earlier visit, or nulls. */
export function loadIdentity(experiment) {
  try {
    const saved = JSON.parse(read(prefix(experiment) + "identity") || "null");
    return {
      participant: typeof saved?.participant === "string" ? saved.participant : null,
      resume: typeof saved?.resume === "string" ? saved.resume : null,
    };
  } catch {
    return {participant: null, resume: null};
  }
}

/** Keep the server's `identity` message for reloads. */
export function saveIdentity(experiment, {participant, resume}) {
  write(prefix(experiment) + "identity", JSON.stringify({participant, resume}));
}

/** The last `seq` sent for `game` (-1 when none was). */
export function loadSeq(experiment, game) {
  const value = Number.parseInt(read(prefix(experiment) + "seq:" + game) ?? "", 10);
  return Number.isFinite(value) ? value : -1;
}

export function saveSeq(experiment, game, seq) {
  write(prefix(experiment) + "seq:" + game, String(seq));
}
