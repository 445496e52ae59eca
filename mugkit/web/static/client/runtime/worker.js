// The browser runtime's Web Worker: Pyodide, the experiment and the game's clock, off the page's
// thread, so drawing and input stay smooth. Everything about a frame happens in Python
// (mugkit/runtime/browser_game.py: the same frame driver as the server); this file keeps time,
// runs ONNX models (onnx.js) and passes messages.
//
// Page → worker: {type: "start", boot, record, hold, peer}, {type: "keys", message}, {type: "go"}, {type: "stop"}.
// Worker → page: {type: "progress", stage, loaded, total},
//   {type: "loaded", stages, bytes, cached, diverged, warm, games},
//   {type: "frame", text} (a `frame` message as JSON text), {type: "rows", text} (tagged JSON),
//   {type: "timing", fps, late_ms}, {type: "paused"}, {type: "finished"}, {type: "failed", stage, package, reason}.
// `hold`: the clock waits for `go` after loading, and again after each episode but the last
// (`paused`), while the page shows the screens around the game (ready, countdown, round over).
//
// The clock runs on absolute deadlines with setTimeout, never requestAnimationFrame (a hidden tab
// stops animation frames). A machine too slow for the step's fps plays every frame late rather
// than skipping any: the lateness is in each row (late_ms) and the page shows a notice.
//
// Peer mode (`peer`: the game view's `peer` object, a browser game with several humans): the game
// is mugkit.runtime.peer_game.PeerGame (mugkit.browser.open_peer_game), its clock and packets are
// in runtime/peer_play.js, which lists the messages peer mode adds. A peer reloaded mid-game
// (`peer.rejoin`) is not started: it waits for a `rejoin` message with a survivor's package.
//
// One worker plays the browser games of a page one after another (runtime/pool.js): Python,
// mugkit, the study's packages and its ONNX sessions stay loaded, and a later `start` loads only
// what its step adds (`loaded` then says `warm: true`; `games` counts this worker's games). Each
// game is opened afresh from its spec (a new env from the step function, its own seed); the
// experiment module stays imported, as it does in the server's process (boot.js replaces it when
// a step ships other files). A game that raised is never followed here: the page ends this
// worker and starts a new one.

import {bootPython, lastLine, LoadError, missingModule, STUDY_DIR, topUpPython} from "./boot.js";
import {attachModels, loadOrt, prefetch} from "./onnx.js";
import {flushPackets, flushRecords, gameStats, jsBuffer, pyBytesList, receiver, runPeer} from "./peer_play.js";

const ROWS_EVERY_MS = 250;   // how often played rows go to the page (then to the server)

let python = null;  // {py, have, ort, models, games}: kept from one game to the next
let state = null;   // the game playing: {py, game, ort, sessions, browserAi, period, stopped, hold, paused}

const post = (message, transfer = []) => self.postMessage(message, transfer);

function fail(stage, reason, pkg = null) {
  post({type: "failed", stage, package: pkg, reason: String(reason)});
}

async function openGame(py, boot, peer = null) {
  try {
    const browser = py.pyimport("mugkit.browser");
    if (peer) return browser.open_peer_game(boot.spec, STUDY_DIR, JSON.stringify(peer));
    return browser.open_game(boot.spec, STUDY_DIR);
  } catch (err) {
    const text = String(err?.message ?? err);
    const missing = missingModule(text);
    const reason = missing
      ? `the experiment imports ${missing}, which is not available in the browser: declare it in the step's packages=, or keep that import out of browser steps (${lastLine(text)})`
      : lastLine(text);
    throw new LoadError("experiment", reason, missing);
  }
}

/** Loads Python for the first game, or what the next game lacks in the Python kept. */
async function ready(boot) {
  const onProgress = (p) => post({type: "progress", ...p});
  if (python) return topUpPython(python.py, boot, python.have, onProgress);
  const booted = await bootPython(boot, onProgress);
  python = {py: booted.py, have: booted.have, ort: null, models: new Map(), games: 0};
  return booted;
}

