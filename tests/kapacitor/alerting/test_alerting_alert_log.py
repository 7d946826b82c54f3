from __future__ import annotations

from pathlib import Path

from kapacitor.alerting.alert_log import AlertLog


def test_batches_are_appended_as_lines_and_on_disk_at_once(tmp_path: Path) -> None:
    path = tmp_path / "new" / "alerts.log"
    log = AlertLog(path)
    log.append([b'{"id":"a"}', b'{"id":"b"}'])
    assert path.read_bytes() == b'{"id":"a"}\n{"id":"b"}\n'  # flushed, not yet closed
    log.append(iter([b'{"id":"c"}']))
    log.close()
    again = AlertLog(path)  # reopened: appends
    again.append([b'{"id":"d"}'])
    again.close()
    assert path.read_text().count("\n") == 4
