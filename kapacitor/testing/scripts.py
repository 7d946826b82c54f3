"""Hypothesis strategies over plugin scripts, for tests of the language's stages."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

PIECES = ("(", ")", ",", "<", "'", '"', "x", "1", "-1", "0", "5m", "=", "-", "/")


def mutated_scripts(corpus: Sequence[str], pieces: Sequence[str] = PIECES) -> Any:
    """Scripts of `corpus` with one to three random cuts or insertions of `pieces`: mostly
    near-valid text, the kind that reaches the checker and the planner."""
    from hypothesis import strategies as st

    @st.composite
    def mutated(draw: st.DrawFn) -> str:
        text = draw(st.sampled_from(list(corpus)))
        for _ in range(draw(st.integers(1, 3))):
            pos = draw(st.integers(0, len(text)))
            if draw(st.booleans()):
                text = text[:pos] + text[pos + draw(st.integers(1, 4)) :]
            else:
                text = text[:pos] + draw(st.sampled_from(list(pieces))) + text[pos:]
        return text

    return mutated()
