"""The kinds that publish to a broker, against real ones: nats (a nats-server) and mqtt
(Debian's mosquitto), checking what a subscriber receives."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiomqtt
import nats
import orjson
import pytest

from kapacitor.alerting.kinds.base import Event, Undelivered
from kapacitor.config import load_config
from kapacitor.testing.handlers import send_events
from kapacitor.testing.mosquitto import Mosquitto


def event(level: str) -> Event:
    doc = {"id": "cpu:cpu,host=web1", "plugin": "cpu", "tags": {"host": "web1"}}
    doc |= {"level": level, "message": f"cpu web1 is {level}", "topic": "cpu"}
    return Event(f"ev.{level}", orjson.dumps(doc), doc)


async def test_nats_publishes_the_event_with_its_id(nats_url: str) -> None:
    nc = await nats.connect(nats_url)
    sub = await nc.subscribe("alerts.>")
    await nc.flush()
    cfg = load_config(env={"KAPACITOR_NATS_URL": nats_url})
    await send_events(
        "nats", {"subject": "alerts.{level}.{host}"}, cfg, event("CRITICAL"), event("OK")
    )
    got = [await sub.next_msg(timeout=5) for _ in range(2)]
    await nc.close()
    assert [m.subject for m in got] == ["alerts.CRITICAL.web1", "alerts.OK.web1"]
    assert got[0].data == event("CRITICAL").data
    assert got[0].headers == {"Nats-Msg-Id": "ev.CRITICAL"}


async def test_nats_to_nobody_may_retry(nats_url: str) -> None:
    cfg = load_config(env={"KAPACITOR_NATS_URL": "nats://127.0.0.1:1"})
    with pytest.raises(Undelivered) as e:
        await send_events("nats", {"subject": "a", "timeout": "500ms"}, cfg, event("CRITICAL"))
    assert e.value.retry


async def test_mqtt_publishes_the_message_to_the_topic(tmp_path: Path) -> None:
    with Mosquitto(tmp_path / "mqtt") as broker:
        cfg = load_config(env={"KAPACITOR_MQTT_URL": broker.url})
        async with aiomqtt.Client("127.0.0.1", broker.port, identifier="reader") as reader:
            await reader.subscribe("alerts/#", qos=1)
            options = {"topic": "alerts/{plugin}/{host}", "qos": 1}
            await send_events("mqtt", options, cfg, event("CRITICAL"), event("OK"))
            got = []
            async with asyncio.timeout(10):
                async for m in reader.messages:
                    got.append((str(m.topic), m.payload, m.qos, m.retain))
                    if len(got) == 2:
                        break
        assert got == [
            ("alerts/cpu/web1", b"cpu web1 is CRITICAL", 1, False),
            ("alerts/cpu/web1", b"cpu web1 is OK", 1, False),
        ]
        await send_events(
            "mqtt", {"topic": "state/{host}", "retained": True}, cfg, event("WARNING")
        )
        async with aiomqtt.Client("127.0.0.1", broker.port, identifier="late") as late:
            await late.subscribe("state/web1")
            async with asyncio.timeout(10):
                m = await anext(aiter(late.messages))
        assert (m.payload, m.retain) == (b"cpu web1 is WARNING", True)


async def test_mqtt_without_a_broker_setting_fails_naming_it() -> None:
    with pytest.raises(Undelivered, match="KAPACITOR_MQTT_URL") as e:
        await send_events("mqtt", {"topic": "a"}, load_config(env={}), event("CRITICAL"))
    assert not e.value.retry
