"""Every topic handler kind by name (`KINDS`): imported only where handlers are defined or
run (the API on a define, the interpreter running them), so the kinds' modules are not part
of the image every service is forked from."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kapacitor.alerting.kinds.aggregate import AggregateOptions, no_sender
from kapacitor.alerting.kinds.alerta import AlertaOptions, alerta_request
from kapacitor.alerting.kinds.base import Options, Sender
from kapacitor.alerting.kinds.bigpanda import BigPandaOptions, bigpanda_request
from kapacitor.alerting.kinds.discord import DiscordOptions, discord_request
from kapacitor.alerting.kinds.exec import ExecOptions, ExecSender
from kapacitor.alerting.kinds.http import http_kind
from kapacitor.alerting.kinds.log import LogOptions, LogSender
from kapacitor.alerting.kinds.mqtt import MqttOptions, MqttSender
from kapacitor.alerting.kinds.nats import NatsOptions, NatsSender
from kapacitor.alerting.kinds.opsgenie2 import OpsGenie2Options, opsgenie2_request
from kapacitor.alerting.kinds.pagerduty2 import PagerDuty2Options, pagerduty2_request
from kapacitor.alerting.kinds.post import PostOptions, PostSender
from kapacitor.alerting.kinds.pushover import PushoverOptions, pushover_request
from kapacitor.alerting.kinds.sensu import SensuOptions, SensuSender
from kapacitor.alerting.kinds.servicenow import ServiceNowOptions, servicenow_request
from kapacitor.alerting.kinds.slack import SlackOptions, slack_request
from kapacitor.alerting.kinds.smtp import SmtpOptions, SmtpSender
from kapacitor.alerting.kinds.tcp import TcpOptions, TcpSender
from kapacitor.alerting.kinds.teams import TeamsOptions, teams_request
from kapacitor.alerting.kinds.telegram import TelegramOptions, telegram_request
from kapacitor.alerting.kinds.victorops import VictorOpsOptions, victorops_request
from kapacitor.config import Config

__all__ = ["KINDS", "Kind"]


@dataclass(frozen=True, slots=True)
class Kind:
    name: str
    options: type[Options]
    sender: Callable[[Any, Config], Sender]  # (options, server config) -> sender
    doc: str


KINDS: dict[str, Kind] = {
    k.name: k
    for k in (
        Kind("log", LogOptions, LogSender, "appends each event as one JSON line to a file"),
        Kind("post", PostOptions, PostSender, "POSTs each event (JSON, or a body template)"),
        Kind("tcp", TcpOptions, TcpSender, "writes each event as one JSON line to a TCP peer"),
        Kind("exec", ExecOptions, ExecSender, "runs a program with the event JSON on stdin"),
        Kind(
            "slack",
            SlackOptions,
            http_kind(slack_request, "slack"),
            "a Slack message coloured by level",
        ),
        Kind(
            "teams",
            TeamsOptions,
            http_kind(teams_request, "teams"),
            "a Microsoft Teams MessageCard",
        ),
        Kind(
            "discord",
            DiscordOptions,
            http_kind(discord_request, "discord"),
            "a Discord embed coloured by level",
        ),
        Kind(
            "telegram",
            TelegramOptions,
            http_kind(telegram_request, "telegram"),
            "a Telegram bot message",
        ),
        Kind(
            "pagerduty2",
            PagerDuty2Options,
            http_kind(pagerduty2_request, "pagerduty2"),
            "PagerDuty Events API v2: trigger, and resolve on the same dedup key",
        ),
        Kind(
            "opsgenie2",
            OpsGenie2Options,
            http_kind(opsgenie2_request, "opsgenie2"),
            "OpsGenie alerts, closed or noted on OK",
        ),
        Kind(
            "victorops",
            VictorOpsOptions,
            http_kind(victorops_request, "victorops"),
            "VictorOps incidents, RECOVERY on OK",
        ),
        Kind(
            "pushover",
            PushoverOptions,
            http_kind(pushover_request, "pushover"),
            "a Pushover message, priority by level",
        ),
        Kind("sensu", SensuOptions, SensuSender, "a check result to the Sensu client socket"),
        Kind(
            "alerta",
            AlertaOptions,
            http_kind(alerta_request, "alerta"),
            "an Alerta alert, severity by level",
        ),
        Kind(
            "servicenow",
            ServiceNowOptions,
            http_kind(servicenow_request, "servicenow"),
            "a ServiceNow event, severity by level, grouped by the alert id",
        ),
        Kind(
            "bigpanda",
            BigPandaOptions,
            http_kind(bigpanda_request, "bigpanda"),
            "a BigPanda alert, status by level, tags as attributes",
        ),
        Kind("mqtt", MqttOptions, MqttSender, "the message published to an MQTT topic"),
        Kind("smtp", SmtpOptions, SmtpSender, "a mail: the message as subject, fields as body"),
        Kind("email", SmtpOptions, SmtpSender, "the same as smtp"),
        Kind("nats", NatsOptions, NatsSender, "the event published to a NATS subject"),
        Kind(
            "aggregate",
            AggregateOptions,
            no_sender,
            "the events of each interval as one event, sent to another topic",
        ),
    )
}
