// The `parity` check's page (mugkit/checks/browser.py drives it with Playwright): Pyodide booted by
// the browser runtime's own loader (boot.js: the pinned Pyodide, the wheels `serve` ships), the
// step's ONNX models opened in onnxruntime-web (onnx.js), and examples played through
// mugkit.checks.browser_side, with the model runs prefetched before every tick exactly as the
// browser runtime's worker does. Every call answers data and never rejects: a failure to load is
// an answer the check reports.

import {bootPython, STUDY_DIR} from "/client/runtime/boot.js";
import {createSessions, loadOrt, prefetch} from "/client/runtime/onnx.js";

const TO_JS = {dict_converter: Object.fromEntries, create_pyproxies: false};
const status = (text) => { document.getElementById("status").textContent = text; };

let py = null;
let side = null;
let browserAi = null;
let models = null;   // {ort, sessions, metadata} when the step's AIs use ONNX models

function errorOf(err, stage) {
  return {type: err?.name || "Error", message: String(err?.message ?? err), traceback: [], stage,
          package: err?.package ?? null};
}

async function openModels(ortUrl) {
  const files = side.model_files();
  const list = files.toJs(TO_JS);
  files.destroy();
  const ort = await loadOrt(ortUrl);
  const {sessions, metadata} = await createSessions(ort, list);
  return {ort, sessions, metadata};
}

/** Boots Pyodide with `desc.boot` (a game view's boot, minus the spec) and loads `desc.node`. */
async function boot(desc) {
  const started = performance.now();
  try {
    status("loading Pyodide…");
    py = (await bootPython(desc.boot)).py;
  } catch (err) {
    status("Pyodide did not load");
    return {ok: false, error: errorOf(err, err?.stage || "boot")};
  }
  try {
    side = py.pyimport("mugkit.checks.browser_side");
    browserAi = py.pyimport("mugkit.runtime.browser_ai");
    status("loading the step…");
    const answer = JSON.parse(side.load(JSON.stringify({node: desc.node, study: STUDY_DIR, folder: desc.folder})));
    if (answer.ok && answer.models > 0) {
      status("opening the models…");
      models = await openModels(desc.boot.ort);
    }
    answer.seconds = (performance.now() - started) / 1000;
    status(answer.ok ? "ready" : "the step did not load");
    return answer;
  } catch (err) {
    status("the step did not load");
    return {ok: false, error: errorOf(err, "experiment")};
  }
}

/** Plays one example `{seed, keys, frames, data_at}`; resolves to browser_side.Example's answer. */
async function play(request) {
  const example = side.Example(JSON.stringify(request));
  try {
    if (models && example.driver) {
      for (const [key, meta] of Object.entries(models.metadata)) browserAi.attach(example.driver, key, meta);
    }
    example.begin();
    while (example.ready()) {
      if (models) {
        try {
          await prefetch(models.ort, browserAi, example.driver, models.sessions);
        } catch (err) {
          example.fail(`onnxruntime-web: ${err?.message ?? err}`);
          break;
        }
      }
      example.step();
    }
    return JSON.parse(example.finish());
  } catch (err) {
    return {hashes: [], error: errorOf(err, "play")};
  } finally {
    example.destroy();
  }
}

// For looking into a failure by hand: page.evaluate("c => window.mugkitParity.python(c)", code).
const python = (code) => String(py.runPython(code));

window.mugkitParity = {boot, play, python};
status("runner ready");
