"""What kind of file a path is, for one-line messages about inputs that are not regular files (a folder, a
named pipe, a device). A base module: `config` and `data` both read user files and must not import each other."""

from __future__ import annotations

import stat

_KINDS = (
    (stat.S_ISREG, "a file"),
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


def file_kind(mode: int) -> str:
    """What a file of this `st_mode` is, for a message: 'a named pipe (FIFO)', 'a directory', ..."""
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")
