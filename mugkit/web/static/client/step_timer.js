// The time left on a page or survey with a `timeout` (the view's `time_left`, in seconds), shown
// above the view. It counts down on a timer (not animation frames), so it stays right in a
// background tab. The server keeps the time (mugkit/web/timeouts.py): when it is up, the server
// moves the participant on — with this page closed too — and its next view replaces this one.

import {clock, el} from "./dom.js";

// Under this many seconds left, the timer is shown as a warning.
const WARN_SECONDS = 10;

export class StepTimer {
  constructor(seconds) {
    this.left = el("strong", {class: "mk-step-timer-left"});
    this.label = el("span", {}, "Time left: ");
    this.node = el("div", {class: "mk-step-timer", role: "timer"}, this.label, this.left);
    this.set(seconds);
    this.timer = setInterval(() => this.tick(), 250);
  }

  /** The server's count of the seconds left (a view, or the same view sent again). */
  set(seconds) {
    this.deadline = performance.now() + Math.max(0, seconds) * 1000;
    this.tick();
  }

  tick() {
    const left = (this.deadline - performance.now()) / 1000;
    const up = left <= 0;
    this.label.textContent = up ? "Time is up. Moving on…" : "Time left: ";
    this.left.textContent = up ? "" : clock(left);
    this.node.classList.toggle("mk-step-timer-warn", left <= WARN_SECONDS);
    this.node.dataset.left = String(Math.max(0, Math.ceil(left)));
  }

  destroy() {
    clearInterval(this.timer);
  }
}
