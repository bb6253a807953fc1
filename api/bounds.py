"""``attnsparse.bounds``: the bound calculus of :mod:`attnsparse.proofs.bounds`, under its short name.

``from attnsparse.bounds import chernoff`` and ``attnsparse.bounds.chernoff`` name the same
function; the code lives in ``proofs/bounds.py``.
"""

from .proofs.bounds import *  # noqa: F401,F403 -- the public names, listed in __all__
from .proofs.bounds import __all__  # noqa: F401
