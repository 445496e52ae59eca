"""Reading the data: `mugkit.data.load` (mk.data.load) and `mugkit data export` (Parquet, CSV), from
a data folder (SQLite) and from a PostgreSQL database's URL: the tests taking ``stored`` run on both
backends (tests/conftest.py); those about the data folder itself (its default export folder, its
file never touched) on SQLite."""

import asyncio
import os
import sqlite3
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest

from mugkit.data import TABLES, decode, load
from mugkit.runtime.rows import StepRow
from mugkit.web.export import export, main
from mugkit.web.storage import DB_FILENAME, PostgresStorage, SQLiteStorage

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
IMAGE = np.random.default_rng(1).integers(0, 255, (28, 48, 3), dtype=np.uint8)


async def study(storage):
    """A small study: one participant playing a 2-agent game against an AI for 3 frames."""
    await storage.start()
    await storage.set_meta("study_seed", 1234)
    await storage.add_participant({"participant_id": "p1", "experiment": "chase", "prolific_pid": "PID",
                                   "condition": {"speed": 2}, "status": "completed"})
    await storage.add_event("p1", "welcome", "consented")
    await storage.add_answers("p1", "after", {"fun": 5, "why": "because"}, repetition=0)
    await storage.add_game({"game_id": "g1", "experiment": "chase", "step": "chase", "seed": 5, "runtime": "server"})
    await storage.add_players([{"game_id": "g1", "agent": "runner", "participant_id": "p1"},
                               {"game_id": "g1", "agent": "chaser", "policy": "chaser"}])
    for f in range(3):
        await storage.add_steps("g1", [
            StepRow(0, f, "runner", None if f == 0 else 1, ("ArrowUp",) if f else (), False, None,
                    0 if f == 0 else 0.5, False, False, np.arange(4, dtype=np.float32) + f, {}, {"dist": f}),
            StepRow(0, f, "chaser", None if f == 0 else (1, 2), None, True, f, 0, False, f == 2, IMAGE + f,
                    {"lives": f}),
        ], t_server=1000.0 + f)
    await storage.end_game("g1", "completed")
    await storage.close()


@pytest.fixture
def data(tmp_path):
    """The small study in a data folder (SQLite)."""
    folder = tmp_path / "data"
    asyncio.run(study(SQLiteStorage.in_folder(folder)))
    return folder


@pytest.fixture
def stored(backend):
    """The small study on each backend: its ``location`` is what load and export take."""
    asyncio.run(study(backend.storage()))
    return backend


def test_load_gives_every_table_with_values_as_they_went_in(stored):
    tables = load(stored.location)
    assert list(tables) == list(TABLES)
    assert {name: len(df) for name, df in tables.items()} == {
        "participants": 1, "events": 1, "answers": 2, "games": 1, "players": 2, "steps": 6, "meta": 1}
    steps = tables["steps"]
    assert list(steps.columns[:4]) == ["game_id", "episode", "frame", "agent"] and steps.columns[-1] == "x_dist"
    assert str(steps.frame.dtype) == "int64" and str(steps.reward.dtype) == "float64"
    assert str(steps.filled.dtype) == "bool" and str(steps.decided_at.dtype) == "Int64"
    assert list(steps.action) == [None, None, 1, (1, 2), 1, (1, 2)]
    assert list(steps.active_keys) == [(), None, ("ArrowUp",), None, ("ArrowUp",), None]
    assert list(steps.env_info) == [{}, {"lives": 0}, {}, {"lives": 1}, {}, {"lives": 2}]
    assert steps.x_dist.tolist() == [0, pd.NA, 1, pd.NA, 2, pd.NA]
    assert steps.observation[5].dtype == np.uint8 and np.array_equal(steps.observation[5], IMAGE + 2)
    assert steps.observation[4].dtype == np.float32 and list(steps.observation[4]) == [2, 3, 4, 5]
    assert tables["participants"].condition[0] == {"speed": 2}
    assert tables["answers"].value.tolist() == [5, "because"]
    assert tables["meta"].set_index("key").value["study_seed"] == 1234
    assert tables["games"].outcome[0] == "completed"


