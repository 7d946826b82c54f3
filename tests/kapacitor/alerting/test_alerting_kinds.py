"""Each handler kind against a real local receiver, checking exactly what it received."""

from __future__ import annotations

import asyncio
import stat
import sys
from pathlib import Path

import orjson
import pytest

from kapacitor.alerting.kinds.base import Event, Undelivered
from kapacitor.alerting.kinds.exec import ExecOptions, ExecSender
from kapacitor.alerting.kinds.log import LogOptions, LogSender
from kapacitor.alerting.kinds.post import PostOptions, PostSender
from kapacitor.alerting.kinds.tcp import TcpOptions, TcpSender
from kapacitor.testing.daemon import wait_until
from kapacitor.testing.receivers import TcpReceiver, WebhookReceiver

DOC = {
    "id": "cpu:cpu,host=a",
    "plugin": "cpu",
    "instance": "cpu,host=a",
    "tags": {"host": "a"},
    "level": "CRITICAL",
    "previousLevel": "OK",
    "value": 27.5,
    "time": "2023-11-14T22:13:20Z",
    "time_ns": 1_700_000_000_000_000_000,
    "duration": 0,
    "message": "cpu cpu,host=a is CRITICAL: value 27.5 < 30",
    "topic": "cpu",
}
EVENT = Event("ev.7.cpu.0", orjson.dumps(DOC), DOC)


async def test_post_sends_the_event_document_with_its_id_and_headers() -> None:
    with WebhookReceiver() as hook:
        sender = PostSender(PostOptions(url=hook.url, headers={"Authorization": "Bearer t"}))
        await sender.send(EVENT)
        await sender.close()
    assert hook.raw == [EVENT.data]
    assert hook.paths == ["/alert"]
    h = hook.headers[0]
    assert h["Content-Type"] == "application/json"
    assert h["Authorization"] == "Bearer t"
    assert h["X-Kapacitor-Event-Id"] == "ev.7.cpu.0"


async def test_post_renders_a_body_template() -> None:
    with WebhookReceiver() as hook:
        sender = PostSender(
            PostOptions(url=hook.url, body="{host} went {level} (was {previous_level}) {nope}")
        )
        await sender.send(EVENT)
        await sender.close()
    assert hook.raw == [b"a went CRITICAL (was OK) {nope}"]
    assert hook.headers[0]["Content-Type"] == "text/plain"


@pytest.mark.parametrize(("status", "retry"), [(500, True), (503, True), (400, False)])
async def test_post_failures_say_whether_to_retry(status: int, retry: bool) -> None:
    with WebhookReceiver(statuses=[status]) as hook:
        sender = PostSender(PostOptions(url=hook.url))
        with pytest.raises(Undelivered, match=f"answered {status}") as e:
            await sender.send(EVENT)
        await sender.close()
    assert e.value.retry is retry


async def test_post_times_out_and_may_retry() -> None:
    with WebhookReceiver(delay_s=1.0) as hook:
        sender = PostSender(PostOptions(url=hook.url, timeout="100ms"))
        with pytest.raises(Undelivered) as e:
            await sender.send(EVENT)
        await sender.close()
    assert e.value.retry


async def test_tcp_writes_one_line_per_event() -> None:
    with TcpReceiver() as peer:
        sender = TcpSender(TcpOptions(address=peer.address))
        await sender.send(EVENT)
        await sender.send(EVENT)
        wait_until(lambda: len(peer.lines) == 2, timeout=5)
    assert peer.lines == [EVENT.data, EVENT.data]


async def test_tcp_to_nobody_may_retry() -> None:
    with TcpReceiver() as peer:
        address = peer.address
    with pytest.raises(Undelivered) as e:
        await TcpSender(TcpOptions(address=address, timeout="1s")).send(EVENT)
    assert e.value.retry


def _script(tmp_path: Path, body: str) -> Path:
    p = tmp_path / "handler.py"
    p.write_text(f"import sys\n{body}\n")
    p.chmod(p.stat().st_mode | stat.S_IEXEC)
    return p


async def test_exec_gives_the_event_on_stdin(tmp_path: Path) -> None:
    out = tmp_path / "got.json"
    prog = _script(tmp_path, "open(sys.argv[1], 'wb').write(sys.stdin.buffer.read())")
    await ExecSender(ExecOptions(prog=sys.executable, args=[str(prog), str(out)])).send(EVENT)
    assert out.read_bytes() == EVENT.data


async def test_exec_exit_status_and_stderr_fail(tmp_path: Path) -> None:
    prog = _script(tmp_path, "sys.stderr.write('pager down'); sys.exit(3)")
    with pytest.raises(Undelivered, match="exited with status 3: pager down") as e:
        await ExecSender(ExecOptions(prog=sys.executable, args=[str(prog)])).send(EVENT)
    assert e.value.retry


async def test_exec_past_its_timeout_is_killed(tmp_path: Path) -> None:
    prog = _script(tmp_path, "import time; time.sleep(30)")
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    with pytest.raises(Undelivered, match="ran longer than 200ms"):
        await ExecSender(ExecOptions(prog=sys.executable, args=[str(prog)], timeout="200ms")).send(
            EVENT
        )
    assert loop.time() - t0 < 10


async def test_exec_of_a_missing_program_is_not_retried(tmp_path: Path) -> None:
    with pytest.raises(Undelivered, match="cannot run") as e:
        await ExecSender(ExecOptions(prog=str(tmp_path / "nope"))).send(EVENT)
    assert not e.value.retry


async def test_log_appends_lines_and_recreates_a_rotated_file(tmp_path: Path) -> None:
    path = tmp_path / "alerts.log"
    sender = LogSender(LogOptions(path=str(path)))
    await sender.send(EVENT)
    await sender.send(EVENT)
    assert path.read_bytes() == EVENT.data + b"\n" + EVENT.data + b"\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    path.rename(tmp_path / "alerts.log.1")
    await sender.send(EVENT)
    assert path.read_bytes() == EVENT.data + b"\n"


async def test_log_into_a_missing_directory_fails(tmp_path: Path) -> None:
    with pytest.raises(Undelivered, match="cannot append"):
        await LogSender(LogOptions(path=str(tmp_path / "no" / "x.log"))).send(EVENT)
