// `game` view of a browser-runtime game (`runtime: "browser"`): the game runs in a Web Worker
// (runtime/worker.js) on this machine; the page draws its frames with the same renderer as a
// server game, sends it the keys, and passes its step rows on to the server (runtime/outbox.js).
// A loading screen shows real progress (bytes and stages) until the first frame; then the screens
// around the game (game/screens.js: ready, countdown, round over) while the worker holds its clock
// (`hold`, `go`, `paused`). A failure tells the server and shows a neutral message: the study's own
// failures (its code raised) are never put on the participant's computer. A machine too slow for
// the game's fps gets a notice. The worker is the page's kept one when an earlier game finished in
// it (runtime/pool.js): Python is loaded already, and the loading screen shows only if the start
// takes longer than WARM_QUIET_MS.

import {card, el} from "../dom.js";
import {Outbox} from "../runtime/outbox.js";
import {takeWorker} from "../runtime/pool.js";
import {GameView} from "./game.js";

const STAGES = {
  download: "Downloading the game engine",
  python: "Starting Python",
  packages: "Loading packages",
  wheels: "Installing the game",
  experiment: "Opening the game",
  models: "Loading the computer player",
  resume: "Resuming where you left off",
};
const SLOW_FRACTION = 0.8;   // below this share of the fps for two seconds, the notice shows
const WARM_QUIET_MS = 1000;  // a kept worker's start shows no loading screen unless slower than this
// Loading stages whose failure is the study's (its code, its models): reloading cannot help, and the
// server moves the participant on (mugkit/web/lobby.py STUDY_STAGES).
const STUDY_STAGES = new Set(["experiment", "models", "game"]);

function megabytes(n) {
  return (n / 1e6).toFixed(1);
}

