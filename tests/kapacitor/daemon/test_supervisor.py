from __future__ import annotations

import pytest

from kapacitor.daemon.supervisor import parse_services
from kapacitor.errors import ConfigError


def test_parse_services() -> None:
    assert parse_services("matcher, interpreter") == ["matcher", "interpreter"]
    with pytest.raises(ConfigError, match="unknown service\\(s\\) matchr"):
        parse_services("matchr")
    with pytest.raises(ConfigError, match="no services"):
        parse_services(" , ")
