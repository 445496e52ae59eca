"""Time sync (GGPO's): how many frames this peer runs ahead of the others.

Every frame, the local advantage over a remote peer is sampled: the peer's frame now (its last
reported frame plus half a ping) minus ours. Quality reports carry the latest sample to the
peer, so each side also averages the other's view; half the difference of the two averages is
how far ahead this peer runs, and the session recommends skipping that many frames
(:class:`~mugkit.netcode.events.WaitRecommendation`).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

__all__ = ["RECOMMENDATION_INTERVAL", "TimeSync", "frames_ahead"]

RECOMMENDATION_INTERVAL = 60  # frames between WaitRecommendation events (GGRS: 60)
MIN_RECOMMENDATION = 3       # smaller advantages are noise, not drift (GGRS: 3)
FRAME_WINDOW = 40            # time-sync samples averaged (GGPO: 40)


class TimeSync:
    """The time-sync samples of one remote peer."""

    def __init__(self) -> None:
        self.remote_frame = -1
        self.rtt = 0.0
        self.local_adv: deque = deque(maxlen=FRAME_WINDOW)
        self.remote_adv: deque = deque(maxlen=FRAME_WINDOW)

    def sample(self, current_frame: int, fps: float) -> None:
        """Records the local advantage at ``current_frame`` (nothing before the peer reported
        a frame)."""
        if self.remote_frame < 0:
            return
        # GGPO: the peer's frame now is about its last reported frame plus half a ping.
        remote_now = self.remote_frame + self.rtt * fps / 1000 / 2
        self.local_adv.append(remote_now - current_frame)

    def latest_advantage(self) -> float:
        """The last local-advantage sample, as a Quality report sends it (0.0: none yet)."""
        return float(self.local_adv[-1] if self.local_adv else 0.0)

    def on_reply(self, ping_ms: float, now: float) -> None:
        """A QualityReply echoed the ``ping_ms`` we sent: the round trip is measured."""
        if ping_ms <= now:
            self.rtt = now - ping_ms


def frames_ahead(syncs: Iterable[TimeSync]) -> int:
    """How many frames this peer runs ahead of the slowest of the peers of ``syncs``,
    averaged; 0 when behind or too small to matter (< 3)."""
    worst = 0.0
    for s in syncs:
        if not s.local_adv or not s.remote_adv:
            continue
        local = sum(s.local_adv) / len(s.local_adv)
        remote = sum(s.remote_adv) / len(s.remote_adv)
        worst = max(worst, (remote - local) / 2)
    ahead = int(worst + 0.5)
    return ahead if ahead >= MIN_RECOMMENDATION else 0
