"""The plugin language's types.

`Type` is a flag enum so that a parameter can accept a union (`Type.INT | Type.DURATION`),
while every checked expression has exactly one member. `NUMBER` is the type of a point field
read as a number: int or float is only known per point, at run time.
"""

from __future__ import annotations

import enum


class Type(enum.Flag):
    INT = enum.auto()
    FLOAT = enum.auto()
    NUMBER = enum.auto()  # a numeric field: int or float, known per point
    STRING = enum.auto()
    BOOL = enum.auto()
    DURATION = enum.auto()
    TIME = enum.auto()
    VECTOR = enum.auto()  # the points of a window, in arrival order
    OP = enum.auto()  # a comparison operator passed as an argument: alert(x, <, 30)
    REGEX = enum.auto()
    ALERT = enum.auto()  # the result of alert(): only a statement may be one
    HANDLER = enum.auto()  # handler("slack", ...): what alert()'s notify= takes
    LIST = enum.auto()  # a list literal of constants (or handlers): [1, 2], ["a", "b"]
    OUTPUT = enum.auto()  # the result of influxdb_out() & co.: only a statement may be one


NUMERIC = Type.INT | Type.FLOAT | Type.NUMBER
SCALAR = NUMERIC | Type.STRING | Type.BOOL | Type.DURATION | Type.TIME
# What a field of a point can hold (line protocol: float, int, uint, string, bool).
FIELD_TYPES = Type.NUMBER | Type.STRING | Type.BOOL

_NAMES: dict[Type, str] = {
    Type.INT: "int",
    Type.FLOAT: "float",
    Type.NUMBER: "number",
    Type.STRING: "string",
    Type.BOOL: "bool",
    Type.DURATION: "duration",
    Type.TIME: "time",
    Type.VECTOR: "vector",
    Type.OP: "op",
    Type.REGEX: "regex",
    Type.ALERT: "alert",
    Type.LIST: "list",
    Type.HANDLER: "handler",
    Type.OUTPUT: "output",
}


def type_name(t: Type) -> str:
    """`int`, `int | duration`, ...; a numeric union other than int or float reads `number`."""
    parts: list[str] = []
    numeric = t & NUMERIC
    if numeric:
        parts.append(_NAMES[numeric] if numeric in (Type.INT, Type.FLOAT) else "number")
    parts.extend(_NAMES[m] for m in Type if m in t & ~NUMERIC)
    return " | ".join(parts)


def describe(t: Type) -> str:
    """The type with an article, for messages: 'a vector', 'an int', 'a number or a duration'."""
    words = {"int": "an int", "op": "a comparison operator", "alert": "an alert"}
    return " or ".join(words.get(n, "a " + n) for n in type_name(t).split(" | "))
