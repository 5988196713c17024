"""The Makefile's recipes, read with ``make -n`` (nothing runs): what `make all` asks of
the steps it does not run itself."""
import os
import shutil
import subprocess

import pytest

ROOT = os.path.join(os.path.dirname(__file__), "..")

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="no make")


def _tables_command(tmp_path, run):
    r = subprocess.run(["make", "-n", "tables", f"RUN={run}", f"VENV={tmp_path / 'venv'}"], cwd=ROOT,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    lines = [ln for ln in r.stdout.splitlines() if "structnet tables" in ln]
    assert len(lines) == 1, r.stdout
    return lines[0]


def test_tables_without_ablations_do_not_ask_for_them(tmp_path):
    """`make all` runs no ablations; its last step, `tables`, must not name their
    directory (the tables command refuses a missing one; Table 3 then says "not run")."""
    run = tmp_path / "run"
    assert "--ablations" not in _tables_command(tmp_path, run)
    (run / "ablations").mkdir(parents=True)
    assert f"--ablations {run}/ablations" in _tables_command(tmp_path, run)
