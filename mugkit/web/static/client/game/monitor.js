// In-game monitoring (mk.Monitor; mugkit/web/monitor.py). While a monitored game is shown, the page
// reports and the server decides: `presence {game, hidden, focused}` every `heartbeat_ms` and at once
// when the tab is hidden or shown (or the window loses or gains focus); `monitor_pong {game, id}`
// answering each `monitor_ping`. The server's `monitor_warning` shows as a banner above the game with
// the seconds left, and in the tab's title (seen from another tab), until a warning with `clear`
// comes; `monitor_notice` (a partner's agent taken over by the computer) shows for a while.

import {el, prose} from "../dom.js";

const NOTICE_MS = 10000;
const WARNED_TITLE = "⚠ Please come back to the study";

export class Presence {
  /** @param {{game: string, monitor: {heartbeat_ms: number}, link: object}} options */
  constructor({game, monitor, link}) {
    this.game = game;
    this.every = Math.max(250, Number(monitor?.heartbeat_ms) || 1000);
    this.link = link;
    this.warnings = new Map();   // kind -> {text, until (ms, or null)}
    this.title = document.title;
    this.element = el("div", {class: "mk-monitor", "aria-live": "assertive"});
    this.report = () => this.send();
  }

  start() {
    this.timer = setInterval(this.report, this.every);
    this.ticker = setInterval(() => this.render(), 1000);
    document.addEventListener("visibilitychange", this.report);
    window.addEventListener("blur", this.report);
    window.addEventListener("focus", this.report);
    this.send();
    return this;
  }

  send() {
    this.emit("presence", {game: this.game, hidden: document.visibilityState === "hidden",
      focused: document.hasFocus()});
  }

  /** Reports go out only while connected: heartbeats buffered over a lost connection are stale. */
  emit(event, data) {
    (this.link.sendNow ?? this.link.send).call(this.link, event, data);
  }

  /** A monitor message of the server (`monitor_ping`, `monitor_warning`, `monitor_notice`). */
  handle(event, message) {
    if (!message || message.game !== this.game) return;
    if (event === "monitor_ping" && typeof message.id === "string") {
      this.emit("monitor_pong", {game: this.game, id: message.id});
    } else if (event === "monitor_warning") {
      this.warning(message);
    } else if (event === "monitor_notice") {
      this.notice(message);
    }
  }

  warning({kind, clear, text, seconds_left: seconds}) {
    if (clear) this.warnings.delete(kind);
    else this.warnings.set(kind, {text: String(text || ""), until: Number.isFinite(seconds) ? Date.now() + seconds * 1000 : null});
    this.render();
  }

  notice({title, html}) {
    const note = el("div", {class: "mk-monitor-notice", role: "status"}, title ? el("strong", {}, title) : null, prose(html));
    this.element.append(note);
    setTimeout(() => note.remove(), NOTICE_MS);
  }

  render() {
    for (const node of this.element.querySelectorAll(".mk-monitor-warning")) node.remove();
    for (const [kind, {text, until}] of this.warnings) {
      const left = until === null ? null : Math.max(0, Math.ceil((until - Date.now()) / 1000));
      // The server's text says how long was left when it was sent; the countdown keeps it true.
      const shown = left === null ? text : text.replace(/\d+ seconds?\./, `${left} second${left === 1 ? "" : "s"}.`);
      this.element.prepend(el("div", {class: "mk-monitor-warning", role: "alert", dataset: {kind}}, shown));
    }
    document.title = this.warnings.size ? WARNED_TITLE : this.title;
    this.element.dataset.warned = [...this.warnings.keys()].join(" ");
  }

  stop() {
    clearInterval(this.timer);
    clearInterval(this.ticker);
    document.removeEventListener("visibilitychange", this.report);
    window.removeEventListener("blur", this.report);
    window.removeEventListener("focus", this.report);
    if (this.warnings.size) document.title = this.title;
  }
}
