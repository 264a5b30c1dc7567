"""Output folders replaced whole: a run's files replace the previous run's, an optional output it leaves out goes
too, a live writer makes the folder busy, and a killed one leaves nothing behind."""

from __future__ import annotations

from pathlib import Path

import pytest

from forecast.run import folders


def _previous_run(out: Path) -> None:
    (out / "figures").mkdir(parents=True)
    (out / "figures" / "fan_chart.png").write_bytes(b"old image")
    (out / "report.html").write_text("old report")
    (out / "summary.csv").write_text("old summary")
    (out / "notes.txt").write_text("the user's own file")


def test_optional_output_left_out_is_removed(tmp_path: Path) -> None:
    out = tmp_path / "out"
    _previous_run(out)
    with folders.staged_output(out, replaces=("report.html", "figures")) as staging:
        (staging / "summary.csv").write_text("new summary")
        (staging / "report.html").write_text("new report")
    assert not (out / "figures").exists()  # this run made no images: the old ones do not match its report
    assert (out / "report.html").read_text() == "new report"
    assert (out / "summary.csv").read_text() == "new summary"
    assert (out / "notes.txt").read_text() == "the user's own file"  # not an output: never touched


def test_staged_folder_replaces_the_old_one_whole(tmp_path: Path) -> None:
    out = tmp_path / "out"
    _previous_run(out)
    with folders.staged_output(out, replaces=("figures",)) as staging:
        (staging / "figures").mkdir()
        (staging / "figures" / "probability_chart.png").write_bytes(b"new image")
    assert sorted(p.name for p in (out / "figures").iterdir()) == ["probability_chart.png"]


def test_failed_run_removes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "out"
    _previous_run(out)
    with pytest.raises(RuntimeError), folders.staged_output(out, replaces=("report.html", "figures")) as staging:
        (staging / "summary.csv").write_text("half-written")
        raise RuntimeError("the run failed")
    assert (out / "figures" / "fan_chart.png").read_bytes() == b"old image"
    assert (out / "report.html").read_text() == "old report"
    assert (out / "summary.csv").read_text() == "old summary"
    assert not list(tmp_path.glob(f"{folders.STAGING_PREFIX}*"))


def test_symlinked_output_is_unlinked_not_followed(tmp_path: Path) -> None:
    kept = tmp_path / "elsewhere"
    kept.mkdir()
    (kept / "image.png").write_bytes(b"not ours")
    out = tmp_path / "out"
    out.mkdir()
    (out / "figures").symlink_to(kept, target_is_directory=True)
    with folders.staged_output(out, replaces=("figures",)) as staging:
        (staging / "summary.csv").write_text("new")
    assert not (out / "figures").exists() and (kept / "image.png").read_bytes() == b"not ours"


def test_the_folder_is_swapped_whole_and_keeps_the_users_files(tmp_path: Path) -> None:
    out = tmp_path / "out"
    _previous_run(out)
    inode_before = out.stat().st_ino
    with folders.staged_output(out) as staging:
        (staging / "summary.csv").write_text("new summary")
    assert out.stat().st_ino != inode_before  # a new folder took the old one's place (one rename)
    assert (out / "summary.csv").read_text() == "new summary"
    assert (out / "report.html").read_text() == "old report"  # not replaced, not named in `replaces`: kept
    assert (out / "notes.txt").read_text() == "the user's own file"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no staging or previous folder left


def test_a_live_writer_makes_the_folder_busy_and_a_dead_ones_lock_is_taken_over(tmp_path: Path) -> None:
    import subprocess
    import sys

    out = tmp_path / "out"
    lock = tmp_path / ".out.lock"
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        lock.write_text(f"{sleeper.pid}\n")
        busy = rf"busy, another forecast process \(pid {sleeper.pid}\)"
        with pytest.raises(folders.OutputBusyError, match=busy), folders.staged_output(out) as staging:
            (staging / "summary.csv").write_text("new")
        assert not out.exists() and lock.exists()  # nothing written, the holder's lock kept
    finally:
        sleeper.kill()
        sleeper.wait()
    with folders.staged_output(out) as staging:  # the holder is gone: its lock is stale
        (staging / "summary.csv").write_text("new")
    assert (out / "summary.csv").read_text() == "new" and not lock.exists()


def test_a_killed_runs_staging_folder_is_removed_by_the_next_run(tmp_path: Path) -> None:
    import subprocess
    import sys

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    leftover = tmp_path / f"{folders.STAGING_PREFIX}{dead.stdout.strip()}-abc"
    leftover.mkdir()
    (leftover / "summary.csv").write_text("half")
    with folders.staged_output(tmp_path / "out") as staging:
        (staging / "summary.csv").write_text("new")
    assert not leftover.exists()


def test_out_dir_is_checked_before_the_work(tmp_path: Path) -> None:
    import os

    a_file = tmp_path / "file"
    a_file.write_text("x")
    with pytest.raises(folders.InputError, match=r"^--out .*file: is a file; expected a folder"):
        folders.check_out_dir(a_file)
    with pytest.raises(folders.InputError, match=r"is a file, so the folder cannot be created"):
        folders.check_out_dir(a_file / "sub")
    folders.check_out_dir(tmp_path / "new" / "deeper")  # creatable: fine
    if os.geteuid() != 0:  # root may write anywhere, so only a normal user can see a permission refusal
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        with pytest.raises(folders.InputError, match="is not writable"):
            folders.check_out_dir(locked / "out")


def test_run_into_a_file_fails_at_once_with_one_line(tmp_path: Path) -> None:
    import subprocess
    import sys

    a_file = tmp_path / "taken"
    a_file.write_text("not a folder")
    done = subprocess.run(
        [sys.executable, "-m", "forecast.cli.app", "run", "--out", str(a_file)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "is a file; expected a folder" in lines[0] and "Traceback" not in done.stderr
    assert a_file.read_text() == "not a folder"
