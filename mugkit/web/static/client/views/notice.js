// `ended`, `preview`, `refused` and `paused` views: a message from the server, and a code when
// there is one (a declined consent, a timeout or an exclusion has its own code to report to the
// panel). A `paused` study sends the step again by itself once it can go on.
// `problem`: the study failed on its own side (mugkit/web/problems.py) — a neutral message, the
// failure's reference, and what happens next: the code and the way back to the panel, or (a
// `problem` carried by another view: their game failed) a button on to that view.

import {button, card, el, prose, safeUrl} from "../dom.js";
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

/** The failure's reference, for a message to the researchers. */
function reference(ref) {
  return ref ? el("p", {class: "mk-muted mk-problem-ref"}, "Reference for the researchers: ",
    el("code", {class: "mk-ref"}, String(ref))) : null;
}

/** A game that failed: the notice, then `onContinue` (the next part of the study). */
export function problemCard({title, html, ref, button: label}, onContinue) {
  const next = button(label || "Continue", () => onContinue(), "primary", {dataset: {answer: "continue"}});
  return card(title || "A technical problem on our side", prose(html), reference(ref),
    el("div", {class: "mk-actions"}, next));
}

/** `problem` view: the study ended for this participant because a page or survey failed. */
export class ProblemView {
  constructor(ctx, message) {
    this.message = message;
  }

  mount(container) {
    const {title, html, ref, code, redirect} = this.message;
    const target = redirect ? safeUrl(redirect) : null;
    container.append(card(title || "A technical problem on our side",
      prose(html),
      code ? el("p", {class: "mk-code-label"}, "Your code:") : null,
      code ? codeBox(String(code)) : null,
      reference(ref),
      target ? el("div", {class: "mk-actions"},
        el("a", {class: "mk-button mk-button-primary", href: target.href, rel: "noreferrer"}, `Return to ${target.host}`))
        : null));
  }

  destroy() {}
}
