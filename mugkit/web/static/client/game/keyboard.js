// Keyboard input of a game: tracks the held keys among the step's mapped keys and, on every change,
// sends a `keys` message {game, seq, held, down, up, t} (mugkit/web/protocol.py). Messages are sent
// from the key events themselves, never from animation frames, so input keeps working in a tab
// the browser throttles. Every key is released when the window loses focus.

/** Keys that scroll the page: never left to the browser during a game. */
const SCROLL_KEYS = new Set([" ", "ArrowUp", "ArrowDown", "ArrowLeft", "ArrowRight", "PageUp", "PageDown",
  "Home", "End"]);

function editable(target) {
  return target instanceof HTMLElement && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
}

export class Keyboard {
  /**
   * @param {{game: string, keys: string[], send: (message) => void, seq?: number,
   *          onseq?: (seq) => void, clock?: () => number, target?: EventTarget}} options
   *   `keys`: the key names the step maps (KeyboardEvent.key values); `seq`: the last seq already
   *   sent for this game (-1 for none); `onseq` is told each seq sent (kept for reloads).
   */
  constructor({game, keys, send, seq = -1, onseq = () => {}, clock, target = window}) {
    this.game = game;
    this.mapped = new Set(keys || []);
    // Letters match either case (Shift or Caps Lock turn "w" into "W"); the mapped spelling is sent.
    this.folded = new Map();
    for (const k of this.mapped) if (k.length === 1) this.folded.set(k.toLowerCase(), k);
    this.send = send;
    this.seq = seq;
    this.onseq = onseq;
    this.clock = clock || (() => performance.timeOrigin + performance.now());
    this.target = target;
    this.held = new Set();
    this.onKeyDown = (e) => this.key(e, true);
    this.onKeyUp = (e) => this.key(e, false);
    this.onBlur = () => this.releaseAll();
    this.onVisibility = () => document.visibilityState === "hidden" && this.releaseAll();
  }

  start() {
    this.target.addEventListener("keydown", this.onKeyDown, {capture: true});
    this.target.addEventListener("keyup", this.onKeyUp, {capture: true});
    window.addEventListener("blur", this.onBlur);
    document.addEventListener("visibilitychange", this.onVisibility);
    return this;
  }

  stop() {
    this.releaseAll();
    this.target.removeEventListener("keydown", this.onKeyDown, {capture: true});
    this.target.removeEventListener("keyup", this.onKeyUp, {capture: true});
    window.removeEventListener("blur", this.onBlur);
    document.removeEventListener("visibilitychange", this.onVisibility);
  }

  /** The mapped name of a KeyboardEvent.key, or null when the step does not map it. */
  name(key) {
    if (this.mapped.has(key)) return key;
    if (typeof key === "string" && key.length === 1) return this.folded.get(key.toLowerCase()) ?? null;
    return null;
  }

  key(event, down) {
    if (event.isComposing || editable(event.target)) return;
    const name = this.name(event.key);
    if (name !== null || SCROLL_KEYS.has(event.key)) event.preventDefault();
    if (name === null) return;
    if (down) {
      if (this.held.has(name)) return;   // auto-repeat
      this.held.add(name);
      this.emit([name], []);
    } else {
      if (!this.held.has(name)) return;  // pressed before the game started
      this.held.delete(name);
      this.emit([], [name]);
    }
  }

  /** Release every held key (focus lost, tab hidden, game over). */
  releaseAll() {
    if (!this.held.size) return;
    const up = [...this.held];
    this.held.clear();
    this.emit([], up);
  }

  /** Tell the server the keys held now (after a reconnection), when there are any. */
  resync() {
    if (this.held.size) this.emit([], []);
  }

  emit(down, up) {
    this.seq += 1;
    this.send({game: this.game, seq: this.seq, held: [...this.held], down, up, t: this.clock()});
    this.onseq(this.seq);
  }
}
