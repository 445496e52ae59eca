// `screen` view: an entry screening step (@mk.screen; mugkit/web/screening.py). The page only
// reports its window and screen size; the server decides (the browser from the User-Agent it saw,
// the round-trip time from its own pings, which connection.js answers) and sends the next view.
//
// A window smaller than the step's `min_window` is a participant's to fix: the page first asks
// them to make it larger and reports as soon as it is (or when they say they cannot, or shortly
// before the step's timeout). This is only kindness: the server decides on the report.

import {button, card, el, errorBox, prose} from "../dom.js";

// Seconds before the step's timeout at which a page still waiting for a larger window reports anyway.
const REPORT_MARGIN_S = 3;

function windowSize() {
  return [Math.round(window.innerWidth), Math.round(window.innerHeight)];
}

export class ScreenView {
  constructor(ctx, message) {
    this.ctx = ctx;
    this.message = message;
    this.sent = false;
    this.onResize = () => this.resized();
  }

  mount(container) {
    const {title, html} = this.message;
    this.error = errorBox();
    // Shown only when the report could not be sent (the connection dropped meanwhile).
    this.retry = el("div", {class: "mk-actions", hidden: true},
      button("Try again", () => this.send(), "secondary"));
    this.resize = el("div", {class: "mk-screen-resize", hidden: true});
    this.checking = el("div", {},
      el("div", {class: "mk-center"}, el("div", {class: "mk-spinner", "aria-hidden": "true"})), prose(html));
    container.append(card(title || "Checking your browser", this.checking, this.resize, this.error, this.retry));
    if (this.tooSmall()) this.askLarger();
    else this.send();
  }

  tooSmall() {
    const need = this.message.min_window;
    if (!Array.isArray(need)) return false;
    const [w, h] = windowSize();
    return w < need[0] || h < need[1];
  }

  /** The window is too small: ask for a larger one, report once it is (or when time is up). */
  askLarger() {
    const [needW, needH] = this.message.min_window;
    this.size = el("strong", {class: "mk-screen-size"});
    this.resize.replaceChildren(
      el("p", {}, `This study needs a browser window of at least ${needW} × ${needH} pixels. `,
        "Please maximise this window or make it larger (or zoom out with Ctrl and −)."),
      el("p", {class: "mk-muted"}, "Your window now: ", this.size),
      el("div", {class: "mk-actions"}, button("I cannot make it larger", () => this.send(), "secondary")));
    this.resize.hidden = false;
    this.checking.hidden = true;
    this.showSize();
    window.addEventListener("resize", this.onResize);
    const wait = Math.max(0, (Number(this.message.timeout) || 30) - REPORT_MARGIN_S);
    this.timer = setTimeout(() => this.send(), wait * 1000);
  }

  showSize() {
    const [w, h] = windowSize();
    this.size.textContent = `${w} × ${h} pixels`;
  }

  resized() {
    this.showSize();
    if (!this.tooSmall()) this.send();
  }

  /** Sent again after a reconnection (the same view came again). */
  again() {
    if (this.sent) this.send();
  }

  async send() {
    clearTimeout(this.timer);
    window.removeEventListener("resize", this.onResize);
    this.sent = true;
    this.resize.hidden = true;
    this.checking.hidden = false;
    this.retry.hidden = true;
    this.error.show(null);
    const reply = await this.ctx.link.request("screen_report", {
      index: this.message.index,
      window: windowSize(),
      screen: [Math.round(window.screen.width), Math.round(window.screen.height)],
    });
    // ok: the next view (the study, or why not) is on its way; stale: it was decided already.
    if (!reply?.ok && !reply?.stale) {
      this.error.show(reply?.error || "The check could not be completed.");
      this.retry.hidden = false;
    }
  }

  destroy() {
    clearTimeout(this.timer);
    window.removeEventListener("resize", this.onResize);
  }
}
