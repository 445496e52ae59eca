"""Gymnasium's CartPole as it is, rendering RGB arrays, on the server (server test study)."""

import mugkit as mk


@mk.scene(players={"player": mk.HUMAN}, keys={"ArrowLeft": 0, "ArrowRight": 1}, default_action=0, max_steps=20,
          record_observations=True)
def cartpole(seed):
    import gymnasium

    return gymnasium.make("CartPole-v1", render_mode="rgb_array")


@mk.scene(players={"a": mk.HUMAN, "b": mk.HUMAN}, keys={"x": 0}, default_action=0, waitroom_timeout=1)
def lonely(seed):
    from _walk import Walk  # noqa: F401  (never built: nobody comes)

    raise AssertionError("no partner ever arrives in this test")


@mk.scene
def done():
    return mk.Completion(code="PIX1", timeout_code="ALONE1", redirect="https://example.org/?cc={code}")


FLOW = [cartpole, lonely, done]
