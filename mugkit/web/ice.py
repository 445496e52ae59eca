"""ICE configuration for browser games with several humans: which STUN and TURN servers a
participant's page gives its ``RTCPeerConnection``s, and its TURN credentials.

Nothing is built in: by default there are no ICE servers, so peers connect through host
candidates only (the same machine or the same LAN). ``mugkit serve`` sets the configuration from
its flags (:func:`add_arguments`, :func:`settings_from_args`):

- ``--ice-servers FILE|JSON``: STUN (and TURN) servers, a JSON list of ``RTCIceServer`` objects
  (``[{"urls": "stun:stun.example.org:3478"}]``), written inline or in a file.
- ``--turn-url URL`` (repeatable): a TURN server, e.g. ``turn:turn.example.org:3478?transport=udp``.
- ``--turn-secret SECRET`` or the environment variable ``MUGKIT_TURN_SECRET``: the secret the TURN
  server shares with mugkit (coturn: ``use-auth-secret`` with ``static-auth-secret=SECRET``).
- ``--turn-ttl SECONDS``: how long a participant's TURN credentials stay valid.
- ``--turn-only``: peers connect through the TURN relay only (``iceTransportPolicy: "relay"``).

TURN credentials follow the TURN REST API scheme coturn implements: each participant gets its own
username ``"<expiry unix time>:<participant id>"`` and the password
``base64(HMAC-SHA1(secret, username))``, so a credential copied from one page is worthless after
its expiry, and no static TURN password ever reaches a browser (one is refused in the
configuration). :func:`ice_config` gives a participant's configuration.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import os
import time
from dataclasses import dataclass, field
from typing import Any, Iterable

__all__ = ["IceConfigError", "IceSettings", "add_arguments", "configure", "ice_config", "settings_from_args",
           "turn_credentials", "verify_turn_credentials", "DEFAULT_TURN_TTL", "SECRET_VARIABLE"]

#: Seconds TURN credentials stay valid by default: longer than a session's games and their rejoin
#: grace (an allocation is refreshed with the same credentials while the game runs), short enough
#: that a leaked credential soon stops working.
DEFAULT_TURN_TTL = 4 * 3600
#: Credentials shorter-lived than this would expire while a page connects.
MIN_TURN_TTL = 60
#: The environment variable that holds the TURN secret (kept off the command line, which other
#: users of the machine can read in the process list).
SECRET_VARIABLE = "MUGKIT_TURN_SECRET"

_STUN = ("stun:", "stuns:")
_TURN = ("turn:", "turns:")
_SERVER_KEYS = {"urls", "username", "credential", "credentialType"}


class IceConfigError(ValueError):
    """The ICE configuration is wrong; the message says which flag and what to fix."""


@dataclass(frozen=True)
class IceSettings:
    """The server's ICE configuration, checked (build it with :meth:`build`).

    Attributes:
        servers: ``RTCIceServer`` dicts without credentials (STUN, and TURN given in ``--ice-servers``).
        turn_urls: TURN urls given with ``--turn-url``.
        turn_secret: the secret shared with the TURN server, or None (then no TURN server is allowed).
        turn_ttl: seconds a participant's TURN credentials stay valid.
        turn_only: peers use relay candidates only.
    """

    servers: tuple = ()
    turn_urls: tuple = ()
    turn_secret: str | None = field(default=None, repr=False)
    turn_ttl: int = DEFAULT_TURN_TTL
    turn_only: bool = False

    @classmethod
    def build(cls, ice_servers: str | None = None, turn_urls: Iterable[str] = (), turn_secret: str | None = None,
              turn_ttl: int = DEFAULT_TURN_TTL, turn_only: bool = False) -> "IceSettings":
        """Checks the configuration as ``serve``'s flags give it.

        Args:
            ice_servers: ``--ice-servers``: a JSON list of ``RTCIceServer`` objects, or a file holding one.
            turn_urls: ``--turn-url`` values.
            turn_secret: ``--turn-secret`` (or ``MUGKIT_TURN_SECRET``).
            turn_ttl: ``--turn-ttl`` in seconds.
            turn_only: ``--turn-only``.

        Raises:
            IceConfigError: saying which flag is wrong and how to fix it.
        """
        servers = _parse_servers(ice_servers) if ice_servers else []
        urls = tuple(turn_urls)
        for url in urls:
            if not isinstance(url, str) or not url.startswith(_TURN):
                raise IceConfigError(f"--turn-url {url!r}: a TURN url starts with turn: or turns: "
                                     f"(e.g. turn:turn.example.org:3478?transport=udp)")
        has_turn = bool(urls) or any(_is_turn(s) for s in servers)
        if turn_secret is not None and not turn_secret:
            raise IceConfigError(f"--turn-secret (or {SECRET_VARIABLE}) is empty: give the TURN server's shared "
                                 f"secret (coturn: static-auth-secret)")
        if has_turn and not turn_secret:
            raise IceConfigError(f"a TURN server is configured but no secret to make its credentials: give "
                                 f"--turn-secret or set {SECRET_VARIABLE} to the secret the TURN server has "
                                 f"(coturn: use-auth-secret and static-auth-secret=...)")
        if turn_secret and not has_turn:
            raise IceConfigError(f"--turn-secret (or {SECRET_VARIABLE}) is given but no TURN server: add --turn-url "
                                 f"turn:HOST:3478 (or a turn: url in --ice-servers)")
        if isinstance(turn_ttl, bool) or not isinstance(turn_ttl, int) or turn_ttl < MIN_TURN_TTL:
            raise IceConfigError(f"--turn-ttl {turn_ttl!r}: give whole seconds, at least {MIN_TURN_TTL} (credentials "
                                 f"must outlast a game and its rejoin grace; default {DEFAULT_TURN_TTL})")
        if turn_only and not has_turn:
            raise IceConfigError("--turn-only forces peers through a TURN relay, but no TURN server is configured: "
                                 "add --turn-url and --turn-secret")
        return cls(tuple(servers), urls, turn_secret or None, turn_ttl, bool(turn_only))

    def config(self, participant_id: str, now: float | None = None) -> dict:
        """The ``RTCConfiguration`` part for one participant: ``{"iceServers": [...],
        "iceTransportPolicy": "all"|"relay"}``, with TURN credentials of its own that expire
        :attr:`turn_ttl` seconds after ``now`` (default: the current time)."""
        servers: list[dict] = []
        username = credential = None
        if self.turn_secret:
            username, credential = turn_credentials(self.turn_secret, participant_id, self.turn_ttl, now)
        for server in self.servers:
            entry = {"urls": list(server["urls"])}
            if _is_turn(server):
                entry.update(username=username, credential=credential)
            servers.append(entry)
        if self.turn_urls:
            servers.append({"urls": list(self.turn_urls), "username": username, "credential": credential})
        return {"iceServers": servers, "iceTransportPolicy": "relay" if self.turn_only else "all"}


def turn_credentials(secret: str, user_id: str, ttl: int, now: float | None = None) -> tuple[str, str]:
    """``(username, credential)`` for the TURN REST API: username ``"<expiry>:<user_id>"`` (expiry =
    now + ttl, in unix seconds), credential ``base64(HMAC-SHA1(secret, username))``.

    Raises:
        IceConfigError: ``user_id`` holds ``:``, coturn's separator (it would read a wrong expiry).
    """
    if ":" in str(user_id):
        raise IceConfigError(f"a TURN user id cannot hold ':' (coturn's separator): {user_id!r}")
    expiry = int((time.time() if now is None else now) + ttl)
    username = f"{expiry}:{user_id}"
    return username, _sign(secret, username)


def verify_turn_credentials(secret: str, username: str, credential: str, now: float | None = None) -> bool:
    """Whether a TURN server with ``use-auth-secret`` and this secret accepts these credentials
    now, as coturn decides: the password is the HMAC of the username, and the expiry before the
    separator is still in the future."""
    expiry = username.split(":", 1)[0]
    if not expiry.isdigit() or int(expiry) <= (time.time() if now is None else now):
        return False
    return hmac.compare_digest(_sign(secret, username), credential)


def _sign(secret: str, username: str) -> str:
    digest = hmac.new(secret.encode("utf-8"), username.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def _is_turn(server: dict) -> bool:
    return any(url.startswith(_TURN) for url in server["urls"])


def _parse_servers(given: str) -> list[dict]:
    """``--ice-servers``: JSON text, or the path of a file holding it; a list of ``RTCIceServer``
    objects (or ``{"iceServers": [...]}``), each checked."""
    source = "--ice-servers"
    text = given
    if not given.lstrip().startswith(("[", "{")):
        if not os.path.isfile(given):
            raise IceConfigError(f"--ice-servers {given!r}: neither JSON (a list such as "
                                 f"'[{{\"urls\": \"stun:stun.example.org:3478\"}}]') nor a file")
        source = f"--ice-servers {given}"
        with open(given, encoding="utf-8") as f:
            text = f.read()
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise IceConfigError(f"{source}: not valid JSON ({exc.msg}, line {exc.lineno} column {exc.colno})") from None
    if isinstance(data, dict) and set(data) == {"iceServers"}:
        data = data["iceServers"]
    if not isinstance(data, list):
        raise IceConfigError(f"{source}: give a JSON list of ICE servers, e.g. [{{\"urls\": \"stun:HOST:3478\"}}]")
    return [_check_server(server, f"{source}: server {i + 1}") for i, server in enumerate(data)]


def _check_server(server: Any, where: str) -> dict:
    if not isinstance(server, dict) or "urls" not in server:
        raise IceConfigError(f"{where}: an ICE server is an object with \"urls\", e.g. {{\"urls\": \"stun:HOST:3478\"}}")
    unknown = sorted(set(server) - _SERVER_KEYS)
    if unknown:
        raise IceConfigError(f"{where}: unknown key(s) {', '.join(unknown)} (an ICE server has urls, and no more here)")
    if "username" in server or "credential" in server:
        raise IceConfigError(f"{where}: a fixed TURN username/credential would reach every participant's browser; "
                             f"give only its urls, and the TURN server's shared secret with --turn-secret (coturn: "
                             f"use-auth-secret): each participant then gets short-lived credentials of its own")
    urls = server["urls"] if isinstance(server["urls"], list) else [server["urls"]]
    if not urls:
        raise IceConfigError(f"{where}: \"urls\" is empty")
    for url in urls:
        if not isinstance(url, str) or not url.startswith(_STUN + _TURN):
            raise IceConfigError(f"{where}: {url!r} is not a STUN or TURN url (stun:, stuns:, turn: or turns:)")
    return {"urls": tuple(urls)}


# -- the server's configuration ----------------------------------------------------------------

_current = IceSettings()


def configure(settings: IceSettings) -> None:
    """Makes ``settings`` the configuration :func:`ice_config` answers from (``serve`` calls it at
    start-up; the default is no ICE servers)."""
    global _current
    _current = settings


def ice_config(participant_id: str) -> dict:
    """The ICE configuration for one participant's page, from the server's configuration:
    ``{"iceServers": [...], "iceTransportPolicy": "all"|"relay"}``, TURN servers with credentials
    of this participant's own (see the module docstring)."""
    return _current.config(participant_id)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``serve``'s ICE flags."""
    group = parser.add_argument_group("WebRTC (browser games with several humans)")
    group.add_argument("--ice-servers", default=None, metavar="FILE|JSON",
                       help="STUN/TURN servers for peers' connections: a JSON list of RTCIceServer objects without "
                            "credentials, e.g. '[{\"urls\": \"stun:stun.example.org:3478\"}]', or a file holding one "
                            "(default: none; peers then connect on the same machine or LAN only)")
    group.add_argument("--turn-url", action="append", default=[], metavar="URL",
                       help="a TURN server, e.g. turn:turn.example.org:3478 (repeat for several); needs --turn-secret")
    group.add_argument("--turn-secret", default=None, metavar="SECRET",
                       help=f"the secret shared with the TURN servers (coturn: use-auth-secret, static-auth-secret); "
                            f"each participant gets short-lived credentials made from it. Better: set {SECRET_VARIABLE}")
    group.add_argument("--turn-ttl", type=int, default=DEFAULT_TURN_TTL, metavar="SECONDS",
                       help=f"how long a participant's TURN credentials stay valid (default {DEFAULT_TURN_TTL})")
    group.add_argument("--turn-only", action="store_true",
                       help="peers connect only through the TURN relay (hides participants' addresses from each other)")


def settings_from_args(args: argparse.Namespace, environ: dict | None = None) -> IceSettings:
    """The :class:`IceSettings` of parsed ``serve`` arguments (the secret from ``--turn-secret``,
    else ``MUGKIT_TURN_SECRET``).

    Raises:
        IceConfigError: the configuration is wrong.
    """
    environ = os.environ if environ is None else environ
    secret = args.turn_secret if args.turn_secret is not None else environ.get(SECRET_VARIABLE)
    return IceSettings.build(args.ice_servers, args.turn_url, secret, args.turn_ttl, args.turn_only)
