"""Output files and folders: one policy for every command that writes.

- :func:`write_atomic`: a reader sees the old file or the new one, never a part of either
  (temporary sibling ``.tmp-*``, fsync, rename).
- :func:`prepare_folder`: the output-folder policy. A folder attnsparse did not create (it
  holds no marker file :data:`MARKER`) is refused when it is not empty, unless ``force``;
  write permission is checked before any work starts; stray ``.tmp-*`` files left by a
  killed run are removed; the folder is locked (:class:`FolderLock`) while in use.
- :func:`prepare_file`: the same checks for a single output file (its folder must exist and
  be writable; a file the user names is replaced atomically).
- :func:`write_unit`: several files of one report written as one unit: a kill at any point
  never leaves a new file next to an old one of the same report.
- :func:`strict_json`: JSON without ``NaN``/``Infinity`` tokens (undefined values are ``null``).
"""

from __future__ import annotations

import json
import math
import os
import shutil
import socket
import tempfile

__all__ = ["write_atomic", "fsync_dir", "save_figure", "write_unit", "prepare_folder", "prepare_file", "strict_json",
           "finite_or_none", "FolderError", "FolderInUse", "FolderLock", "MARKER", "LOCK", "TMP_PREFIX"]

#: written into every folder attnsparse creates (or is allowed to use with ``--force``)
MARKER = ".attnsparse"
#: the lock file of a folder in use (``fcntl.flock``; it holds "pid host" of the holder)
LOCK = ".attnsparse.lock"
#: prefix of every temporary file or folder; leftovers of a killed run are removed on the next run
TMP_PREFIX = ".tmp-"

#: test hook: ``_WRITE_HOOK(step_name)`` is called at every write boundary (None in normal use)
_WRITE_HOOK = None


def _boundary(step):
    """A write boundary: tests kill or raise here (``_WRITE_HOOK`` or ``ATTNSPARSE_KILL_AT``)."""
    if _WRITE_HOOK is not None:
        _WRITE_HOOK(step)
    kill_at = os.environ.get("ATTNSPARSE_KILL_AT")  # "PATTERN" or "PATTERN#k": SIGKILL at the k-th match
    if kill_at:
        import fnmatch

        name, _, count = kill_at.partition("#")
        if fnmatch.fnmatchcase(step, name):
            _HITS[name] = _HITS.get(name, 0) + 1
            if _HITS[name] >= int(count or 1):
                import signal

                os.kill(os.getpid(), signal.SIGKILL)


_HITS: dict = {}


class FolderError(RuntimeError):
    """An output folder or file cannot be used (not empty and not ours, not writable, in use)."""


class FolderInUse(FolderError):
    """Another process holds the folder's lock."""


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def fsync_dir(folder):
    """Make a rename in ``folder`` durable (a no-op where folders cannot be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_atomic(path, data):
    """Write ``data`` to ``path`` through a temporary file, fsync and a rename.

    ``data`` is text (written as UTF-8), bytes, or a callable ``writer(f)`` that writes to
    a binary file object. The file gets the usual mode (0666 less the umask).
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=TMP_PREFIX, suffix=os.path.basename(path))
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600 files
        with os.fdopen(fd, "wb") as f:
            if callable(data):
                data(f)
            else:
                f.write(data.encode("utf-8") if isinstance(data, str) else data)
            f.flush()
            os.fsync(f.fileno())
        _boundary(f"written {os.path.basename(folder)}/{os.path.basename(path)}")
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


def staging_folder(folder):
    """A new temporary folder inside ``folder`` (``.tmp-unit-*``) to stage a :func:`write_unit`."""
    return tempfile.mkdtemp(dir=folder, prefix=TMP_PREFIX + "unit-")


