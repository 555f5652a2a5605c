"""Evidence read from a store: trails, explanations and citations (no Flask; the CLI and the web share them)."""

from __future__ import annotations

from rdflib import Literal
from rdflib.term import Node


def number(node: Node | None) -> int:
    """The value of an integer literal of the graph (a reference number).

    :raises ValueError: the node is not an integer literal.
    """
    value = node.toPython() if isinstance(node, Literal) else None
    if not isinstance(value, int):
        raise ValueError(f"not an integer: {node!r}")
    return value
