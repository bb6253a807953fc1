"""The relation tables: what a claim and a derivation step may state, and how steps compose.

A claim relates its two sides by one of :data:`RELATIONS`; a derivation step relates two
expressions by one of :data:`STEP_RELATIONS`. A chain of steps proves the relation
:func:`composed_relation` of its ends, which :data:`CLAIM_RELATION` turns into the relation
of the claim it concludes. Both tables map a relation to its LaTeX.
"""

from __future__ import annotations

__all__ = ["RELATIONS", "STEP_RELATIONS", "STEP_ALIASES", "CLAIM_RELATION", "composed_relation"]

#: relations a claim may state, with their LaTeX
RELATIONS = {"==": "=", "approx": r"\approx", "<=": r"\le", ">=": r"\ge", "trend": r"\sim"}
#: relations a derivation step may state, with their LaTeX
STEP_RELATIONS = {"=": "=", "<=": r"\le", ">=": r"\ge", "<": "<", ">": ">", "~": r"\sim"}
#: other spellings a step accepts
STEP_ALIASES = {"==": "="}
#: the claim relation of a composed step relation (strict inequalities become weak ones)
CLAIM_RELATION = {"=": "==", "<=": "<=", "<": "<=", ">=": ">=", ">": ">=", "~": "approx"}


def composed_relation(rels):
    """The relation of ``expr_0`` to ``expr_m`` implied by the step relations ``rels``.

    ``=`` composes with anything; ``<=`` and ``<`` give ``<`` if any step is strict;
    mixing upward and downward inequalities, or ``~`` with an inequality, has no composed
    relation and raises ``ValueError``.

    >>> composed_relation(["=", "<=", "<"])
    '<'
    """
    kinds = set(rels) - {"="}
    if not kinds:
        return "="
    if "~" in kinds:
        if kinds != {"~"}:
            raise ValueError(f"steps {sorted(kinds)} mix an asymptotic step with inequalities: no composed relation")
        return "~"
    up, down = kinds & {"<=", "<"}, kinds & {">=", ">"}
    if up and down:
        raise ValueError("steps mix <= and >=: the chain proves no relation between its ends")
    if up:
        return "<" if "<" in up else "<="
    return ">" if ">" in down else ">="
