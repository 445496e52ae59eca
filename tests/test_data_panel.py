"""Data a researcher analyses without cleaning: plain export cells, no secret in any export or in
`mk.data.load`, `mugkit data export --anonymize`, columns that are not DataFrame attributes (old
names readable with a DeprecationWarning), and `mk.data.summary`. Tests taking ``stored`` run on
both backends (a data folder, and a PostgreSQL database's URL: tests/conftest.py); those about
the data folder's salt file on SQLite."""

import asyncio
import json
import os
import pickle
import subprocess
import sys
import warnings

import pandas as pd
import pyarrow.parquet as pq
import pytest

import mugkit as mk
import mugkit.data
from mugkit.runtime.rows import StepRow
from mugkit.web.anonymize import SALT_FILENAME, pseudonym
from mugkit.web.export import export, main
from mugkit.web.storage import SQLiteStorage

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

RESUME_SECRET = "9c1e" * 16
PROLIFIC_PID, SESSION_ID, OTHER_SESSION = "5f3c0a1b2c3d4e5f6a7b8c9d", "sess-p1-8817", "sess-other-4242"
WORKER_ID, ASSIGNMENT_ID = "A1B2C3D4E5F6G7", "3ASSIGNQ9Z"
EMAIL = "ann.person@example.org"
TOKENS = ("TkP1-completion-0000aaaa", "TkP2-completion-1111bbbb")
AGENTS = ("Mozilla/5.0 AgentOne", "Mozilla/5.0 AgentTwo", "Mozilla/5.0 Intruder", "Mozilla/5.0 NewPhone")
#: What an anonymized export must not hold anywhere.
RAW = (PROLIFIC_PID, SESSION_ID, OTHER_SESSION, WORKER_ID, ASSIGNMENT_ID, EMAIL, *TOKENS, *AGENTS, RESUME_SECRET)


def rows(episode, agent, rewards, **extra):
    return [StepRow(episode, f, agent, None if f == 0 else 1, None, False, None, r, False, f == len(rewards) - 1,
                    None, {}, **extra) for f, r in enumerate(rewards)]


async def panel_study(storage):
    """Two panel participants (Prolific, MTurk) with everything that identifies them, and games:
    g1 on the server (p1 with an AI, two episodes), g2 a verified browser game (p2), g3 a browser
    game that failed verification (p1), g4 AIs only."""
    await storage.start()
    await storage.set_meta("study_seed", 77)
    await storage.set_meta("resume_secret", RESUME_SECRET)
    await storage.set_meta("admin_token", "later-secret-by-its-name")  # a secret stored later: kept in by its name
    await storage.add_participant({
        "participant_id": "p1", "experiment": "panel", "prolific_pid": PROLIFIC_PID, "study_id": "STUDY-1",
        "session_id": SESSION_ID, "condition": "fast", "token": TOKENS[0], "user_agent": AGENTS[0],
        "params": {"PROLIFIC_PID": PROLIFIC_PID, "STUDY_ID": "STUDY-1", "SESSION_ID": SESSION_ID, "email": EMAIL}})
    await storage.add_participant({
        "participant_id": "p2", "experiment": "panel", "worker_id": WORKER_ID, "assignment_id": ASSIGNMENT_ID,
        "hit_id": "HIT-9", "condition": "slow", "token": TOKENS[1], "user_agent": AGENTS[1],
        "params": {"workerId": WORKER_ID, "assignmentId": ASSIGNMENT_ID, "hitId": "HIT-9"}})
    await storage.add_event("p1", "welcome", "consented")
    await storage.add_event("p1", "welcome", "panel_conflict", {"attempt": OTHER_SESSION, "user_agent": AGENTS[2]})
    await storage.add_event("p2", "welcome", "device_moved", {"device": 1, "user_agent": AGENTS[3]})
    # A researcher's error text quoting the participant (a step that failed for them).
    await storage.add_event("p1", "after", "step_failed", {"error": f"no group for {{'PROLIFIC_PID': '{PROLIFIC_PID}'}}"})
    await storage.add_answers("p1", "after", {"fun": 5, "why": 'because, "so"', "colors": ["red", "blue"],
                                              "skip": None})
    await storage.add_answers("p2", "after", {"fun": 3, "why": "=1+1", "colors": ["green"], "skip": None})
    games = [("g1", "server", ["p1"]), ("g2", "browser", ["p2"]), ("g3", "browser", ["p1"]), ("g4", "server", [])]
    for game_id, runtime, humans in games:
        await storage.add_game({"game_id": game_id, "experiment": "panel", "step": "race", "seed": 5,
                                "runtime": runtime, "repetition": 0})
        await storage.add_players([{"game_id": game_id, "agent": "me", "participant_id": p} for p in humans] +
                                  [{"game_id": game_id, "agent": "ai", "policy": "random"}])
    await storage.add_steps("g1", rows(0, "me", [0, 1, 1]) + rows(0, "ai", [0, 9, 9]), t_server=1.0)
    await storage.add_steps("g1", rows(1, "me", [0, 3]) + rows(1, "ai", [0, 9]), t_server=2.0)
    await storage.add_steps("g2", rows(0, "me", [0, 0.5]), t_server=3.0)
    await storage.add_steps("g3", rows(0, "me", [0, 1, 1, 1]), t_server=4.0)
    await storage.add_steps("g4", rows(0, "ai", [0, 1]), t_server=5.0)
    await storage.add_game({"game_id": "g5", "experiment": "panel", "step": "race", "seed": 6, "runtime": "server"})
    await storage.add_players([{"game_id": "g5", "agent": "me", "participant_id": "p2"}])  # left before frame 0
    await storage.end_game("g5", "abandoned")
    for game_id, verification in (("g1", None), ("g2", "verified"), ("g3", "failed"), ("g4", None)):
        await storage.end_game(game_id, "completed", ended_at=100.0, verification=verification)
    await storage.update_game("g1", started_at=40.0)
    await storage.close()


