"""docker-compose.yml names only services, modules and config keys that exist."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import yaml

from kapacitor.config import ALL_SERVICES, SCHEMA

ROOT = Path(__file__).resolve().parent.parent


def test_every_compose_service_runs_an_existing_module_with_known_config_keys() -> None:
    doc = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = doc["services"]
    assert "nats" in services
    assert "-js" in services["nats"]["command"]
    ours = {name: s for name, s in services.items() if name != "nats"}
    assert set(ours) == set(ALL_SERVICES)
    known_env = {k.env for k in SCHEMA}
    for name, svc in ours.items():
        cmd = svc["command"]
        assert cmd[:2] == ["python", "-m"], name
        module = cmd[2]
        assert module == f"services.{name}"
        assert importlib.util.find_spec(module + ".__main__") is not None, module
        for key in svc["environment"]:
            assert key in known_env, f"{name}: unknown config env {key}"
        assert svc["environment"]["KAPACITOR_NATS_URL"].startswith("nats://nats:")
    assert (ROOT / svc["build"] / "Dockerfile").exists()


def test_the_image_builds_the_compiled_scan() -> None:
    """The Dockerfile copies setup.py (which declares the C extension) into a stage with a C
    compiler, so containers parse as fast as a local install."""
    text = (ROOT / "Dockerfile").read_text()
    assert "COPY pyproject.toml setup.py" in text
    assert "gcc" in text
