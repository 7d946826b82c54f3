"""Handlers a script attaches with notify=: the topic handlers a definition makes of them."""

from __future__ import annotations

from kapacitor.alerting.topic_handlers import TopicHandler
from kapacitor.dsl.compile import compile_script
from kapacitor.engine import build_program
from kapacitor.engine.ops import AlertOp
from kapacitor.plugins.attached import script_handlers

SCRIPT = """\
let pager = handler("pagerduty2", match="level = 'CRITICAL'")
alert(avg(window(usage_idle, 10)), <, 30,
      notify=[handler("slack", channel="#ops", icon_emoji=":fire:"),
              handler("post", url="http://h/cpu", headers=["Authorization: Bearer t"],
                      timeout=5s),
              handler("slack"),
              pager])
alert(usage_user, >, 90)
deadman(0, 1m, topic="heartbeat", notify=handler("exec", prog="/bin/true", args=["-v"]))
"""


def test_a_definition_makes_topic_handlers_owned_by_the_plugin() -> None:
    assert script_handlers("cpu", SCRIPT) == (
        TopicHandler(
            id="slack",
            topic="cpu:alert0",
            kind="slack",
            options={"channel": "#ops", "icon-emoji": ":fire:"},
            plugin="cpu",
        ),
        TopicHandler(
            id="post",
            topic="cpu:alert0",
            kind="post",
            options={
                "url": "http://h/cpu",
                "headers": {"Authorization": "Bearer t"},
                "timeout": "5s",
            },
            plugin="cpu",
        ),
        TopicHandler(id="slack-2", topic="cpu:alert0", kind="slack", plugin="cpu"),
        TopicHandler(
            id="pagerduty2",
            topic="cpu:alert0",
            kind="pagerduty2",
            match="level = 'CRITICAL'",
            plugin="cpu",
        ),
        # a shared topic: only this plugin's events, under an id that says whose it is
        TopicHandler(
            id="cpu:alert2:exec",
            topic="heartbeat",
            kind="exec",
            options={"prog": "/bin/true", "args": ["-v"]},
            plugin="cpu",
        ),
    )


def test_a_script_without_notify_attaches_nothing() -> None:
    assert script_handlers("cpu", "alert(x, <, 3, topic='cpu')") == ()


def test_an_alert_with_handlers_and_no_topic_sends_to_its_own() -> None:
    program = build_program(compile_script(SCRIPT))
    topics = [op.topic for op in program.ops if isinstance(op, AlertOp)]
    assert topics == ["", ""]
    run = program.for_plugin("cpu")
    assert [op.topic for op in run.ops if isinstance(op, AlertOp)] == ["cpu:alert0", ""]
    assert build_program(compile_script("alert(x, <, 3)")).for_plugin("cpu") == build_program(
        compile_script("alert(x, <, 3)")
    )