def test_load_some_tables_without_observations(stored):
    tables = load(stored.location, tables=["steps", "games"], observations=False)
    assert list(tables) == ["steps", "games"] and "observation" not in tables["steps"].columns
    with pytest.raises(ValueError, match="^unknown table 'step'; the tables: participants, events, "):
        load(stored.location, tables=["step"])


def test_load_reads_while_the_server_writes(stored):
    """The loader reads a snapshot; a writer beside it is not disturbed."""
    async def main():
        storage = stored.storage()
        await storage.start()
        for frame in range(3, 40):
            await storage.add_steps("g1", [StepRow(0, frame, "runner")], t_server=1.0)
            if frame % 10 == 0:
                steps = load(stored.location, tables=["steps"], observations=False)["steps"]
                assert steps.frame.max() == frame
        await storage.close()

    asyncio.run(main())


def test_load_says_what_is_missing(tmp_path):
    with pytest.raises(FileNotFoundError, match=f"^{tmp_path}/nope: no such folder$"):
        load(tmp_path / "nope")
    with pytest.raises(FileNotFoundError, match=rf"^{tmp_path} holds no mugkit database \(mugkit.sqlite\); is it "
                                                rf"the folder given to mugkit serve --data\?$"):
        load(tmp_path)
    (tmp_path / DB_FILENAME).write_bytes(b"not a database, just some bytes" * 10)
    with pytest.raises(ValueError, match="is not a mugkit database"):
        load(tmp_path)


def test_load_of_a_database_url_says_what_is_wrong(postgres_url, postgres_server):
    with pytest.raises(ValueError, match=r"^postgresql://postgres@127.0.0.1:\d+/t_\w+ is not a mugkit database \(it "
                                         r"has no mugkit_schema table\): is it the database given to mugkit serve "
                                         r"--database\?$"):
        load(postgres_url)
    gone = f"postgresql://someone:pw@127.0.0.1:{postgres_server.port}/no_such_database"
    with pytest.raises(ValueError, match=r"^cannot connect to the database postgresql://someone:\*\*\*@127.0.0.1:"
                                         r"\d+/no_such_database: "):
        load(gone)


def test_export_parquet_reads_back_with_pandas(stored, tmp_path):
    written = export(stored.location, tmp_path / "out")
    assert {os.path.basename(p): n for p, n in written.items()} == {
        "participants.parquet": 1, "events.parquet": 1, "answers.parquet": 2, "games.parquet": 1,
        "players.parquet": 2, "steps.parquet": 6, "meta.parquet": 1}
    steps = pd.read_parquet(tmp_path / "out" / "steps.parquet")
    check_exported_steps(steps)
    assert [None if k is None else list(k) for k in steps.active_keys] == [[], None, ["ArrowUp"], None, ["ArrowUp"], None]
    assert pd.read_parquet(tmp_path / "out" / "participants.parquet").prolific_pid[0] == "PID"


def test_export_csv_reads_back_with_pandas(stored, tmp_path):
    export(stored.location, tmp_path / "out", "csv")
    steps = pd.read_csv(tmp_path / "out" / "steps.csv", keep_default_na=False, na_values=[""])
    check_exported_steps(steps)
    assert steps.active_keys.fillna("missing").tolist()[:3] == ["[]", "missing", '["ArrowUp"]']
    assert pd.read_csv(tmp_path / "out" / "answers.csv").value.tolist() == ["5", "because"]


