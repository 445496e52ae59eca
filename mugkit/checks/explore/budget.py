"""How much exploration a step gets: ``--mugkit-explore``."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Budget"]


@dataclass(frozen=True)
class Budget:
    """How much exploration a step gets: ``frames`` ticks played from restored cells (and twice as
    many replayed or tried from states already reached, to see that the same keys give the same
    game), and at most ``seconds`` of wall time (the playouts to the episode's end get their own
    ``seconds``)."""

    frames: int = 2500
    seconds: float = 2.0

    @classmethod
    def parse(cls, text: str) -> "Budget":
        """``"2500"`` (frames), ``"2s"`` (seconds), ``"2s,2500"`` (both), ``"0"`` or ``"off"`` (none).

        Raises:
            ValueError: the text is none of those, saying what is expected.
        """
        text = str(text).strip().lower()
        if text in ("0", "off", "none"):
            return cls(0, 0.0)
        frames, seconds = cls.frames, cls.seconds
        for part in filter(None, (p.strip() for p in text.split(","))):
            try:
                if part.endswith("s"):
                    seconds = float(part[:-1])
                else:
                    frames = int(part[:-1] if part.endswith("f") else part)
            except ValueError:
                raise ValueError(f"--mugkit-explore takes frames and/or seconds, e.g. 2500, 2s or 2s,2500 "
                                 f"(0 turns exploration off); got {text!r}") from None
        if frames < 0 or seconds < 0:
            raise ValueError(f"--mugkit-explore cannot be negative; got {text!r}")
        return cls(frames, seconds)

    @property
    def off(self) -> bool:
        return self.frames == 0 or self.seconds == 0
