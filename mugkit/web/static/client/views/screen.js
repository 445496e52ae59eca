// `screen` view: an entry screening step (@mk.screen; mugkit/web/screening.py). The page only
// reports its window and screen size; the server decides (the browser from the User-Agent it saw,
// the round-trip time from its own pings, which connection.js answers) and sends the next view.

import {card, el, errorBox, prose} from "../dom.js";

export class ScreenView {
  constructor(ctx, message) {
    this.ctx = ctx;
    this.message = message;
  }

  mount(container) {
    const {title, html} = this.message;
    this.error = errorBox();
    // Shown only when the report could not be sent (the connection dropped meanwhile).
    this.retry = el("div", {class: "mk-actions", hidden: true},
      el("button", {type: "button", class: "mk-button mk-button-secondary", onclick: () => this.send()}, "Try again"));
    container.append(card(title || "Checking your browser",
      el("div", {class: "mk-center"}, el("div", {class: "mk-spinner", "aria-hidden": "true"})),
      prose(html), this.error, this.retry));
    this.send();
  }

  /** Sent again after a reconnection (the same view came again). */
  again() {
    this.send();
  }

  async send() {
    this.retry.hidden = true;
    this.error.show(null);
    const reply = await this.ctx.link.request("screen_report", {
      index: this.message.index,
      window: [Math.round(window.innerWidth), Math.round(window.innerHeight)],
      screen: [Math.round(window.screen.width), Math.round(window.screen.height)],
    });
    // ok: the next view (the study, or why not) is on its way; stale: it was decided already.
    if (!reply?.ok && !reply?.stale) {
      this.error.show(reply?.error || "The check could not be completed.");
      this.retry.hidden = false;
    }
  }

  destroy() {}
}
