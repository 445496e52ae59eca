// The `rollback` check's page in Chromium (mugkit/checks/rollback_browser.py opens one per human
// and drives them with Playwright): Pyodide booted by the browser runtime's own loader (boot.js),
// the step loaded by mugkit.checks.browser_side, then one peer of each scenario played by
// mugkit.checks.rollback_browser_side.Peer (a PeerGame) on a clock of the step's fps, its packets
// carried by the browser runtime's own WebRTC mesh (net/mesh.js) with the scenario's latency,
// jitter and loss injected on send. There is no server: the check's Python takes each page's
// signals (`takeSignals`) and hands them to their peer (`giveSignals`). Every call answers data
// and never rejects: a failure is an answer the check reports.

import {bootPython, STUDY_DIR} from "/client/runtime/boot.js";
import {createSessions, loadOrt, prefetch} from "/client/runtime/onnx.js";
import {Mesh} from "/client/net/mesh.js";

const TO_JS = {dict_converter: Object.fromEntries, create_pyproxies: false};
const status = (text) => { document.getElementById("status").textContent = text; };

let py = null;
let side = null;
let sideRoll = null;
let browserAi = null;
let models = null;   // {ort, sessions, metadata} when the step's AIs use ONNX models
let run = null;      // the scenario being played: {peer, mesh, signals, stopped, failure}

function errorOf(err, stage) {
  return {type: err?.name || "Error", message: String(err?.message ?? err), traceback: [], stage};
}

async function boot(desc) {
  try {
    status("loading Pyodide…");
    py = (await bootPython(desc.boot)).py;
  } catch (err) {
    return {ok: false, error: errorOf(err, err?.stage || "boot")};
  }
  try {
    side = py.pyimport("mugkit.checks.browser_side");
    sideRoll = py.pyimport("mugkit.checks.rollback_browser_side");
    browserAi = py.pyimport("mugkit.runtime.browser_ai");
    const answer = JSON.parse(side.load(JSON.stringify({node: desc.node, study: STUDY_DIR, folder: desc.folder})));
    if (answer.ok && answer.models > 0) {
      const files = side.model_files();
      const list = files.toJs(TO_JS);
      files.destroy();
      const ort = await loadOrt(desc.boot.ort);
      models = {ort, ...(await createSessions(ort, list))};
    }
    status(answer.ok ? "ready" : "the step did not load");
    return answer;
  } catch (err) {
    return {ok: false, error: errorOf(err, "experiment")};
  }
}

/** Sets up one scenario's peer and connects its mesh: `{request, peers, netem, fps}`. */
function open(scenario) {
  close();
  const peer = sideRoll.Peer(JSON.stringify(scenario.request));
  const state = {peer, signals: [], stopped: false, failure: null, fps: scenario.fps};
  const error = peer.error;
  if (error !== undefined && error !== null) {
    state.failure = JSON.parse(peer.report()).error;
    run = state;
    return {ok: false, error: state.failure};
  }
  if (models && peer.driver) {
    for (const [key, meta] of Object.entries(models.metadata)) browserAi.attach(peer.driver, key, meta);
  }
  const receive = py.runPython("lambda peer, sender, data: peer.receive(sender, data)");
  state.receive = receive;
  state.mesh = new Mesh({
    me: scenario.request.me, peers: scenario.peers, ice: {iceServers: [], iceTransportPolicy: "all"},
    relay: "auto", openTimeoutMs: scenario.open_timeout_ms, loopbackOnly: true, netem: scenario.netem,
    sendSignal: (to, data) => state.signals.push([to, data]),
    onPacket: (from, data) => { if (!state.stopped) receive(peer, from, new Uint8Array(data)); },
  });
  run = state;
  state.mesh.start();
  return {ok: true};
}

function takeSignals() {
  return run ? run.signals.splice(0) : [];
}

async function giveSignals(list) {
  for (const [from, data] of list) await run?.mesh?.onSignal(from, data);
  return true;
}

/** Every channel's path: {peer: "direct"|"pending"|"relay"} (relay: it did not open in time). */
function paths() {
  return run?.mesh ? run.mesh.states() : {};
}

function flush(state) {
  const proxy = state.peer.take_packets();
  const list = proxy.toJs();
  proxy.destroy();
  for (const [to, data] of list) state.mesh.send(to, data.slice().buffer);
}

/** Starts the clock: one tick per 1000/fps ms on absolute deadlines, until stopped. */
function go() {
  const state = run;
  const period = 1000 / state.fps;
  state.peer.start();
  state.startedAt = performance.now();
  let deadline = performance.now();
  const tick = async () => {
    if (state.stopped) return;
    try {
      if (models) await prefetch(models.ort, browserAi, state.peer.driver, models.sessions);
      state.peer.tick(performance.now());
      flush(state);
    } catch (err) {
      state.failure = errorOf(err, "play");
      return;
    }
    deadline += period;
    const now = performance.now();
    if (deadline < now - 5 * period) deadline = now;   // far behind (a busy machine): no burst
    setTimeout(tick, Math.max(0, deadline - now));
  };
  tick();
  return true;
}

/** Where the peer is: {done, confirmed, played, failure, elapsed_ms (since `go`)}. */
function progress() {
  if (!run) return {done: true, confirmed: 0, played: 0, failure: null, elapsed_ms: 0};
  return {done: run.failure !== null || run.peer.done, confirmed: run.peer.confirmed, played: run.peer.played,
    failure: run.failure, elapsed_ms: run.startedAt === undefined ? 0 : performance.now() - run.startedAt};
}

/** Stops the clock (the connections stay open until `finish`). */
function stop() {
  if (run) run.stopped = true;
  return true;
}

/** Gives the peer's report (rows, events, stats) with the mesh's paths and round trips, then
 *  closes the peer and its connections. */
async function finish() {
  const state = run;
  state.stopped = true;
  const mesh = state.mesh ? await state.mesh.stats() : null;
  const report = JSON.parse(state.peer.report());
  report.mesh = mesh;
  if (state.failure && !report.error) report.error = state.failure;
  close();
  return report;
}

function close() {
  if (!run) return;
  run.stopped = true;
  run.mesh?.close();
  run.receive?.destroy();
  run.peer?.destroy();
  run = null;
}

// For benchmarks and looking into a failure by hand: page.evaluate("c => window.mugkitRollback.python(c)", code).
const python = (code) => String(py.runPython(code));

window.mugkitRollback = {boot, open, takeSignals, giveSignals, paths, go, progress, stop, finish, python};
status("runner ready");
