"""Process trees read from /proc, for tests and benchmarks: a daemon's children, what each
runs, and the CPU time and memory they use."""

from __future__ import annotations

import os

__all__ = [
    "children",
    "cmdline",
    "cpu_seconds",
    "ended",
    "pss_kb",
    "rss_kb",
    "rss_pages",
    "service_of",
]


def _stat(pid: int) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the command name (None when it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def children(pid: int) -> list[int]:
    """Every process below `pid` (children, theirs, ...)."""
    parent: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (fields := _stat(int(entry))) is not None:
            parent[int(entry)] = int(fields[1])
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        kids = [c for c, pp in parent.items() if pp == p]
        out += kids
        todo += kids
    return out


def ended(pid: int) -> bool:
    """Whether `pid` has exited (gone, or a zombie its parent has not reaped)."""
    fields = _stat(pid)
    return fields is None or fields[0] == "Z"


def cmdline(pid: int) -> str:
    """Its command line, space separated ('' when it is gone)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds it has used (0 when it is gone)."""
    fields = _stat(pid)
    if fields is None:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _kib(pid: int, file: str, label: str) -> int:
    """The KiB figure on the line `label` of /proc/<pid>/<file> (0 when it is gone)."""
    try:
        with open(f"/proc/{pid}/{file}") as f:
            for line in f:
                if line.startswith(label):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def rss_kb(pid: int) -> int:
    """Its resident memory in KiB (0 when it is gone)."""
    return _kib(pid, "status", "VmRSS:")


def rss_pages(pid: int) -> int:
    """Its resident pages, from statm: a fiftieth of the cost of `rss_kb` or `pss_kb`
    (0 when it is gone)."""
    try:
        with open(f"/proc/{pid}/statm") as f:
            return int(f.read().split()[1])
    except (OSError, IndexError, ValueError):
        return 0


def pss_kb(pid: int) -> int:
    """Its proportional share of resident memory in KiB: pages it shares with N processes
    count 1/N, so the PSS of a group of processes sums to the memory they occupy together
    (0 when it is gone)."""
    return _kib(pid, "smaps_rollup", "Pss:")


def service_of(pid: int) -> str:
    """The kapacitord service a process runs ('' if none): forked by kapacitord, it is named
    kap-<service>; started alone, its command line says services.<service>."""
    try:
        with open(f"/proc/{pid}/comm") as f:
            comm = f.read().strip()
    except OSError:
        return ""
    if comm.startswith("kap-"):
        return comm.removeprefix("kap-")
    for word in cmdline(pid).split():
        if word.startswith("services."):
            return word.split(".")[1]
    return ""
