"""Node ids: the address of an experiment, a step or a check, shown everywhere.

As in pytest: ``experiments/chase.py`` names an experiment, ``experiments/chase.py::chase`` one of
its steps and ``experiments/chase.py::chase::synctest`` one check of it. The file part is relative
to the root folder, with ``/`` separators. The CLI, collection, the checks and their reports all
use :class:`NodeId`.
"""

from __future__ import annotations

__all__ = ["NodeId"]

SEP = "::"


class NodeId(str):
    """A node id; a ``str``, so it prints, compares and hashes as its text.

    Example:
        >>> n = NodeId.parse("experiments/chase.py::chase::synctest")
        >>> n.file, n.step, n.check
        ('experiments/chase.py', 'chase', 'synctest')
        >>> n.step_id
        'experiments/chase.py::chase'
    """

    file: str
    step: str | None
    check: str | None

    def __new__(cls, file: str, step: str | None = None, check: str | None = None) -> "NodeId":
        if check is not None and step is None:
            raise ValueError(f"a check's node id needs its step: {file}{SEP}?{SEP}{check}")
        self = super().__new__(cls, SEP.join(p for p in (file, step, check) if p is not None))
        self.file, self.step, self.check = file, step, check
        return self

    def __reduce__(self):
        return (NodeId, (self.file, self.step, self.check))

    @classmethod
    def parse(cls, text: str) -> "NodeId":
        """The node id ``text`` spells.

        Raises:
            ValueError: more than three parts, or an empty part (``a.py::``).
        """
        parts = str(text).split(SEP)
        if len(parts) > 3 or not all(parts):
            raise ValueError(f"{text!r} is not a node id: write file.py, file.py::step or file.py::step::check")
        return cls(*parts)

    @classmethod
    def looks_like(cls, arg: str) -> bool:
        """True when a command-line argument names a node (``file.py::...``), not an option or an
        option's value such as ``ignore::DeprecationWarning``."""
        return not arg.startswith("-") and SEP in arg and arg.split(SEP, 1)[0].endswith(".py")

    @property
    def step_id(self) -> "NodeId":
        """The id of the step this id names or lies in."""
        if self.step is None:
            raise ValueError(f"{self} names an experiment, not a step")
        return NodeId(self.file, self.step)

    def child(self, name: str) -> "NodeId":
        """The id one level down: a step of an experiment, or a check of a step."""
        if self.check is not None:
            raise ValueError(f"{self} names a check: it has no children")
        return NodeId(self.file, name) if self.step is None else NodeId(self.file, self.step, name)
