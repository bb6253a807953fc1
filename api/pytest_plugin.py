"""pytest plugin of attnsparse (entry point ``pytest11``): the ``claim_check`` fixture.

Thin on purpose: nothing of attnsparse is imported until a test asks for the fixture, so
the plugin costs nothing in test sessions that do not check claims. The implementation is
:mod:`attnsparse.claimtest`.

Options: ``--claim-effort {quick,full}``, ``--claim-seed N``. Marker:
``@pytest.mark.claim(alpha=..., seed=..., effort=..., allow_inconclusive=...)`` sets the
defaults of ``claim_check`` for one test; tests using the fixture get the marker
automatically, so ``-m claim`` selects them and ``-m "not claim"`` skips them.
"""

import argparse

import pytest

_KEY = "attnsparse_claim_records"


def _seed(text):
    """``--claim-seed``: an integer >= 0, refused at option parsing (a usage error) otherwise."""
    try:
        seed = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer >= 0, got {text!r}") from None
    if seed < 0:
        raise argparse.ArgumentTypeError(f"must be an integer >= 0, got {seed}")
    return seed


def pytest_addoption(parser):
    g = parser.getgroup("attnsparse", "attnsparse claim checks")
    g.addoption("--claim-effort", choices=("quick", "full"), default="quick",
                help="sample budget of claim_check (default: quick)")
    g.addoption("--claim-seed", type=_seed, default=0, metavar="N",
                help="master seed of claim_check, an integer >= 0 (default: 0)")


def pytest_configure(config):
    config.addinivalue_line("markers", "claim(alpha=None, seed=None, effort=None, allow_inconclusive=False): "
                                       "a test that checks an attnsparse claim against simulation")
    setattr(config, _KEY, [])


def pytest_collection_modifyitems(items):
    for item in items:
        if "claim_check" in getattr(item, "fixturenames", ()) and item.get_closest_marker("claim") is None:
            item.add_marker(pytest.mark.claim)


@pytest.fixture
def claim_check(request):
    """Check a Claim (or a registered claim's id) or a Derivation:
    ``claim_check(obj, alpha=, seed=, allow_inconclusive=, **params)``.

    Without parameters a claim is checked at its own check points (``claim.points``).
    Fails the test on a refuted claim or a failed derivation step, and on an inconclusive
    check unless ``allow_inconclusive=True``. Returns the CheckResult (a list of them for
    the claim's own points, or a DerivationCheck).
    """
    from attnsparse.claimtest import ClaimChecker

    return ClaimChecker(request, getattr(request.config, _KEY))


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    records = getattr(config, _KEY, None)
    if records:
        from attnsparse.claimtest import summary_table

        terminalreporter.write_sep("=", "attnsparse claims checked")
        terminalreporter.write_line(summary_table(records))
