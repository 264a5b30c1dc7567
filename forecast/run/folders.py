"""Output folders that are replaced whole: a run writes into a staging folder beside `--out`, which becomes the
output folder in one rename (under a lock file holding the writer's pid), so a reader, a crash, a kill or a full
disk never leaves a mix of two runs. Free of pandas and xarray: the CLI checks `--out` before the heavy imports.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import sys
import tempfile
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

from forecast.cache import pid_alive
from forecast.errors import InputError

# Staging folders are made beside the output folder (same file system, so the final moves are renames).
STAGING_PREFIX = ".forecast-staging-"
# Signals held back while the staged outputs are moved into place, so an interrupt cannot leave a mix of old
# and new files; they are delivered right after.
_DEFERRED_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextmanager
def _signals_deferred() -> Iterator[None]:
    """Hold SIGINT/SIGTERM back for the duration of the block, then deliver them to the previous handlers.

    Python-level handlers (not a signal mask): Python runs them in the main thread whichever thread the operating
    system delivers the signal to, so this works while other threads (BLAS, sampler pipes) are alive.
    """
    if threading.current_thread() is not threading.main_thread():  # handlers can only be set there
        yield
        return
    pending: list[int] = []

    def hold(signum: int, frame: FrameType | None) -> None:
        pending.append(signum)

    previous = {sig: signal.signal(sig, hold) for sig in _DEFERRED_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)
        for signum in dict.fromkeys(pending):
            signal.raise_signal(signum)  # the restored handler runs now (raises, or ends the process)


class OutputBusyError(InputError):
    """Another live process is replacing the same output folder."""


def check_out_dir(out_dir: Path, option: str = "--out") -> None:
    """Refuse, before any work, an output folder that cannot be written: a file, or a folder (or its nearest
    existing parent) without write permission. One line naming the option and the path."""
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError(f"{option} {out_dir}: is a file; expected a folder (it is created if missing)")
    existing = next(p for p in (out_dir, *out_dir.absolute().parents) if p.exists())
    if not existing.is_dir():
        raise InputError(f"{option} {out_dir}: {existing} is a file, so the folder cannot be created")
    # The folder is replaced by a rename in its parent, so the parent must be writable too.
    for folder in {existing, (out_dir.absolute().parent if out_dir.exists() else existing)}:
        if not os.access(folder, os.W_OK | os.X_OK):
            raise InputError(f"{option} {out_dir}: {folder} is not writable")


@contextmanager
def _folder_lock(out_dir: Path) -> Iterator[None]:
    """Hold `.<name>.lock` beside `out_dir` (holding our pid) while the folder is replaced; a lock whose process
    has died (SIGKILL, power loss) is stale and taken over."""
    lock = out_dir.parent / f".{out_dir.name}.lock"
    for _ in range(2):
        try:
            handle = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            try:
                holder = int(lock.read_text(encoding="utf-8").strip() or 0)
            except (OSError, ValueError):
                holder = 0
            if holder and holder != os.getpid() and pid_alive(holder):
                raise OutputBusyError(
                    f"{out_dir}: busy, another forecast process (pid {holder}) is writing it; try again when it is done"
                ) from None
            lock.unlink(missing_ok=True)  # stale: its process is gone
            continue
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(f"{os.getpid()}\n")
        break
    else:  # pragma: no cover - a third process took the stale lock between our two attempts
        raise OutputBusyError(f"{out_dir}: busy, another forecast process is writing it; try again when it is done")
    try:
        yield
    finally:
        lock.unlink(missing_ok=True)


def _remove_stale_staging(parent: Path) -> None:
    """Remove staging folders left by processes that died (SIGKILL) before they could clean up."""
    for folder in parent.glob(f"{STAGING_PREFIX}*"):
        pid = folder.name.removeprefix(STAGING_PREFIX).split("-", 1)[0]
        if pid.isdigit() and int(pid) != os.getpid() and not pid_alive(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)


def _carry_over(out_dir: Path, staging: Path, replaces: Iterable[str]) -> None:
    """Put what the new outputs do not replace (the user's own files, outputs this run does not write and
    `replaces` does not name) into `staging`, as hard links: the old folder stays complete until the swap."""
    dropped = set(replaces)
    for item in out_dir.iterdir():
        if item.name in dropped or (staging / item.name).exists() or (staging / item.name).is_symlink():
            continue
        target = staging / item.name
        if item.is_symlink():
            os.symlink(os.readlink(item), target)
        elif item.is_dir():
            shutil.copytree(item, target, symlinks=True, copy_function=_link_or_copy)
        else:
            _link_or_copy(item, target)


def _link_or_copy(source: str | Path, target: str | Path) -> None:
    try:
        os.link(source, target)
    except OSError:  # another file system, or links not allowed
        shutil.copy2(source, target)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically (Linux renameat2 RENAME_EXCHANGE through libc); False where unsupported."""
    if sys.platform != "linux":
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    at_cwd, rename_exchange = -100, 2  # AT_FDCWD, RENAME_EXCHANGE from <fcntl.h> / <linux/fs.h>
    return renameat2(at_cwd, os.fsencode(a), at_cwd, os.fsencode(b), rename_exchange) == 0


def _swap_in(staging: Path, out_dir: Path) -> None:
    """Make `staging` the output folder in one step; the previous folder goes. A reader sees the old folder or
    the new one, never a mix. Without an atomic exchange, two renames: for a moment the folder is absent."""
    if not out_dir.exists():
        os.replace(staging, out_dir)
        return
    if _exchange(staging, out_dir):
        shutil.rmtree(staging, ignore_errors=True)  # now holds the previous outputs
        return
    previous = staging.with_name(staging.name + "-previous")
    os.replace(out_dir, previous)
    os.replace(staging, out_dir)
    shutil.rmtree(previous, ignore_errors=True)


@contextmanager
def staged_output(out_dir: Path, replaces: Iterable[str] = ()) -> Iterator[Path]:
    """Yield a staging folder; on success it replaces `out_dir` whole, on any exit it is removed.

    The new folder holds this run's outputs plus whatever the old one had that they do not replace (the user's
    own files), except the earlier outputs named in `replaces` that this run leaves out (its images after
    --no-png), so the folder never pairs a report with another run's files. The swap is one rename, under a lock
    file beside the folder, with SIGINT/SIGTERM held back until it is done; a process killed at any point (SIGKILL
    included) leaves the previous folder complete, and its staging folder is removed by the next run.
    """
    out_dir = Path(out_dir)
    if out_dir.is_symlink():  # replace the folder it points to, keep the link
        out_dir = out_dir.resolve()
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_staging(out_dir.parent)
    staging = Path(tempfile.mkdtemp(prefix=f"{STAGING_PREFIX}{os.getpid()}-", dir=out_dir.parent))
    try:
        yield staging
        with _folder_lock(out_dir), _signals_deferred():
            if out_dir.is_dir():
                _carry_over(out_dir, staging, replaces)
            _swap_in(staging, out_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
