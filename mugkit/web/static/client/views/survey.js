// `survey` view: the server's SurveyJS JSON model, rendered with SurveyJS's vanilla-JS UI
// (globals `Survey` and `SurveyUI` from /static/vendor/). Completing the survey sends `advance`
// with the answers; the survey completes only when the server accepts them, and its error is
// shown otherwise (the answers stay, so the participant can correct them).
//
// `conditions` (question name -> [[question, operator, value], ...]) hide a question until all of
// its conditions hold over the answers above it, by the rules of mugkit/conditions.py (the server
// evaluates them again): keep the two in step.

import {card, el, errorBox} from "../dom.js";

// A timed survey's answers so far reach the server at most this often (keepDraft).
const DRAFT_MS = 700;

function isEmpty(value) {
  if (value === undefined || value === null) return true;
  if (typeof value === "string" || Array.isArray(value)) return value.length === 0;
  return typeof value === "object" && Object.keys(value).length === 0;
}

/** Whether one condition [name, op, want] holds over `answers` (mugkit/conditions.py: holds). */
export function holds([name, op, want], answers) {
  const got = answers[name];
  if (isEmpty(got)) return false;
  const numbers = typeof got === "number" && typeof want === "number";
  switch (op) {
    case "==": return got === want;
    case "!=": return got !== want;
    case "<": return numbers && got < want;
    case "<=": return numbers && got <= want;
    case ">": return numbers && got > want;
    case ">=": return numbers && got >= want;
    case "in": return Array.isArray(want) && want.some((w) => got === w);
    case "not in": return Array.isArray(want) && !want.some((w) => got === w);
    case "contains": return Array.isArray(got) && got.some((g) => g === want);
    default: return false;
  }
}

/** Shows each question whose conditions hold over the answers shown above it; hides the rest
 * (mugkit/questions.py: visible_questions). */
export function applyConditions(model, conditions) {
  const seen = {};
  for (const question of model.getAllQuestions()) {
    const own = conditions?.[question.name] || [];
    const shown = own.every((c) => holds(c, seen));
    if (question.visible !== shown) question.visible = shown;
    if (shown) seen[question.name] = model.data[question.name];
  }
}

/** Answers as {name: value}: every question shown, null when left unanswered; a hidden
 * question is left out (the server refuses an answer to it). */
export function collectAnswers(model) {
  const answers = {};
  for (const question of model.getAllQuestions()) {
    if (!question.name || question.getType() === "html" || question.getType() === "expression") continue;
    if (!question.isVisible) continue;
    const value = model.data[question.name];
    answers[question.name] = value === undefined ? null : value;
  }
  return answers;
}

/** A Likert scale with a label on every point comes as a radiogroup of number values (mugkit's
 * Choice options are always text): it gets the class that lays it out as a scale (mugkit.css). */
function markScales(model) {
  model.onUpdateQuestionCssClasses.add((sender, options) => {
    const q = options.question;
    if (q.getType() === "radiogroup" && q.choices.length && q.choices.every((c) => typeof c.value === "number")) {
      options.cssClasses.root += " mk-scale";
    }
  });
}

export class SurveyView {
  constructor(ctx, message) {
    this.ctx = ctx;
    this.message = message;
    this.model = null;
  }

  mount(container) {
    const {title, survey: json, conditions} = this.message;
    const Survey = globalThis.Survey;
    const error = errorBox();
    const target = el("div", {class: "mk-survey"});
    const saved = el("p", {class: "mk-muted mk-center", hidden: true}, "Thank you. Loading the next part…");
    container.append(card(title, target, error, saved));
    if (!Survey?.Model || typeof Survey.Model.prototype.render !== "function") {
      error.show("The questionnaire could not be loaded. Please reload the page.");
      return;
    }
    const model = new Survey.Model(json && typeof json === "object" ? json : {});
    model.showCompletePage = false;
    if (!json?.completeText) model.completeText = "Continue";
    markScales(model);
    applyConditions(model, conditions);
    model.onValueChanged.add((sender) => applyConditions(sender, conditions));
    if (Number.isFinite(this.message.time_left)) {
      // A survey with a time limit: the server keeps the answers so far, stored if the time runs
      // out (mugkit/web/timeouts.py) — also when this page is closed by then.
      model.onValueChanged.add((sender) => this.keepDraft(sender));
    }
    model.onCompleting.add(async (sender, options) => {
      error.show(null);
      const reply = await this.ctx.advance({answers: collectAnswers(sender)});
      if (!reply?.ok) {
        options.allow = false;
        error.show(reply?.error || "Your answers could not be saved. Please try again.");
        error.scrollIntoView({block: "nearest", behavior: "smooth"});
      }
    });
    model.onComplete.add(() => {
      target.hidden = true;
      saved.hidden = false;
    });
    model.render(target);
    this.model = model;
  }

  /** The same view again (a reconnection): a timed survey sends its answers so far again (a
   *  restarted server without Redis lost them). */
  again() {
    if (this.model && Number.isFinite(this.message.time_left)) this.keepDraft(this.model);
  }

  /** Sends the answers so far (`draft`), at most one message per DRAFT_MS. */
  keepDraft(model) {
    if (this.draftTimer) return;
    this.draftTimer = setTimeout(() => {
      this.draftTimer = null;
      this.ctx.link.request("draft", {index: this.message.index, answers: collectAnswers(model)});
    }, DRAFT_MS);
  }

  destroy() {
    clearTimeout(this.draftTimer);
    this.model?.dispose?.();
    this.model = null;
  }
}
