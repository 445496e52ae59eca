// The `parity` check's page: boots Pyodide with the wheels `serve` ships and plays examples of one
// browser step through mugkit.checks.browser_side, for mugkit/checks/browser.py (Playwright).
// Every call answers data, never throws: a failure to load is an answer the check reports.

const status = (text) => { document.getElementById("status").textContent = text; };

let pyodide = null;
let side = null;

async function loadRuntime(desc) {
  // TEMPORARY until mugkit/web/static/client/runtime/boot.js lands: Pyodide from the check's own
  // server, then each wheel unpacked (mugkit's into site-packages, the experiment's into its
  // study folder, so node ids resolve from desc.rootdir as on the server).
  const { loadPyodide } = await import(desc.pyodide.indexURL + "pyodide.mjs");
  const py = await loadPyodide({ indexURL: desc.pyodide.indexURL, stdout: (s) => console.log(s),
                                 stderr: (s) => console.error(s) });
  if (desc.packages.length) await py.loadPackage(desc.packages);
  const site = py.runPython("import sysconfig; sysconfig.get_paths()['purelib']");
  for (const wheel of desc.wheels) {
    const response = await fetch(wheel.url, { integrity: wheel.integrity });
    if (!response.ok) throw new Error(`${wheel.url}: HTTP ${response.status}`);
    py.unpackArchive(await response.arrayBuffer(), "wheel", { extractDir: wheel.extractDir || site });
  }
  // Folders listed before the unpacking (site-packages) may be cached by the import system.
  py.runPython("import importlib; importlib.invalidate_caches()");
  return py;
}

async function boot(desc) {
  const started = performance.now();
  try {
    status("loading Pyodide…");
    pyodide = await loadRuntime(desc);
    side = pyodide.pyimport("mugkit.checks.browser_side");
    status("loading the step…");
    const answer = JSON.parse(side.load(JSON.stringify({ step: desc.node, rootdir: desc.rootdir })));
    answer.seconds = (performance.now() - started) / 1000;
    status(answer.ok ? "ready" : "the step did not load");
    return answer;
  } catch (err) {
    status("Pyodide did not load");
    return { ok: false, error: { type: err?.name || "Error", message: String(err?.message || err),
                                 traceback: [], stage: "boot" } };
  }
}

async function play(request) {
  try {
    return JSON.parse(side.play(JSON.stringify(request)));
  } catch (err) {
    return { hashes: [], error: { type: err?.name || "Error", message: String(err?.message || err), traceback: [] } };
  }
}

// For looking into a failure by hand (page.evaluate("c => window.mugkitParity.python(c)", code)).
const python = (code) => String(pyodide.runPython(code));

window.mugkitParity = { boot, play, python };
status("runner ready");
