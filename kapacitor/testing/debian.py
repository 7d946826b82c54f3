"""Programs the tests need from Debian's packages (InfluxDB, mosquitto): found on the PATH (or
in /usr/sbin), else installed with apt-get when running as root."""

from __future__ import annotations

import os
import shutil
import subprocess


def _find(binary: str) -> str | None:
    return shutil.which(binary) or shutil.which(binary, path="/usr/sbin:/sbin")


def ensure_program(binary: str, package: str) -> str:
    """The path of `binary`; installs `package` first when it is missing."""
    found = _find(binary)
    if found:
        return found
    if os.geteuid() != 0:
        raise RuntimeError(
            f"{binary} is not installed and installing it needs root: apt-get install {package}"
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env, capture_output=True)
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", package], check=True, env=env, capture_output=True
    )
    found = _find(binary)
    if not found:
        raise RuntimeError(f"installing the {package} package did not provide {binary}")
    return found
