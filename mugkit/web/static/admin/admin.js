// The live admin page (mugkit/web/admin_live.py): polls /admin/live.json every 2 s and redraws
// its tables in place; its controls POST JSON with the page's CSRF token.

const POLL_MS = 2000;
const csrf = document.querySelector("meta[name=mugkit-csrf]").content;
let last = null;          // the last data drawn
let excluding = null;     // the participant the exclusion form is open for
const seen = {};          // browser game -> [time, frame] at the last poll: its rows' rate

const esc = (v) => String(v ?? "").replace(/[&<>"']/g, (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c]));
const when = (t) => (t ? new Date(t * 1000).toLocaleTimeString() : "");

function table(rows, columns, cell = (r, c) => esc(r[c])) {
  if (!rows.length) return "<p class=none>none</p>";
  const head = columns.map((c) => `<th>${esc(c.replaceAll("_", " "))}</th>`).join("");
  const body = rows.map((r) => `<tr>${columns.map((c) => `<td>${cell(r, c)}</td>`).join("")}</tr>`).join("");
  return `<table><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>`;
}

function fill(id, html, count) {
  const section = document.getElementById(id);
  section.querySelector(".body").innerHTML = html;
  section.querySelector(".count").textContent = count === undefined ? "" : `(${count})`;
}

function draw(d) {
  last = d;
  const paused = d.entries.paused;
  document.getElementById("entries").innerHTML = paused
    ? `<b class=warn>New entries paused</b> by ${esc(d.entries.by)} at ${when(d.entries.at)} <button data-entries=resume>Resume new entries</button>`
    : `New entries open <button data-entries=pause>Pause new entries</button>`;
  const banner = document.getElementById("banner");
  banner.hidden = !d.paused;
  banner.textContent = d.paused ? `The study is paused: ${d.paused_text || d.paused}` : "";

  const statuses = [...new Set(d.steps.flatMap((s) => Object.keys(s).filter((k) => k !== "experiment" && k !== "step")))].sort();
  const outcomes = ["completed", "screened_out", "excluded", "timed_out", "declined", "error"];
  fill("experiments", table(d.experiments, ["experiment", "participants", "active", ...outcomes, "games_running"],
                            (r, c) => esc(r[c] ?? 0)));
  fill("steps", table(d.steps, ["experiment", "step", ...statuses], (r, c) => esc(r[c] ?? (statuses.includes(c) ? 0 : ""))));
  fill("participants", table(d.participants, ["participant", "experiment", "step", "connected", "where", "since", ""], (r, c) => {
    if (c === "connected") return r.connected ? "yes" : r.connected === null ? "<span class=muted>?</span>" : "<span class=muted>no</span>";
    if (c === "where") return r.game ? `game <code>${esc(r.game)}</code>` : r.waiting ? "<b>waiting for partners</b>" : "";
    if (c === "since") return when(r.since);
    if (c === "") {
      const end = r.waiting ? `<button data-end="${esc(r.participant)}">End wait</button> ` : "";
      return `${end}<button class=danger data-exclude="${esc(r.participant)}">Exclude…</button>`;
    }
    return c === "participant" ? `<code>${esc(r[c])}</code>` : esc(r[c]);
  }), d.active);
  fill("games", table(d.games, ["game", "runtime", "players", "frame", "fps", "p99 late ms", "process"], (r, c) => {
    if (c === "fps" && r.fps != null) return `${esc(r.fps)} <span class=muted>/ ${esc(r["target fps"])}</span>`;
    if (c === "fps") return rowsRate(r, d.now);
    return esc(r[c]);
  }), d.games.length);
  fill("exclusions", table(d.exclusions, ["participant", "experiment", "status", "reason", "what they read", "step", "at"], (r, c) => {
    if (c === "what they read") return esc(r.text);
    if (c === "at") return when(r.at);
    return c === "participant" ? `<code>${esc(r[c])}</code>` : esc(r[c]);
  }), d.excluded);
  fill("actions", table(d.actions, ["at", "by", "action", "participant", "text"], (r, c) => (c === "at" ? when(r.at) : esc(r[c]))));
  fill("processes", table(d.processes, ["process", "server games", "browser games", "connected", "p99 late ms", "CPU s", "memory MB"]), d.processes.length);
  document.getElementById("status").textContent = `updated ${when(d.now)}`;
  document.getElementById("status").className = "";
}

// A game in a browser is not clocked by the server: its frame rate is estimated from how fast its
// rows are stored (they come in batches, so the estimate is rough).
function rowsRate(r, now) {
  const before = seen[r.game];
  seen[r.game] = [now, r.frame];
  if (!before || r.frame == null || r.frame <= before[1] || now <= before[0]) return "<span class=muted>—</span>";
  return `<span class=muted title="from the rows stored">≈ ${((r.frame - before[1]) / (now - before[0])).toFixed(0)}</span>`;
}

async function poll() {
  try {
    const r = await fetch("/admin/live.json", {cache: "no-store"});
    if (r.status === 403) throw new Error("not signed in: open the admin link printed when the server started");
    const d = await r.json().catch(() => ({error: `HTTP ${r.status}`}));
    if (!r.ok) throw new Error(d.error || `HTTP ${r.status}`);
    draw(d);
  } catch (e) {
    const s = document.getElementById("status");
    s.textContent = `not updated: ${e.message}`;
    s.className = "warn";
  }
  setTimeout(poll, POLL_MS);
}

const DONE = {
  "/admin/exclude": (b) => `Participant ${b.participant} excluded.`,
  "/admin/end": (b) => `The wait of participant ${b.participant} ended (timed out, with the timeout code).`,
  "/admin/entries": (b) => (b.paused ? "New entries paused: new arrivals are turned away." : "New entries open again."),
};

async function post(path, body) {
  const r = await fetch(path, {method: "POST", headers: {"content-type": "application/json", "x-mugkit-csrf": csrf},
                               body: JSON.stringify(body)});
  const reply = await r.json().catch(() => ({ok: false, error: `HTTP ${r.status}`}));
  const notice = document.getElementById("notice");
  notice.textContent = reply.ok ? DONE[path](body) : `Not done: ${reply.error}`;
  notice.className = reply.ok ? "ok" : "warn";
  const fresh = await fetch("/admin/live.json", {cache: "no-store"});
  if (fresh.ok) draw(await fresh.json());
  return reply;
}

const form = document.getElementById("exclude-form");
document.addEventListener("click", (e) => {
  const b = e.target.closest("button");
  if (!b) return;
  if (b.dataset.exclude) {
    excluding = b.dataset.exclude;
    document.getElementById("exclude-who").textContent = excluding;
    form.hidden = false;
    document.getElementById("exclude-text").focus();
  } else if (b.dataset.end) {
    post("/admin/end", {participant: b.dataset.end});
  } else if (b.dataset.entries) {
    post("/admin/entries", {paused: b.dataset.entries === "pause"});
  } else if (b.id === "exclude-cancel") {
    form.hidden = true;
    excluding = null;
  }
});
form.addEventListener("submit", (e) => {
  e.preventDefault();
  if (!excluding) return;
  post("/admin/exclude", {participant: excluding, text: document.getElementById("exclude-text").value});
  form.hidden = true;
  excluding = null;
});

poll();
