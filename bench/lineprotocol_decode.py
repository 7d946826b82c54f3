"""Decode throughput of `parse_body` on a typical 5,000-line body; prints lines/s.

Run: python bench/lineprotocol_decode.py
"""

from __future__ import annotations

import time

from kapacitor.lineprotocol import parse_body

LINES = 5_000
ROUNDS = 30


def make_body(n: int = LINES) -> bytes:
    return b"\n".join(
        b"cpu,host=h%d,region=r%d usage_idle=55.5,usage_user=12.25 1700000000000000000"
        % (i % 100, i % 4)
        for i in range(n)
    )


def main() -> None:
    body = make_body()
    best = float("inf")
    for _ in range(ROUNDS):
        t0 = time.perf_counter()
        [batch], errors = parse_body(body, db="db", rp="rp", now_ns=0)
        best = min(best, time.perf_counter() - t0)
        assert len(batch) == LINES and not errors
    print(f"parse_body: {LINES / best:,.0f} lines/s (best of {ROUNDS}, {LINES} lines/body)")


if __name__ == "__main__":
    main()
