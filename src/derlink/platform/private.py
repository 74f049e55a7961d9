"""Private data on disk: the data directory and everything derlink writes into it.

The data directory holds customers' names, addresses and e-mails (the SQLite files, the e-mail
outbox, the local file stores), the clients' secrets and the console's signing key. It is the
running user's alone: folders ``0700``, files ``0600``, whatever the umask. Whatever creates a
file there creates it with these modes (:func:`private_dir`, :func:`create_private_file`, and
``os.open(..., FILE_MODE)`` in the stores and the outbox); on start the composition root makes
the data directory private and tightens what an earlier version, or a hand, left open
(:func:`secure_home`).
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

log = logging.getLogger("derlink")

DIR_MODE = 0o700
FILE_MODE = 0o600
#: The bits a private entry never has: none for the group, none for others.
_OPEN_BITS = 0o077


def private_dir(path: Path) -> Path:
    """``path`` as a folder, creating it and any missing parent ``0700`` (an existing folder is
    left as it is)."""
    missing: list[Path] = []
    at = path
    while not at.exists() and at != at.parent:
        missing.append(at)
        at = at.parent
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=DIR_MODE)
        except FileExistsError:
            continue
    return path


def create_private_file(path: Path) -> None:
    """Create ``path`` empty, ``0600``, unless it exists (a file SQLite fills: its ``-wal`` and
    ``-shm`` files take the database file's mode)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, FILE_MODE)
    except FileExistsError:
        return
    os.close(fd)


def tighten(root: Path) -> list[Path]:
    """Take the group's and others' access off ``root`` and everything in it (links are passed
    over, never followed); the entries that were changed."""
    changed: list[Path] = []

    def fix(path: Path) -> None:
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            return
        if stat.S_ISLNK(st.st_mode) or not st.st_mode & _OPEN_BITS:
            return
        if not (stat.S_ISDIR(st.st_mode) or stat.S_ISREG(st.st_mode)):
            return
        try:
            path.chmod(stat.S_IMODE(st.st_mode) & ~_OPEN_BITS)
        except OSError as exc:  # another user's file, a read-only mount: said, not fatal
            log.error("%s stays readable by others: %s", path, exc.strerror or exc)
            return
        changed.append(path)

    fix(root)
    for folder, dirs, files in os.walk(root, followlinks=False):
        base = Path(folder)
        for name in dirs + files:
            fix(base / name)
    return changed


def secure_home(home: Path) -> Path:
    """Make the data directory private: create it ``0700``, or tighten it and its contents,
    saying in the log what was open."""
    private_dir(home)
    changed = tighten(home)
    if changed:
        shown = ", ".join(str(p.relative_to(home)) if p != home else "." for p in changed[:10])
        more = f" and {len(changed) - 10} more" if len(changed) > 10 else ""
        log.warning(
            "the data directory %s was readable by others: %d entries made private "
            "(folders 0700, files 0600): %s%s",
            home.resolve(),
            len(changed),
            shown,
            more,
        )
    return home
