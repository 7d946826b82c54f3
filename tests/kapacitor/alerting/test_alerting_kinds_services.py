"""The kinds that talk to a service, each against a real local HTTP receiver standing in for
it: the exact request (path, headers, body bytes) for a firing and a recovering event, what
comes from the handler's options and what from kapacitord's config."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from kapacitor.alerting.kinds import KINDS, Event, Undelivered
from kapacitor.alerting.topic_handlers import check_handler
from kapacitor.config import Config, load_config
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


async def send(kind: str, options: dict[str, Any], cfg: Config, *events: Event) -> None:
    spec = check_handler({"id": "h", "topic": "cpu", "kind": kind, "options": options})
    sender = KINDS[kind].sender(spec.parsed_options(), cfg)
    try:
        for e in events:
            await sender.send(e)
    finally:
        await sender.close()


def cfg(**env: str) -> Config:
    return load_config(env={f"KAPACITOR_{k.upper()}": v for k, v in env.items()})


async def test_slack_colours_by_level_and_falls_back_to_the_server() -> None:
    with WebhookReceiver() as hook:
        server = cfg(slack_url=hook.url, slack_channel="#ops", slack_icon_emoji=":bell:")
        await send("slack", {}, server, event("CRITICAL"))
        await send("slack", {"channel": "@jim", "username": "bot"}, server, event("OK", "CRITICAL"))
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
        await send("teams", {"channel-url": hook.url}, cfg(), event("WARNING"))
        long = event("CRITICAL", message="x" * 100)
        await send("teams", {}, cfg(teams_channel_url=hook.url), long)
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
        await send("discord", {"embed-title": "{level} on {host}"}, server, event("CRITICAL"))
    assert hook.raw[0] == (
        b'{"avatar_url":"","embeds":[{"color":16342867,"title":"CRITICAL on web1",'
        b'"description":"cpu web1 is CRITICAL","timestamp":"2023-11-14T22:13:20.123456789Z"}],'
        b'"username":"kap"}'
    )


async def test_telegram_send_message() -> None:
    with WebhookReceiver() as hook:
        base = hook.url.removesuffix("/alert") + "/bot"
        server = cfg(telegram_url=base, telegram_token="123:ABC", telegram_chat_id="42")
        await send("telegram", {"parse-mode": "HTML"}, server, event("CRITICAL"))
        await send(
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
        await send(
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
    ],
)
async def test_a_missing_server_setting_is_a_final_failure_naming_it(
    kind: str, setting: str
) -> None:
    with pytest.raises(Undelivered, match=setting) as e:
        await send(kind, {}, cfg(), event("CRITICAL"))
    assert not e.value.retry


async def test_a_refusal_quotes_the_answer() -> None:
    with WebhookReceiver(statuses=[403]) as hook:
        with pytest.raises(Undelivered, match="slack answered 403") as e:
            await send("slack", {}, cfg(slack_url=hook.url), event("CRITICAL"))
    assert not e.value.retry


def test_options_are_checked_in_kapacitors_spelling() -> None:
    from kapacitor.errors import RequestError

    with pytest.raises(RequestError, match="unknown field `icon_emoji`"):
        check_handler({"id": "h", "topic": "t", "kind": "slack", "options": {"icon_emoji": "x"}})
    with pytest.raises(RequestError, match="parse-mode must be Markdown or HTML"):
        check_handler(
            {"id": "h", "topic": "t", "kind": "telegram", "options": {"parse-mode": "rtf"}}
        )
