// The page's browser-runtime worker, kept from one browser game to the next: Python, mugkit and
// the study's packages load once per page (a few seconds), and a participant's later games start
// in a fraction of a second (runtime/worker.js loads only what a later step adds).
//
// A worker is handed out again only when its last game finished cleanly (`release`). One whose
// game raised, failed to load, or was left mid-play (`discard`) is ended, and the next game gets
// a new worker: a fresh Python, as a page reload gives. So is one whose Python cannot take the
// next step: another Pyodide, another package source, or another build of a package already
// imported (`fits`).

const WORKER_URL = new URL("./worker.js", import.meta.url);

let idle = null;   // a GameWorker whose last game finished cleanly, waiting for the next game
let made = 0;      // workers this page has started (a page reload starts counting again)

/** The distribution name of a wheel file (`name-version-…whl`), normalised. */
function distribution(file) {
  return String(file).split("-")[0].replace(/[-_.]+/g, "_").toLowerCase();
}

/** Whether a Python loaded for the boots `before` can play a game of `boot` without a restart. */
export function fits(before, boot) {
  const last = before[before.length - 1];
  if (!last || last.pyodide !== boot.pyodide || last.packages_url !== boot.packages_url || last.ort !== boot.ort) {
    return false;
  }
  const installed = new Map();
  for (const b of before) {
    for (const w of b.wheels || []) if (w.kind !== "experiment") installed.set(distribution(w.file), w.url);
  }
  return (boot.wheels || []).every((w) => w.kind === "experiment" || (installed.get(distribution(w.file)) ?? w.url) === w.url);
}

/** One Web Worker running the browser runtime, and what it has loaded. */
export class GameWorker {
  constructor() {
    made += 1;
    this.number = made;
    this.boots = [];         // the boots of the games started in it, in order
    this.onmessage = () => {};
    this.onerror = () => {};
    this.worker = new Worker(WORKER_URL, {type: "module"});
    this.worker.onmessage = ({data}) => this.onmessage(data);
    this.worker.onerror = (event) => this.onerror(event);
  }

  /** Whether Python is loaded already (an earlier game of this page played in it). */
  get warm() {
    return this.boots.length > 0;
  }

  /** Starts a game: `boot` from the game view, `record` from the server's `resume` (or null);
   * with `hold`, the clock waits for a `go` message (the page's screens around the game). */
  start(boot, record, hold = false, peer = null) {
    this.boots.push(boot);
    this.worker.postMessage({type: "start", boot, record, hold, peer});
  }

  /** A message to the worker; `transfer`: ArrayBuffers moved to it (packets). */
  send(message, transfer = []) {
    this.worker.postMessage(message, transfer);
  }

  /** The game finished cleanly: keep this worker for the page's next browser game. */
  release() {
    this.onmessage = () => {};
    this.onerror = () => {};
    if (idle && idle !== this) idle.discard();
    idle = this;
  }

  /** Ends the worker (a game raised or failed to load, or stopped before it finished). */
  discard() {
    if (idle === this) idle = null;
    this.worker.terminate();
  }
}

/**
 * The worker for a new browser game of `boot`: the page's kept one when it can play it, else a
 * new one (the kept one is then ended). Set `onmessage` and `onerror`, then `start`.
 */
export function takeWorker(boot) {
  const kept = idle;
  idle = null;
  if (kept && fits(kept.boots, boot)) return kept;
  kept?.discard();
  return new GameWorker();
}
