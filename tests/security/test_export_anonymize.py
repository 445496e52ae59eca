"""What `mugkit serve` stores about real participants, exported: no secret of the server in any
export, and with `--anonymize` no panel id, completion token, user agent or resume key either.

A real `mugkit serve` process, real socket.io clients arriving through a Prolific link, and the
real `mugkit data export` command; the exported files are searched byte by byte. On both backends:
the data in the folder, or in PostgreSQL (``--database``; its export takes ``--salt``)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

import pyarrow.parquet as pq
import pytest

from mugkit.loadtest.server import start_server
from mugkit.web.anonymize import SALT_FILENAME, pseudonym

pytestmark = pytest.mark.slow

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
WALK = os.path.join(ROOT, "tests", "web", "studies", "_walk.py")   # page, consent, server game, survey
PID = "60a1b2c3d4e5f60718293a4b"
LINK = {"PROLIFIC_PID": PID, "STUDY_ID": "64f0aa00bb11cc22dd33ee44", "SESSION_ID": "q7sess0001zz",
        "referrer": "jane.doe@example.org"}
AGENTS = ("Mozilla/5.0 (X11; Linux x86_64) FirstBrowser/1.0", "Mozilla/5.0 (iPhone) SecondBrowser/2.0")


async def arrive(url: str, query: dict, user_agent: str) -> tuple[dict, list]:
    """A participant's browser opening the study link; returns its identity and the views it got."""
    import socketio

    sio, identity, views = socketio.AsyncClient(reconnection=False), {}, asyncio.Queue()
    sio.on("view", views.put)
    sio.on("identity", identity.update)
    await sio.connect(url, transports=["websocket"], socketio_path="socket.io", headers={"User-Agent": user_agent},
                      auth={"experiment": "_walk", "query": query})
    seen = [await asyncio.wait_for(views.get(), 30)]
    if seen[0]["kind"] == "page":
        assert await sio.call("advance", {"index": 0}, timeout=10) == {"ok": True}
        seen.append(await asyncio.wait_for(views.get(), 30))
    await sio.disconnect()
    return identity, seen


def exported_bytes(folder: str) -> bytes:
    """Every exported file's bytes, Parquet files also rewritten uncompressed."""
    out = []
    for name in sorted(os.listdir(folder)):
        path = os.path.join(folder, name)
        out.append(open(path, "rb").read())
        if name.endswith(".parquet"):
            pq.write_table(pq.read_table(path), path + ".raw", compression="none")
            out.append(open(path + ".raw", "rb").read())
            os.remove(path + ".raw")
    return b"\n".join(out)


def test_served_participants_leave_no_secret_and_anonymized_no_identity(tmp_path, backend):
    data = backend.folder
    server = start_server([WALK], data, seed=7, cwd=ROOT, timeout=60, database=backend.url)
    try:
        identity, views = asyncio.run(arrive(server.url, LINK, AGENTS[0]))
        assert views[-1]["kind"] == "consent" and identity["resume"]
        # Another browser with the same Prolific id and another session: refused, and recorded.
        _, refused = asyncio.run(arrive(server.url, {**LINK, "SESSION_ID": "q7sess0002yy"}, AGENTS[1]))
        assert "already taken part" in refused[0]["html"]
    finally:
        server.stop()
    (secret,), = backend.query("SELECT value FROM meta WHERE key = 'resume_secret'")
    (token,), = backend.query("SELECT token FROM participants")
    kinds = [k for k, in backend.query("SELECT kind FROM events")]
    assert "panel_conflict" in kinds and len(secret) > 32 and len(token) > 16

    def export(out: str, *options: str) -> bytes:
        done = subprocess.run([sys.executable, "-m", "mugkit.cli", "data", "export", backend.location, "--out", out,
                               *options],
                              cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        return exported_bytes(out)

    secrets = [secret.strip('"'), identity["resume"]]
    for fmt in ("csv", "parquet"):
        plain = export(str(tmp_path / f"plain-{fmt}"), "--format", fmt)
        assert [s for s in secrets if s.encode() in plain] == []
        assert PID.encode() in plain and token.encode() in plain  # a plain export keeps them

        if backend.name == "postgres":  # a database has no folder to keep a salt in: it is given
            salt = "a salt the researcher keeps, given each time"
            anonymous = export(str(tmp_path / f"anon-{fmt}"), "--format", fmt, "--anonymize", "--salt", salt)
        else:
            anonymous = export(str(tmp_path / f"anon-{fmt}"), "--format", fmt, "--anonymize")
            salt = open(os.path.join(data, SALT_FILENAME)).read().strip()
        raw = [PID, "q7sess0001zz", "q7sess0002yy", "jane.doe@example.org", token, *AGENTS, "Mozilla", salt, *secrets]
        assert [r for r in raw if r.encode() in anonymous] == []
        assert pseudonym(PID, salt).encode() in anonymous and pseudonym("q7sess0002yy", salt).encode() in anonymous
