"""The integer ranges of InfluxDB's field types, which the language, the line-protocol decoder
and where clauses all enforce."""

from __future__ import annotations

from typing import Final

INT64_MIN: Final = -(2**63)
INT64_MAX: Final = 2**63 - 1
UINT64_MAX: Final = 2**64 - 1
