"""Numpy-free action and observation spaces (``mk.spaces``); see :mod:`mugkit.runtime.spaces`."""

from mugkit.runtime.spaces import *  # noqa: F401,F403
from mugkit.runtime.spaces import __all__  # noqa: F401
