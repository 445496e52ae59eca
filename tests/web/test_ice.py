"""mugkit.web.ice: the ICE configuration a participant's page gets, its TURN credentials (the TURN
REST API scheme coturn checks), and serve's refusal of a bad configuration. A real coturn accepting
these credentials is in test_turn_relay.py."""

import base64
import hashlib
import hmac
import json
import os
import subprocess
import sys

import pytest

from mugkit.web import ice
from mugkit.web.ice import IceConfigError, IceSettings, turn_credentials, verify_turn_credentials

NOW = 1_800_000_000
SECRET = "s3cret-shared-with-coturn"


def coturn_password(secret: str, username: str) -> str:
    """What coturn computes for a ``use-auth-secret`` user: base64(HMAC-SHA1(secret, username))."""
    return base64.b64encode(hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()).decode()


def test_default_is_no_ice_servers():
    assert IceSettings.build().config("p1") == {"iceServers": [], "iceTransportPolicy": "all"}
    assert ice.ice_config("p1") == {"iceServers": [], "iceTransportPolicy": "all"}


def test_stun_servers_pass_through_without_credentials():
    settings = IceSettings.build('[{"urls": "stun:stun.example.org:3478"}, {"urls": ["stun:a:1", "stun:b:2"]}]')
    assert settings.config("p1")["iceServers"] == [{"urls": ["stun:stun.example.org:3478"]},
                                                   {"urls": ["stun:a:1", "stun:b:2"]}]


def test_turn_credentials_are_per_participant_and_expire():
    settings = IceSettings.build(turn_urls=["turn:127.0.0.1:3478"], turn_secret=SECRET, turn_ttl=600)
    first = settings.config("alice", now=NOW)["iceServers"][0]
    second = settings.config("bob", now=NOW)["iceServers"][0]
    assert first["urls"] == ["turn:127.0.0.1:3478"]
    assert first["username"] == f"{NOW + 600}:alice"
    assert first["credential"] == coturn_password(SECRET, first["username"])
    assert second["username"] == f"{NOW + 600}:bob" and second["credential"] != first["credential"]
    assert verify_turn_credentials(SECRET, first["username"], first["credential"], now=NOW + 599)
    assert not verify_turn_credentials(SECRET, first["username"], first["credential"], now=NOW + 600)
    assert not verify_turn_credentials("another secret", first["username"], first["credential"], now=NOW)
    # a participant cannot stretch its expiry: the password signs the username with it
    forged = f"{NOW + 10**6}:alice"
    assert not verify_turn_credentials(SECRET, forged, first["credential"], now=NOW)


def test_turn_in_ice_servers_gets_the_participants_credentials():
    settings = IceSettings.build('[{"urls": "stun:s:3478"}, {"urls": "turns:t:5349"}]', turn_secret=SECRET,
                                 turn_only=True)
    config = settings.config("p9", now=NOW)
    stun, turn = config["iceServers"]
    assert stun == {"urls": ["stun:s:3478"]}
    assert turn["username"].endswith(":p9") and verify_turn_credentials(SECRET, turn["username"], turn["credential"],
                                                                        now=NOW)
    assert config["iceTransportPolicy"] == "relay"


def test_ice_servers_from_a_file(tmp_path):
    path = tmp_path / "ice.json"
    path.write_text(json.dumps({"iceServers": [{"urls": "stun:x:3478"}]}))
    assert IceSettings.build(str(path)).config("p")["iceServers"] == [{"urls": ["stun:x:3478"]}]


def test_configure_sets_what_ice_config_answers():
    settings = IceSettings.build(turn_urls=["turn:h:3478"], turn_secret=SECRET)
    ice.configure(settings)
    try:
        server = ice.ice_config("p1")["iceServers"][0]
        assert verify_turn_credentials(SECRET, server["username"], server["credential"])
    finally:
        ice.configure(IceSettings())


@pytest.mark.parametrize("kwargs, says", [
    ({"ice_servers": '[{"urls": "turn:t:3478", "username": "u", "credential": "pw"}]', "turn_secret": SECRET},
     "fixed TURN username/credential"),
    ({"ice_servers": "[{\"urls\": \"http://x\"}]"}, "not a STUN or TURN url"),
    ({"ice_servers": "[{\"url\": \"stun:x\"}]"}, "object with \"urls\""),
    ({"ice_servers": "[{\"urls\": []}]"}, "\"urls\" is empty"),
    ({"ice_servers": "[{\"urls\": \"stun:x\", \"foo\": 1}]"}, "unknown key(s) foo"),
    ({"ice_servers": "[{\"urls\": \"stun:x\""}, "not valid JSON"),
    ({"ice_servers": "/no/such/ice.json"}, "neither JSON"),
    ({"ice_servers": '{"urls": "stun:x"}'}, "JSON list"),
    ({"turn_urls": ["stun:x:3478"], "turn_secret": SECRET}, "--turn-url 'stun:x:3478'"),
    ({"turn_urls": ["turn:x:3478"]}, "no secret"),
    ({"ice_servers": '[{"urls": "turn:x:3478"}]'}, "no secret"),
    ({"turn_secret": SECRET}, "no TURN server"),
    ({"turn_urls": ["turn:x:3478"], "turn_secret": ""}, "is empty"),
    ({"turn_urls": ["turn:x:3478"], "turn_secret": SECRET, "turn_ttl": 5}, "--turn-ttl 5"),
    ({"turn_only": True}, "--turn-only"),
    ({"ice_servers": '[{"urls": "stun:x"}]', "turn_only": True}, "--turn-only"),
])
def test_bad_configuration_says_what_to_fix(kwargs, says):
    with pytest.raises(IceConfigError, match=None) as raised:
        IceSettings.build(**kwargs)
    assert says in str(raised.value)


def test_a_user_id_with_the_separator_is_refused():
    with pytest.raises(IceConfigError, match="separator"):
        turn_credentials(SECRET, "a:b", 60)


def test_secret_from_the_environment():
    import argparse

    parser = argparse.ArgumentParser()
    ice.add_arguments(parser)
    args = parser.parse_args(["--turn-url", "turn:h:3478", "--turn-only"])
    settings = ice.settings_from_args(args, environ={ice.SECRET_VARIABLE: SECRET})
    assert settings.turn_secret == SECRET and settings.turn_only
    given = parser.parse_args(["--turn-url", "turn:h:3478", "--turn-secret", "flag"])
    assert ice.settings_from_args(given, environ={ice.SECRET_VARIABLE: SECRET}).turn_secret == "flag"
    assert SECRET not in repr(settings)  # the secret stays out of logs and tracebacks


def test_serve_refuses_a_bad_turn_configuration(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != ice.SECRET_VARIABLE}
    done = subprocess.run([sys.executable, "-m", "mugkit.cli", "serve", str(tmp_path), "--turn-url", "turn:h:3478"],
                          capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 2
    assert "a TURN server is configured but no secret" in done.stderr
