"""What any one client may ask of the server, and how it is held to it.

- :mod:`.settings`: every limit, its default and ``--limit NAME=VALUE``; rate-limited logging;
- :mod:`.connections`: connection caps and request deadlines, below ASGI (uvicorn's protocols);
- :mod:`.sockets`: per-connection message rates and sizes, and the Origin check;
- :mod:`.arrivals`: new participants per client address;
- :mod:`.decoding`: what a browser sends, decoded within limits off the event loop.
"""

from .settings import *  # noqa: F401,F403  (the limits themselves are this package's names)
from .settings import __all__  # noqa: F401
