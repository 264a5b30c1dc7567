"""Staged outputs: a run's files replace the previous run's, and an optional output it leaves out goes too."""

from __future__ import annotations

from pathlib import Path

import pytest

from forecast.run import outputs


def _previous_run(out: Path) -> None:
    (out / "figures").mkdir(parents=True)
    (out / "figures" / "fan_chart.png").write_bytes(b"old image")
    (out / "report.html").write_text("old report")
    (out / "summary.csv").write_text("old summary")
    (out / "notes.txt").write_text("the user's own file")


def test_optional_output_left_out_is_removed(tmp_path: Path) -> None:
    out = tmp_path / "out"
    _previous_run(out)
    with outputs.staged_output(out, replaces=("report.html", "figures")) as staging:
        (staging / "summary.csv").write_text("new summary")
        (staging / "report.html").write_text("new report")
    assert not (out / "figures").exists()  # this run made no images: the old ones do not match its report
    assert (out / "report.html").read_text() == "new report"
    assert (out / "summary.csv").read_text() == "new summary"
    assert (out / "notes.txt").read_text() == "the user's own file"  # not an output: never touched


def test_staged_folder_replaces_the_old_one_whole(tmp_path: Path) -> None:
    out = tmp_path / "out"
    _previous_run(out)
    with outputs.staged_output(out, replaces=("figures",)) as staging:
        (staging / "figures").mkdir()
        (staging / "figures" / "probability_chart.png").write_bytes(b"new image")
    assert sorted(p.name for p in (out / "figures").iterdir()) == ["probability_chart.png"]


def test_failed_run_removes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "out"
    _previous_run(out)
    with pytest.raises(RuntimeError), outputs.staged_output(out, replaces=("report.html", "figures")) as staging:
        (staging / "summary.csv").write_text("half-written")
        raise RuntimeError("the run failed")
    assert (out / "figures" / "fan_chart.png").read_bytes() == b"old image"
    assert (out / "report.html").read_text() == "old report"
    assert (out / "summary.csv").read_text() == "old summary"
    assert not list(tmp_path.glob(f"{outputs.STAGING_PREFIX}*"))


def test_symlinked_output_is_unlinked_not_followed(tmp_path: Path) -> None:
    kept = tmp_path / "elsewhere"
    kept.mkdir()
    (kept / "image.png").write_bytes(b"not ours")
    out = tmp_path / "out"
    out.mkdir()
    (out / "figures").symlink_to(kept, target_is_directory=True)
    with outputs.staged_output(out, replaces=("figures",)) as staging:
        (staging / "summary.csv").write_text("new")
    assert not (out / "figures").exists() and (kept / "image.png").read_bytes() == b"not ours"
