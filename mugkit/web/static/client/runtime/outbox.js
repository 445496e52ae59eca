// The rows a browser game played, on their way to the server: each batch is kept in localStorage
// until the server acknowledges it (after its commit), so a reload or a lost connection loses no
// row. Batches go one at a time, in order; a batch sent twice is stored once (the server drops
// frames it has), so retrying is always safe.

const RETRY_MS = 2000;
// An acknowledgement slower than this shows "saving…" (the server's storage is busy or paused: it
// acknowledges a batch only once committed, and the page keeps every batch until then).
const SLOW_ACK_MS = 1000;

function storageKey(experiment, game) {
  return `mugkit:${experiment}:outbox:${game}`;
}

export class Outbox {
  /**
   * @param {{experiment: string, game: string, session: string, link: object,
   *          onError?: (text) => void, onSuperseded?: () => void, onSaving?: (slow) => void}} options
   *   `link`: the connection (link.request(event, data) resolves to the server's ack);
   *   `session`: this page's id (batches kept from an earlier page keep theirs);
   *   `onSuperseded`: another window took the game over (this page's rows are refused);
   *   `onSaving(slow)`: true when an acknowledgement is slow (show "saving…"), false once rows are stored.
   */
  constructor({experiment, game, session, link, onError = () => {}, onSuperseded = () => {}, onSaving = () => {}}) {
    this.key = storageKey(experiment, game);
    this.game = game;
    this.session = session;
    this.onSuperseded = onSuperseded;
    this.link = link;
    this.onError = onError;
    this.onSaving = onSaving;
    this.batches = this.load();
    this.next = this.batches.reduce((n, b) => Math.max(n, b.batch + 1), 0);
    this.sending = false;
    this.timer = 0;
    this.waiters = [];
    this.stopped = false;
  }

  load() {
    try {
      const saved = JSON.parse(localStorage.getItem(this.key) || "[]");
      return Array.isArray(saved) ? saved.filter((b) => typeof b?.rows === "string") : [];
    } catch {
      return [];
    }
  }

  save() {
    try {
      if (this.batches.length) localStorage.setItem(this.key, JSON.stringify(this.batches));
      else localStorage.removeItem(this.key);
    } catch {
      // Storage full or blocked: the batches stay in memory and are still sent.
    }
  }

  /** Rows not yet acknowledged. */
  get pending() {
    return this.batches.length;
  }

  /** Adds a batch of rows (tagged JSON text from the worker) and sends it. */
  add(text) {
    this.batches.push({game: this.game, session: this.session, batch: this.next++, rows: text});
    this.save();
    this.flush();
  }

  /** Sends the oldest batches until none is left (or the connection fails: retried later). */
  async flush() {
    if (this.sending || this.stopped) return;
    this.sending = true;
    clearTimeout(this.timer);
    try {
      while (this.batches.length && !this.stopped) {
        const batch = this.batches[0];
        const slow = setTimeout(() => this.onSaving(true), SLOW_ACK_MS);
        const reply = await this.link.request("rows", batch).finally(() => clearTimeout(slow));
        if (reply.ok) this.onSaving(false);
        if (!reply.ok && (reply.retry || /did not answer|Unexpected/.test(reply.error || ""))) {
          // No connection, or the server asks to try again (its shared state is briefly down): keep it.
          this.timer = setTimeout(() => this.flush(), RETRY_MS);
          return;
        }
        if (reply.superseded) {
          this.stop();
          this.onSuperseded();
          return;
        }
        if (!reply.ok) this.onError(`rows of this game were refused: ${reply.error}`);
        this.batches.shift();   // stored (or refused as malformed: sending it again cannot help)
        this.save();
      }
    } finally {
      this.sending = false;
    }
    if (!this.batches.length) this.waiters.splice(0).forEach((resolve) => resolve());
  }

  /** Resolves once every batch is acknowledged. */
  drained() {
    if (!this.batches.length) return Promise.resolve();
    const done = new Promise((resolve) => this.waiters.push(resolve));
    this.flush();
    return done;
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
  }
}
