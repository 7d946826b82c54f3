"""`kapacitord`: run (default), config, version."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from kapacitor import __version__
from kapacitor.config import load_config, render_config
from kapacitor.daemon.service import setup_logging
from kapacitor.daemon.supervisor import Supervisor, parse_services
from kapacitor.errors import KapacitorError


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="kapacitord",
        description="Kapacitor daemon: embedded NATS plus the ingest, matcher, interpreter, "
        "replay and api services. No config needed.",
    )
    p.add_argument("command", nargs="?", default="run", choices=["run", "config", "version"])
    p.add_argument(
        "-config",
        "--config",
        dest="config",
        default=None,
        help="TOML config file (default: $KAPACITOR_CONFIG_PATH, else none)",
    )
    p.add_argument(
        "--services", default=None, help="comma-separated services to run here (default: all)"
    )
    p.add_argument("-pidfile", "--pidfile", dest="pidfile", default=None, help="write the pid here")
    return p


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    if args.command == "version":
        print(f"Kapacitor {__version__}")
        return
    try:
        cfg = load_config(args.config)
        if args.command == "config":
            sys.stdout.write(render_config(cfg if args.config else None))
            return
        services = parse_services(args.services or cfg.daemon.services)
        setup_logging(cfg.logging.level, "kapacitord")
        sup = Supervisor(cfg, services)
        if args.pidfile:
            Path(args.pidfile).write_text(str(os.getpid()))
        raise SystemExit(sup.run())
    except KapacitorError as e:
        print(f"kapacitord: {e}", file=sys.stderr)
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()
