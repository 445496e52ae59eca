// `page`, `consent` and `transfer` views: server-rendered HTML in a card, with a button (or two).

import {button, card, el, errorBox, prose} from "../dom.js";

/** Runs `send` once at a time: buttons are disabled while waiting, and the error is shown. */
async function submit(buttons, error, send) {
  buttons.forEach((b) => (b.disabled = true));
  error.show(null);
  const reply = await send();
  // `stale`: the step was already left (a second click, another window): its next view is coming.
  if (!reply?.ok && !reply?.stale) {
    error.show(reply?.error || "Something went wrong. Please try again.");
    buttons.forEach((b) => (b.disabled = false));
  }
  // On success the server sends the next view, which replaces this one.
}

export class PageView {
  constructor(ctx, message) {
    this.ctx = ctx;
    this.message = message;
  }

  /** What the button sends: leaving this step. */
  send() {
    return this.ctx.advance();
  }

  mount(container) {
    const {title, html, button: label} = this.message;
    const error = errorBox();
    const next = button(label || "Continue", () => submit([next], error, () => this.send()));
    container.append(card(title, prose(html), error, el("div", {class: "mk-actions"}, next)));
  }

  destroy() {}
}

export class ConsentView {
  constructor(ctx, message) {
    this.ctx = ctx;
    this.message = message;
  }

  mount(container) {
    const {title, html, agree, decline} = this.message;
    const error = errorBox();
    const answer = (value) => () => submit([yes, no], error, () => this.ctx.advance({agree: value}));
    const yes = button(agree || "I agree", answer(true), "primary", {dataset: {answer: "agree"}});
    const no = button(decline || "I do not agree", answer(false), "secondary", {dataset: {answer: "decline"}});
    container.append(card(title || "Consent",
      el("div", {class: "mk-prose mk-consent", html: html || ""}),
      error,
      el("div", {class: "mk-actions mk-actions-split"}, no, yes)));
  }

  destroy() {}
}

/** `transfer`: this browser may take over a participant who started in another one. On success
 *  the server sends who this browser is now, and the next view. */
export class TransferView extends PageView {
  send() {
    return this.ctx.link.request("transfer", {});
  }
}
