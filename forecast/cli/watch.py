"""`forecast watch`: run again whenever an input changes, in one process that stays loaded.

Every `forecast run` pays for starting up: the imports (PyMC, pandas, plotly; about as long as `import pymc`) and,
for the PNGs, starting Chromium and loading plotly.js into it (1–2 s). After a scenario edit that is most of the
run. A watch pays once: it runs, then polls the scenario YAML and the data files and runs again in the same
process, with one Chromium kept open for all its runs (`images.PngServer`), when one of them changes.

Polling rather than file-system events: a handful of files, stat'ed a few times a second, costs nothing, needs no
dependency, and sees edits on any file system and from editors that save by replacing the file.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from forecast.run.freshness import data_files

#: How often the files are checked, and how long they must stay unchanged before a run starts: an editor's save
#: can take several writes (or a rename after a write), and a run on half a file would only report an error.
POLL_SECONDS = 0.1
SETTLE_SECONDS = 0.05

#: kaleido tabs of a watch's Chromium: a scenario edit changes several figures, rendered two at a time on the two
#: cores once the run has written its page. Each tab loads plotly.js when Chromium opens, which a watch does once.
CHROMIUM_TABS = 2

#: A watch's Chromium is closed and a new one opened, while the watch waits for the next edit, once it has rendered
#: this many images: its renderer processes grow by ~6 MB an image (~27 MB an edit with four changed figures,
#: measured over 40 edits), so a watch left running all day would otherwise end up holding gigabytes.
CHROMIUM_IMAGES_PER_START = 40

# What a file's state is compared by; None: the file is missing.
FileState = tuple[int, int, int] | None


@dataclass(frozen=True)
class Watched:
    """The inputs a watch follows: the scenario YAML (None for a packaged preset) and the data files that count
    for a run (`freshness.data_files`, listed again at every check, so new and deleted files are seen)."""

    config_file: Path | None
    data_dir: Path

    def files(self) -> list[Path]:
        config = [self.config_file] if self.config_file is not None else []
        return config + data_files(self.data_dir)

    def state(self) -> dict[str, FileState]:
        """Modification time, size and inode of every file, by path."""
        return {str(path): _file_state(path) for path in self.files()}

    def describe(self) -> str:
        what = [str(self.config_file)] if self.config_file is not None else []
        return " and ".join([*what, f"the data files in {self.data_dir}"])


def _file_state(path: Path) -> FileState:
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return stat.st_mtime_ns, stat.st_size, stat.st_ino


def changed_files(before: dict[str, FileState], after: dict[str, FileState]) -> list[str]:
    """Paths that were added, removed or modified between two `Watched.state()`s."""
    return sorted(path for path in before.keys() | after.keys() if before.get(path) != after.get(path))


def wait_for_change(
    watched: Watched,
    before: dict[str, FileState],
    poll: float = POLL_SECONDS,
    settle: float = SETTLE_SECONDS,
    sleep: Callable[[float], None] = time.sleep,
) -> list[str]:
    """Block until the watched files differ from `before` and then stay unchanged for `settle` seconds; return
    the paths that changed. A change made while the caller was running counts at once."""
    current = watched.state()
    while not changed_files(before, current):
        sleep(poll)
        current = watched.state()
    while True:
        sleep(settle)
        latest = watched.state()
        if latest == current:
            return changed_files(before, latest)
        current = latest
