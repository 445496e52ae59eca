// The participant's app: a page frame (title, progress, connection status, notices) and the
// current view, replaced whenever the server sends a `view` (mugkit/web/protocol.py).

import {card, el} from "./dom.js";
import {MONITOR_EVENTS, PEER_EVENTS} from "./connection.js";
import {saveIdentity} from "./identity.js";
import {StepTimer} from "./step_timer.js";
import {CompletionView} from "./views/completion.js";
import {BrowserGameView} from "./views/browser_game.js";
import {PeerGameView} from "./views/peer_game.js";
import {GameView} from "./views/game.js";
import {NoticeView, ProblemView, problemCard} from "./views/notice.js";
import {ConsentView, PageView, TransferView} from "./views/page.js";
import {ScreenView} from "./views/screen.js";
import {SurveyView} from "./views/survey.js";
import {WaitroomView} from "./views/waitroom.js";

/** View kind → class. Each view: constructor(ctx, message), mount(container), destroy(), and
 *  optionally frame(message), waitroom(message), again() (the same view was sent again). */
export const VIEWS = {
  page: PageView,
  consent: ConsentView,
  survey: SurveyView,
  screen: ScreenView,
  waitroom: WaitroomView,
  game: GameView,
  completion: CompletionView,
  ended: NoticeView,
  preview: NoticeView,
  refused: NoticeView,
  transfer: TransferView,
  paused: NoticeView,
  problem: ProblemView,
};

// An acknowledgement slower than this shows "Saving…" (the server acknowledges a step only once
// what it sent is stored, and waits while its disk is busy or full).
const SLOW_ACK_MS = 1000;

const STATUS_TEXT = {
  reconnecting: "Connection lost. Reconnecting…",
  refused: "The study server refused the connection. Please reload the page in a moment.",
  offline: "Disconnected from the study server.",
};

export class App {
  /**
   * @param {HTMLElement} root  the element to fill (the page's #mugkit)
   * @param {{experiment: string, link: object, title?: string}} options
   */
  constructor(root, {experiment, link, title = document.title}) {
    this.experiment = experiment;
    this.link = link;
    this.view = null;
    this.viewKey = null;
    this.progress = el("div", {class: "mk-progress-bar"});
    this.stepText = el("span", {class: "mk-step"});
    this.status = el("div", {class: "mk-status", role: "status", hidden: true});
    this.saving = el("div", {class: "mk-status mk-saving", role: "status", hidden: true}, "Saving…");
    this.notices = el("div", {class: "mk-notices", "aria-live": "polite"});
    this.main = el("main", {class: "mk-main"});
    root.replaceChildren(
      el("header", {class: "mk-header"},
        el("span", {class: "mk-brand"}, title),
        el("div", {class: "mk-progress", hidden: true}, this.progress),
        this.stepText),
      this.status,
      this.saving,
      this.notices,
      this.main,
    );
    this.root = root;
    this.showWaiting();

    link.on("view", (message) => this.show(message));
    link.on("frame", (message) => this.view?.frame?.(message));
    link.on("screen", (message) => this.view?.screen?.(message));
    link.on("waitroom", (message) => this.view?.waitroom?.(message));
    for (const event of PEER_EVENTS) link.on(event, (message) => this.view?.peerMessage?.(event, message));
    for (const event of MONITOR_EVENTS) link.on(event, (message) => this.view?.monitorMessage?.(event, message));
    link.on("identity", (message) => this.identity(message));
    link.on("error", (message) => this.notify(message?.message || "The server rejected a message."));
    link.on("status", (status) => this.connection(status));
  }

  /** The "connecting" card shown until the first view arrives. */
  showWaiting() {
    this.waitingTimer = setTimeout(() => {
      const note = this.main.querySelector(".mk-connecting-note");
      if (note) note.textContent = "Still trying to reach the study server. Please keep this page open.";
    }, 8000);
    this.main.replaceChildren(card(null,
      el("div", {class: "mk-center"},
        el("div", {class: "mk-spinner", "aria-hidden": "true"}),
        el("p", {class: "mk-connecting-note mk-muted"}, "Connecting to the study…"))));
  }

  /** Context handed to each view. */
  context(message) {
    return {
      experiment: this.experiment,
      link: this.link,
      notify: (text) => this.notify(text),
      /** Leave this step: `advance` with the view's index plus `extra`; resolves to the server's reply. */
      advance: (extra = {}) => this.saved(this.link.request("advance", {index: message.index, ...extra})),
    };
  }

  /** `reply` (a request's Promise), showing "Saving…" while it is slower than SLOW_ACK_MS. */
  saved(reply) {
    const timer = setTimeout(() => (this.saving.hidden = false), SLOW_ACK_MS);
    return reply.finally(() => {
      clearTimeout(timer);
      this.saving.hidden = true;
    });
  }

