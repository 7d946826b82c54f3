"""The one error hierarchy of the project.

    KapacitorError
    ├── ConfigError           bad config file, env var or flag
    ├── LineProtocolError     a line that does not parse (carries the 1-based line number)
    ├── DslError              a script or where clause that does not parse or check (carries a Span)
    │   ├── DslSyntaxError
    │   └── DslTypeError
    ├── PluginError           unknown plugin, bad definition
    │   └── PluginNotFound
    ├── BusError              NATS unreachable, stream missing, message undecodable
    │   └── CodecError
    ├── HandlerError          an alert handler failed to deliver
    └── ClientError           the CLI could not talk to the API, or the API said no

Catch-all handlers exist only at service loop boundaries, where they log and count.
"""

from __future__ import annotations

from dataclasses import dataclass


class KapacitorError(Exception):
    """Root of every error raised on purpose by this project."""


class ConfigError(KapacitorError):
    pass


class LineProtocolError(KapacitorError):
    """A line-protocol line that cannot be parsed; `line` is 1-based within the body."""

    def __init__(self, line: int, reason: str, text: str = "") -> None:
        self.line = line
        self.reason = reason
        self.text = text
        super().__init__(f"line {line}: {reason}")


@dataclass(frozen=True, slots=True)
class Span:
    """A 1-based position (line, col) in a source text, with the length of the offending token."""

    line: int
    col: int
    length: int = 1

    def __str__(self) -> str:
        return f"{self.line}:{self.col}"


class DslError(KapacitorError):
    """An error in a script or where clause, with where it happened.

    `str(err)` is one line: ``3:14: unknown function 'agv': did you mean avg?``;
    `err.render()` adds the source line and a caret under the offending token.
    """

    def __init__(self, message: str, span: Span, source: str = "") -> None:
        self.message = message
        self.span = span
        self.source = source
        super().__init__(f"{span}: {message}")

    def render(self, name: str = "") -> str:
        head = f"{name}:{self.span}: {self.message}" if name else f"{self.span}: {self.message}"
        lines = self.source.splitlines()
        if not (1 <= self.span.line <= len(lines)):
            return head
        text = lines[self.span.line - 1]
        caret = " " * (self.span.col - 1) + "^" * max(1, self.span.length)
        return f"{head}\n  {text}\n  {caret}"


class DslSyntaxError(DslError):
    pass


class DslTypeError(DslError):
    pass


class PluginError(KapacitorError):
    pass


class PluginNotFound(PluginError):
    pass


class BusError(KapacitorError):
    pass


class CodecError(BusError):
    pass


class HandlerError(KapacitorError):
    pass


class ClientError(KapacitorError):
    pass
