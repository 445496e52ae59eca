// One peer's game in the browser runtime's worker (runtime/worker.js, peer mode): the clock and
// the packets around mugkit.runtime.peer_game.PeerGame. Everything about the game — the rollback
// session, inputs, checksums, rows — is in that Python object; this file keeps time and moves
// bytes between it and the page (which owns the WebRTC connections: net/mesh.js).
//
// Worker → page: {type: "packets", list: [[to, ArrayBuffer], …]} (transferred),
//   {type: "events", text} (a JSON list, PeerGame.take_events), {type: "stats", stats},
//   {type: "package", for, data: ArrayBuffer}, plus the worker's frame/rows/timing/finished/failed.
// Page → worker: {type: "packet", from, data: ArrayBuffer}, {type: "hidden", hidden},
//   {type: "package_request", for}, {type: "rejoin", data: [ArrayBuffer, …]} (one package per survivor), {type: "drop_peer", peer},
//   {type: "stats"}.
//
// Unlike a single-player browser game the clock never holds between episodes: the peers play on
// together (a peer that paused would stall the others).

const ROWS_EVERY_MS = 250;
// After the last frame (PeerGame.finished: every peer holds the inputs to confirm it), received
// packets are still answered this long, for a peer whose last acknowledgement was lost.
const LINGER_MS = 1000;

/** A Python callable that hands a JS Uint8Array to PeerGame.receive as bytes. */
export function receiver(py) {
  return py.runPython("lambda game, sender, data: game.receive(sender, data.to_bytes())");
}

/** A Python list of the bytes of ArrayBuffers (converted on the Python side). */
export function pyBytesList(py, buffers) {
  const convert = py.runPython("lambda items: [d.to_bytes() for d in items]");
  try {
    return convert(buffers.map((b) => new Uint8Array(b)));
  } finally {
    convert.destroy();
  }
}

/** A JS copy of Python bytes, as an ArrayBuffer that can be transferred. */
export function jsBuffer(value) {
  if (value instanceof Uint8Array) return value.slice().buffer;
  const u8 = value.toJs();
  value.destroy?.();
  return u8.slice().buffer;
}

/** Posts the packets the game wants sent now (one message, buffers transferred). */
export function flushPackets(game, post) {
  const proxy = game.take_packets();
  if (!proxy) return;
  let list;
  try {
    list = proxy.toJs();
  } finally {
    proxy.destroy?.();
  }
  if (!list.length) return;
  const out = list.map(([to, data]) => [to, data instanceof Uint8Array ? data.slice().buffer : jsBuffer(data)]);
  post({type: "packets", list: out}, out.map(([, buffer]) => buffer));
}

/** Posts what the game queued for the server: rows (tagged JSON) and events (JSON). */
export function flushRecords(game, post) {
  const rows = game.take_rows();
  if (rows !== undefined && rows !== null) post({type: "rows", text: rows});
  const events = game.take_events();
  if (events !== undefined && events !== null) post({type: "events", text: events});
}

/** The game's statistics as a plain object. */
export function gameStats(game) {
  const proxy = game.stats();
  try {
    return proxy.toJs({dict_converter: Object.fromEntries});
  } finally {
    proxy.destroy?.();
  }
}

/**
 * The clock of one peer's game: one tick per period on absolute deadlines (setTimeout, which a
 * hidden tab does not stop in a worker). `s`: {game, period, stopped}; `hooks`: {post, fail,
 * crashReason, finished}.
 */
export function runPeer(s, {post, fail, crashReason, finished}) {
  const {period, game} = s;
  let deadline = performance.now() + period;
  let lastRows = performance.now();
  let windowStart = performance.now();
  let ticks = 0;      // (not frames: a game stalled for a peer is no slow computer)
  let worstLate = 0;
  const tick = () => {
    if (s.stopped) return;
    const now = performance.now();
    const late = now - deadline;
    deadline = late < 5 * period ? deadline + period : now + period;
    try {
      const text = game.tick(now, (performance.timeOrigin + now) / 1000, Math.max(0, late));
      flushPackets(game, post);
      ticks += 1;
      worstLate = Math.max(worstLate, late);
      if (text !== undefined && text !== null) post({type: "frame", text});
      if (now - lastRows >= ROWS_EVERY_MS || game.finished) {
        flushRecords(game, post);
        lastRows = now;
      }
    } catch (err) {
      try { flushRecords(game, post); } catch { /* the game is broken: what it has is lost */ }
      return fail("game", crashReason(err));
    }
    if (now - windowStart >= 1000) {
      post({type: "timing", fps: (ticks * 1000) / (now - windowStart), late_ms: Math.max(0, worstLate),
        stats: gameStats(game)});
      ticks = 0;
      worstLate = 0;
      windowStart = now;
    }
    if (game.finished) return linger(s, post, finished);
    setTimeout(tick, Math.max(0, deadline - performance.now()));
  };
  setTimeout(tick, Math.max(0, deadline - performance.now()));
}

/** The game is over here: keep answering packets a little while (received packets are handled
 *  as they come), then tell the page. */
function linger(s, post, finished) {
  s.finishedAt = performance.now();
  post({type: "stats", stats: gameStats(s.game)});
  setTimeout(() => {
    if (s.stopped) return;
    try {
      flushPackets(s.game, post);
      flushRecords(s.game, post);
    } catch { /* nothing more to send */ }
    finished();
  }, LINGER_MS);
}