def write_unit(folder, files, staged=None):
    """Write the report files ``{name: data}`` into ``folder`` as one unit.

    Every file is first written (and fsynced) into a staging folder ``.tmp-unit-*``. Then the
    old files of the unit, except the first, are removed, the first is renamed into place
    and then the others. A kill at any point leaves either the old unit, or the old first
    file alone, or the new first file with some of the new others: never a new file next
    to an old one. The staging folder of a killed run is removed on the next run
    (:func:`prepare_folder`).

    Parameters
    ----------
    folder : str
        The output folder (prepared with :func:`prepare_folder`).
    files : dict {name: data}
        Plain file names, in order; ``data`` as for :func:`write_atomic`.
    staged : str, optional
        A staging folder from :func:`staging_folder` that already holds further files of the
        unit (figures): they are moved in after ``files``.
    """
    folder = os.fspath(folder)
    stage = staged or staging_folder(folder)
    try:
        for name, data in files.items():
            write_atomic(os.path.join(stage, name), data)
        fsync_dir(stage)
        names = list(files) + sorted(n for n in os.listdir(stage) if n not in files and not n.startswith("."))
        for name in names[1:]:
            target = os.path.join(folder, name)
            if os.path.lexists(target):
                os.unlink(target)
                _boundary(f"removed old {name}")
        for name in names:
            os.replace(os.path.join(stage, name), os.path.join(folder, name))
            _boundary(f"renamed {name}")
        fsync_dir(folder)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    return [os.path.join(folder, n) for n in names]


# ----------------------------------------------------------------------------- the folder policy

def _describe(path):
    return repr(os.fspath(path))


def _check_creatable(path, option):
    """The nearest existing ancestor of ``path`` must be a writable folder."""
    parent = os.path.dirname(os.path.abspath(path))
    while parent and not os.path.exists(parent):
        up = os.path.dirname(parent)
        if up == parent:
            break
        parent = up
    if not os.path.isdir(parent):
        raise FolderError(f"{option} {_describe(path)}: cannot create it ({parent!r} is not a folder)")
    _probe(parent, option, path, "cannot create it in")


def _probe(folder, option, path, what="cannot write in"):
    """Create and remove a temporary file in ``folder``: the real test of write permission."""
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=TMP_PREFIX + "probe-")
    except OSError as e:
        raise FolderError(f"{option} {_describe(path)}: {what} {folder!r} ({e.strerror})") from None
    os.close(fd)
    try:
        os.unlink(tmp)
    except FileNotFoundError:  # removed as a stray by a concurrent run
        pass


def _remove_strays(folder):
    for name in os.listdir(folder):
        if name.startswith(TMP_PREFIX):
            path = os.path.join(folder, name)
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path, ignore_errors=True)
            else:
                try:
                    os.unlink(path)
                except FileNotFoundError:
                    pass


def prepare_folder(path, *, force=False, option="--out", ours=(), lock=True):
    """Apply the output-folder policy to ``path`` before any work starts.

    - a missing folder is created (its parents too) and marked with :data:`MARKER`;
    - an existing folder must be writable; when it is not empty and holds no marker (nor
      one of the files ``ours``, e.g. a sweep manifest of an older version), it is refused
      unless ``force`` (then it is marked);
    - the folder is locked against a second attnsparse process (:class:`FolderLock`);
    - stray temporary files ``.tmp-*`` of a killed run are removed.

    Returns
    -------
    FolderLock or None
        The held lock (release it with ``.release()`` or use it as a context manager);
        None when ``lock`` is False.

    Raises
    ------
    FolderError
        With one line naming the path and what to do.
    """
    path = os.fspath(path)
    if os.path.lexists(path) and not os.path.isdir(path):
        raise FolderError(f"{option} {_describe(path)} exists and is not a directory")
    created = False
    if not os.path.isdir(path):
        _check_creatable(path, option)
        try:
            os.makedirs(path)
            created = True
        except FileExistsError:  # created by a concurrent run a moment ago
            pass
        except OSError as e:
            raise FolderError(f"{option} {_describe(path)}: cannot create it ({e.strerror})") from None
    _probe(path, option, path)
    held = FolderLock(path, option) if lock else None
    try:
        marked = os.path.exists(os.path.join(path, MARKER)) or any(
            os.path.exists(os.path.join(path, n)) for n in ours)
        if not created and not marked:
            foreign = sorted(n for n in os.listdir(path) if n not in (MARKER, LOCK) and not n.startswith(TMP_PREFIX))
            if foreign and not force:
                shown = ", ".join(foreign[:3]) + (", ..." if len(foreign) > 3 else "")
                raise FolderError(f"{option} {_describe(path)} is not empty ({shown}) and was not created by "
                                  "attnsparse; give a new or empty folder, or --force to write into it")
        if created or not os.path.exists(os.path.join(path, MARKER)):
            write_atomic(os.path.join(path, MARKER), "This folder was written by attnsparse.\n")
        _remove_strays(path)
    except BaseException:
        if held is not None:
            held.release()
        raise
    return held


