from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from types import CodeType

import pytest
from hypothesis import HealthCheck, settings

from kapacitor.testing.daemon import Daemon
from kapacitor.testing.nats import nats_server

# Hypothesis profiles, chosen with HYPOTHESIS_PROFILE (default: "default"). A property that is
# dearer or cheaper than most states its examples relative to the profile's count
# (settings.default.max_examples), so every profile scales the whole suite alike.
# No deadline: timings on a shared CI machine say nothing about the code under test.
settings.register_profile(
    "default", max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
# As many examples as "default", with a reproduction blob printed for every failure, and the
# same examples on every run: a CI run judges the change, not the luck of the draw (local runs
# stay random and keep hunting; "thorough" hunts harder).
settings.register_profile(
    "ci", parent=settings.get_profile("default"), print_blob=True, derandomize=True
)
# A fifth of the examples, for a quick local run.
settings.register_profile("fast", parent=settings.get_profile("default"), max_examples=20)
# Ten times the examples, to hunt for rare cases before a release.
settings.register_profile("thorough", parent=settings.get_profile("default"), max_examples=1000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

# Markers by what a test needs, so that a fast subset runs by name:
# pytest -m "not e2e and not nats and not influxdb". Applied here, from what each test uses,
# so that a new test is marked without anyone remembering to.
E2E_DIR = Path(__file__).parent / "e2e"


def _names(code: CodeType) -> set[str]:
    """The global names a function's code uses, its nested functions' included."""
    out = set(code.co_names)
    for c in code.co_consts:
        if isinstance(c, CodeType):
            out |= _names(c)
    return out


def _uses(item: pytest.Item, name: str) -> bool:
    """Whether the test function, or a fixture it requests, names `name`."""
    funcs = [getattr(item, "function", None)]
    fixtureinfo = getattr(item, "_fixtureinfo", None)
    if fixtureinfo is not None:
        funcs += [d.func for defs in fixtureinfo.name2fixturedefs.values() for d in defs]
    return any(name in _names(f.__code__) for f in funcs if hasattr(f, "__code__"))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if E2E_DIR in Path(item.path).parents:
            item.add_marker(pytest.mark.e2e)
        if "nats_url" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.nats)
        if _uses(item, "InfluxServer"):
            item.add_marker(pytest.mark.influxdb)


@pytest.fixture
def nats_url(tmp_path: Path) -> Iterator[str]:
    with nats_server(tmp_path / "nats") as url:
        yield url


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[Daemon]:
    d = Daemon(tmp_path / "kapacitor")
    try:
        yield d
    finally:
        d.stop()
