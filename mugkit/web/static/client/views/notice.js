// `ended`, `preview`, `refused` and `paused` views: a message from the server, and a code when
// there is one (a declined consent, a timeout or an exclusion has its own code to report to the
// panel). A `paused` study sends the step again by itself once it can go on.

import {card, el, prose} from "../dom.js";
import {codeBox} from "./completion.js";

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
