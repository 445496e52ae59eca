"""Checks on envs with large arrays stay fast without checking less: the streamed canonical hash
gives the same bytes, the process-local fingerprint sees every byte, snapshots copy arrays
faithfully, and the synctest's rollback schedule restores every distance, restores snapshots more
than once and still catches the planted faults."""

from __future__ import annotations

import gc
import hashlib
import os

import numpy as np
import pytest

from mugkit.checks.base import CheckContext
from mugkit.checks.play import Run, replay_actions
from mugkit.checks.report import CheckFailure
from mugkit.checks.synctest import check_synctest, rollback_run
from mugkit.collect import load_step
from mugkit.nodeid import NodeId
from mugkit.runtime import hashing
from mugkit.runtime.adapter import adapt, local_fingerprints
from mugkit.runtime.driver import FrameDriver
from mugkit.runtime.hashing import digest, encode, fingerprint
from mugkit.runtime.state import Snapshotter, hash_view, state_view

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FAULTS = "tests/faults/_faults.py"


def _arrays():
    base = np.arange(24, dtype=np.int32).reshape(4, 6)
    structured = np.zeros(3, dtype=[("a", "<i4"), ("b", "<f8")])
    structured["a"] = [1, 2, 3]
    return [
        base, base.T, base[:, ::2], np.asfortranarray(base), base.astype(">i4"), np.array([], dtype=np.float32),
        np.zeros((0, 3)), np.array([True, False]), np.array(["ab", "c"]), np.array([0, 5, 9], dtype="datetime64[s]"),
        structured, np.full((300, 400, 3), 7, dtype=np.uint8), np.array(5), np.float32(-0.0),
    ]


# --- the canonical hash: streamed, same bytes -------------------------------------------------------


@pytest.mark.parametrize("arr", _arrays(), ids=lambda a: f"{a.dtype}{getattr(a, 'shape', '')}")
def test_digest_is_sha256_of_the_encoding(arr):
    for value in (arr, {"obs": arr, "t": 3, "rest": [arr, "x"]}):
        assert digest(value) == hashlib.sha256(encode(value)).hexdigest()[:16]


def test_digest_of_a_big_frame_is_unchanged_by_streaming():
    frame = {"state": {"grid": np.arange(200_000, dtype=np.int64), "name": "x" * 300, "n": 2**70},
             "observations": {"a": np.ones((64, 64, 3), dtype=np.uint8)}, "frame": 9}
    assert digest(frame) == hashlib.sha256(encode(frame)).hexdigest()[:16]


# --- the process-local fingerprint --------------------------------------------------------------------


@pytest.mark.parametrize("arr", _arrays(), ids=lambda a: f"{a.dtype}{getattr(a, 'shape', '')}")
def test_fingerprint_is_equal_for_equal_data_and_never_a_digest(arr):
    copy = arr.copy() if hasattr(arr, "copy") else arr
    assert fingerprint({"a": arr}) == fingerprint({"a": copy})
    assert fingerprint(arr).startswith("~") and len(fingerprint(arr)) == 17
    assert fingerprint(arr) != digest(arr)


