// `survey` view: the server's SurveyJS JSON model, rendered with SurveyJS's vanilla-JS UI
// (globals `Survey` and `SurveyUI` from /static/vendor/). Completing the survey sends `advance`
// with the answers; the survey completes only when the server accepts them, and its error is
// shown otherwise (the answers stay, so the participant can correct them).

import {card, el, errorBox} from "../dom.js";

/** Answers as {name: value}: every question of the model, null when left unanswered. */
export function collectAnswers(model) {
  const answers = {};
  for (const question of model.getAllQuestions()) {
    if (!question.name || question.getType() === "html" || question.getType() === "expression") continue;
    const value = model.data[question.name];
    answers[question.name] = value === undefined ? null : value;
  }
  return answers;
}

export class SurveyView {
  constructor(ctx, message) {
    this.ctx = ctx;
    this.message = message;
    this.model = null;
  }

  mount(container) {
    const {title, survey: json} = this.message;
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

  destroy() {
    this.model?.dispose?.();
    this.model = null;
  }
}
