"""The plugin language's syntax tree.

Every node is a frozen dataclass carrying the Span of its first token. Nodes print back to
source with `str(node)`, so every stage can be shown on its own (`kapacitor check --explain`).

    script     := statement*            (newline- or ';'-separated)
    statement  := 'let' NAME '=' expr | expr
    expr       := call | binop | unary | ident | literal | list | operator-as-argument
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kapacitor.errors import Span

_NO_SPAN = Span(0, 0)


@dataclass(frozen=True, slots=True)
class Node:
    span: Span = field(default=_NO_SPAN, compare=False, kw_only=True)


@dataclass(frozen=True, slots=True)
class Ident(Node):
    """A bare name: a field of the incoming point, or a `let` binding."""

    name: str

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True, slots=True)
class Number(Node):
    value: int | float

    def __str__(self) -> str:
        return repr(self.value)


@dataclass(frozen=True, slots=True)
class String(Node):
    value: str

    def __str__(self) -> str:
        text = self.value.replace("\\", "\\\\").replace('"', '\\"')
        # Line breaks are escaped: a string literal never spans lines.
        return '"' + text.replace("\n", "\\n").replace("\r", "\\r") + '"'


@dataclass(frozen=True, slots=True)
class Bool(Node):
    value: bool

    def __str__(self) -> str:
        return "true" if self.value else "false"


@dataclass(frozen=True, slots=True)
class Duration(Node):
    """A duration literal such as 10s; `ns` is its length in nanoseconds, `text` as written."""

    ns: int
    text: str

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True, slots=True)
class Regex(Node):
    pattern: str

    def __str__(self) -> str:
        return "/" + self.pattern.replace("/", "\\/") + "/"


@dataclass(frozen=True, slots=True)
class OpRef(Node):
    """A comparison operator passed as an argument: the `<` in `alert(x, <, 30)`."""

    op: str

    def __str__(self) -> str:
        return self.op


@dataclass(frozen=True, slots=True)
class Unary(Node):
    op: str  # "-" or "not"
    operand: Expr

    def __str__(self) -> str:
        sep = " " if self.op == "not" else ""
        return f"({self.op}{sep}{self.operand})"


@dataclass(frozen=True, slots=True)
class Binary(Node):
    op: str  # + - * / % == != < <= > >= =~ !~ and or
    left: Expr
    right: Expr

    def __str__(self) -> str:
        return f"({self.left} {self.op} {self.right})"


@dataclass(frozen=True, slots=True)
class Keyword(Node):
    """A named argument: `every=1m`."""

    name: str
    value: Expr

    def __str__(self) -> str:
        return f"{self.name}={self.value}"


@dataclass(frozen=True, slots=True)
class Call(Node):
    name: str
    args: tuple[Expr, ...] = ()
    kwargs: tuple[Keyword, ...] = ()

    def __str__(self) -> str:
        parts = [str(a) for a in self.args] + [str(k) for k in self.kwargs]
        return f"{self.name}({', '.join(parts)})"


@dataclass(frozen=True, slots=True)
class List(Node):
    """A list literal, `["a@example.com", "b@example.com"]`: only where a function takes one
    (alert()'s notify=, a handler's options), of values known when the script is defined."""

    items: tuple[Expr, ...] = ()

    def __str__(self) -> str:
        return "[" + ", ".join(str(i) for i in self.items) + "]"


Expr = Ident | Number | String | Bool | Duration | Regex | OpRef | Unary | Binary | Call | List


@dataclass(frozen=True, slots=True)
class Let(Node):
    name: str
    value: Expr

    def __str__(self) -> str:
        return f"let {self.name} = {self.value}"


Statement = Let | Expr


@dataclass(frozen=True, slots=True)
class Script(Node):
    statements: tuple[Statement, ...]

    def __str__(self) -> str:
        return "\n".join(str(s) for s in self.statements)
