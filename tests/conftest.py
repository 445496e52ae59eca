"""Fixtures for every test folder: real database servers started for the session."""

import os
import sys
import uuid

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

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


# --- PostgreSQL (tests/postgres_server.py) ------------------------------------------------------


@pytest.fixture(scope="session")
def postgres_server():
    """A PostgreSQL server of the session (tests/postgres_server.py); skipped when its binaries
    are not installed."""
    from postgres_server import MISSING, PostgresServer, binaries

    if binaries() is None:
        pytest.skip(MISSING)
    with PostgresServer() as server:
        yield server


@pytest.fixture
def postgres_url(postgres_server) -> str:
    """The URL of a fresh, empty database of the session's PostgreSQL server (one per test)."""
    return postgres_server.new_database()


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request, tmp_path):
    """Each storage backend in turn (tests/storage_backends.py): a data folder, or a fresh
    PostgreSQL database (and a data folder beside it)."""
    from storage_backends import Backend

    folder = str(tmp_path / "data")
    if request.param == "postgres":
        return Backend("postgres", folder, request.getfixturevalue("postgres_url"))
    return Backend("sqlite", folder)
