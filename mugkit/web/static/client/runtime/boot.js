// Loading the browser runtime: the pinned Pyodide from our own server, Pyodide's own packages
// (numpy …) from the package base URL, then the wheels the server built (mugkit, pure-Python
// packages, the experiment), each checked against the hash in its URL. Reports real progress
// (bytes and stages) and fails with the stage, the package and the reason — never an endless
// spinner. An ES module with no DOM use: it runs in the game's Web Worker, and in the `parity`
// check's page.

/** Where the experiment wheel is unpacked: its module loads from the same relative paths as on
 *  the server. */
export const STUDY_DIR = "/home/pyodide/study";

/** The files of the pinned Pyodide this module fetches itself, for progress (Pyodide then reads
 *  them from the HTTP cache: the server marks them immutable). */
const PYODIDE_FILES = ["pyodide.asm.wasm", "python_stdlib.zip", "pyodide.asm.mjs", "pyodide-lock.json"];

/** A failure to load, with where it happened. */
export class LoadError extends Error {
  constructor(stage, reason, pkg = null) {
    super(reason);
    this.stage = stage;
    this.package = pkg;
  }
}

/** `url` absolute against this worker or page. */
function absolute(url) {
  return new URL(url, globalThis.location?.href).href;
}

/** Fetches `url` fully, calling `onBytes(n)` as bytes arrive; resolves to the bytes. */
async function download(url, onBytes, integrity) {
  const response = await fetch(url, integrity ? {integrity} : {});
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  const reader = response.body.getReader();
  const chunks = [];
  let size = 0;
  for (;;) {
    const {done, value} = await reader.read();
    if (done) break;
    chunks.push(value);
    size += value.length;
    onBytes(value.length);
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** Times each stage and counts bytes; tells `onProgress({stage, loaded, total})`. */
class Progress {
  constructor(total, onProgress) {
    this.total = total;
    this.loaded = 0;
    this.stages = {};
    this.onProgress = onProgress;
    this.stage = null;
    this.since = performance.now();
  }

  begin(stage) {
    this.end();
    this.stage = stage;
    this.since = performance.now();
    this.tell();
  }

  end() {
    if (this.stage) this.stages[this.stage] = Math.round(performance.now() - this.since);
    this.stage = null;
  }

  bytes(n) {
    this.loaded += n;
    this.tell();
  }

  tell() {
    this.onProgress({stage: this.stage, loaded: this.loaded, total: this.total});
  }
}

/** Whether the browser had the Pyodide files cached (nothing went over the network for them). */
function fromCache(base) {
  const entries = performance.getEntriesByType?.("resource") ?? [];
  const ours = entries.filter((e) => e.name.startsWith(base) && PYODIDE_FILES.some((f) => e.name.endsWith(f)));
  return ours.length > 0 && ours.every((e) => e.transferSize === 0);
}

async function loadPyodideFiles(boot, progress) {
  const base = absolute(boot.pyodide);
  progress.begin("download");
  await Promise.all(PYODIDE_FILES.map((f) => download(base + f, (n) => progress.bytes(n))));
  progress.begin("python");
  const {loadPyodide} = await import(base + "pyodide.mjs");
  const py = await loadPyodide({indexURL: base, packageBaseUrl: absolute(boot.packages_url),
    stdout: (s) => console.log(s), stderr: (s) => console.warn(s)});
  return {py, cached: fromCache(base)};
}

async function loadPyodidePackages(py, names, baseUrl) {
  if (!names.length) return;
  const errors = [];
  try {
    await py.loadPackage(names, {messageCallback: () => {}, errorCallback: (e) => errors.push(String(e))});
  } catch (err) {
    errors.push(String(err?.message ?? err));
  }
  for (const name of names) {
    if (!(name in py.loadedPackages)) {
      const why = errors.map((e) => e.replace(/^The following error occurred while loading \S+:;?\s*/, "")).join("; ");
      throw new LoadError("packages", `${name} did not load from ${absolute(baseUrl)}: ${why || "unknown error"}`, name);
    }
  }
}

/** Unpacks the wheels not yet in `have` (a Set of wheel URLs, updated): packages into
 *  site-packages, the experiment wheel into STUDY_DIR. Another experiment wheel than the one
 *  unpacked before replaces it (`replaceStudy`). */
async function installWheels(py, wheels, progress, have) {
  const site = py.runPython("import sysconfig; sysconfig.get_paths()['purelib']");
  for (const wheel of wheels) {
    if (have.has(wheel.url)) continue;
    let data;
    try {
      data = await download(absolute(wheel.url), (n) => progress.bytes(n), wheel.integrity);
    } catch (err) {
      throw new LoadError("wheels", `${wheel.file} did not download: ${err.message}`, wheel.file);
    }
    const study = wheel.kind === "experiment";
    if (study && have.study) {
      replaceStudy(py);
      have.delete(have.study);
    }
    py.FS.mkdirTree(study ? STUDY_DIR : site);
    py.unpackArchive(data, study ? "zip" : "wheel", {extractDir: study ? STUDY_DIR : site});
    have.add(wheel.url);
    if (study) have.study = wheel.url;
  }
}

/** Before another step's experiment wheel is unpacked in a Python kept from an earlier game: the
 *  earlier step's files go, and so do the modules imported from them, so the new step sees
 *  exactly its own files and imports them afresh, as a new Python would. */
function replaceStudy(py) {
  const browser = py.pyimport("mugkit.browser");
  try {
    browser.forget_study(STUDY_DIR).destroy();
  } finally {
    browser.destroy();
  }
}

/**
 * Loads Pyodide and installs everything `boot` (a `game` view's boot, mugkit/web/protocol.py)
 * names. `onProgress({stage, loaded, total})` is told as stages begin and bytes arrive.
 * Resolves to {py, stages: {stage: ms}, bytes, cached, progress, have}; rejects with a LoadError.
 * `have` (what is installed) goes to `topUpPython` for a later game in the same Python.
 */
export async function bootPython(boot, onProgress = () => {}) {
  const have = new Set();
  const progress = new Progress(bootBytes(boot, have, true), onProgress);
  let loaded;
  try {
    loaded = await loadPyodideFiles(boot, progress);
  } catch (err) {
    throw err instanceof LoadError ? err : new LoadError(progress.stage || "download", `Pyodide did not load: ${err.message}`, "pyodide");
  }
  const {py, cached} = loaded;
  await install(py, boot, progress, have);
  return {py, stages: progress.stages, bytes: progress.loaded, cached, progress, have};
}

/**
 * Readies a Python that `bootPython` loaded for an earlier game for the game `boot` describes:
 * loads the Pyodide packages and installs the wheels it lacks (`have`, updated), nothing else.
 * Resolves like `bootPython` (`cached`: true, nothing of Pyodide loaded again).
 */
export async function topUpPython(py, boot, have, onProgress = () => {}) {
  const progress = new Progress(bootBytes(boot, have, false), onProgress);
  await install(py, boot, progress, have);
  return {py, stages: progress.stages, bytes: progress.loaded, cached: true, progress, have};
}

async function install(py, boot, progress, have) {
  progress.begin("packages");
  const missing = (boot.pyodide_packages || []).filter((name) => !(name in py.loadedPackages));
  await loadPyodidePackages(py, missing, boot.packages_url);
  progress.begin("wheels");
  await installWheels(py, boot.wheels || [], progress, have);
  progress.end();
}

/** The bytes a boot downloads: Pyodide's files (on a first load) and the wheels not in `have`. */
function bootBytes(boot, have, first) {
  const pyodideBytes = first ? Object.values(boot.sizes || {}).reduce((a, b) => a + b, 0) : 0;
  return pyodideBytes + (boot.wheels || []).filter((w) => !have.has(w.url)).reduce((a, w) => a + (w.bytes || 0), 0);
}

/** The module a Python exception says is missing (`No module named 'x'`), or null. */
export function missingModule(text) {
  const match = /No module named '([^']+)'/.exec(String(text));
  return match ? match[1] : null;
}

/** The last line of a Python traceback: what went wrong, without the frames. */
export function lastLine(text) {
  const lines = String(text).trim().split("\n").filter((l) => l.trim());
  return lines[lines.length - 1] || String(text);
}
