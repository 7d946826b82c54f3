"""What the PLY lexers of the plugin language and of where clauses share."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

_F = TypeVar("_F", bound=Callable[..., Any])


def rule(pattern: str) -> Callable[[_F], _F]:
    """PLY reads a token rule's regex from its docstring; this sets it from a constant, so a
    pattern can be shared and formatters leave it alone."""

    def mark(func: _F) -> _F:
        func.__doc__ = pattern
        return func

    return mark