def check_exported_steps(steps):
    assert len(steps) == 6 and steps.frame.tolist() == [0, 0, 1, 1, 2, 2]
    assert steps.agent.tolist() == ["runner", "chaser"] * 3
    assert steps.reward.tolist() == [0, 0, 0.5, 0, 0.5, 0] and steps.truncated.tolist()[-1]
    # A column of mixed kinds holds plain text: numbers as digits, tuples as JSON lists.
    assert steps.action.tolist()[2:] == ["1", "[1,2]", "1", "[1,2]"]
    assert steps.env_info.tolist()[:2] == ["{}", '{"lives":0}']
    image = decode(steps.observation[5])
    assert image.dtype == np.uint8 and np.array_equal(image, IMAGE + 2)
    vector = decode(steps.observation[0])
    assert vector.dtype == np.float32 and vector.tolist() == [0, 1, 2, 3]
    assert steps.observation[0] == '{"$ndarray":{"dtype":"<f4","shape":[4],"data":[0.0,1.0,2.0,3.0]}}'
    assert steps.x_dist.tolist()[::2] == [0, 1, 2]


def test_the_command_exports_and_says_what_went_wrong(data, tmp_path, capsys):
    assert main([str(data), "--format", "csv"]) == 0
    out = capsys.readouterr().out
    assert f"{data}/export/steps.csv: 6 rows\n" in out and f"{data}/export/meta.csv: 1 row\n" in out
    assert main([str(data), "--out", str(tmp_path / "x")]) == 0
    assert sorted(os.listdir(tmp_path / "x")) == sorted(f"{t}.parquet" for t in TABLES)

    assert main([str(tmp_path / "missing")]) == 1
    assert capsys.readouterr().err == f"mugkit data export: error: {tmp_path}/missing: no such folder\n"
    assert main([str(tmp_path / "x")]) == 1
    assert "holds no mugkit database (mugkit.sqlite)" in capsys.readouterr().err
    assert main([str(data), "--format", "xlsx"]) == 2
    assert "argument --format: invalid choice: 'xlsx' (choose from" in capsys.readouterr().err
    assert main([]) == 2


def test_the_command_exports_a_database_url_and_says_what_it_needs(postgres_url, tmp_path, capsys):
    url = postgres_url
    asyncio.run(study(PostgresStorage(url)))
    assert main([url]) == 2
    assert "a PostgreSQL database has no data folder to write the files into: give --out DIR" in capsys.readouterr().err
    assert main([url, "--anonymize", "--out", str(tmp_path / "a")]) == 1
    assert ("mugkit data export: error: a PostgreSQL database has no data folder: give the salt of its anonymized "
            "exports with --salt TEXT") in capsys.readouterr().err
    assert main([url, "--anonymize", "--salt", "pepper", "--out", str(tmp_path / "a")]) == 0
    participants = pd.read_parquet(tmp_path / "a" / "participants.parquet")
    assert participants.prolific_pid[0] not in ("PID", None) and "token" not in participants.columns
    proc = subprocess.run([sys.executable, "-m", "mugkit.cli", "data", "export", url, "--format", "csv", "--out",
                           str(tmp_path / "b")], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert f"{tmp_path}/b/steps.csv: 6 rows" in proc.stdout


def test_mugkit_data_export_on_the_command_line(data):
    proc = subprocess.run([sys.executable, "-m", "mugkit.cli", "data", "export", str(data), "--format", "csv"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert f"{data}/export/steps.csv: 6 rows" in proc.stdout


def test_the_command_runs_as_a_program(data):
    proc = subprocess.run([sys.executable, "-m", "mugkit.web.export", str(data)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert (data / "export" / "steps.parquet").is_file()


def test_export_never_changes_the_database(data):
    """The loader opens the database read-only: exporting never changes the data."""
    path = data / DB_FILENAME
    before = sqlite3.connect(path).execute("SELECT COUNT(*) FROM steps").fetchone()
    mtime = os.path.getmtime(path)
    time.sleep(0.01)
    export(data, data / "export")
    assert sqlite3.connect(path).execute("SELECT COUNT(*) FROM steps").fetchone() == before
    assert os.path.getmtime(path) == mtime
