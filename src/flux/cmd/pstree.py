"""``flux pstree [OPTIONS] [JOBID...]``: the tree of jobs and the instances inside them.

A running job that advertises a URI (a batch or alloc job) is a parent: its own
jobs are listed below it (running ones, unless filters say otherwise below the
top level), down to ``--level``. Identical leaves combine as ``N*[label]``. The
root line is this instance (its job name if it is itself a job, else ``.``);
it is skipped with details (``-x``, ``-d``), with JOBIDs, or ``--skip-root=yes``.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from typing import Any

PROG = "flux-pstree"

DETAILS = {
    "default": "{id.f58:>12} {username:<8.8} {status_abbrev:>2.2} {ntasks:>6h}"
    " {nnodes:>6h} {runtime!F:>8h}",
    "resources": "{id.f58:>12} {instance.resources.all.nnodes:>5} "
    "{instance.resources.allocated.nnodes:>5} {instance.resources.all.ncores:>5} "
    "{instance.resources.allocated.ncores:>5} {instance.resources.all.ngpus:>5} "
    "{instance.resources.allocated.ngpus:>5}",
    "progress": "{id.f58:>12} {ntasks:>6h} {instance.stats.total:>6} "
    "{instance.progress!P:>5} {instance.utilization!P:>5} "
    "{instance.gpu_utilization!P:>5} {runtime!H:>10}",
    "stats": "{id.f58:>12} {instance.stats:^25} {runtime!H:>10}",
}

STYLES = {
    "ascii": ("|   ", "|-- ", "`-- ", "    "),
    "box": ("│   ", "├── ", "└── ", "    "),
    "compact": ("│ ", "├─", "└─", "  "),
}


class Tree:
    """A label, an optional details prefix, children; identical leaves combine."""

    def __init__(self, label: str, prefix: str = "", combine: bool = True) -> None:
        self.label = label
        self.prefix = prefix + " " if prefix else ""
        self.combine = combine
        self.children: list[Tree] = []
        self.count = 1
        self._seen: dict[str, Tree] = {}

    def append(self, tree: Tree) -> None:
        if not self.combine or tree.children:
            self.children.append(tree)
            return
        key = tree.prefix + tree.label
        if key in self._seen:
            self._seen[key].count += 1
        else:
            self._seen[key] = tree
            self.children.append(tree)

    def lines(self, style: str, stack: list[str] | None = None, conn: str = "") -> list[str]:
        stack = [] if stack is None else stack
        label = f"{self.count}*[{self.label}]" if self.count > 1 else self.label
        out = [f"{self.prefix}{''.join(stack[:-1])}{conn}{label}"]
        pipe, tee, elbow, blank = STYLES[style]
        for i, child in enumerate(self.children):
            last = i == len(self.children) - 1
            stack.append(blank if last else pipe)
            out.extend(child.lines(style, stack, elbow if last else tee))
            stack.pop()
        return out


class _Formatter:
    def __init__(self, args: argparse.Namespace) -> None:
        from flux.job.info import JobInfoFormat

        if args.label and not args.parent_label:
            args.parent_label = args.label
        if args.all and not args.label:
            args.label = "{name}:{status_abbrev}"
        label = args.label or "{name}"
        parent = args.parent_label or "{name}"
        if args.parent_ids:
            parent = "{id.f58} " + parent
        self.label = JobInfoFormat(label)
        self.parent = JobInfoFormat(parent)
        self.prefix = None
        if args.extended or args.details or args.detail_format:
            fmt = args.detail_format
            if not fmt:
                name = args.details or "default"
                if name not in DETAILS:
                    raise ValueError(f"Unknown --details format '{name}'")
                fmt = DETAILS[name]
            self.prefix = JobInfoFormat(fmt)

    def node(self, job: Any, parent: bool, combine: bool) -> Tree:
        label = (self.parent if parent else self.label).format(job)
        prefix = self.prefix.format(job) if self.prefix else ""
        return Tree(label, prefix, combine)


def load(
    tree: Tree,
    fmt: _Formatter,
    uri: str | None,
    filters: list[str] | None,
    level: int,
    max_level: int,
    count: int,
    ids: list[Any] | None = None,
) -> None:
    """Add the jobs of the instance at `uri` under `tree`, recursing into instances."""
    import flux
    from flux.job.info import JobInfo
    from flux.job.list import JobList

    if level > max_level:
        return
    try:
        h = flux.Flux(uri)
        rpc = JobList(
            h, ids=ids or (), filters=filters or ["running"], max_entries=count
        ).fetch_jobs()
        jobs = rpc.get_jobs()
    except OSError:
        return
    for err in getattr(rpc, "errors", ()):
        print(err, file=sys.stderr)
    for entry in jobs:
        job = JobInfo(entry).get_instance_info()
        is_parent = bool(job.uri) and job.state_single == "R"
        node = fmt.node(job, is_parent, tree.combine)
        if is_parent:
            load(node, fmt, job.uri.local, filters, level + 1, max_level, count)
        tree.append(node)


def _root(fmt: _Formatter) -> Tree:
    """This instance: its entry in the parent if it is a job, else a mock named '.'."""
    import flux
    from flux.constants import FLUX_JOB_STATE_RUN
    from flux.job.info import JobInfo
    from flux.job.JobID import JobID
    from flux.job.list import JobList

    h = flux.Flux()
    size = h.attr_get("size")
    info: dict[str, Any] | None = None
    try:
        jobid = JobID(h.attr_get("jobid"))
        parent = flux.Flux(h.attr_get("parent-uri"))
        info = dict(JobList(parent, ids=[jobid]).fetch_jobs().get_jobs()[0])
    except (OSError, IndexError, ValueError):
        info = {
            "id": 0,
            "userid": int(h.attr_get("security.owner")),
            "state": FLUX_JOB_STATE_RUN,
            "name": ".",
            "ntasks": int(size),
            "nnodes": int(size),
            "nodelist": h.attr_get("hostlist"),
            "annotations": {"user": {"uri": h.attr_get("local-uri")}},
            "t_run": float(h.attr_get("broker.starttime")),
        }
    info["ranks"] = f"0-{int(size) - 1}"
    job = JobInfo(info).get_instance_info()
    if int(job.id) == 0:
        job.id = _RootID()
    return fmt.node(job, True, True)


class _RootID(int):
    """The root's id prints as '.' in every encoding."""

    def __new__(cls) -> _RootID:
        return int.__new__(cls, 0)

    def __getattr__(self, name: str) -> str:
        return "."

    def __str__(self) -> str:
        return "."


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog=PROG, usage="flux pstree [OPTIONS] [JOBID...]")
    add = ap.add_argument
    add("-a", "--all", action="store_true", help="Include all jobs for current user in all states")
    add("-c", "--count", type=int, metavar="N", default=1000, help="Limit to N jobs per instance")
    add("-f", "--filter", metavar="STATE|RESULT", help="list jobs with specific state or result")
    add("-x", "--extended", action="store_true", help="print extended details before tree output")
    add("-l", "--long", action="store_false", dest="truncate", help="do not truncate long lines")
    add("-L", "--level", type=int, metavar="N", default=999, help="only descend N levels")
    add("-p", "--parent-ids", action="store_true", help="include jobids in parent labels")
    add("-n", "--no-header", action="store_true", help="Suppress header with -x, --extended")
    add("-X", "--no-combine", action="store_false", dest="combine", help="do not combine children")
    add("-o", "--label", metavar="FORMAT", help="change label format (default='{name}')")
    add("--parent-label", metavar="FORMAT", help="change label format for parent only")
    add("--detail-format", metavar="FORMAT", help="format for extended details (implies -x)")
    add("-d", "--details", metavar="NAME", help="named details format: " + ",".join(DETAILS))
    add("-C", "--compact", action="store_true", help="Use compact tree connectors")
    add("--ascii", action="store_true", help="Use ASCII character tree connectors")
    add("--skip-root", metavar="[yes|no]", help="suppress or include the enclosing instance")
    add("jobids", metavar="JOBID", nargs="*", help="Limit output to specific jobids")
    return ap


