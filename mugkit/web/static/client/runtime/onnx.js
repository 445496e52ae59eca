// mk.Onnx in the browser: onnxruntime-web runs the models of a game's ONNX players.
//
// Its run() is asynchronous, and a frame's act() is synchronous Python inside Pyodide, so the
// runtime prefetches (mugkit/runtime/browser_ai.py): before each driver.tick, Python lists the
// model runs the tick needs, this module runs them, and Python's act() then uses exactly those
// outputs. Feeds, recurrent state and the choice of action stay in Python, the same code as on
// the server; only the model itself runs here, in float32 as on the server.
//
// An ES module with no DOM use: it runs in a module Web Worker. onnxruntime-web comes from our
// own server (the wasm-only build, one thread: no SharedArrayBuffer or cross-origin isolation
// needed, and the game's own thread stays free).

/** The pinned onnxruntime-web (package.json) and the only files of its dist/ the browser loads. */
export const ORT_VERSION = "1.30.0";
export const ORT_FILES = ["ort.wasm.bundle.min.mjs", "ort-wasm-simd-threaded.wasm"];

const TYPED = {
  float32: Float32Array, float64: Float64Array, int8: Int8Array, int16: Int16Array, int32: Int32Array,
  int64: BigInt64Array, uint8: Uint8Array, uint16: Uint16Array, uint32: Uint32Array, uint64: BigUint64Array,
  bool: Uint8Array,
};

/** `url` made absolute against the document or worker, as onnxruntime-web fetches it. */
function absolute(url) {
  return new URL(url, globalThis.location?.href).href;
}

/**
 * Loads onnxruntime-web from `baseUrl` (the folder serving ORT_FILES, e.g.
 * "/runtime/onnxruntime-web/1.30.0/") and configures it: wasm only, one thread, no proxy worker.
 * Resolves to the `ort` module; rejects with an Error naming the URL when it cannot load.
 */
export async function loadOrt(baseUrl) {
  const base = absolute(baseUrl.endsWith("/") ? baseUrl : `${baseUrl}/`);
  let ort;
  try {
    ort = await import(base + ORT_FILES[0]);
  } catch (err) {
    throw new Error(`onnxruntime-web did not load from ${base}${ORT_FILES[0]}: ${err?.message ?? err}`);
  }
  ort.env.wasm.numThreads = 1;
  ort.env.wasm.proxy = false;
  ort.env.wasm.wasmPaths = {wasm: base + ORT_FILES[1]};  // the bundle inlines the .mjs glue
  return ort;
}

function describe(metadata) {
  return metadata.map((m) => ({name: m.name, type: m.isTensor ? m.type : "non-tensor", shape: m.isTensor ? [...m.shape] : []}));
}

/**
 * Opens one session per model. `models`: [{key, name, data: Uint8Array}] (browser_ai.model_files,
 * each `.plain()`). Resolves to {sessions: Map key → InferenceSession, metadata: {key: {inputs,
 * outputs} | {error}}}: a model onnxruntime-web cannot open gets `{error}` (never a rejection),
 * which browser_ai.attach turns into the PolicyError the participant's game reports.
 */
export async function createSessions(ort, models) {
  const sessions = new Map();
  const metadata = {};
  for (const {key, name, data} of models) {
    try {
      const session = await ort.InferenceSession.create(data, {executionProviders: ["wasm"]});
      sessions.set(key, session);
      metadata[key] = {inputs: describe(session.inputMetadata), outputs: describe(session.outputMetadata)};
    } catch (err) {
      metadata[key] = {error: `${err?.message ?? err}`.trim() || `onnxruntime-web could not open ${name}`};
    }
  }
  return {sessions, metadata};
}

function toTensor(ort, {dims, type, data}) {
  const Typed = TYPED[type];
  if (!Typed) throw new Error(`mk.Onnx in the browser cannot feed a ${type} tensor`);
  const values = Typed === BigInt64Array || Typed === BigUint64Array ? Array.from(data, (v) => BigInt(v))
    : type === "bool" ? Array.from(data, (v) => (v ? 1 : 0)) : data;
  return new ort.Tensor(type, Typed.from(values), Array.from(dims));
}