@pytest.fixture
def data(tmp_path):
    """The panel study in a data folder (SQLite)."""
    folder = tmp_path / "data"
    asyncio.run(panel_study(SQLiteStorage.in_folder(folder)))
    return folder


@pytest.fixture
def stored(backend):
    """The panel study on each backend; ``stored.location`` is what load and export take."""
    asyncio.run(panel_study(backend.storage()))
    return backend


def exported_text(out):
    """Every byte of the exported files, Parquet also uncompressed (a compressed file may hide a
    value from a byte search), as text."""
    text = []
    for name in sorted(os.listdir(out)):
        path = os.path.join(out, name)
        with open(path, "rb") as f:
            text.append(f.read().decode("latin-1"))
        if name.endswith(".parquet"):
            plain = path + ".uncompressed"
            pq.write_table(pq.read_table(path), plain, compression="none")
            with open(plain, "rb") as f:
                text.append(f.read().decode("latin-1"))
            os.remove(plain)
    return "\n".join(text)


# -- plain values ----------------------------------------------------------------------------


def test_csv_cells_are_plain_values(data, tmp_path):
    export(data, tmp_path / "csv", "csv")
    answers = pd.read_csv(tmp_path / "csv" / "answers.csv")
    values = answers.set_index(["participant_id", "question"]).value
    assert values["p1", "why"] == 'because, "so"'       # the text itself, no JSON quotes
    assert values["p2", "why"] == "'=1+1"               # a formula stays text in a spreadsheet
    assert values["p1", "fun"] == "5" and pd.to_numeric(answers[answers.question == "fun"].value).sum() == 8
    assert json.loads(values["p1", "colors"]) == ["red", "blue"]  # a list: JSON
    assert pd.isna(values["p1", "skip"])
    meta = pd.read_csv(tmp_path / "csv" / "meta.csv")
    assert meta.to_dict("records") == [{"key": "study_seed", "value": 77}]
    participants = pd.read_csv(tmp_path / "csv" / "participants.csv")
    assert participants.condition.tolist() == ["fast", "slow"]
    assert json.loads(participants.params[0])["email"] == EMAIL


def test_parquet_keeps_types(data, tmp_path):
    export(data, tmp_path / "pq")
    steps = pd.read_parquet(tmp_path / "pq" / "steps.parquet")
    assert str(steps.frame.dtype) == "int64" and str(steps.reward.dtype) == "float64"
    assert steps.truncated.dtype == bool
    answers = pd.read_parquet(tmp_path / "pq" / "answers.parquet")
    assert answers.value.tolist()[:3] == ["5", 'because, "so"', '["red","blue"]']
    assert pd.read_parquet(tmp_path / "pq" / "meta.parquet").value.tolist() == [77]


# -- secrets ----------------------------------------------------------------------------------


