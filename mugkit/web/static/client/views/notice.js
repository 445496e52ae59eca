// `ended`, `preview`, `refused` and `paused` views: a message from the server, and a code when
// there is one (a declined consent, a timeout or an exclusion has its own code to report to the
// panel). A `paused` study sends the step again by itself once it can go on.

import {button, card, el, errorBox, prose} from "../dom.js";
import {codeBox} from "./completion.js";
import {submit} from "./page.js";

const DEFAULT_TITLES = {
  ended: "The study has ended",
  preview: "Preview",
  refused: "This study is not available",
  paused: "The study is paused",
};

export class NoticeView {
  constructor(ctx, message) {
    this.message = message;
  }

  mount(container) {
    const {kind, title, html, code} = this.message;
    container.append(card(title || DEFAULT_TITLES[kind] || "",
      prose(html),
      code ? el("p", {class: "mk-code-label"}, "Your code:") : null,
      code ? codeBox(code) : null));
  }

  destroy() {}
}

/** `transfer`: this browser may take over a participant who started in another one. */
export class TransferView {
  constructor(ctx, message) {
    this.ctx = ctx;
    this.message = message;
  }

  mount(container) {
    const {title, html, button: label} = this.message;
    const error = errorBox();
    // On success the server sends who this browser is now, and the next view.
    const go = button(label || "Continue here", () => submit([go], error, () => this.ctx.link.request("transfer", {})),
      "primary", {dataset: {answer: "transfer"}});
    container.append(card(title, prose(html), error, el("div", {class: "mk-actions"}, go)));
  }

  destroy() {}
}