async function start({boot, record, hold = false, peer = null}) {
  if (state && !state.stopped) return fail("worker", "a game is still playing in this worker");
  const warm = python !== null;
  let booted;
  try {
    booted = await ready(boot);
  } catch (err) {
    return fail(err.stage || "download", err.message, err.package);
  }
  const {py, progress} = booted;
  python.games += 1;
  try {
    progress.begin("experiment");
    const game = await openGame(py, boot, peer);
    const browserAi = py.pyimport("mugkit.runtime.browser_ai");
    let sessions = null;
    // (ONNX policies are not run in peer games yet: a rollback re-simulates frames the model
    // answers were fetched for one by one.)
    const keys = peer ? [] : modelKeys(browserAi, game.driver);
    if (keys.length) {
      // A stage only when something opens: a later game's models may all be open already.
      if (keys.some((key) => !python.models.has(key))) progress.begin("models");
      if (!boot.ort) throw new LoadError("models", "this server does not serve onnxruntime-web", "onnxruntime-web");
      python.ort = python.ort || await loadOrt(boot.ort);
      sessions = await attachModels(python.ort, browserAi, game.driver, python.models);
    }
    state = {py, game, ort: python.ort, sessions, browserAi, period: 1000 / game.driver.options.fps, stopped: false,
      hold: Boolean(hold), paused: Boolean(hold), peer: peer ? {receive: receiver(py), rejoin: Boolean(peer.rejoin)} : null};
    progress.begin("resume");
    if (peer) beginPeer();
    else await begin(record);
    progress.end();
    const diverged = peer ? null : game.divergence() ?? null;   // a resumed replay that did not match the record
    post({type: "loaded", stages: progress.stages, bytes: progress.loaded, cached: booted.cached, diverged,
      warm, games: python.games});
  } catch (err) {
    return fail(err.stage || "experiment", err instanceof LoadError ? err.message : lastLine(err?.message ?? err),
      err.package ?? null);
  }
  if (!state.paused) play();
}

/** A peer's game starts at once (frame 0 drawn, the clock held); a rejoining one waits. */
function beginPeer() {
  if (!state.peer.rejoin) post({type: "frame", text: state.game.start()});
}

function play() {
  if (!state.peer) return run();
  const s = state;
  runPeer(s, {post, fail, crashReason, finished: () => {
    if (state !== s) return;
    release();
    post({type: "finished"});
  }});
}

/** The keys (hashes of the bytes) of the game's ONNX models. */
function modelKeys(browserAi, driver) {
  const files = browserAi.model_files(driver);
  const keys = [];
  try {
    for (let i = 0; i < files.length; i++) {
      const file = files.get(i);
      keys.push(file.key);
      file.destroy();
    }
  } finally {
    files.destroy();
  }
  return keys;
}

/** The game is over: its Python objects go; Python itself stays for the page's next game. */
function release() {
  const {game, browserAi, peer} = state;
  state.stopped = true;
  state = null;
  game.destroy();
  browserAi.destroy();
  peer?.receive.destroy();
}

/** What the env raised, where the game stood and the line of the experiment's code that raised
 * (the researcher reads it in the server's log and the `game_load_failed` event):
 * "RuntimeError: boom (the game stood at episode 0, frame 49) (envs/walk.py:8 in step)": the last
 * frame played, whether the next step() or the drawing of that frame raised. */
function crashReason(err) {
  const text = String(err?.message ?? err);
  let reason = lastLine(text);
  try {
    const position = state.game.position.toJs();
    reason += ` (the game stood at episode ${position[0]}, frame ${position[1]})`;
  } catch (_) { /* the game object is gone: the message alone */ }
  const lines = [...text.matchAll(/File "([^"]+)", line (\d+), in (\S+)/g)];
  const mine = lines.filter((m) => m[1].startsWith(`${STUDY_DIR}/`));
  const where = mine.length ? mine[mine.length - 1] : lines[lines.length - 1];
  if (where) reason += ` (${where[1].replace(`${STUDY_DIR}/`, "")}:${where[2]} in ${where[3]})`;
  return reason;
}

