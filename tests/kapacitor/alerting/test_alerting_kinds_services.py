"""The kinds that talk to a service, each against a real local HTTP receiver standing in for
it: the exact request (path, headers, body bytes) for a firing and a recovering event, what
comes from the handler's options and what from kapacitord's config."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest

from kapacitor.alerting.kinds.base import Event, Undelivered
from kapacitor.alerting.topic_handlers import check_handler
from kapacitor.config import Config, load_config
from kapacitor.testing.handlers import send_events
from kapacitor.testing.receivers import WebhookReceiver

T = 1_700_000_000_123_456_789


def event(level: str, previous: str = "OK", **extra: Any) -> Event:
    doc = {
        "id": "cpu:cpu,host=web1",
        "plugin": "cpu",
        "instance": "cpu,host=web1",
        "tags": {"host": "web1"},
        "level": level,
        "previousLevel": previous,
        "value": 27.5,
        "time": "2023-11-14T22:13:20.123456789Z",
        "time_ns": T,
        "duration": 0,
        "message": f"cpu web1 is {level}",
        "topic": "cpu",
        **extra,
    }
    return Event("ev.1.cpu.0", orjson.dumps(doc), doc)


def cfg(**env: str) -> Config:
    return load_config(env={f"KAPACITOR_{k.upper()}": v for k, v in env.items()})


async def test_slack_colours_by_level_and_falls_back_to_the_server() -> None:
    with WebhookReceiver() as hook:
        server = cfg(slack_url=hook.url, slack_channel="#ops", slack_icon_emoji=":bell:")
        await send_events("slack", {}, server, event("CRITICAL"))
        await send_events(
            "slack", {"channel": "@jim", "username": "bot"}, server, event("OK", "CRITICAL")
        )
    assert hook.paths == ["/alert", "/alert"]
    assert hook.headers[0]["Content-Type"] == "application/json"
    assert hook.raw[0] == (
        b'{"as_user":false,"attachments":[{"fallback":"cpu web1 is CRITICAL","color":"danger",'
        b'"text":"cpu web1 is CRITICAL","mrkdwn_in":["text"]}],"channel":"#ops",'
        b'"icon_emoji":":bell:","text":"","username":"kapacitor"}'
    )
    second = hook.bodies[1]
    assert (second["channel"], second["username"]) == ("@jim", "bot")
    assert second["attachments"][0]["color"] == "good"


async def test_teams_card() -> None:
    with WebhookReceiver() as hook:
        await send_events("teams", {"channel-url": hook.url}, cfg(), event("WARNING"))
        long = event("CRITICAL", message="x" * 100)
        await send_events("teams", {}, cfg(teams_channel_url=hook.url), long)
    assert hook.raw[0] == (
        b'{"@type":"MessageCard","@context":"http://schema.org/extensions",'
        b'"title":"WARNING: [cpu:cpu,host=web1]","text":"cpu web1 is WARNING",'
        b'"summary":"WARNING: [cpu:cpu,host=web1] - cpu web1 is WARNING","themeColor":"FFA533"}'
    )
    summary = hook.bodies[1]["summary"]
    assert len(summary) == 73 and summary.endswith("...")


async def test_discord_embed() -> None:
    with WebhookReceiver() as hook:
        server = cfg(discord_url=hook.url, discord_timestamp="true", discord_username="kap")
        await send_events(
            "discord", {"embed-title": "{level} on {host}"}, server, event("CRITICAL")
        )
    assert hook.raw[0] == (
        b'{"avatar_url":"","embeds":[{"color":16342867,"title":"CRITICAL on web1",'
        b'"description":"cpu web1 is CRITICAL","timestamp":"2023-11-14T22:13:20.123456789Z"}],'
        b'"username":"kap"}'
    )


async def test_telegram_send_message() -> None:
    with WebhookReceiver() as hook:
        base = hook.url.removesuffix("/alert") + "/bot"
        server = cfg(telegram_url=base, telegram_token="123:ABC", telegram_chat_id="42")
        await send_events("telegram", {"parse-mode": "HTML"}, server, event("CRITICAL"))
        await send_events(
            "telegram",
            {"chat-id": "7", "disable-notification": True},
            server,
            event("OK", "CRITICAL"),
        )
    assert hook.paths == ["/bot123:ABC/sendMessage"] * 2
    assert hook.raw == [
        b'{"chat_id":"42","parse_mode":"HTML","text":"cpu web1 is CRITICAL"}',
        b'{"chat_id":"7","disable_notification":true,"text":"cpu web1 is OK"}',
    ]


async def test_pagerduty2_triggers_and_resolves_one_incident() -> None:
    with WebhookReceiver() as hook:
        server = cfg(pagerduty2_url=hook.url, pagerduty2_routing_key="rk", hostname="kap1")
        links = [
            {"href": "https://grafana/d?host={host}"},
            {"href": "https://runbook", "text": "rb"},
        ]
        await send_events(
            "pagerduty2", {"links": links}, server, event("CRITICAL"), event("OK", "CRITICAL")
        )
    trigger, resolve = hook.bodies
    assert hook.headers[0]["Accept"] == "application/vnd.pagerduty+json;version=2"
    assert trigger == {
        "routing_key": "rk",
        "event_action": "trigger",
        "dedup_key": "cpu:cpu,host=web1",
        "payload": {
            "summary": "cpu web1 is CRITICAL",
            "source": "web1",
            "severity": "critical",
            "timestamp": "2023-11-14T22:13:20.123456789Z",
            "class": "cpu",
            "component": "",
            "group": "cpu",
            "custom_details": {
                "plugin": "cpu",
                "instance": "cpu,host=web1",
                "tags": {"host": "web1"},
                "value": 27.5,
                "previousLevel": "OK",
                "duration": 0,
                "topic": "cpu",
            },
        },
        "links": [
            {"href": "https://grafana/d?host=web1", "text": "https://grafana/d?host=web1"},
            {"href": "https://runbook", "text": "rb"},
        ],
        "client": "kapacitor",
        "client_url": "http://kap1:9092/kapacitor/v1",
    }
    assert (resolve["event_action"], resolve["dedup_key"]) == ("resolve", trigger["dedup_key"])
    assert resolve["payload"]["severity"] == "info"


@pytest.mark.parametrize(
    ("kind", "setting"),
    [
        ("slack", "KAPACITOR_SLACK_URL"),
        ("discord", "KAPACITOR_DISCORD_URL"),
        ("teams", "KAPACITOR_TEAMS_CHANNEL_URL"),
        ("telegram", "KAPACITOR_TELEGRAM_TOKEN"),
        ("pagerduty2", "KAPACITOR_PAGERDUTY2_ROUTING_KEY"),
        ("opsgenie2", "KAPACITOR_OPSGENIE2_API_KEY"),
        ("victorops", "KAPACITOR_VICTOROPS_API_KEY"),
        ("pushover", "KAPACITOR_PUSHOVER_TOKEN"),
        ("sensu", "KAPACITOR_SENSU_ADDR"),
        ("alerta", "KAPACITOR_ALERTA_URL"),
    ],
)
async def test_a_missing_server_setting_is_a_final_failure_naming_it(
    kind: str, setting: str
) -> None:
    with pytest.raises(Undelivered, match=setting) as e:
        await send_events(kind, {}, cfg(), event("CRITICAL"))
    assert not e.value.retry


async def test_a_refusal_quotes_the_answer() -> None:
    with WebhookReceiver(statuses=[403]) as hook:
        with pytest.raises(Undelivered, match="slack answered 403") as e:
            await send_events("slack", {}, cfg(slack_url=hook.url), event("CRITICAL"))
    assert not e.value.retry


def test_options_are_checked_in_kapacitors_spelling() -> None:
    from kapacitor.errors import RequestError

    with pytest.raises(RequestError, match="unknown field `icon_emoji`"):
        check_handler({"id": "h", "topic": "t", "kind": "slack", "options": {"icon_emoji": "x"}})
    with pytest.raises(RequestError, match="parse-mode must be Markdown or HTML"):
        check_handler(
            {"id": "h", "topic": "t", "kind": "telegram", "options": {"parse-mode": "rtf"}}
        )


async def test_opsgenie2_creates_then_notes_or_closes_by_alias() -> None:
    with WebhookReceiver() as hook:
        server = cfg(opsgenie2_url=hook.url, opsgenie2_api_key="k1", opsgenie2_teams="ops, db")
        opts = {"recipients-list": ["ann"]}
        await send_events("opsgenie2", opts, server, event("WARNING"), event("OK", "WARNING"))
        await send_events(
            "opsgenie2", {"recovery-action": "close"}, server, event("OK", "CRITICAL")
        )
    alias = "Y3B1OmNwdSxob3N0PXdlYjE="  # urlsafe base64 of the alert id
    assert hook.paths == [
        "/alert",
        f"/alert/{alias}/notes?identifierType=alias",
        f"/alert/{alias}/close?identifierType=alias",
    ]
    assert {h["Authorization"] for h in hook.headers} == {"GenieKey k1"}
    create = hook.bodies[0]
    assert create | {"description": None} == {
        "alias": alias,
        "description": None,
        "details": {
            "Monitoring Tool": "Kapacitor",
            "Level": "WARNING",
            "Kapacitor Plugin": "cpu",
            "host": "web1",
        },
        "entity": "cpu:cpu,host=web1",
        "message": "cpu web1 is WARNING",
        "note": "",
        "priority": "P3",
        "responders": [
            {"name": "ops", "type": "team"},
            {"name": "db", "type": "team"},
            {"type": "user", "username": "ann"},
        ],
    }
    assert orjson.loads(create["description"])["level"] == "WARNING"
    assert hook.raw[1] == b'{"note":"cpu web1 is OK"}'


async def test_victorops_incident_and_recovery() -> None:
    with WebhookReceiver() as hook:
        server = cfg(victorops_url=hook.url, victorops_api_key="api", victorops_routing_key="rk")
        await send_events("victorops", {}, server, event("CRITICAL"))
        await send_events("victorops", {"routing-key": "db"}, server, event("OK", "CRITICAL"))
    assert hook.paths == ["/alert/api/rk", "/alert/api/db"]
    first = hook.bodies[0]
    assert first | {"data": None} == {
        "data": None,
        "entity_id": "cpu:cpu,host=web1",
        "message_type": "CRITICAL",
        "monitoring_tool": "kapacitor",
        "state_message": "cpu web1 is CRITICAL",
        "timestamp": T // 1_000_000_000,
    }
    assert orjson.loads(first["data"])["id"] == "cpu:cpu,host=web1"
    assert hook.bodies[1]["message_type"] == "RECOVERY"


async def test_pushover_form_by_level() -> None:
    with WebhookReceiver() as hook:
        server = cfg(pushover_url=hook.url, pushover_token="tok", pushover_user_key="u1")
        await send_events(
            "pushover", {"title": "cpu & co", "sound": "siren"}, server, event("CRITICAL")
        )
        await send_events("pushover", {"user-key": "u2"}, server, event("OK", "CRITICAL"))
    assert hook.headers[0]["Content-Type"] == "application/x-www-form-urlencoded"
    assert hook.raw == [
        b"message=cpu+web1+is+CRITICAL&priority=1&sound=siren&title=cpu+%26+co&token=tok&user=u1",
        b"message=cpu+web1+is+OK&priority=-2&token=tok&user=u2",
    ]


async def test_sensu_check_result_over_tcp() -> None:
    got: list[bytes] = []

    async def client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        got.append(await reader.readline())
        writer.write(b"ok")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(client, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        settings = cfg(sensu_addr=f"127.0.0.1:{port}", sensu_handlers="mail,pager")
        opts = {"source": "{host}-kap", "metadata": {"team": "ops", "name": "ignored"}}
        await send_events("sensu", opts, settings, event("WARNING"))
    assert got == [
        b'{"handlers":["mail","pager"],"name":"cpu_cpu_host_web1","output":"cpu web1 is WARNING",'
        b'"source":"web1-kap","status":1,"team":"ops"}\n'
    ]


async def test_alerta_alert_with_templates_and_severity() -> None:
    with WebhookReceiver() as hook:
        base = hook.url.removesuffix("/alert") + "/api"
        server = cfg(alerta_url=base, alerta_token="t0k", alerta_environment="prod")
        opts = {"resource": "{host}", "service": ["web", "{plugin}"], "alert-timeout": "1h"}
        await send_events("alerta", opts, server, event("WARNING"))
        await send_events("alerta", {"token-prefix": "Key"}, server, event("OK", "WARNING"))
    assert hook.paths == ["/api/alert", "/api/alert"]
    assert [h["Authorization"] for h in hook.headers] == ["Bearer t0k", "Key t0k"]
    first = hook.bodies[0]
    assert first | {"rawData": None} == {
        "environment": "prod",
        "event": "cpu:cpu,host=web1",
        "group": "cpu,host=web1",
        "origin": "kapacitor",
        "rawData": None,
        "resource": "web1",
        "service": ["web", "cpu"],
        "severity": "warning",
        "tags": ["host=web1"],
        "text": "cpu web1 is WARNING",
        "timeout": 3600,
        "value": "",
    }
    assert first["rawData"] == orjson.loads(event("WARNING").data)
    assert (hook.bodies[1]["severity"], hook.bodies[1]["resource"]) == ("ok", "cpu")


async def test_servicenow_event_with_basic_auth_and_templates() -> None:
    with WebhookReceiver() as hook:
        server = cfg(servicenow_url=hook.url, servicenow_username="kap", servicenow_password="pw")
        opts = {"node": "{host}", "type": "cpu", "resource": "{plugin}", "metric-name": "idle"}
        await send_events("servicenow", opts, server, event("CRITICAL"))
        await send_events(
            "servicenow", {"message-key": "{host}-cpu", "source": "k2"}, server, event("OK")
        )
    assert hook.paths == ["/alert", "/alert"]
    assert hook.headers[0]["Authorization"] == "Basic a2FwOnB3"
    assert hook.raw[0] == (
        b'{"source":"Kapacitor","node":"web1","type":"cpu","resource":"cpu",'
        b'"metric_name":"idle","message_key":"cpu:cpu,host=web1","severity":"1",'
        b'"description":"cpu web1 is CRITICAL"}'
    )
    second = hook.bodies[1]
    assert (second["message_key"], second["severity"], second["source"]) == ("web1-cpu", "5", "k2")
    long = event("WARNING", message="m" * 5000, id="i" * 2000)
    with WebhookReceiver() as hook:
        await send_events("servicenow", {"url": hook.url}, cfg(), long)
    body = hook.bodies[0]
    assert (len(body["description"]), len(body["message_key"]), body["severity"]) == (
        4000,
        1024,
        "4",
    )
    assert "Authorization" not in hook.headers[0]
    with pytest.raises(Undelivered, match=r"servicenow\.url"):
        await send_events("servicenow", {}, cfg(), event("OK"))


async def test_bigpanda_alert_with_tags_and_attributes() -> None:
    with WebhookReceiver() as hook:
        server = cfg(bigpanda_url=hook.url, bigpanda_token="t0k", bigpanda_app_key="app1")
        opts = {"primary-property": "host", "attributes": {"runbook": "https://wiki/{plugin}"}}
        await send_events("bigpanda", opts, server, event("WARNING", details="disk swap"))
        await send_events("bigpanda", {"app-key": "app2"}, server, event("INFO", details="{x}"))
    assert hook.headers[0]["Authorization"] == "Bearer t0k"
    assert hook.raw[0] == (
        b'{"description":"cpu web1 is WARNING","details":"disk swap",'
        b'"check":"cpu:cpu,host=web1","task":"cpu:cpu","timestamp":1700000000,'
        b'"status":"warning","primary_property":"host","app_key":"app1","host":"web1",'
        b'"runbook":"https://wiki/cpu"}'
    )
    second = hook.bodies[1]
    assert (second["status"], second["app_key"], "details" in second) == ("ok", "app2", False)
    with WebhookReceiver() as hook:
        quiet = cfg(
            bigpanda_url=hook.url,
            bigpanda_token="t",
            bigpanda_app_key="a",
            bigpanda_auto_attributes="",
        )
        await send_events("bigpanda", {}, quiet, event("CRITICAL"))
    assert "host" not in hook.bodies[0] and hook.bodies[0]["status"] == "critical"
    with pytest.raises(Undelivered, match=r"bigpanda\.token"):
        await send_events("bigpanda", {}, cfg(), event("OK"))
