"""Shapes an env draws with (``mk.draw``); see :mod:`mugkit.runtime.draw`."""

from mugkit.runtime.draw import *  # noqa: F401,F403
from mugkit.runtime.draw import __all__  # noqa: F401
