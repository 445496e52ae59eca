// The test's module worker: onnx.js exactly as the browser runtime's worker imports it.
import {ORT_VERSION, attachModels, createSessions, loadOrt, prefetch, runModels} from "/static/client/runtime/onnx.js";

let ort = null;
let sessions = new Map();
let pyodide = null;

const methods = {
  async load({models}) {
    ort ??= await loadOrt(`/runtime/onnxruntime-web/${ORT_VERSION}/`);
    const opened = await createSessions(ort, models.map((m) => ({...m, data: Uint8Array.from(m.data)})));
    for (const [key, session] of opened.sessions) sessions.set(key, session);
    return opened.metadata;
  },
  async run({runs}) {
    return runModels(ort, sessions, runs);
  },
  // Pyodide in this worker plays a game whose ONNX players run through onnxruntime-web.
  async playInPyodide({wheels, code}) {
    ort ??= await loadOrt(`/runtime/onnxruntime-web/${ORT_VERSION}/`);
    const {loadPyodide} = await import("/pyodide/pyodide.mjs");
    pyodide ??= await loadPyodide({indexURL: "/pyodide/"});
    for (const {url, dir} of wheels) {
      const bytes = new Uint8Array(await (await fetch(url)).arrayBuffer());
      pyodide.FS.mkdirTree(dir);
      pyodide.unpackArchive(bytes, "wheel", {extractDir: dir});
    }
    pyodide.runPython(code);  // defines new_driver(), tick(driver, i) and result(driver)
    const browserAi = pyodide.pyimport("mugkit.runtime.browser_ai");
    const driver = pyodide.globals.get("new_driver")();
    const gameSessions = await attachModels(ort, browserAi, driver);
    const tick = pyodide.globals.get("tick");
    let runs = 0;
    for (let i = 0; !driver.finished && i < 100000; i++) {
      runs += await prefetch(ort, browserAi, driver, gameSessions);
      if (!tick(driver, i)) break;
    }
    const result = pyodide.globals.get("result")(driver);
    return {runs, result, numpy: pyodide.runPython("import sys; 'numpy' in sys.modules")};
  },
};

self.onmessage = async ({data: {id, method, args}}) => {
  try {
    self.postMessage({id, ok: true, value: await methods[method](args)});
  } catch (err) {
    self.postMessage({id, ok: false, error: `${err?.message ?? err}`});
  }
};