def test_no_secret_in_load_or_any_export(stored, tmp_path):
    data = stored.location
    assert mk.data.load(data)["meta"].key.tolist() == ["study_seed"]
    for fmt in ("csv", "parquet"):
        export(data, tmp_path / fmt, fmt)
        text = exported_text(tmp_path / fmt)
        assert RESUME_SECRET not in text and "resume_secret" not in text and "later-secret" not in text
        assert PROLIFIC_PID in text and TOKENS[0] in text  # a plain export keeps ids and tokens
    export(data, tmp_path / "anon", "csv", anonymize=True, salt="pepper" if stored.name == "postgres" else None)
    assert RESUME_SECRET not in exported_text(tmp_path / "anon")


# -- anonymize --------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_anonymized_export_holds_no_raw_id_token_or_user_agent(data, tmp_path, fmt, capsys):
    assert main([str(data), "--out", str(tmp_path / "a"), "--format", fmt, "--anonymize"]) == 0
    text = exported_text(tmp_path / "a")
    assert [raw for raw in RAW if raw in text] == []
    salt = (data / SALT_FILENAME).read_text().strip()
    assert len(salt) == 64 and salt not in text and SALT_FILENAME not in os.listdir(tmp_path / "a")
    assert oct(os.stat(data / SALT_FILENAME).st_mode & 0o777) == "0o600"

    read = pd.read_csv if fmt == "csv" else pd.read_parquet
    participants = read(tmp_path / "a" / f"participants.{fmt}")
    assert "token" not in participants.columns and "user_agent" not in participants.columns
    p1, p2 = participants.to_dict("records")
    assert p1["prolific_pid"] == pseudonym(PROLIFIC_PID, salt) and p1["session_id"] == pseudonym(SESSION_ID, salt)
    assert p2["worker_id"] == pseudonym(WORKER_ID, salt) and p2["assignment_id"] == pseudonym(ASSIGNMENT_ID, salt)
    assert p1["study_id"] == "STUDY-1" and p2["hit_id"] == "HIT-9"  # the same for everyone: kept
    assert json.loads(p1["params"]) == {"PROLIFIC_PID": p1["prolific_pid"], "STUDY_ID": "STUDY-1",
                                        "SESSION_ID": p1["session_id"], "email": pseudonym(EMAIL, salt)}
    details = [json.loads(d) if isinstance(d, str) else None for d in read(tmp_path / "a" / f"events.{fmt}").detail]
    assert details == [None, {"attempt": pseudonym(OTHER_SESSION, salt)}, {"device": 1},
                       {"error": f"no group for {{'PROLIFIC_PID': '{pseudonym(PROLIFIC_PID, salt)}'}}"}]

    # A second export agrees with the first: the salt stays in the data folder.
    assert main([str(data), "--out", str(tmp_path / "b"), "--format", fmt, "--anonymize"]) == 0
    again = read(tmp_path / "b" / f"participants.{fmt}")
    assert again.prolific_pid.tolist() == participants.prolific_pid.tolist()


