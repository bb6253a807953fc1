"""attnsparse: state, derive, evaluate and check claims about softmax attention under Gaussian inputs.

>>> import attnsparse as asp
>>> asp.IIDLogits(n=16, sigma=1)
IIDLogits(n=16, sigma=1, mu=0)
"""
from . import _startup  # noqa: F401 -- first: a Ctrl-C while the command starts ends quietly
from ._version import __version__
from .numeric.models import IIDLogits, BilinearQK, SelfAttention
from .numeric.statistics import E, P, Var, quantile, stat
from .numeric.measure import measure, attention_stats
from .proofs.claim import Claim, register, PROVENANCE
from .proofs.catalogue import get, claims
from .proofs.derivation import Derivation
from .proofs.guards import NotDerived
from .proofs.kinds import TrendClaim, ExactClaim
from . import bounds  # noqa: F401 -- the bound calculus: attnsparse.bounds.chernoff(...)

__all__ = ["IIDLogits", "BilinearQK", "SelfAttention", "E", "P", "Var", "quantile", "stat",
           "measure", "attention_stats", "Claim", "register", "get", "claims", "PROVENANCE", "Derivation", "NotDerived",
           "TrendClaim", "ExactClaim", "__version__"]
