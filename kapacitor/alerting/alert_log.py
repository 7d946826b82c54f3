"""The alert log: every alert event, one JSON document per line (`[alert] log`)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path


class AlertLog:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._f = path.open("ab")

    def append(self, docs: Iterable[bytes]) -> None:
        """Append the documents and flush them to the file (a batch at a time: an alert storm
        costs a write per batch, not per event)."""
        self._f.writelines(doc + b"\n" for doc in docs)
        self._f.flush()

    def close(self) -> None:
        self._f.close()
