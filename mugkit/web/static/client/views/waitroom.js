// `waitroom` view: how many participants are here, how many are needed, and the time left.
// `waitroom` messages update it; the countdown runs on a timer (not animation frames), so it
// stays right in a background tab.

import {card, clock, el} from "../dom.js";

export class WaitroomView {
  constructor(ctx, message) {
    this.ctx = ctx;
    this.message = message;
    this.deadline = null;
    this.timer = null;
  }

  mount(container) {
    this.count = el("strong", {class: "mk-waitroom-count"});
    this.seats = el("div", {class: "mk-seats", "aria-hidden": "true"});
    this.remaining = el("span", {class: "mk-waitroom-time"});
    container.append(card("Waiting for other participants",
      el("div", {class: "mk-center"},
        el("div", {class: "mk-spinner", "aria-hidden": "true"}),
        this.seats,
        el("p", {class: "mk-waitroom-status", "aria-live": "polite"}, this.count),
        el("p", {class: "mk-muted"},
          "The next part starts as soon as everyone is here. Please keep this page open and stay nearby."),
        el("p", {class: "mk-muted mk-small"}, "Time left to wait: ", this.remaining))));
    this.waitroom(this.message);
    this.timer = setInterval(() => this.tick(), 250);
  }

  /** A `waitroom` message (or the view itself): {present, needed, timeout (seconds left)}. */
  waitroom({present, needed, timeout}) {
    if (Number.isFinite(present) && Number.isFinite(needed)) {
      this.count.textContent = `${present} of ${needed} participants ${present === 1 ? "is" : "are"} here`;
      this.seats.replaceChildren(...Array.from({length: Math.min(needed, 12)}, (_, i) =>
        el("span", {class: i < present ? "mk-seat mk-seat-taken" : "mk-seat"})));
    }
    if (Number.isFinite(timeout)) this.deadline = performance.now() + timeout * 1000;
    this.tick();
  }

  tick() {
    if (this.deadline === null) return;
    const left = (this.deadline - performance.now()) / 1000;
    this.remaining.textContent = clock(left);
  }

  destroy() {
    clearInterval(this.timer);
  }
}
