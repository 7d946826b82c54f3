"""Alert events for tests: one of a plugin `cpu` instance of a given host, as the engine
would make it, with any of build_event's options."""

from __future__ import annotations

from typing import Any

from kapacitor.engine.events import AlertEvent, build_event


def cpu_event(host: str, level: str = "CRITICAL", **options: Any) -> AlertEvent:
    return build_event(
        event_id=f"cpu:{host}",
        plugin="cpu",
        instance=f"cpu,host={host}",
        tags={"host": host, "dc": "east"},
        level=level,
        previous_level="OK",
        value=1.0,
        time=0,
        duration=0,
        op="<",
        threshold=2.0,
        template=None,
        **options,
    )
