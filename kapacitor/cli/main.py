"""`kapacitor`: the command table and the entry point.

The commands live in modules by concept (plugins, alerts, topics, ping, recordings, replay);
the app's global options and the context they resolve to are in `app`, output helpers in
`output`.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

import typer
from typer import Abort, Exit
from typer._click.exceptions import ClickException, NoArgsIsHelpError

from kapacitor.cli import alerts, auth, cluster, ping, plugins, recordings, replay, topics
from kapacitor.cli.app import new_app
from kapacitor.errors import ClientError

__all__ = ["COMMANDS", "GROUPS", "app", "build_app", "main"]

# name -> command, in the order of `kapacitor --help`.
COMMANDS: tuple[tuple[str, Callable[..., None]], ...] = (
    ("define", plugins.define),
    ("enable", plugins.enable),
    ("disable", plugins.disable),
    ("delete", plugins.delete),
    ("list", plugins.list_),
    ("show", plugins.show),
    ("check", plugins.check),
    ("alerts", alerts.alerts),
    ("define-topic-handler", topics.define_topic_handler),
    ("show-topic", topics.show_topic),
    ("show-topic-handler", topics.show_topic_handler),
    ("delete-topic-handler", topics.delete_topic_handler),
    ("ping", ping.ping),
    ("cluster", cluster.cluster),
    ("inputs", cluster.inputs),
    ("record", recordings.record),
    ("start-recording", recordings.start_recording),
    ("stop-recording", recordings.stop_recording),
    ("recordings", recordings.recordings),
    ("show-recording", recordings.show_recording),
    ("delete-recording", recordings.delete_recording),
    ("export", recordings.export_recording),
    ("import", recordings.import_recording),
    ("replay", replay.replay),
    ("push", plugins.push),
)

# name -> a command with subcommands (`kapacitor silence create`), after COMMANDS in --help.
GROUPS: tuple[tuple[str, typer.Typer], ...] = (
    ("silence", alerts.silence_app),
    ("user", auth.user_app),
    ("token", auth.token_app),
)


def build_app() -> typer.Typer:
    app = new_app()
    for name, command in COMMANDS:
        app.command(name)(command)
    for name, group in GROUPS:
        app.add_typer(group, name=name)
    return app


app = build_app()


def main() -> None:
    """Entry point: every failure is one line on stderr and a non-zero exit code."""
    try:
        rc = app(standalone_mode=False)
        if isinstance(rc, int) and rc:
            raise SystemExit(rc)
    except ClientError as e:
        sys.stderr.write(f"kapacitor: {e}\n")
        raise SystemExit(1) from None
    except Exit as e:
        raise SystemExit(e.exit_code) from None
    except Abort:
        raise SystemExit(130) from None
    except NoArgsIsHelpError as e:
        sys.stderr.write(e.format_message() + "\n")
        raise SystemExit(2) from None
    except ClickException as e:
        sys.stderr.write(f"kapacitor: {e.format_message()}\n")
        raise SystemExit(e.exit_code) from None


if __name__ == "__main__":
    main()