def prepare_file(path, option="--out", create_folder=False):
    """The output-file policy: ``path`` is not a folder, and its folder exists and is writable.

    With ``create_folder`` a missing folder is created (when its nearest existing ancestor
    is writable). The file itself is replaced atomically when written (:func:`write_atomic`);
    stray temporary siblings of it left by a killed run are removed.
    """
    path = os.fspath(path)
    if os.path.isdir(path):
        raise FolderError(f"{option} {_describe(path)} is a directory; give a file name")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        if not create_folder:
            raise FolderError(f"{option} {_describe(path)}: its folder {folder!r} does not exist")
        _check_creatable(folder, option)
        try:
            os.makedirs(folder, exist_ok=True)
        except OSError as e:
            raise FolderError(f"{option} {_describe(path)}: cannot create its folder ({e.strerror})") from None
    _probe(folder, option, path)
    base = os.path.basename(path)
    for name in os.listdir(folder):
        if name.startswith(TMP_PREFIX) and name.endswith(base) and not name.startswith(TMP_PREFIX + "unit-"):
            try:
                os.unlink(os.path.join(folder, name))
            except OSError:
                pass
    return path


class FolderLock:
    """An exclusive ``fcntl.flock`` on ``folder/.attnsparse.lock``, naming its holder.

    The lock file holds ``pid host`` of the process that holds the lock; a second process
    is refused with :class:`FolderInUse` naming them. The lock goes with its process (a
    killed run leaves no stale lock). Where ``fcntl`` is missing (Windows) it is a no-op.
    """

    def __init__(self, folder, option="--out"):
        self.folder = os.fspath(folder)
        self.path = os.path.join(self.folder, LOCK)
        self._fd = None
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not POSIX
            return
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666 & ~_umask())
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 200).decode("utf-8", "replace").split()
            os.close(fd)
            who = (f"process {holder[0]} on host {holder[1]}" if len(holder) >= 2
                   else "another process")
            raise FolderInUse(f"{option} {_describe(folder)} is in use by attnsparse ({who}); wait for it to "
                              "finish, or give another folder") from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()} {socket.gethostname()}\n".encode())
        os.fsync(fd)
        self._fd = fd

    def release(self):
        if self._fd is not None:
            try:
                os.ftruncate(self._fd, 0)
            except OSError:
                pass
            os.close(self._fd)  # closing the descriptor releases the flock
            self._fd = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.release()


# ----------------------------------------------------------------------------- strict JSON

def finite_or_none(obj):
    """``obj`` with every NaN or infinite float (also numpy scalars and arrays) replaced by None."""
    if isinstance(obj, bool) or obj is None or isinstance(obj, (str, int)):
        return obj
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: finite_or_none(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [finite_or_none(v) for v in obj]
    try:
        import numpy as np
    except ImportError:  # pragma: no cover
        return obj
    if isinstance(obj, np.ndarray):
        return finite_or_none(obj.tolist())
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return finite_or_none(float(obj))
    return obj


def strict_json(obj, **kwargs):
    """``json.dumps`` that never writes ``NaN``/``Infinity``: undefined values become ``null``."""
    kwargs.setdefault("default", str)
    return json.dumps(finite_or_none(obj), allow_nan=False, **kwargs)
