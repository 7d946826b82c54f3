"""What the PLY lexers of the plugin language and of where clauses share."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from kapacitor.errors import Span

_F = TypeVar("_F", bound=Callable[..., Any])


def rule(pattern: str) -> Callable[[_F], _F]:
    """PLY reads a token rule's regex from its docstring; this sets it from a constant, so a
    pattern can be shared and formatters leave it alone."""

    def mark(func: _F) -> _F:
        func.__doc__ = pattern
        return func

    return mark


@dataclass(frozen=True, slots=True)
class Token:
    """A token as `tokenize` shows it: its type, decoded value, source text and span. Prints as
    its source text."""

    type: str
    value: object
    text: str
    span: Span

    def __str__(self) -> str:
        return self.text
