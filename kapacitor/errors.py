"""The one error hierarchy of the project.

    KapacitorError
    ├── ConfigError           bad config file, env var or flag
    ├── LineProtocolError     a line that does not parse (carries the 1-based line number)
    ├── DslError              a script or where clause that does not parse or check (carries a Span)
    │   ├── DslSyntaxError
    │   └── DslTypeError
    ├── NotFound              something asked for by name or id does not exist
    │   ├── PluginNotFound    (also a PluginError)
    │   └── RecordingNotFound
    ├── PluginError           unknown plugin, bad definition
    │   ├── PluginNotFound
    │   └── DefinitionErrors  every DslError of a script and its where clause
    ├── RequestError          a request the API refuses as asked (carries JSON `details`)
    │   ├── BodyTooLarge
    │   └── Conflict          it clashes with what exists (a taken id, a finished recording)
    ├── BusError              NATS unreachable, no service answers, stream missing, undecodable
    │   ├── CodecError
    │   ├── ServiceUnavailable  no service answered a request, or not in time
    │   └── WriteNotStored    ingest could not store a write (carries `details`)
    ├── ServiceFailed         a service answered that it failed to do what was asked
    ├── HandlerError          an alert handler failed to deliver
    ├── InfluxError           InfluxDB unreachable, refused us, or answered what we cannot read
    └── ClientError           the CLI could not talk to the API, or the API said no (`status`,
                              `document`)

The HTTP API maps these to statuses in one table (kapacitor/api/status.py). Catch-all handlers
exist only at service loop boundaries, where they log and count.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


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


class NotFound(KapacitorError):
    """Something asked for by name or id does not exist (HTTP 404)."""


class PluginError(KapacitorError):
    pass


class PluginNotFound(NotFound, PluginError):
    # NotFound first: lookups by MRO (the API's status table) see "not found" before "plugin".
    pass


class RecordingNotFound(NotFound):
    pass


class DefinitionErrors(PluginError):
    """Everything wrong with a definition, each error naming the part (script or where)."""

    def __init__(self, problems: list[tuple[str, DslError]]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{part} {e}" for part, e in problems))

    def render(self, script_name: str = "script") -> str:
        out = []
        for part, e in self.problems:
            out.append(e.render(script_name if part == "script" else "where"))
        return "\n".join(out)


class RequestError(KapacitorError):
    """A request refused as asked; `details` are extra fields of the JSON error document."""

    def __init__(self, message: str, **details: Any) -> None:
        self.details = details
        super().__init__(message)


class BodyTooLarge(RequestError):
    pass


class Conflict(RequestError):
    pass


class BusError(KapacitorError):
    pass


class CodecError(BusError):
    pass


class RevisionMismatch(BusError):
    """A compare-and-set write lost: the key is no longer at the revision the writer expected
    (someone else wrote it first, or it expired)."""


class ServiceUnavailable(BusError):
    """No service answered a request (none runs), or none in time."""


class WriteNotStored(BusError):
    """Ingest answered that it could not store a write; `details` say how much was accepted."""

    def __init__(self, message: str, **details: Any) -> None:
        self.details = details
        super().__init__(message)


class ServiceFailed(KapacitorError):
    """A service answered a request with its own failure (the message says what failed)."""


class HandlerError(KapacitorError):
    pass


class ClientError(KapacitorError):
    """The CLI could not talk to the API (`status` 0), or the API said no: then `status` is the
    HTTP status and `document` the decoded JSON answer (None when it was not JSON)."""

    def __init__(self, message: str, *, status: int = 0, document: Any = None) -> None:
        self.status = status
        self.document = document
        super().__init__(message)


class InfluxError(KapacitorError):
    """InfluxDB could not be reached, refused us, rejected the query, returned nothing, or
    returned values that do not fit its own schema."""


class HandlerNotFound(NotFound):
    pass