function fromTensor(tensor) {
  const data = tensor.type === "bool" ? Array.from(tensor.data, (v) => v !== 0) : Array.from(tensor.data);
  return {dims: Array.from(tensor.dims), type: tensor.type, data};
}

/**
 * Runs `runs` (browser_ai.ModelRun `.plain()`s: {key, feeds: {name: {dims, type, data}}, fetch})
 * one after the other, in order. Resolves to one {name: {dims, type, data}} per run, plain arrays
 * (a float32 value is the exact double of its float32), for browser_ai.supply.
 */
export async function runModels(ort, sessions, runs) {
  const out = [];
  for (const run of runs) {
    const session = sessions.get(run.key);
    if (!session) throw new Error(`mk.Onnx: no onnxruntime-web session for model ${run.key}`);
    const feeds = {};
    for (const [name, t] of Object.entries(run.feeds)) feeds[name] = toTensor(ort, t);
    const results = await session.run(feeds, run.fetch);
    const outputs = {};
    for (const name of run.fetch) outputs[name] = fromTensor(results[name]);
    for (const t of Object.values(feeds)) t.dispose?.();
    out.push(outputs);
  }
  return out;
}

const TO_JS = {dict_converter: Object.fromEntries, create_pyproxies: false};

/**
 * Pyodide glue, once per game: opens every ONNX model of `driver` (a PyProxy of
 * mugkit.runtime.driver.FrameDriver) and attaches it to its mk.Onnx players. `browserAi` is
 * pyodide.pyimport("mugkit.runtime.browser_ai"). Resolves to the sessions for `prefetch`; rejects
 * with the PythonError of browser_ai.attach (a PolicyError) when a model does not open.
 * `opened` (a Map, updated) keeps sessions from earlier games of the worker: a model's key is the
 * hash of its bytes, and a session keeps no state between runs (recurrent state is fed from
 * Python), so a later game with the same model reuses its session rather than opening it again.
 */
export async function attachModels(ort, browserAi, driver, opened = new Map()) {
  const files = browserAi.model_files(driver);
  const models = [];
  try {
    for (let i = 0; i < files.length; i++) {
      const file = files.get(i);  // owned proxies: a for-of loop's are destroyed as it ends
      const plain = file.plain();
      models.push(plain.toJs(TO_JS));
      plain.destroy();
      file.destroy();
    }
  } finally {
    files.destroy();
  }
  const created = await createSessions(ort, models.filter(({key}) => !opened.has(key)));
  for (const [key, session] of created.sessions) opened.set(key, {session, metadata: created.metadata[key]});
  const sessions = new Map();
  for (const {key} of models) {
    const kept = opened.get(key);
    if (kept) sessions.set(key, kept.session);
    browserAi.attach(driver, key, kept ? kept.metadata : created.metadata[key]);
  }
  return sessions;
}

/**
 * Pyodide glue, before every driver.tick: runs the model runs the tick needs and supplies their
 * outputs. Nothing may tick `driver` until it resolves. Resolves to the number of runs made.
 */
export async function prefetch(ort, browserAi, driver, sessions) {
  const runs = browserAi.model_runs(driver);
  try {
    if (runs.length === 0) return 0;
    const items = [];
    const plain = [];
    for (let i = 0; i < runs.length; i++) {
      const run = runs.get(i);  // owned: kept until supplied (a for-of loop's are borrowed)
      items.push(run);
      const p = run.plain();
      plain.push(p.toJs(TO_JS));
      p.destroy();
    }
    const outputs = await runModels(ort, sessions, plain);
    items.forEach((run, i) => browserAi.supply(driver, run, outputs[i]));
    items.forEach((run) => run.destroy());
    return items.length;
  } finally {
    runs.destroy();
  }
}