@pytest.mark.parametrize("shape", [(5,), (300, 400, 3)])  # below and above the size whose CRC is remembered
def test_fingerprint_sees_every_byte_even_after_it_remembered_the_array(shape):
    arr = np.zeros(shape, dtype=np.uint8)
    first = fingerprint(arr)
    assert fingerprint(arr) == first
    flat = arr.reshape(-1)
    for i in (0, flat.size // 2, flat.size - 1):  # the first, a middle and the last byte (not a multiple of 8)
        flat[i] = 1
        assert fingerprint(arr) != first, i
        flat[i] = 0
        assert fingerprint(arr) == first


def test_fingerprint_covers_dtype_shape_and_the_rest_of_the_frame():
    arr = np.zeros((300, 400, 3), dtype=np.uint8)
    assert fingerprint(arr) != fingerprint(arr.reshape(400, 300, 3))
    assert fingerprint(arr) != fingerprint(arr.view(np.int8))
    assert fingerprint({"a": arr, "t": 1}) != fingerprint({"a": arr, "t": 2})
    assert fingerprint(-0.0) != fingerprint(0.0) and fingerprint(True) != fingerprint(1)
    assert fingerprint(np.array([-0.0])) != fingerprint(np.array([0.0]))


def test_remembered_crcs_go_with_their_arrays():
    gc.collect()
    before = hashing._memo_bytes[0]
    arrays = [np.full((200, 200, 3), i, dtype=np.uint8) for i in range(5)]
    fps = [fingerprint(a) for a in arrays]
    assert len(set(fps)) == 5
    assert [fingerprint(a) for a in arrays] == fps  # remembered from the second fingerprint on
    assert hashing._memo_bytes[0] >= before + sum(a.nbytes for a in arrays)
    del arrays, fps
    gc.collect()
    assert hashing._memo_bytes[0] == before


class _Pixels:
    """A numpy env whose state holds large constant arrays, like a gymnasium Box's bounds."""

    metadata = {"render_modes": ["rgb_array"]}

    def __init__(self):
        import gymnasium

        self.low = np.zeros((100, 120, 3), dtype=np.uint8)
        self.high = np.full((100, 120, 3), 255, dtype=np.uint8)
        self.action_space = gymnasium.spaces.Discrete(3)
        self.observation_space = gymnasium.spaces.Box(self.low, self.high, dtype=np.uint8)

    def reset(self, seed=None, options=None):
        self.pos = 0
        return self._obs(), {}

    def _obs(self):
        obs = self.low.copy()
        obs[:, self.pos % 120] = 200
        return obs

    def step(self, action):
        self.pos += int(action)
        return self._obs(), 0.0, False, False, {}

    def render(self):
        return self._obs()


def test_local_fingerprints_switch_the_checksum_in_the_block_only():
    game = adapt(_Pixels(), ["player"])
    game.reset(1)
    canonical = game.checksum()
    assert len(canonical) == 16 and not canonical.startswith("~")
    with local_fingerprints():
        assert game.checksum() == game.fingerprint()
        with local_fingerprints():
            pass
        assert game.checksum().startswith("~")
    assert game.checksum() == canonical
    game.step({"player": 1})
    assert game.checksum() != canonical


def test_checksum_without_copies_equals_the_hash_of_the_kept_frame_data():
    game = adapt(_Pixels(), ["player"])
    game.reset(1)
    game.step({"player": 3})
    assert game.checksum() == digest(game.frame_data())
    env = game.env
    assert hash_view(env)["low"] is env.low and state_view(env)["low"] is not env.low


# --- snapshots ------------------------------------------------------------------------------------------


def test_deep_copy_fallback_copies_arrays_faithfully():
    class Env:
        pass

    env = Env()
    env.f = np.asfortranarray(np.arange(12.0).reshape(3, 4))
    env.obj = np.empty(2, dtype=object)
    env.obj[0], env.obj[1] = [1], [2]
    env.same = env.f  # one array under two names stays one array
    snap = Snapshotter(env)
    saved = snap.save()
    assert saved.f is not env.f and saved.f.flags.f_contiguous and np.array_equal(saved.f, env.f)
    assert saved.same is saved.f
    assert saved.obj[0] is not env.obj[0]  # object arrays copy their items
    env.f[0, 0] = 99.0
    env.obj[0].append(3)
    snap.load(saved)
    assert env.f[0, 0] == 0.0 and env.obj[0] == [1] and env.same is env.f
    env.f[0, 0] = 5.0
    snap.load(saved)  # a snapshot restores any number of times
    assert env.f[0, 0] == 0.0


# --- the synctest's schedule ---------------------------------------------------------------------------


def _context(step: str, check: str = "synctest", **kw) -> CheckContext:
    experiment, found = load_step(f"{FAULTS}::{step}", ROOT)
    return CheckContext(experiment, found, NodeId.parse(f"{FAULTS}::{step}::{check}"), ROOT, **kw)


class _Recorder:
    """Records what the driver does during a rollback run: restores (snapshot, frame before,
    frame after), saves and steps."""

    def __init__(self, monkeypatch):
        self.events = []
        load, save, advance = FrameDriver.load, FrameDriver.save, FrameDriver.advance
        rec = self

        def _load(driver, snapshot):
            before = driver.frame.index
            load(driver, snapshot)
            rec.events.append(("load", id(snapshot), before, driver.frame.index))

        def _save(driver):
            snapshot = save(driver)
            rec.events.append(("save", id(snapshot), driver.frame.index, None))
            return snapshot

        def _advance(driver, actions):
            out = advance(driver, actions)
            rec.events.append(("step", None, driver.frame.index, None))
            return out

        monkeypatch.setattr(FrameDriver, "load", _load)
        monkeypatch.setattr(FrameDriver, "save", _save)
        monkeypatch.setattr(FrameDriver, "advance", _advance)


@pytest.mark.parametrize("window", [1, 2, 3, 8])
def test_rollbacks_cover_every_distance_and_restore_snapshots_again(monkeypatch, window):
    ctx = _context("tracker_twin")
    frames = 30
    actions = [{"player": (i * 7) % 3} for i in range(frames)]
    ref = Run(hashes=replay_actions(ctx.game(3), actions), actions=actions)
    rec = _Recorder(monkeypatch)
    rollback_run(ctx, 3, ref, window)
    loads = [e for e in rec.events if e[0] == "load"]
    # Every distance 1..W, also long after the first W frames (with a state that has moved on).
    late = {before - after for _, _, before, after in loads if after >= window}
    assert late == set(range(1, window + 1))
    # Every frame is re-simulated after a restore at least W times (but the last W - 1 frames).
    resimulated = {}
    restored_at = None
    for kind, _, frame, after in rec.events:
        if kind == "load":
            restored_at = after
        elif kind == "step" and restored_at is not None and frame > restored_at:
            resimulated[frame] = resimulated.get(frame, 0) + 1
    assert all(resimulated.get(k, 0) >= window for k in range(1, frames - window + 2))
    # Snapshots are restored again after the game stepped on from them: an aliasing restore shows.
    seen, again = set(), 0
    for kind, snap, _, _ in rec.events:
        if kind == "load":
            again += snap in seen
            seen.add(snap)
    assert again >= frames // 2
    # The cost per frame: at most 2 W + 1 steps (and one of the plain run the fingerprints come from)
    # and 2 restores; restoring by every distance took W (W + 1) / 2 + 1 steps and W restores.
    steps = sum(e[0] == "step" for e in rec.events)
    assert steps <= frames * (2 * window + 2) and len(loads) <= 2 * frames


def test_synctest_catches_a_restore_that_aliases_its_snapshot():
    with pytest.raises(CheckFailure) as info:
        check_synctest(_context("aliased_restore", examples=3, frames=12))
    msg = str(info.value)
    assert "did not give back frame" in msg and "a snapshot shares a mutable object with the live env" in msg


def test_synctest_catches_a_render_that_changes_state():
    with pytest.raises(CheckFailure) as info:
        check_synctest(_context("render_changes_state", examples=3, frames=12))
    assert "rendering changed frame 0: render() must not change the game state" in str(info.value)


def test_synctest_still_names_the_field_a_restore_leaves_out():
    with pytest.raises(CheckFailure) as info:
        check_synctest(_context("partial_restore", examples=3, frames=12))
    assert "set_state() leaves out score" in str(info.value)


@pytest.mark.parametrize("step", ["tracker_twin", "twin"])
def test_fault_free_twins_pass_the_synctest(step):
    check_synctest(_context(step, examples=3, frames=12))


# --- a PettingZoo butterfly game (280x480x3 pixels, no get_state) --------------------------------------


@pytest.mark.slow
def test_a_pixel_game_without_state_methods_passes_synctest_and_determinism(tmp_path):
    pytest.importorskip("pettingzoo.butterfly")
    from checkrun import run_check

    results = run_check("tests/thirdparty/_butterfly.py", "-k", "synctest or determinism", "--mugkit-examples", "3",
                        "--mugkit-frames", "16", tmp_path=tmp_path)
    for check in ("synctest", "determinism"):
        assert results.outcome(f"::pong::{check}") == "passed", results.message(f"::pong::{check}") + results.output
