"""TEMPORARY stand-in for inputs.HumanInput (being written on another branch)."""
from __future__ import annotations

import random
from typing import Any

from ..runtime.policies import action_mask, mask_allows
from .inputs import MAX_RUN


class HumanInput:
    def __init__(self, step: Any, rng: random.Random):
        self.step = step
        self.rng = rng
        self.combos = [tuple(sorted(c)) for c, _ in step.options.combos]
        self.tap = step.options.input_mode in ("keydown", "keyup")
        self.reset()

    def reset(self) -> None:
        self.seg = {}

    def keys(self, driver) -> dict:
        out = {}
        f = driver.frame
        for h in self.step.humans:
            if h not in f.acting:
                continue
            mask = action_mask(f.observations.get(h), f.infos.get(h))
            legal = [c for c, (_, a) in zip(self.combos, self.step.options.combos) if mask_allows(mask, a)]
            if driver.turn_based:
                out[h] = self.rng.choice(legal) if legal else ()
                continue
            combo, left, i = self.seg.get(h, ((), 0, 0))
            if left <= 0 or (combo and combo not in legal):
                choices = [()] + legal
                combo, left, i = self.rng.choice(choices), self.rng.randint(1, MAX_RUN), 0
            held = combo if not self.tap or i % 2 == 0 else ()
            self.seg[h] = (combo, left - 1, i + 1)
            out[h] = held
        return out
