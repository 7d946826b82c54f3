"""Time zones by IANA name, for the `tz=` option of the time-of-point functions."""

from __future__ import annotations

import datetime as dt
import difflib
import functools
import zoneinfo

UTC = "UTC"


@functools.lru_cache(maxsize=64)
def zone(name: str) -> dt.tzinfo:
    """The zone `name` (e.g. "Europe/Paris"); KeyError if there is none."""
    if name == UTC:
        return dt.UTC
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as e:
        raise KeyError(name) from e


def unknown_zone(name: str) -> str | None:
    """None if `name` is a zone, else a message naming the closest one."""
    try:
        zone(name)
    except KeyError:
        known = {z.lower(): z for z in zoneinfo.available_timezones()}
        close = difflib.get_close_matches(name.lower(), list(known), n=1, cutoff=0.6)
        hint = f': did you mean "{known[close[0]]}"?' if close else ' (IANA names: "Europe/Paris")'
        return f"unknown time zone {name!r}{hint}"
    return None
