"""Atomic file writes: a reader sees the old file or the new one, never a part of either."""

from __future__ import annotations

import os
import tempfile

__all__ = ["write_atomic", "save_figure"]


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_atomic(path, data):
    """Write ``data`` to ``path`` through a temporary file, fsync and a rename.

    ``data`` is text (written as UTF-8), bytes, or a callable ``writer(f)`` that writes to
    a binary file object. The file gets the usual mode (0666 less the umask).
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=os.path.basename(path))
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600 files
        with os.fdopen(fd, "wb") as f:
            if callable(data):
                data(f)
            else:
                f.write(data.encode("utf-8") if isinstance(data, str) else data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def save_figure(fig, path, dpi=130):
    """``fig.savefig(path)`` atomically; the format is the file's extension."""
    fmt = os.path.splitext(os.fspath(path))[1].lstrip(".")
    return write_atomic(path, lambda f: fig.savefig(f, format=fmt, dpi=dpi))
