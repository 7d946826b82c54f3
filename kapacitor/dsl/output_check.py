"""The checks of the outputs (influxdb_out, http_out, publish, loopback) beyond their
signatures: names that InfluxDB, NATS and a URL path can carry, tags as "key=value"."""

from __future__ import annotations

import re
from collections.abc import Mapping

from kapacitor.dsl.ast import Call, Expr
from kapacitor.dsl.check_context import CheckContext, ExtraCheck

__all__ = ["EXTRA_CHECKS", "parse_tags"]

_ENDPOINT = re.compile(r"[-._A-Za-z0-9]{1,200}")
_SUBJECT_TOKEN = re.compile(r"[^\s.*>]+")


def parse_tags(items: tuple[object, ...]) -> tuple[tuple[str, str], ...] | str:
    """`("k=v", ...)` as sorted pairs, or the problem with them."""
    out: dict[str, str] = {}
    for item in items:
        if not isinstance(item, str) or "=" not in item:
            return f'a tag is "key=value", got {item!r}'
        key, value = item.split("=", 1)
        if not key or not value:
            return f'a tag is "key=value" with neither empty, got {item!r}'
        if key in out:
            return f"tag {key!r} given twice"
        out[key] = value
    return tuple(sorted(out.items()))


def _text(ctx: CheckContext, args: Mapping[str, Expr], name: str) -> str | None:
    node = args.get(name)
    value = ctx.constant(node) if node is not None else None
    return value if isinstance(value, str) else None


def _nonempty(ctx: CheckContext, call: Call, args: Mapping[str, Expr], *names: str) -> None:
    for name in names:
        value = _text(ctx, args, name)
        if value is not None and not value.strip():
            raise ctx.error(f"{call.name}(): {name}= must not be empty", args[name].span)


def _check_tags(ctx: CheckContext, call: Call, args: Mapping[str, Expr]) -> None:
    node = args.get("tags")
    if node is None:
        return
    value = ctx.constant(node)
    if not isinstance(value, tuple):
        raise ctx.error(f'{call.name}(): tags= is a list of "key=value" strings', node.span)
    parsed = parse_tags(value)
    if isinstance(parsed, str):
        raise ctx.error(f"{call.name}(): {parsed}", node.span)


def _check_influxdb_out(ctx: CheckContext, call: Call, args: Mapping[str, Expr]) -> None:
    _nonempty(ctx, call, args, "db", "field")
    _check_tags(ctx, call, args)


def _check_http_out(ctx: CheckContext, call: Call, args: Mapping[str, Expr]) -> None:
    _nonempty(ctx, call, args, "field")
    name = _text(ctx, args, "name")
    if name is not None and not _ENDPOINT.fullmatch(name):
        raise ctx.error(
            "http_out(): the name is a path segment: 1-200 letters, digits, '-', '_' or '.'",
            args["name"].span,
        )


def _check_publish(ctx: CheckContext, call: Call, args: Mapping[str, Expr]) -> None:
    _nonempty(ctx, call, args, "field")
    _check_tags(ctx, call, args)
    subject = _text(ctx, args, "subject")
    if subject is None:
        return
    if not all(_SUBJECT_TOKEN.fullmatch(t) for t in subject.split(".")):
        raise ctx.error(
            "publish(): the subject is dot-separated tokens without spaces or wildcards",
            args["subject"].span,
        )
    if subject.startswith(("kapacitor.", "$")) or subject == "kapacitor":
        raise ctx.error(
            "publish(): subjects under kapacitor. and $ are kapacitord's own",
            args["subject"].span,
        )


def _check_loopback(ctx: CheckContext, call: Call, args: Mapping[str, Expr]) -> None:
    _nonempty(ctx, call, args, "db", "rp", "measurement", "field")
    _check_tags(ctx, call, args)


EXTRA_CHECKS: dict[str, ExtraCheck] = {
    "influxdb_out": _check_influxdb_out,
    "http_out": _check_http_out,
    "publish": _check_publish,
    "loopback": _check_loopback,
}
