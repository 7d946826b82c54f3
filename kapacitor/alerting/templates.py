"""Alert text templates (`message=`, `id=`, `details=`): `{name}` placeholders filled from an
event and its instance's tags, unknown names left as written.

A template written as a literal is read when the script is defined (`template_fields`
raises on one that cannot be read, so the error names its line and column); a message
computed per point is read when its event is made, and one that cannot be read is used as it
is and counted (`render` returns None)."""

from __future__ import annotations

import string
from collections.abc import Mapping

# What changes from one event of an alert to the next: an id= may not name them.
PER_EVENT_FIELDS = frozenset(
    {"level", "previous_level", "value", "op", "threshold", "time", "duration"}
)

_FORMATTER = string.Formatter()


def template_fields(template: str) -> frozenset[str]:
    """The names `template` places (`{host}`, `{tags.x}` -> host, tags); ValueError when it
    cannot be read (`{host` unclosed, `}` alone)."""
    names = set()
    for _, field, _, _ in _FORMATTER.parse(template):
        if field:
            names.add(field.split(".", 1)[0].split("[", 1)[0])
    return frozenset(names)


class _Lenient(dict[str, str]):
    """Leaves `{unknown}` placeholders untouched instead of raising."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def render(template: str, values: Mapping[str, str]) -> str | None:
    """`template` with `{name}` replaced from `values`; None when it cannot be read."""
    try:
        return template.format_map(_Lenient(values))
    except (ValueError, IndexError, KeyError, AttributeError, TypeError):
        return None
