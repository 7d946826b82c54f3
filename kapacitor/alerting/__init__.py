"""Alert delivery: the event document handlers send, and the handlers themselves."""

__all__: list[str] = []  # a namespace: import from its modules
