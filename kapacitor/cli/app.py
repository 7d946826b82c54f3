"""The `kapacitor` typer app, its global options and the context every command receives."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import typer

from kapacitor.cli.client import ApiClient

__all__ = ["V1", "CliContext", "JsonOpt", "client_of", "new_app"]

V1 = "/kapacitor/v1"

UrlOpt = Annotated[
    str | None,
    typer.Option("--url", envvar="KAPACITOR_URL", help="API URL (default http://localhost:9092)"),
]
SockOpt = Annotated[
    str | None,
    typer.Option(
        "--socket", envvar="KAPACITOR_UNIX_SOCKET", help="talk to the API over this unix socket"
    ),
]
UserOpt = Annotated[
    str, typer.Option("--username", envvar="KAPACITOR_USERNAME", help="user (basic auth)")
]
PasswordOpt = Annotated[
    str, typer.Option("--password", envvar="KAPACITOR_PASSWORD", help="its password")
]
TokenOpt = Annotated[
    str, typer.Option("--token", envvar="KAPACITOR_TOKEN", help="an API token (bearer)")
]
CaOpt = Annotated[
    str,
    typer.Option(
        "--ca-cert", envvar="KAPACITOR_CA_CERT", help="CA certificate to verify the HTTPS API with"
    ),
]
SkipVerifyOpt = Annotated[
    bool,
    typer.Option(
        "--insecure-skip-verify",
        envvar="KAPACITOR_INSECURE_SKIP_VERIFY",
        help="accept any HTTPS certificate (anyone in between can read and change the traffic)",
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="machine-readable output")]


@dataclass(frozen=True, slots=True)
class CliContext:
    """What the global options resolve to; the root callback puts it in `ctx.obj`."""

    client: ApiClient


def _root(
    ctx: typer.Context,
    url: UrlOpt = None,
    socket: SockOpt = None,
    username: UserOpt = "",
    password: PasswordOpt = "",
    token: TokenOpt = "",
    ca_cert: CaOpt = "",
    insecure_skip_verify: SkipVerifyOpt = False,
) -> None:
    ctx.obj = CliContext(
        ApiClient(
            url,
            socket,
            token=token,
            username=username,
            password=password,
            ca_cert=ca_cert,
            insecure_skip_verify=insecure_skip_verify,
        )
    )


def new_app() -> typer.Typer:
    """The app with its global options and no commands yet (main.py adds them, in help order)."""
    app = typer.Typer(
        name="kapacitor",
        help="Define, enable and inspect Kapacitor plugins over the HTTP API.",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        rich_markup_mode=None,
        add_completion=False,
    )
    app.callback()(_root)
    return app


def client_of(ctx: typer.Context) -> ApiClient:
    """The API client of the command running in `ctx`."""
    found = ctx.find_object(CliContext)
    if found is None:
        raise RuntimeError("a kapacitor command ran without the root callback")
    return found.client