  show(message) {
    if (!message || typeof message !== "object" || typeof message.kind !== "string") return;
    clearTimeout(this.waitingTimer);
    const {time_left: timeLeft, ...same} = message;   // the time left changes; the view does not
    const key = JSON.stringify(same);
    if (this.view && key === this.viewKey) {
      if (Number.isFinite(timeLeft)) this.timer?.set(timeLeft);
      this.view.again?.();   // sent again after a reconnection: keep what the participant entered
      return;
    }
    if (this.view?.holding) {
      // The game's last round-over screen is up: the next view waits until it is dismissed.
      this.held = message;
      const holding = this.view.holding;
      holding.then(() => {
        if (this.held === message && this.view?.holding !== holding) {
          this.held = null;
          this.show(message);
        }
      });
      return;
    }
    this.held = null;
    if (message.problem && typeof message.problem === "object") return this.showProblem(message, key);
    this.mount(message, key);
  }

  /** A view preceded by a problem notice (the participant's game failed): the notice first, its
   *  button then shows the view — or a newer one that came meanwhile (held, as behind a game's
   *  last round-over screen). */
  showProblem(message, key) {
    this.view?.destroy?.();
    this.stopTimer();
    this.viewKey = key;
    this.updateProgress({...message, kind: "problem"});   // the next step's progress shows with it
    document.body.dataset.view = "problem";
    const {problem, ...view} = message;
    const container = el("div", {class: "mk-view mk-view-problem", dataset: {kind: "problem"}});
    let proceed;
    const notice = {holding: new Promise((resolve) => (proceed = resolve)), destroy() {}};
    this.view = notice;
    container.append(problemCard(problem, () => {
      notice.holding = null;
      proceed();
      if (!this.held) this.mount(view, key);
    }));
    this.main.replaceChildren(container);
    window.scrollTo(0, 0);
  }

  mount(message, key) {
    this.view?.destroy?.();
    this.stopTimer();
    this.view = null;
    this.viewKey = key;
    this.updateProgress(message);
    document.body.dataset.view = message.kind;
    const browser = message.kind === "game" && message.runtime === "browser";
    const View = browser ? (message.peer ? PeerGameView : BrowserGameView) : VIEWS[message.kind];
    const container = el("div", {class: `mk-view mk-view-${message.kind}`, dataset: {kind: message.kind}});
    this.main.replaceChildren(container);
    if (!View) {
      container.append(card("Something went wrong",
        el("p", {}, `This page cannot show a step of kind “${message.kind}”. Please reload the page.`)));
      return;
    }
    if (Number.isFinite(message.time_left)) {   // a page or survey with a timeout (step_timer.js)
      this.timer = new StepTimer(message.time_left);
      container.append(this.timer.node);
    }
    this.view = new View(this.context(message), message);
    this.view.mount(container);
    window.scrollTo(0, 0);
  }

  stopTimer() {
    this.timer?.destroy();
    this.timer = null;
  }

  updateProgress({index, total, kind}) {
    const bar = this.progress.parentElement;
    const done = kind === "completion";
    if (Number.isInteger(index) && Number.isInteger(total) && total > 0 && !["preview", "refused", "ended", "paused", "problem"].includes(kind)) {
      const shown = done ? total : Math.min(index + 1, total);
      this.progress.style.width = `${(100 * (done ? total : index)) / total}%`;
      this.stepText.textContent = done ? "Finished" : `Step ${shown} of ${total}`;
      bar.hidden = false;
      bar.setAttribute("aria-label", this.stepText.textContent);
    } else {
      bar.hidden = true;
      this.stepText.textContent = "";
    }
  }

  identity(message) {
    if (typeof message?.participant === "string" && typeof message?.resume === "string") {
      saveIdentity(this.experiment, message);
    }
  }

  connection(status) {
    if (status === "connected") this.connected = true;
    const over = ["ended", "refused", "completion", "problem"].includes(document.body.dataset.view);
    const text = status === "reconnecting" && !this.connected
      ? "Cannot reach the study server yet. Retrying…"
      : status === "offline" && over ? "" : STATUS_TEXT[status];   // a finished page needs no server
    this.status.textContent = text || "";
    this.status.hidden = !text;
    this.status.dataset.status = status;
  }

  /** A short notice at the top of the page (the server's `error` messages). */
  notify(text) {
    const note = el("div", {class: "mk-notice", role: "alert"}, text,
      el("button", {type: "button", class: "mk-notice-close", "aria-label": "Dismiss",
        onclick: () => note.remove()}, "×"));
    this.notices.append(note);
    setTimeout(() => note.remove(), 8000);
  }
}
