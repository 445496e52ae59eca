"""ICE configuration for the WebRTC connections of browser games with several humans.

A minimal stand-in (server helper): no STUN or TURN servers, every candidate type allowed. The
``check`` helper replaces it with servers from configuration and short-lived TURN credentials.
"""

from __future__ import annotations

__all__ = ["ice_config"]


def ice_config(participant_id: str) -> dict:
    """The ``RTCConfiguration`` subset a participant's page uses: ``iceServers`` and
    ``iceTransportPolicy``."""
    return {"iceServers": [], "iceTransportPolicy": "all"}
