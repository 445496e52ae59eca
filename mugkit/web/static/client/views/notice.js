// `ended`, `preview` and `refused` views: a message from the server, and a code when there is one
// (a declined consent, a timeout or an exclusion has its own code to report to the panel).

import {button, card, el, errorBox, prose} from "../dom.js";
import {codeBox} from "./completion.js";

const DEFAULT_TITLES = {
  ended: "The study has ended",
  preview: "Preview",
  refused: "This study is not available",
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
    const go = button(label || "Continue here", async () => {
      go.disabled = true;
      error.show(null);
      const reply = await this.ctx.link.request("transfer", {});
      if (!reply?.ok) {
        error.show(reply?.error || "Something went wrong. Please try again.");
        go.disabled = false;
      }
      // On success the server sends who this browser is now, and the next view.
    }, "primary", {dataset: {answer: "transfer"}});
    container.append(card(title, prose(html), error, el("div", {class: "mk-actions"}, go)));
  }

  destroy() {}
}