export class BrowserGameView extends GameView {
  mount(container) {
    super.mount(container);
    const {game, boot} = this.message;
    this.container = container;
    this.bar = el("div", {class: "mk-load-bar"});
    this.stageText = el("div", {class: "mk-load-stage"}, "Preparing the game…");
    this.bytesText = el("div", {class: "mk-load-bytes mk-muted"}, "");
    this.loading = el("div", {class: "mk-loading", role: "status", "aria-live": "polite"},
      el("div", {class: "mk-load-title"}, "Loading the game"),
      this.stageText, el("div", {class: "mk-load-track"}, this.bar), this.bytesText);
    this.overlay.replaceChildren(this.loading);
    this.slowNote = el("div", {class: "mk-slow-note", role: "status", hidden: true});
    this.root.append(this.slowNote);
    this.slowSeconds = 0;
    // This page's id: the server takes rows only from the page that last resumed the game.
    this.session = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 12)}`;
    this.outbox = new Outbox({experiment: this.ctx.experiment, game, session: this.session, link: this.ctx.link,
      onError: (text) => console.warn(text), onSuperseded: () => this.superseded(),
      onSaving: (slow) => this.saving(slow)});
    this.mountedAt = performance.now();
    this.worker = takeWorker(boot);
    this.worker.onmessage = (data) => this.fromWorker(data);
    this.worker.onerror = (event) => this.failed({stage: "worker", reason: event.message || "the game's worker stopped"});
    if (this.worker.warm) this.quietLoading();
    this.begin(boot);
  }

  /** Python is loaded already: no loading screen flashes before a start this quick. */
  quietLoading() {
    this.overlay.hidden = true;
    this.quietTimer = setTimeout(() => {
      if (!this.root.dataset.loaded && !this.root.dataset.failed && !this.root.dataset.superseded) this.overlay.hidden = false;
    }, WARM_QUIET_MS);
  }

  /** Shows "saving…" while the server is slow to acknowledge rows (they stay on this page meanwhile). */
  saving(slow) {
    if (!this.savingNote) {
      this.savingNote = el("div", {class: "mk-slow-note mk-saving", role: "status", hidden: true}, "Saving…");
      this.root.append(this.savingNote);
    }
    this.savingNote.hidden = !slow;
  }

  /** Stores what an earlier visit left unsent, asks where the game stands, then starts the worker. */
  async begin(boot) {
    await this.outbox.drained();
    const reply = await this.ctx.link.request("resume", {game: this.message.game, session: this.session});
    if (!reply.ok) return this.failed({stage: "resume", reason: reply.error});
    this.resumed = Boolean(reply.record);
    // `hold`: the worker loads, then waits for `go` (after the ready screen and the countdown).
    this.worker?.start(boot, reply.record ?? null, true);
  }

  /** After loading: the ready screen and the countdown, then the clock starts. */
  async play() {
    const {ready, countdown} = this.settings;
    if (ready) {
      this.root.dataset.screen = "ready";
      if (!(await this.screens.ready({resumed: this.resumed})) || this.destroyed) return;
      this.ctx.link.request("ready", {game: this.message.game, screen: "ready", episode: null});
    }
    await this.go(countdown);
  }

  /** The countdown, then the worker's clock runs (again). */
  async go(countdown) {
    this.root.dataset.screen = "countdown";
    if (!(await this.screens.countdown(countdown)) || this.destroyed) return;
    this.root.dataset.screen = "play";
    this.playing = true;
    this.worker?.send({type: "go"});
    this.keyboard.resync();   // keys held through the countdown count from the first frame
  }

  /** The worker holds its clock after an episode: the round-over screen, then the countdown. */
  async paused() {
    this.playing = false;
    this.keyboard.releaseAll();
    if (this.shownRound) {
      this.root.dataset.screen = "round_over";
      const answered = await this.shownRound;
      if (this.destroyed) return;
      if (answered) {
        this.ctx.link.request("ready", {game: this.message.game, screen: "round_over",
          episode: (this.lastRound?.episode ?? 1) - 1});
      }
    }
    this.shownRound = null;
    await this.go(this.settings.countdown);
  }

  roundOver(round) {
    this.shownRound = super.roundOver(round);
    return this.shownRound;
  }

  /** The view came again (a reconnection): the game never stopped here, so keep drawing it, and
   *  send what waited for the connection. */
  again() {
    this.keyboard.resync();
    this.outbox.flush();
  }

  sendKeys(message) {
    // Keys before the clock runs (the ready screen's space bar) are no moves in the game.
    if (this.playing) this.worker?.send({type: "keys", message});
  }

  fromWorker(data) {
    const handler = {
      progress: () => this.progress(data),
      loaded: () => this.loaded(data),
      frame: () => this.workerFrame(JSON.parse(data.text)),
      rows: () => this.outbox.add(data.text),
      timing: () => this.timing(data),
      finished: () => this.finished(),
      paused: () => this.paused(),
      failed: () => this.failed(data),
    }[data?.type];
    handler?.();
  }

  workerFrame(message) {
    // The first frame shows where the game (re)started: after a reload, where its record ends.
    if (!this.root.dataset.firstFrame) {
      this.root.dataset.firstFrame = `${message.episode}:${message.frame}`;
      this.startMs = Math.round(performance.now() - this.mountedAt);   // the view came → its first frame
    }
    this.frame(message);
  }

  progress({stage, loaded, total}) {
    this.stageText.textContent = STAGES[stage] || "Loading…";
    this.root.dataset.loadStage = stage || "";
    if (total > 0) {
      this.bar.style.width = `${Math.min(100, (100 * loaded) / total)}%`;
      this.bytesText.textContent = `${megabytes(loaded)} of ${megabytes(total)} MB`;
    }
  }

  loaded({stages, bytes, cached, diverged, warm, games}) {
    clearTimeout(this.quietTimer);
    this.overlay.hidden = true;
    this.root.dataset.loaded = "true";
    this.root.dataset.warm = warm ? "true" : "false";
    this.ctx.link.request("loaded", {game: this.message.game, stages, bytes, cached, diverged: diverged ?? null,
      warm: Boolean(warm), games, start_ms: this.startMs ?? null});
    this.play();
  }

  timing({fps}) {
    const target = this.message.fps || 30;
    this.slowSeconds = fps < SLOW_FRACTION * target ? this.slowSeconds + 1 : 0;
    const slow = this.slowSeconds >= 2;
    this.slowNote.hidden = !slow;
    this.root.dataset.slow = slow ? "true" : "false";
    if (slow) {
      this.slowNote.textContent = `Your computer is running this game slower than intended (${Math.round(fps)} of ${target} frames a second). Closing other tabs and programs may help.`;
    }
  }

  async finished() {
    this.worker?.release();   // Python stays loaded for this page's next browser game
    this.worker = null;
    for (;;) {
      await this.outbox.drained();
      const reply = await this.ctx.link.request("game_over", {game: this.message.game, session: this.session});
      if (reply.ok || reply.stale || this.destroyed) return;   // the server sends the next view
      if (reply.superseded) return this.superseded();
      await new Promise((resolve) => setTimeout(resolve, 2000));
    }
  }

  async failed({stage, package: pkg, reason}) {
    this.worker?.discard();
    this.worker = null;
    this.playing = false;
    this.screens.hide();
    const ours = STUDY_STAGES.has(stage);
    this.showFailure(stage, ours);
    // The study's own failure ends the game on the server (outcome "error") and the participant
    // goes on, after a notice; its rows must all be stored first.
    if (stage === "game") await this.outbox.drained();
    const reply = await this.ctx.link.request("load_failed", {game: this.message.game, session: this.session, stage,
      package: pkg ?? null, reason: String(reason).slice(0, 2000)});
    if (reply?.ref && this.failRef) this.failRef.textContent = reply.ref;
  }

  /** What the participant reads while the server decides: never that their computer is at fault.
   *  The study's failures need nothing from them (the next view comes with its notice); a load
   *  that failed on the way (a connection problem) can be tried again. */
  showFailure(stage, ours) {
    this.root.dataset.failed = stage || "unknown";
    this.overlay.hidden = false;
    this.failRef = el("code", {class: "mk-ref"}, "…");
    const ref = el("p", {class: "mk-muted mk-problem-ref"}, "Reference for the researchers: ", this.failRef);
    this.overlay.replaceChildren(ours
      ? card("Sorry — a technical problem on our side",
        el("p", {}, stage === "game" ? "The game stopped because of a technical problem on our side." :
          "The game could not be started because of a technical problem on our side."),
        el("p", {}, "It has nothing to do with your computer. What you have done so far is saved; the study continues in a moment."),
        ref)
      : card("The game could not be loaded",
        el("p", {}, "Part of the game did not arrive. This is usually a short interruption of the connection."),
        el("p", {}, "Please reload the page to try again. What you have done so far is saved."),
        ref,
        el("div", {class: "mk-actions"},
          el("button", {type: "button", class: "mk-button mk-button-primary", onclick: () => location.reload()}, "Reload the page"))));
    this.overlay.classList.add("mk-stage-overlay-failed");
  }

  /** Another window or tab resumed this game: this page stops playing it. */
  superseded() {
    this.worker?.discard();
    this.worker = null;
    this.root.dataset.superseded = "true";
    this.overlay.hidden = false;
    this.overlay.classList.add("mk-stage-overlay-failed");
    this.overlay.replaceChildren(card("This game continues in another window",
      el("p", {}, "The study is open in another window or tab, and the game goes on there. Please close this one.")));
  }

  destroy() {
    this.destroyed = true;
    clearTimeout(this.quietTimer);
    this.worker?.discard();
    this.worker = null;
    this.outbox?.stop();
    super.destroy();
  }
}
