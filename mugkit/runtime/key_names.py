"""Key names no browser sends: ``keys={"Space": 1}`` never fires (the space bar's
``KeyboardEvent.key`` is ``" "``). Named with the name that does fire.

Single characters are always fine (the client folds their case). A longer name is refused only when
it is an alias or a near miss of a standard name (``"space"``, ``"Up"``, ``"Esc"``, ``"ArowUp"``);
a name with no standard name near it (a media key, say) is left alone.
"""

from __future__ import annotations

import difflib

__all__ = ["key_name_problem", "STANDARD_NAMES"]

#: The ``KeyboardEvent.key`` values of the keys a study may map (UI Events, "key" values).
STANDARD_NAMES = frozenset([
    "ArrowUp", "ArrowDown", "ArrowLeft", "ArrowRight", "Enter", "Escape", "Tab", "Backspace", "Delete",
    "Insert", "Home", "End", "PageUp", "PageDown", "Shift", "Control", "Alt", "AltGraph", "Meta", "CapsLock",
    "NumLock", "ScrollLock", "Pause", "PrintScreen", "ContextMenu", "Clear", "Dead", "Fn",
    *(f"F{i}" for i in range(1, 21)),
])

#: Names people write for a key, and the name browsers send for it.
ALIASES = {
    "space": " ", "spacebar": " ", "space bar": " ", "up": "ArrowUp", "down": "ArrowDown", "left": "ArrowLeft",
    "right": "ArrowRight", "esc": "Escape", "return": "Enter", "ctrl": "Control", "control": "Control",
    "del": "Delete", "option": "Alt", "cmd": "Meta", "command": "Meta", "win": "Meta", "os": "Meta",
    "pgup": "PageUp", "pgdn": "PageDown", "backspace": "Backspace", "uparrow": "ArrowUp",
    "downarrow": "ArrowDown", "leftarrow": "ArrowLeft", "rightarrow": "ArrowRight",
}


def key_name_problem(name: str) -> str | None:
    """Why no browser sends ``name`` as ``KeyboardEvent.key``, with the name to use; None when it
    is fine (or unknown but not close to a standard name)."""
    if len(name) <= 1 or name in STANDARD_NAMES:
        return None
    code = _from_code(name)
    if code is not None:
        return (f"{name!r} is a KeyboardEvent.code (a key's place on the keyboard); keys= takes KeyboardEvent.key "
                f"names: did you mean {code!r}?")
    folded = name.lower().replace("_", "").replace("-", "")
    wanted = ALIASES.get(folded) or ALIASES.get(name.lower()) or next(
        (s for s in STANDARD_NAMES if s.lower() == folded), None)
    if wanted is None:
        close = difflib.get_close_matches(name, sorted(STANDARD_NAMES), n=1, cutoff=0.8)
        wanted = close[0] if close else None
    if wanted is None:
        return None
    return f"no browser sends {name!r} as a key (KeyboardEvent.key): did you mean {wanted!r}?"


def _from_code(name: str) -> str | None:
    """The key name for a ``KeyboardEvent.code`` name (``KeyW`` → ``w``, ``Digit1`` → ``1``), else None."""
    for prefix in ("Key", "Digit", "Numpad"):
        rest = name[len(prefix):]
        if name.startswith(prefix) and len(rest) == 1 and rest.isalnum():
            return rest.lower()
    return " " if name == "Space" else None
