"""What a topic or a topic handler may be called: one rule for scripts, handler files, the
API and the CLI. Names travel as NATS subject tokens and consumer names (escaped by
`subjects.token`), so the rule is about what reads well in a URL and a shell, not what NATS
accepts."""

from __future__ import annotations

import re

MAX_NAME = 128
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]*")
ALLOWED = "letters, digits and _ - . : (starting with a letter or digit)"


def name_problem(name: str, what: str) -> str | None:
    """Why `name` cannot name a `what` ("topic", "handler"), or None when it can."""
    if not name:
        return f"a {what} needs a name"
    if len(name) > MAX_NAME:
        return f"a {what} name has at most {MAX_NAME} characters, got {len(name)}"
    if _NAME.fullmatch(name) is None:
        return f"{what} name {name!r} may hold only {ALLOWED}"
    return None


def anonymous_topic(plugin: str, index: int) -> str:
    """The topic of a plugin's alert statement `index` (0-based, as the `#k` of its ids) that
    has handlers from the script (notify=) and no topic=: its own, as Kapacitor's anonymous
    topics (`main:task:alert2`) are."""
    return f"{plugin}:alert{index}"
