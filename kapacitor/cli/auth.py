"""`kapacitor user create|list|update|delete` and `kapacitor token create|list|revoke`: who
may use the HTTP API (`[http] auth-enabled`)."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from kapacitor.cli.app import V1, JsonOpt, client_of
from kapacitor.cli.output import fail, fmt_ns, print_json, table

__all__ = ["token_app", "user_app"]

user_app = typer.Typer(help="Users of the HTTP API, each with a role: read, write or admin.")
token_app = typer.Typer(help="API tokens, each with a role; sent as 'Authorization: Bearer'.")

RoleOpt = Annotated[
    str, typer.Option("--role", help="read (GETs), write (/write only) or admin (everything)")
]


def _password(given: str, stdin: bool) -> str:
    if stdin:
        return sys.stdin.readline().rstrip("\n")
    if given:
        return given
    if not sys.stdin.isatty():
        fail("give the password with --password-stdin (or --user-password)", 2)
    return str(typer.prompt("password", hide_input=True, confirmation_prompt=True))


@user_app.command("create")
def user_create(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="user name")],
    role: RoleOpt = "read",
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="read the new user's password from stdin")
    ] = False,
    user_password: Annotated[
        str, typer.Option("--user-password", help="the new user's password (prefer stdin)")
    ] = "",
    json_out: JsonOpt = False,
) -> None:
    """Create a user (asks for the password on a terminal)."""
    body = {"name": name, "role": role, "password": _password(user_password, password_stdin)}
    doc = client_of(ctx).call("POST", V1 + "/users", json=body)
    if json_out:
        print_json(doc)


@user_app.command("list")
def user_list(ctx: typer.Context, json_out: JsonOpt = False) -> None:
    """List the users and their roles."""
    doc = client_of(ctx).call("GET", V1 + "/users")
    if json_out:
        print_json(doc)
        return
    rows: list[tuple[str, ...]] = [("NAME", "ROLE", "CREATED")]
    rows += [(u["name"], u["role"], fmt_ns(u["created"])) for u in doc["users"]]
    table(rows)


@user_app.command("update")
def user_update(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="user name")],
    role: Annotated[str, typer.Option("--role", help="the new role")] = "",
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="read a new password from stdin")
    ] = False,
) -> None:
    """Change a user's role or password."""
    body: dict[str, str] = {}
    if role:
        body["role"] = role
    if password_stdin:
        body["password"] = _password("", True)
    if not body:
        fail("nothing to change: give --role or --password-stdin", 2)
    client_of(ctx).call("PATCH", f"{V1}/users/{name}", json=body)


@user_app.command("delete")
def user_delete(ctx: typer.Context, name: Annotated[str, typer.Argument(help="user name")]) -> None:
    """Delete a user."""
    client_of(ctx).call("DELETE", f"{V1}/users/{name}")


@token_app.command("create")
def token_create(
    ctx: typer.Context,
    role: RoleOpt = "read",
    description: Annotated[str, typer.Option("--description", help="what it is for")] = "",
    json_out: JsonOpt = False,
) -> None:
    """Create a token; it is printed once, and never shown again."""
    doc = client_of(ctx).call(
        "POST", V1 + "/tokens", json={"role": role, "description": description}
    )
    if json_out:
        print_json(doc)
        return
    sys.stdout.write(doc["token"] + "\n")


@token_app.command("list")
def token_list(ctx: typer.Context, json_out: JsonOpt = False) -> None:
    """List the tokens (their ids and roles; never their secrets)."""
    doc = client_of(ctx).call("GET", V1 + "/tokens")
    if json_out:
        print_json(doc)
        return
    rows: list[tuple[str, ...]] = [("ID", "ROLE", "BY", "CREATED", "DESCRIPTION")]
    rows += [
        (t["id"], t["role"], t["user"] or "-", fmt_ns(t["created"]), t["description"])
        for t in doc["tokens"]
    ]
    table(rows)


@token_app.command("revoke")
def token_revoke(
    ctx: typer.Context, token_id: Annotated[str, typer.Argument(metavar="ID", help="token id")]
) -> None:
    """Revoke a token: it is refused from now on."""
    client_of(ctx).call("DELETE", f"{V1}/tokens/{token_id}")
