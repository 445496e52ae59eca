"""Fixtures for every test folder: real database servers started for the session."""

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

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
