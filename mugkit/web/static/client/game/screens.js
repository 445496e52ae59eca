// The screens around a game (docs/participants.md): "ready?", the 3-2-1 countdown and the
// round-over score, drawn over the stage. Each screen is a Promise the game views wait on; the
// clock (the server's, or the browser runtime's worker) waits meanwhile.

import {button, el} from "../dom.js";
import {formatValue, sameAgent} from "./hud.js";

/** Keys that answer a screen ("press space when ready"). */
const ANSWER_KEYS = new Set([" ", "Enter"]);

export class Screens {
  constructor() {
    this.element = el("div", {class: "mk-screen", hidden: true, "aria-live": "polite"});
    this.timers = [];
    this.onKey = null;
    this.settle = null;
  }

  /** Shows a panel of `kind`, replacing the screen shown before (whose Promise resolves). */
  show(kind, ...children) {
    this.clear();
    this.element.dataset.screen = kind;
    this.element.replaceChildren(el("div", {class: `mk-screen-panel mk-screen-${kind}`}, ...children));
    this.element.hidden = false;
  }

  hide() {
    this.clear();
    this.element.hidden = true;
    this.element.replaceChildren();
    delete this.element.dataset.screen;
  }

  clear() {
    this.timers.forEach((t) => clearTimeout(t));
    this.timers = [];
    if (this.onKey) window.removeEventListener("keydown", this.onKey, {capture: true});
    this.onKey = null;
    const settle = this.settle;
    this.settle = null;
    settle?.(false);   // replaced: its Promise resolves false
  }

  /** A Promise of true once the panel's button or space/Enter answers it, or `seconds` pass
   *  (when given); of false when another screen replaces this one first. */
  answered(action, seconds = null) {
    return new Promise((resolve) => {
      let finished = false;
      const onKey = (event) => {
        if (ANSWER_KEYS.has(event.key) && !event.repeat) done(true);
      };
      const done = (answered) => {
        if (finished) return;
        finished = true;
        if (this.settle === done) this.settle = null;
        window.removeEventListener("keydown", onKey, {capture: true});
        if (this.onKey === onKey) this.onKey = null;
        resolve(answered);
      };
      this.settle = done;
      this.onKey = onKey;
      action.addEventListener("click", () => done(true));
      window.addEventListener("keydown", onKey, {capture: true});
      if (seconds) this.timers.push(setTimeout(() => done(true), seconds * 1000));
      action.focus({preventScroll: true});
    });
  }

  /** "Press space or click when ready"; resolves true when the participant is. */
  ready({resumed = false} = {}) {
    const go = button("I’m ready", null, "primary", {dataset: {answer: "ready"}});
    this.show("ready",
      el("h2", {class: "mk-screen-title"}, resumed ? "Ready to continue?" : "Ready?"),
      el("p", {}, "Press the ", el("kbd", {}, "Space"), " bar or click the button when you are ready. ",
        "The game starts after a short countdown."),
      go);
    return this.answered(go);
  }

  /** A note while the clock waits for others ("Waiting for the other players…"). */
  waiting(text) {
    this.show("waiting", el("div", {class: "mk-spinner", "aria-hidden": "true"}), el("p", {}, text));
  }

  /** 3, 2, 1 over the stage; resolves true when it reaches 0 (false: replaced first). */
  countdown(seconds) {
    if (!(seconds > 0)) {
      this.hide();
      return Promise.resolve(true);
    }
    const number = el("div", {class: "mk-countdown-number"}, String(seconds));
    this.show("countdown", el("p", {class: "mk-screen-note"}, "Starting in"), number);
    return new Promise((resolve) => {
      this.settle = resolve;
      for (let i = 1; i < seconds; i++) {
        this.timers.push(setTimeout(() => (number.textContent = String(seconds - i)), i * 1000));
      }
      this.timers.push(setTimeout(() => {
        this.settle = null;
        this.hide();
        resolve(true);
      }, seconds * 1000));
    });
  }

  /**
   * The round-over screen: the episode's score for this participant (and the others'); resolves
   * when dismissed or after `seconds`.
   * @param {{round: {episode, episodes, last, scores}, you, nameOf: function, seconds: number}} args
   */
  roundOver({round, you, nameOf, seconds}) {
    const {episode, episodes, last, scores = []} = round || {};
    // (A page that joined during the screen has no `round`: it says "Round over" alone.)
    const title = last ? (episodes > 1 ? "Game over" : "Round over")
      : Number.isInteger(episode) && Number.isInteger(episodes) ? `Round ${episode} of ${episodes} over` : "Round over";
    const mine = scores.find(([agent]) => sameAgent(agent, you));
    const others = scores.filter(([agent]) => !sameAgent(agent, you));
    const shared = scores.length > 1 && scores.every(([, v]) => JSON.stringify(v) === JSON.stringify(scores[0][1]));
    const lines = [];
    if (shared) {
      lines.push(el("div", {class: "mk-score"}, el("span", {class: "mk-score-label"}, "Score"),
        el("span", {class: "mk-score-value"}, formatValue(scores[0][1]))));
    } else {
      if (mine) lines.push(el("div", {class: "mk-score"}, el("span", {class: "mk-score-label"}, "Your score"),
        el("span", {class: "mk-score-value"}, formatValue(mine[1]))));
      if (others.length) lines.push(el("ul", {class: "mk-score-others"}, ...others.map(([agent, value]) =>
        el("li", {}, el("span", {}, nameOf(agent)), el("strong", {}, formatValue(value))))));
    }
    const next = button(last ? "Continue" : "Next round", null, "primary", {dataset: {answer: "continue"}});
    const left = el("span", {class: "mk-screen-left"});
    this.show("round_over", el("h2", {class: "mk-screen-title"}, title), ...lines,
      el("div", {class: "mk-screen-actions"}, next), el("p", {class: "mk-screen-note"}, left));
    const until = performance.now() + seconds * 1000;
    const tick = () => {
      const s = Math.max(0, Math.ceil((until - performance.now()) / 1000));
      left.textContent = last ? `Continuing in ${s} s` : `Next round in ${s} s`;
      if (s > 0) this.timers.push(setTimeout(tick, 250));
    };
    tick();
    return this.answered(next, seconds);
  }
}
