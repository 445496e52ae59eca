"""Acceptance attack on the server's paths (issue 14): an experiment named ``admin`` was served at
``/admin/`` — under the admin token cookie's path — and its link without the slash opened the
admin page instead of the study. Such names now stop `mugkit serve` at start, saying what to do."""

from __future__ import annotations

import shutil

import pytest
from race import RACE
from serving import serve

from mugkit.loadtest.server import ServerError


@pytest.mark.parametrize("name", ["admin", "static", "runtime"])
def test_an_experiment_named_like_a_server_path_stops_serve_at_start(tmp_path, name):
    folder = tmp_path / "study"
    folder.mkdir()
    shutil.copy(RACE, folder / f"{name}.py")
    with pytest.raises(ServerError) as refused:
        serve(str(folder), data=str(tmp_path / "data")).stop()   # (stopped if it wrongly starts)
    assert f"the experiment name(s) {name} are the server's own paths" in str(refused.value)
    assert f"rename the module (e.g. {name}_study.py)" in str(refused.value)
    assert not (tmp_path / "data" / "mugkit.sqlite").exists()      # nothing was started
