"""Topic handler kinds: each module holds a kind's options (a msgspec struct, checked when the
handler is defined) and its sender (what delivers one event); a kind that POSTs to a service
holds only a pure function from the event to its request, sent by `http.HttpSender`.

A sender raises `Undelivered` when an event did not reach its receiver: `retry` says whether
trying again may help (a timeout, a 5xx) or not (a 4xx: the receiver refused it).
"""

__all__: list[str] = []  # a namespace: the registry is `registry`, each kind a module