/** Starts the game, or re-simulates the recorded episode after a reload. */
async function begin(record) {
  const {game} = state;
  if (!record) {
    post({type: "frame", text: game.start()});
    return;
  }
  game.resume(record);
  while (game.replaying) {
    await prefetch(state.ort, state.browserAi, game.driver, state.sessions);
    game.replay_step();
  }
  post({type: "frame", text: game.snapshot()});
}

function sendRows(s = state) {
  const text = s.game.take_rows();
  if (text !== undefined && text !== null) post({type: "rows", text});
}

/** The clock: one tick per period on absolute deadlines. */
function run() {
  const s = state;   // this game's: a later game's state is never ticked by this loop
  const {period} = s;
  let deadline = performance.now() + period;
  let lastRows = performance.now();
  let played = 0;
  let windowStart = performance.now();
  let worstLate = 0;
  const tick = async () => {
    if (s.stopped) return;
    const now = performance.now();
    const late = now - deadline;
    // After a long stall (a suspended laptop), count again from now instead of a burst of frames.
    deadline = late < 5 * period ? deadline + period : now + period;
    try {
      await prefetch(s.ort, s.browserAi, s.game.driver, s.sessions);
      const text = s.game.tick((performance.timeOrigin + now) / 1000, Math.max(0, late));
      if (text !== undefined && text !== null) {
        post({type: "frame", text});
        played += 1;
        worstLate = Math.max(worstLate, late);
      }
    } catch (err) {
      sendRows(s);
      return fail("game", crashReason(err));
    }
    if (now - lastRows >= ROWS_EVERY_MS || s.game.finished) {
      sendRows(s);
      lastRows = now;
    }
    if (now - windowStart >= 1000) {
      post({type: "timing", fps: (played * 1000) / (now - windowStart), late_ms: Math.max(0, worstLate)});
      played = 0;
      worstLate = 0;
      windowStart = now;
    }
    if (s.game.finished) {
      sendRows(s);
      release();
      post({type: "finished"});
      return;
    }
    if (state.hold && state.game.between_episodes) {   // the page shows the round over; `go` goes on
      sendRows();
      state.paused = true;
      post({type: "paused"});
      return;
    }
    setTimeout(tick, Math.max(0, deadline - performance.now()));
  };
  setTimeout(tick, Math.max(0, deadline - performance.now()));
}

self.onmessage = ({data}) => {
  if (!data || typeof data !== "object") return;
  if (data.type === "start") {
    start(data);
  } else if (data.type === "keys" && state) {
    const {seq, held = [], down = [], up = [], t = null} = data.message;
    state.game.key_message(seq, held, down, up, t);
  } else if (data.type === "go" && state?.paused) {
    state.paused = false;
    play();
  } else if (data.type === "stop" && state) {
    state.stopped = true;
  } else if (state?.peer) {
    peerMessage(data);
  }
};

/** Peer mode's messages from the page (runtime/peer_play.js lists them). */
function peerMessage(data) {
  const s = state;
  const {game, py} = s;
  try {
    if (data.type === "packet") {
      if (s.peer.rejoin) return;   // not playing yet: the session resends what it sends
      s.peer.receive(game, data.from, new Uint8Array(data.data));
      if (!s.paused) flushPackets(game, post);
    } else if (data.type === "hidden") {
      game.set_hidden(Boolean(data.hidden));
    } else if (data.type === "package_request") {
      const buffer = jsBuffer(game.rejoin_package(data.for));
      post({type: "package", for: data.for, data: buffer}, [buffer]);
    } else if (data.type === "rejoin" && s.peer.rejoin) {
      s.peer.rejoin = false;
      const packages = pyBytesList(py, data.data);
      try {
        post({type: "frame", text: game.rejoin(packages)});
      } finally {
        packages.destroy();
      }
      flushPackets(game, post);
      flushRecords(game, post);
      s.paused = false;
      play();
    } else if (data.type === "drop_peer") {
      game.drop_peer(data.peer);
    } else if (data.type === "stats") {
      post({type: "stats", stats: gameStats(game)});
    }
  } catch (err) {
    fail("game", crashReason(err));
  }
}