def test_a_salt_given_on_the_command_line(data, tmp_path, capsys):
    proc = subprocess.run([sys.executable, "-m", "mugkit.cli", "data", "export", str(data),
                           "--out", str(tmp_path / "s"), "--format", "csv", "--anonymize", "--salt", "lab-salt-2026"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    text = exported_text(tmp_path / "s")
    assert pseudonym(PROLIFIC_PID, "lab-salt-2026") in text and "lab-salt-2026" not in text
    assert not (data / SALT_FILENAME).exists()  # a given salt is not kept

    assert main([str(data), "--salt", "x"]) == 2
    assert "--salt is the salt of --anonymize's hashes: add --anonymize" in capsys.readouterr().err
    assert main([str(data), "--anonymize", "--salt", " "]) == 2
    assert "--salt is empty" in capsys.readouterr().err


def test_an_anonymized_export_goes_to_its_own_folder(data, capsys):
    assert main([str(data), "--format", "csv", "--anonymize"]) == 0
    assert main([str(data), "--format", "csv"]) == 0  # a plain export afterwards overwrites nothing anonymized
    anonymized = (data / "export-anonymized" / "participants.csv").read_text()
    assert PROLIFIC_PID not in anonymized and PROLIFIC_PID in (data / "export" / "participants.csv").read_text()
    assert f"{data}/export-anonymized/participants.csv: 2 rows" in capsys.readouterr().out


def test_a_salt_that_cannot_be_read_asks_for_one(data, tmp_path, capsys):
    (data / SALT_FILENAME).mkdir()  # not a file: cannot be read (even by root, unlike a permission)
    assert main([str(data), "--out", str(tmp_path / "x"), "--anonymize"]) == 1
    assert capsys.readouterr().err == (f"mugkit data export: error: cannot read the salt in {data}/{SALT_FILENAME} "
                                       f"(Is a directory); give one with --salt\n")
    assert main([str(data), "--out", str(tmp_path / "x"), "--anonymize", "--salt", "s"]) == 0


# -- column names -----------------------------------------------------------------------------


def test_no_column_is_a_pandas_attribute(stored, tmp_path):
    data = stored.location
    taken = set(dir(pd.DataFrame)) | set(dir(pd.Series))
    tables = mk.data.load(data)
    tables["summary"] = mk.data.summary(data)
    export(data, tmp_path / "out")
    for name in os.listdir(tmp_path / "out"):
        tables["exported " + name] = pd.read_parquet(tmp_path / "out" / name)
    clashes = {name: sorted(set(df.columns) & taken) for name, df in tables.items() if set(df.columns) & taken}
    assert clashes == {}
    assert len(tables) == 2 * len(mk.data.TABLES) + 1


def test_the_old_step_column_names_still_read_with_a_warning(stored):
    steps = mk.data.load(stored.location)["steps"]
    assert callable(steps.keys) and callable(steps.info)  # the reason for the new names
    with pytest.warns(DeprecationWarning, match="the column 'keys' is now 'active_keys'"):
        assert steps["keys"].tolist() == steps.active_keys.tolist()
    with pytest.warns(DeprecationWarning, match="the column 'info' is now 'env_info'"):
        assert steps[["frame", "info"]].columns.tolist() == ["frame", "env_info"]
    with pytest.warns(DeprecationWarning, match="'info' is now 'env_info'"):
        assert steps.iloc[0]["info"] == {}
    later = steps[steps.frame > 0]  # a frame made from the loaded one reads them too
    with pytest.warns(DeprecationWarning):
        assert later["keys"].tolist() == later.active_keys.tolist()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert steps.groupby("game_id").reward.sum()["g1"] == 5 + 18 + 9  # no warning for other columns
        with pytest.raises(KeyError):
            steps["no such column"]
    # Pickled (joblib, multiprocessing, to_pickle) as plain pandas objects: read back without mugkit.
    assert b"mugkit" not in pickle.dumps(steps) and b"mugkit" not in pickle.dumps(steps.frame)
    assert type(pickle.loads(pickle.dumps(steps))) is pd.DataFrame and pickle.loads(pickle.dumps(steps)).equals(steps)


# -- summary ----------------------------------------------------------------------------------


def test_summary_has_one_row_per_participant_per_game(stored):
    summary = mk.data.summary(stored.location)
    assert list(summary.columns) == list(mk.data.SUMMARY_COLUMNS)
    rows = summary.set_index(["participant_id", "game_id"])
    assert sorted(rows.index) == [("p1", "g1"), ("p1", "g3"), ("p2", "g2"), ("p2", "g5")]  # g4: AIs only
    g5 = rows.loc[("p2", "g5")]
    assert (g5.returns, g5.episodes, g5.frames, g5.outcome) == ((), 0, 0, "abandoned") and pd.isna(g5.reward)
    g1 = rows.loc[("p1", "g1")]
    assert (g1.agent, g1.reward, g1.returns, g1.episodes, g1.frames) == ("me", 5.0, (2.0, 3.0), 2, 3)
    assert (g1.condition, g1.runtime, g1.outcome, g1.duration) == ("fast", "server", "completed", 60.0)
    assert pd.isna(g1.verification) and g1.trusted
    assert rows.loc[("p2", "g2")].trusted and not rows.loc[("p1", "g3")].trusted
    assert summary.groupby("participant_id").reward.mean().to_dict() == {"p1": 4.0, "p2": 0.5}
    assert summary[summary.trusted].groupby("condition").reward.mean().to_dict() == {"fast": 5.0, "slow": 0.5}
    assert str(summary.reward.dtype) == "float64" and str(summary.frames.dtype) == "int64"


def test_summary_of_a_study_without_games(backend, tmp_path):
    async def empty():
        storage = backend.storage()
        await storage.start()
        await storage.close()

    asyncio.run(empty())
    summary = mk.data.summary(backend.location)
    assert len(summary) == 0 and list(summary.columns) == list(mk.data.SUMMARY_COLUMNS)
    with pytest.raises(FileNotFoundError, match="no such folder"):
        mk.data.summary(tmp_path / "nope")
