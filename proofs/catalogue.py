"""The catalogue of claims: ``claims()`` and ``get(id)`` over the registry.

The catalogue modules (:mod:`.claims`, one per area) register their claims when first
imported; this module imports them on the first lookup. It is the only module that
imports them, and none of them imports it: a catalogue module refers to its own claims
by name, not through :func:`get`.
"""

from __future__ import annotations

import difflib
import importlib

from .claim import registered

__all__ = ["claims", "get", "CATALOGUE_MODULES"]

#: the areas of the catalogue, one module of :mod:`attnsparse.proofs.claims` each
CATALOGUE_MODULES = ("logits", "normaliser", "entries", "selfattention", "sparsity", "collapse", "phases",
                     "extremes", "bounds", "cost")


def _load_catalogue():
    for m in CATALOGUE_MODULES:
        importlib.import_module(f"{__package__}.claims.{m}")


def claims():
    """All registered claims, sorted by id (the catalogue is loaded on first call)."""
    _load_catalogue()
    found = registered()
    return [found[k] for k in sorted(found)]


def get(id):
    """The registered claim ``id``; a KeyError lists close matches."""
    _load_catalogue()
    found = registered()
    if id not in found:
        close = difflib.get_close_matches(id, list(found), n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else "; `attnsparse list` shows all"
        raise KeyError(f"no claim with id {id!r}{hint}")
    return found[id]
