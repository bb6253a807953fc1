"""What every ``attnsparse`` command shares: the exit codes, :class:`UsageError` and the option checks.

The command modules (``cmd_*.py``) and :mod:`.cli` import from here, so no command imports
the CLI that loads it.

Exit codes: :data:`EXIT_OK` (0) when nothing is refuted, :data:`EXIT_REFUTED` (1) when a
claim is refuted against the catalogue (or sweep points failed), :data:`EXIT_USAGE` (2) on
usage errors, :data:`EXIT_INTERRUPTED` (130) after Ctrl-C.
"""

from __future__ import annotations

__all__ = ["EXIT_OK", "EXIT_REFUTED", "EXIT_USAGE", "EXIT_INTERRUPTED", "UsageError", "Interrupted",
           "check_seed_option"]

EXIT_OK, EXIT_REFUTED, EXIT_USAGE = 0, 1, 2
#: after Ctrl-C (128 + SIGINT), as a shell reports it
EXIT_INTERRUPTED = 130


class UsageError(Exception):
    """A bad command line: the CLI prints ``attnsparse COMMAND: error: MESSAGE`` and exits with 2."""


class Interrupted(KeyboardInterrupt):
    """Ctrl-C, with one line saying what was kept (``interrupted: 12 of 33 points saved``)."""


def check_seed_option(seed):
    """The ``--seed`` option of every command: an integer >= 0."""
    if seed < 0:
        raise UsageError(f"--seed must be an integer >= 0, got {seed}")
