"""What a per-function check may ask of the checker (check.py implements it).

The checks beyond a function's signature (scalar_check.py, stream_check.py, vector_check.py,
alert_check.py) see the checker through `CheckContext` only, so they import nothing of
check.py and check.py imports them without a cycle.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Protocol

from kapacitor.dsl.ast import Call, Expr
from kapacitor.dsl.types import Type
from kapacitor.errors import DslTypeError, Span


class FieldVar:
    """The type of a field read, until its uses decide it."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name


class CheckContext(Protocol):
    """The checker's facts so far, and its ways to decide a field's type and to fail."""

    def error(self, message: str, span: Span) -> DslTypeError:
        """The error to raise at `span` (with the script's source for rendering)."""
        ...

    def type_of(self, node: Expr) -> Type | FieldVar:
        """The type of an argument already inferred (a field's may be undecided yet)."""
        ...

    def constant(self, node: Expr) -> object | None:
        """The value of a constant argument (see CheckedScript.constant), else None."""
        ...

    def field_name(self, node: Expr) -> str | None:
        """The field an argument reads directly (a bare name or field("...")), if any."""
        ...

    def decided(self, field: str) -> Type | None:
        """What the script uses `field` as so far, or None while undecided."""
        ...

    def same_family(self, t: Type) -> Type:
        """What a field compared or combined with a value of type `t` must be."""
        ...

    def coerce(self, t: Type | FieldVar, allowed: Type, span: Span) -> Type | None:
        """`t` as a member of `allowed`, deciding a field's type on first use; None if not."""
        ...

    def shown(self, t: Type | FieldVar) -> str:
        """`t` as messages name it ("a number", "a vector", ...)."""
        ...


# One check: the context, the call, and its arguments by parameter name.
ExtraCheck = Callable[[CheckContext, Call, Mapping[str, Expr]], None]
