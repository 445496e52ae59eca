// `completion` view: the completion code, then (with `redirect`) back to the panel after a short
// pause with a visible link, or (with `mturk`) a form POSTed to MTurk's externalSubmit.

import {button, card, el, prose, safeUrl} from "../dom.js";

/** The only hosts a completion is POSTed to, over https: MTurk and its sandbox (the server checks too). */
export const MTURK_HOSTS = ["www.mturk.com", "workersandbox.mturk.com"];

/** Seconds between showing the code and leaving the page. */
export const LEAVE_AFTER_S = 3;

/** The code in a box, with a button that copies it. */
export function codeBox(code) {
  const copy = button("Copy", async () => {
    try {
      await navigator.clipboard.writeText(code);
      copy.textContent = "Copied";
    } catch {
      getSelection().selectAllChildren(value);
    }
  }, "secondary", {class: "mk-button mk-button-secondary mk-button-small"});
  const value = el("code", {class: "mk-code"}, code);
  return el("div", {class: "mk-code-box"}, value, copy);
}

export class CompletionView {
  constructor(ctx, message) {
    this.message = message;
    this.timer = null;
  }

  mount(container) {
    const {title, html, code, redirect, mturk} = this.message;
    const parts = [prose(html)];
    if (code) parts.push(el("p", {class: "mk-code-label"}, "Your completion code:"), codeBox(String(code)));
    const target = redirect ? safeUrl(redirect) : null;
    let submitTo = mturk?.submit_to ? safeUrl(mturk.submit_to) : null;
    if (submitTo && (submitTo.protocol !== "https:" || !MTURK_HOSTS.includes(submitTo.host))) submitTo = null;
    // A participant who came through MTurk submits there, whatever the redirect says.
    if (mturk && submitTo) {
      const action = new URL("/mturk/externalSubmit", submitTo.origin);
      const form = el("form", {method: "POST", action: action.href, class: "mk-leave"},
        el("input", {type: "hidden", name: "assignmentId", value: mturk.assignment_id ?? ""}),
        // MTurk refuses a submission whose only field is assignmentId.
        el("input", {type: "hidden", name: "code", value: code ?? ""}));
      this.note = el("span", {}, "");
      form.append(el("p", {class: "mk-muted"}, this.note),
        el("button", {type: "submit", class: "mk-button mk-button-primary"}, "Submit the HIT"));
      parts.push(form);
      this.countdown("MTurk", () => form.requestSubmit ? form.requestSubmit() : form.submit());
    } else if (target) {
      this.note = el("span", {}, "");
      parts.push(el("div", {class: "mk-leave"},
        el("p", {class: "mk-muted"}, this.note),
        el("a", {class: "mk-button mk-button-primary", href: target.href, rel: "noreferrer"}, "Continue")));
      this.countdown(target.host, () => location.assign(target.href));
    }
    container.append(card(title || "Thank you", ...parts));
  }

  /** Leave after LEAVE_AFTER_S seconds, saying where to and when. */
  countdown(where, leave) {
    let left = LEAVE_AFTER_S;
    const say = () => {
      this.note.textContent = `Taking you back to ${where} in ${left} second${left === 1 ? "" : "s"}…`;
    };
    say();
    this.timer = setInterval(() => {
      left -= 1;
      if (left > 0) return say();
      clearInterval(this.timer);
      this.note.textContent = `Taking you back to ${where}… If nothing happens, use the button below.`;
      leave();
    }, 1000);
  }

  destroy() {
    clearInterval(this.timer);
  }
}
