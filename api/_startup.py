"""Start-up of the ``attnsparse`` command: imported first by the package, before the heavy imports.

A Ctrl-C in the second or so that numba, SymPy and the catalogue take to import would otherwise
print a traceback from deep inside the import system.
"""

import os
import signal
import sys


def _started_as_command():
    """True while this import is the start of the ``attnsparse`` command (the console script, or
    ``python -m attnsparse``), not an import by a user's code."""
    argv = getattr(sys, "orig_argv", sys.argv)
    if os.path.basename(sys.argv[0]) == "attnsparse":
        return True
    return len(argv) >= 3 and argv[1] == "-m" and argv[2] == "attnsparse"


def _interrupted_while_starting(_signum, _frame):
    """Ctrl-C while the command is still importing: a one-line message, exit 130, no traceback.
    Nothing has been computed or written yet; :func:`.cli.main` puts the default handler back."""
    os.write(2, b"attnsparse: interrupted\n")
    os._exit(130)


if _started_as_command() and signal.getsignal(signal.SIGINT) is signal.default_int_handler:
    signal.signal(signal.SIGINT, _interrupted_while_starting)
