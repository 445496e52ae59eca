// The small status line above the canvas: the frame's `hud` dict, the time left, whose turn it
// is, and the keys. Agents appear by their display names (the step's `labels`; "You" for the
// participant's own), never by raw ids.

import {clock, el} from "../dom.js";

const KEY_LABELS = {
  ArrowUp: "↑", ArrowDown: "↓", ArrowLeft: "←", ArrowRight: "→", " ": "Space", Enter: "Enter",
  Escape: "Esc", Shift: "Shift", Control: "Ctrl", Alt: "Alt", Meta: "Meta", Tab: "Tab",
};

const ARROWS = ["ArrowUp", "ArrowDown", "ArrowLeft", "ArrowRight"];

/** Arrow keys first, in the order ↑ ↓ ← →; the rest as the step lists them (a stable sort). */
function keyOrder(key) {
  const i = ARROWS.indexOf(key);
  return i < 0 ? ARROWS.length : i;
}

/** "team_score" -> "Team score". */
export function label(name) {
  const words = String(name).replace(/[_-]+/g, " ").trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** A HUD value as short text: numbers rounded, lists joined, objects as "a 1 · b 2". */
export function formatValue(value) {
  if (typeof value === "number") return Number.isInteger(value) ? String(value) : String(Math.round(value * 100) / 100);
  if (Array.isArray(value)) return value.map(formatValue).join(" · ");
  if (value && typeof value === "object") {
    return Object.entries(value).map(([k, v]) => `${k} ${formatValue(v)}`).join(" · ");
  }
  return value === null || value === undefined ? "–" : String(value);
}

/** Agent ids are JSON values (a str, or an int such as CoGrid's 0 and 1). */
export function sameAgent(a, b) {
  return a !== null && a !== undefined && b !== null && b !== undefined && JSON.stringify(a) === JSON.stringify(b);
}

/** Own agents whose id in words says nothing ("You play Human"): not shown. */
const GENERIC = /^(human|player|me|you|agent|self|participant)$/i;

/**
 * `agent -> display name`: the step's `names` ([[agent, name]]), "You" for the participant's own
 * agent unless the step's `labels` name it (`named`).
 */
export function agentNames({names, named, you}) {
  const list = Array.isArray(names) ? names : [];
  const labelled = Array.isArray(named) ? named : [];
  return (agent) => {
    const isNamed = labelled.some((a) => sameAgent(a, agent));
    if (sameAgent(agent, you) && !isNamed) return "You";
    const found = list.find(([a]) => sameAgent(a, agent));
    return found ? String(found[1]) : String(agent);
  };
}

export class Hud {
  constructor({you, agents, keys, turnBased, names, named, maxSteps, fps}) {
    this.you = you;
    this.turnBased = turnBased;
    this.maxSteps = Number.isInteger(maxSteps) && maxSteps > 0 ? maxSteps : null;
    this.fps = fps > 0 ? fps : 30;
    this.nameOf = agentNames({names, named, you});
    this.items = el("div", {class: "mk-hud-items"});
    this.turn = el("div", {class: "mk-turn", hidden: true, "aria-live": "polite"});
    const others = Array.isArray(agents) ? agents.filter((a) => !sameAgent(a, you)) : [];
    // "You play Blue": in a game with others, which one is yours (its label, else its id in words).
    const own = (names || []).find(([a]) => sameAgent(a, you));
    const ownName = own ? String(own[1]) : null;
    this.youItem = others.length && ownName && ownName !== "You" && !GENERIC.test(ownName)
      ? el("span", {class: "mk-hud-item mk-hud-you"}, el("span", {class: "mk-hud-label"}, "You play"),
        el("span", {class: "mk-hud-value"}, ownName))
      : null;
    this.timeItem = this.maxSteps
      ? el("span", {class: "mk-hud-item mk-hud-time"}, el("span", {class: "mk-hud-label"}, turnBased ? "Turns left" : "Time left"),
        this.timeValue = el("span", {class: "mk-hud-value"}))
      : null;
    this.element = el("div", {class: "mk-hud"}, this.items, this.turn);
    const shown = [...(keys || [])].sort((a, b) => keyOrder(a) - keyOrder(b));
    this.keys = el("div", {class: "mk-controls"},
      shown.length ? el("span", {class: "mk-muted"}, "Controls") : null,
      ...shown.map((k) => el("kbd", {}, KEY_LABELS[k] || k)));
    this.update({});
  }

  /** A frame's `hud`, `frame` and `turn`. */
  update({hud, turn, frame}) {
    if (this.timeItem && Number.isInteger(frame)) {
      const left = Math.max(0, this.maxSteps - frame);
      this.timeValue.textContent = this.turnBased ? String(left) : clock(left / this.fps);
      this.timeItem.dataset.left = String(left);
    } else if (this.timeItem && !this.timeValue.textContent) {
      this.timeValue.textContent = this.turnBased ? String(this.maxSteps) : clock(this.maxSteps / this.fps);
    }
    const entries = hud && typeof hud === "object" && !Array.isArray(hud) ? Object.entries(hud) : [];
    // {episode: 2, episodes: 3} reads "Episode 2 of 3".
    const total = entries.find(([k]) => k === "episodes");
    const current = entries.find(([k]) => k === "episode");
    if (total && current && typeof current[1] === "number") {
      current[1] = `${current[1]} of ${formatValue(total[1])}`;
      entries.splice(entries.indexOf(total), 1);
    }
    this.items.replaceChildren(this.youItem || "", this.timeItem || "", ...entries.map(([k, v]) =>
      el("span", {class: "mk-hud-item"}, el("span", {class: "mk-hud-label"}, label(k)),
        el("span", {class: "mk-hud-value"}, formatValue(v)))));
    if (turn === null || turn === undefined) {
      this.turn.hidden = true;
      return;
    }
    const mine = sameAgent(turn, this.you);
    this.turn.hidden = false;
    this.turn.className = mine ? "mk-turn mk-turn-yours" : "mk-turn";
    this.turn.textContent = mine ? "Your turn" : `Waiting for ${this.nameOf(turn)}…`;
    this.turn.dataset.turn = JSON.stringify(turn);
  }
}
