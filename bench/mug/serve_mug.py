"""MUG (multi-user-gymnasium 0.1.2) serving the capacity bench's game in its server-authoritative
mode: two dots moved by two human players at 30 fps, the equivalent of bench/studies/_capacity.py.
Run with the MUG virtualenv's python (bench/bench_serve.py makes bench/.mug-venv).

Usage: bench/.mug-venv/bin/python bench/mug/serve_mug.py --port 5703 --frames 900
"""

import eventlet

eventlet.monkey_patch()

import argparse  # noqa: E402
import os  # noqa: E402

from mug.configurations import configuration_constants, experiment_config  # noqa: E402
from mug.rendering import Surface  # noqa: E402
from mug.scenes import gym_scene, stager, static_scene  # noqa: E402
from mug.server import app  # noqa: E402

MOVES = {0: (0, 0), 1: (0, -1), 2: (0, 1), 3: (-1, 0), 4: (1, 0)}
KEYS = {"ArrowUp": 1, "ArrowDown": 2, "ArrowLeft": 3, "ArrowRight": 4}


class Pair:
    """Two dots moved by their players (the mugkit bench's env, drawn with MUG's Surface, which
    sends only the shapes that changed, as mugkit's frames do)."""

    def __init__(self, render_mode="mug", **_):
        self.agents = ["a", "b"]
        self.surface = Surface(600, 400)

    def reset(self, seed=None, options=None):
        self.pos = {"a": [10, 10], "b": [90, 90]}
        return self._obs(), {a: {} for a in self.agents}

    def _obs(self):
        flat = self.pos["a"] + self.pos["b"]
        return {a: list(flat) for a in self.agents}

    def step(self, actions):
        for a, act in actions.items():
            dx, dy = MOVES[act]
            self.pos[a] = [max(0, min(100, self.pos[a][0] + dx)), max(0, min(100, self.pos[a][1] + dy))]
        return self._obs(), {a: 0 for a in self.agents}, {a: False for a in self.agents}, \
            {a: False for a in self.agents}, {a: {} for a in self.agents}

    def render(self):
        self.surface.rect(x=0, y=0, w=600, h=400, color="#eeeeee", id="bg", persistent=True)
        self.surface.circle(x=self.pos["a"][0] * 6, y=self.pos["a"][1] * 4, radius=8, color="#c0392b",
                            id="a", persistent=True)
        self.surface.circle(x=self.pos["b"][0] * 6, y=self.pos["b"][1] * 4, radius=8, color="#2980b9",
                            id="b", persistent=True)
        return self.surface.commit().to_dict()

    def close(self):
        pass


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=5703)
    parser.add_argument("--frames", type=int, default=900)
    args = parser.parse_args()
    human = configuration_constants.PolicyTypes.Human
    start = static_scene.StartScene().scene(scene_id="start", experiment_config={}).display(scene_header="Start")
    pair = (
        gym_scene.GymScene()
        .scene(scene_id="pair", experiment_config={})
        .policies(policy_mapping={"a": human, "b": human})
        .environment(env_creator=Pair, env_config={"render_mode": "mug"})
        .rendering(fps=30, game_width=600, game_height=400)
        .gameplay(default_action=0, action_mapping=KEYS, num_episodes=1, max_steps=args.frames)
        .multiplayer(mode="server_authoritative")
    )
    end = static_scene.EndScene().scene(scene_id="end", experiment_config={}).display(scene_header="Done")
    config = (
        experiment_config.ExperimentConfig()
        .experiment(stager=stager.Stager(scenes=[start, pair, end]), experiment_id="bench")
        .hosting(port=args.port, host="127.0.0.1")
    )
    # The 0.1.2 wheel ships without its page templates: a stand-in page (the bench plays over
    # socket.io; the page's route is what registers a subject).
    app.app.template_folder = os.path.join(os.path.dirname(os.path.abspath(__file__)), "templates")
    app.run(config)


if __name__ == "__main__":
    main()
