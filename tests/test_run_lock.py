"""One run per folder (issue 36): a second `seqdraw train` into a folder another process is training is
refused in one line that names the holder, and touches nothing there; a dead holder leaves no lock."""
import os
import subprocess
import sys

import pytest

from conftest import one_line_error
from seqdraw.cli import main
from seqdraw.files import lock_folder

HOLD = "import sys, time; from seqdraw.files import lock_folder; f = lock_folder(sys.argv[1]); print('held', flush=True); time.sleep(60)"


@pytest.fixture
def holder(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text("{}\n")            # what the first run has written so far
    p = subprocess.Popen([sys.executable, "-c", HOLD, str(run)], stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "held"
    yield run, p
    p.kill()
    p.wait()


@pytest.mark.parametrize("extra", [[], ["--overwrite"]])
def test_second_run_into_a_busy_folder_is_refused_and_touches_nothing(tmp_path, capsys, holder, extra, monkeypatch):
    monkeypatch.setenv("SEQDRAW_CORES_DIR", str(tmp_path / "cores"))
    run, p = holder
    code = main(["train", "--data", "synth", "--out", str(run), "--set", "synth_n=8", "--max-steps", "1",
                 "--set", "compile=false", "--set", "model.enc_size=8", *extra])
    line = one_line_error(capsys.readouterr().err)
    assert code != 0 and f"process {p.pid}" in line and "in use" in line
    assert sorted(x.name for x in run.iterdir()) == [".lock", "config.json"]
    assert (run / "config.json").read_text() == "{}\n"


def test_a_dead_holder_leaves_no_stale_lock(holder):
    run, p = holder
    p.kill()
    p.wait()
    f = lock_folder(run)                                 # the kernel dropped the dead process's lock
    assert (run / ".lock").read_text().strip() == str(os.getpid())
    f.close()
