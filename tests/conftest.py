"""Fixtures shared by every test folder: real servers started for the session."""

import uuid

import pytest


# -- Redis (tests/redis_server.py) ----------------------------------------------------------------

@pytest.fixture(scope="session")
def redis_url():
    """A ``redis-server`` on 127.0.0.1 and a free port for the session (no persistence, a
    throwaway folder). Tests keep apart by their own study key (the ``redis_study`` fixture)."""
    from redis_server import RedisServer

    server = RedisServer().start()
    yield server.url
    server.close()


@pytest.fixture
def redis_study() -> str:
    """A study key of its own for one test: its keys live under ``mugkit:{<key>}:``."""
    return f"test-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def redis_server():
    """A ``redis-server`` of the test's own, which it may stop and restart (same port, empty again)."""
    from redis_server import RedisServer

    server = RedisServer().start()
    yield server
    server.close()
