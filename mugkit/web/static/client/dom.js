// Small DOM helpers shared by the views: build elements, cards and buttons.

/**
 * An element: el("p", {class: "x", onclick: fn}, "text", child, ...).
 * Attributes starting with "on" become listeners; `html` sets innerHTML (server-sent HTML only);
 * `dataset` is an object of data-* values; false/null/undefined attributes are left out.
 */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === false || value === null || value === undefined) continue;
    if (name.startsWith("on") && typeof value === "function") {
      node.addEventListener(name.slice(2), value);
    } else if (name === "html") {
      node.innerHTML = value;
    } else if (name === "dataset") {
      Object.assign(node.dataset, value);
    } else if (name === "class") {
      node.className = value;
    } else {
      node.setAttribute(name, value === true ? "" : String(value));
    }
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** A centered card: an optional title, then the children. */
export function card(title, ...children) {
  return el("section", {class: "mk-card"}, title ? el("h1", {class: "mk-title"}, title) : null, ...children);
}

/** Server-sent HTML as the body of a card (the server renders Markdown; it is trusted). */
export function prose(html) {
  return el("div", {class: "mk-prose", html: html || ""});
}

/** A button; `kind` is "primary" (default), "secondary" or "link". */
export function button(label, onclick, kind = "primary", attrs = {}) {
  return el("button", {type: "button", class: `mk-button mk-button-${kind}`, onclick, ...attrs}, label);
}

/** An area for an error message under a form; `show(text)` fills it, `show(null)` hides it. */
export function errorBox() {
  const box = el("div", {class: "mk-error", role: "alert", hidden: true});
  box.show = (text) => {
    box.textContent = text || "";
    box.hidden = !text;
  };
  return box;
}

/** Seconds as m:ss. */
export function clock(seconds) {
  const s = Math.max(0, Math.ceil(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

/** A web address that is safe to navigate to or post to (http or https only), else null. */
export function safeUrl(value, base = location.href) {
  try {
    const url = new URL(value, base);
    return url.protocol === "https:" || url.protocol === "http:" ? url : null;
  } catch {
    return null;
  }
}