def main(argv: list[str]) -> int:
    from flux.job.JobID import JobID

    args = _parser().parse_args(argv)
    if args.ascii and args.compact:
        print(f"{PROG}: Choose only one of --ascii, --compact", file=sys.stderr)
        return 1
    if args.skip_root not in (None, "yes", "no"):
        print(f"{PROG}: ERROR: --skip-root requires either 'yes' or 'no'", file=sys.stderr)
        return 1
    try:
        ids = [JobID(j) for j in args.jobids]
    except ValueError:
        print(f"{PROG}: ERROR: invalid JobID value", file=sys.stderr)
        return 1
    if args.jobids and (args.all or args.filter is not None):
        print(f"{PROG}: WARNING: filtering options ignored with jobid list", file=sys.stderr)
    filters = ["pending,running,inactive"] if args.all else [args.filter or "running"]
    try:
        fmt = _Formatter(args)
    except ValueError as exc:
        print(f"{PROG}: ERROR: {exc}", file=sys.stderr)
        return 1
    skip_root = fmt.prefix is not None or bool(args.jobids)
    if args.skip_root is not None:
        skip_root = args.skip_root == "yes"
    try:
        root = Tree(".", "", args.combine) if skip_root else _root(fmt)
    except OSError as exc:
        print(f"{PROG}: ERROR: {exc.strerror or exc}", file=sys.stderr)
        return 1
    root.combine = args.combine
    load(root, fmt, None, filters, 0, args.level, args.count, ids)
    style = "compact" if args.compact else "ascii" if args.ascii else "box"
    if fmt.prefix is not None and not args.no_header:
        print(fmt.prefix.header())
    width = shutil.get_terminal_size((132, 25)).columns if args.truncate else 0
    trees = root.children if skip_root else [root]
    for tree in trees:
        for line in tree.lines(style):
            if width and len(line) > width:
                line = line[: width - 1] + "+"
            print(line)
    return 0
