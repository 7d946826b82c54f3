"""A replay report in numbered parts: a report can outgrow a NATS message (thousands of
alerts), so the replay service sends it in parts on the progress subject and the API puts it
back together. No I/O here."""

from __future__ import annotations

__all__ = ["REPORT_PART_BYTES", "ReportParts", "split_report"]

REPORT_PART_BYTES = 256 * 1024


def split_report(data: bytes, size: int = REPORT_PART_BYTES) -> list[bytes]:
    """`data` in parts of at most `size` bytes (one empty part for empty data)."""
    return [data[i : i + size] for i in range(0, len(data), size)] or [b""]


class ReportParts:
    """Collects parts as they arrive, in any order; `expect(n)` when the count is known."""

    def __init__(self) -> None:
        self.parts: dict[int, bytes] = {}
        self.expected: int | None = None

    def add(self, index: int, data: bytes) -> None:
        self.parts[index] = data

    def expect(self, n: int) -> None:
        self.expected = n

    @property
    def complete(self) -> bool:
        return self.expected is not None and all(i in self.parts for i in range(self.expected))

    def join(self) -> bytes:
        """The whole report; ValueError while parts are missing."""
        if self.expected is None or not self.complete:
            raise ValueError(
                f"the replay report arrived incomplete ({len(self.parts)}/{self.expected})"
            )
        return b"".join(self.parts[i] for i in range(self.expected))
