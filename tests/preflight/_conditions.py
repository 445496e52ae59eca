"""A study whose second condition misspells a key its steps read: only its participants would
meet the crash."""

import mugkit as mk
from _walker import Walker

CONDITIONS = [{"name": "slow", "speed": 2}, {"name": "fast", "sped": 4}]


@mk.scene
def instructions(participant):
    return mk.Page(title="How to play", body=f"The walker moves {participant.condition['speed']} steps a frame.")


@mk.scene(players={"player": mk.HUMAN}, keys={"ArrowLeft": 0, "ArrowRight": 2}, default_action=1, max_steps=60)
def walk(participant):
    return Walker(crash_at=1000 * participant.condition["speed"])
