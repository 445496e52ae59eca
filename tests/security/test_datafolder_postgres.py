"""With ``mugkit serve --database postgresql://…`` the data folder keeps the study's identity and
the database the data: a server never starts a new study over the one its folder records, nor
joins another study's database, while several processes of one study share one database.
(SQLite's own checks, of its file and write-ahead log: test_datafolder.py.)

Real `mugkit serve` processes, a real PostgreSQL server (tests/postgres_server.py)."""

from __future__ import annotations

import json
import os

import psycopg
import pytest

from mugkit.loadtest.server import ServerError, start_server

pytestmark = pytest.mark.slow

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
WALK = os.path.join(ROOT, "tests", "web", "studies", "_walk.py")


def serve(data: str, url: str, seed: int | None = 7):
    return start_server([WALK], data, seed=seed, cwd=ROOT, timeout=60, database=url)


def refused(data: str, url: str, seed: int | None = 7) -> str:
    """Starts a server that must refuse to start; returns what it printed."""
    with pytest.raises(ServerError) as info:
        serve(data, url, seed).stop()
    text = str(info.value)
    assert "refusing to start" in text, text
    return text


def study_id(url: str) -> str:
    with psycopg.connect(url) as conn:
        return json.loads(conn.execute("SELECT value FROM meta WHERE key = 'study_id'").fetchone()[0])


def identity(data: str) -> dict:
    with open(os.path.join(data, "mugkit-study.json")) as f:
        return json.load(f)


def test_the_folder_keeps_the_identity_and_the_database_the_data(tmp_path, postgres_url):
    data = str(tmp_path / "data")
    server = serve(data, postgres_url)
    server.stop()
    assert server.process.returncode == 0
    assert os.listdir(data) == ["mugkit-study.json"]  # no SQLite file, no running marker
    assert identity(data)["study_id"] == study_id(postgres_url)
    printed = "".join(server.output)
    assert f"data: {postgres_url}\n" in printed and "stopped; the data are in postgresql://" in printed
    again = serve(data, postgres_url)  # the same folder and database again
    again.stop()
    assert again.process.returncode == 0


def test_a_second_process_of_the_study_shares_the_database(tmp_path, postgres_url):
    """Another process (here on another data folder, as on another machine) joins the study the
    database holds while the first one runs: the same study id and seed, no refusal."""
    first = serve(str(tmp_path / "one"), postgres_url, seed=None)
    try:
        second = serve(str(tmp_path / "two"), postgres_url, seed=None)
        second.stop()
    finally:
        first.stop()
    assert first.process.returncode == 0 and second.process.returncode == 0
    assert identity(str(tmp_path / "one"))["study_id"] == identity(str(tmp_path / "two"))["study_id"]
    seeds = [line for s in (first, second) for line in s.output if "study seed" in line]
    assert len(seeds) == 2 and seeds[0] == seeds[1], seeds


def test_an_emptied_or_replaced_database_is_refused(tmp_path, postgres_server, postgres_url):
    data = str(tmp_path / "data")
    serve(data, postgres_url).stop()
    other = postgres_server.new_database()  # empty: the study's database given wrong, or dropped and made again
    text = refused(data, other)
    assert "holds no study (an empty or emptied database), but" in text and identity(data)["study_id"] in text
    assert "Restore the database from your backup" in text and "another --data folder and a new database" in text

    serve(str(tmp_path / "theirs"), other).stop()  # now another study's database
    text = refused(data, other)
    assert f"holds study {study_id(other)}, but {data} is study {identity(data)['study_id']}" in text


def test_a_seed_other_than_the_studys_is_refused(tmp_path, postgres_url):
    serve(str(tmp_path / "one"), postgres_url, seed=7).stop()
    with pytest.raises(ServerError) as info:
        serve(str(tmp_path / "two"), postgres_url, seed=8).stop()
    assert "this data folder ran with --seed 7; serve it with that seed" in str(info.value)


def test_a_database_that_is_not_the_studys_to_take_is_refused(tmp_path, postgres_url):
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE orders (id INTEGER)")
    text = refused(str(tmp_path / "data"), postgres_url)
    assert "holds tables that are not mugkit's (orders): give the study a database of its own" in text
    text = refused(str(tmp_path / "data"), "mysql://somewhere/db")
    assert "'mysql://somewhere/db' is not a PostgreSQL URL: give postgresql://user@host:port/dbname" in text
