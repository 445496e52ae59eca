// The small status line above the canvas: the frame's `hud` dict, whose turn it is, and the keys.

import {el} from "../dom.js";

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

export class Hud {
  constructor({you, agents, keys, turnBased}) {
    this.you = you;
    this.turnBased = turnBased;
    this.items = el("div", {class: "mk-hud-items"});
    this.turn = el("div", {class: "mk-turn", hidden: true, "aria-live": "polite"});
    const others = Array.isArray(agents) ? agents.filter((a) => !sameAgent(a, you)) : [];
    this.youItem = others.length && you !== null && you !== undefined
      ? el("span", {class: "mk-hud-item"}, el("span", {class: "mk-hud-label"}, "You"), el("span", {class: "mk-hud-value"}, String(you)))
      : null;
    this.element = el("div", {class: "mk-hud"}, this.items, this.turn);
    const shown = [...(keys || [])].sort((a, b) => keyOrder(a) - keyOrder(b));
    this.keys = el("div", {class: "mk-controls"},
      shown.length ? el("span", {class: "mk-muted"}, "Controls") : null,
      ...shown.map((k) => el("kbd", {}, KEY_LABELS[k] || k)));
    this.update({});
  }

  /** A frame's `hud` and `turn`. */
  update({hud, turn}) {
    const entries = hud && typeof hud === "object" && !Array.isArray(hud) ? Object.entries(hud) : [];
    // {episode: 2, episodes: 3} reads "Episode 2 of 3".
    const total = entries.find(([k]) => k === "episodes");
    const current = entries.find(([k]) => k === "episode");
    if (total && current && typeof current[1] === "number") {
      current[1] = `${current[1]} of ${formatValue(total[1])}`;
      entries.splice(entries.indexOf(total), 1);
    }
    this.items.replaceChildren(this.youItem || "", ...entries.map(([k, v]) =>
      el("span", {class: "mk-hud-item"}, el("span", {class: "mk-hud-label"}, label(k)),
        el("span", {class: "mk-hud-value"}, formatValue(v)))));
    if (turn === null || turn === undefined) {
      this.turn.hidden = true;
      return;
    }
    const mine = sameAgent(turn, this.you);
    this.turn.hidden = false;
    this.turn.className = mine ? "mk-turn mk-turn-yours" : "mk-turn";
    this.turn.textContent = mine ? "Your turn" : `Waiting for ${turn}…`;
    this.turn.dataset.turn = JSON.stringify(turn);
  }
}
