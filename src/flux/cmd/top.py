"""``flux top [OPTIONS] [TARGET]``: a live view of an instance (curses).

The summary pane shows the time left, node/core/GPU bar graphs (used from the left,
down from the right), job counts by state, the instance size, depth, uptime and the
flux-core version; the job pane lists running jobs (newest first) with flux-core's
columns (JOBID, QUEUE when queues exist, USER, ST, NTASKS, NNODES, RUNTIME, NAME), then
pending ones. Keys: j/k or arrows move, h/l or left/right rotate through the queues, d
toggles complete/failed vs inactive, enter opens the selected job (a nested instance:
see :meth:`Top.open_job`), q quits, control-L redraws. The display refreshes every 2s.

Everything but the terminal handling is in :class:`TopData` (queries) and
:func:`render` (the screen as lines), so both are usable without curses.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from dataclasses import dataclass, field
from typing import Any

PROG = "flux-top"
REFRESH = 2.0
RUNNING = 0x10 | 0x20  # RUN | CLEANUP
PENDING = 0x02 | 0x04 | 0x08  # DEPEND | PRIORITY | SCHED
JOB_ATTRS = ["id", "userid", "state", "name", "queue", "ntasks", "nnodes", "t_run", "annotations"]


@dataclass
class Counts:
    used: int = 0
    down: int = 0
    total: int = 0


@dataclass
class Snapshot:
    """What one refresh learned about the instance."""

    nodes: Counts = field(default_factory=Counts)
    cores: Counts = field(default_factory=Counts)
    gpus: Counts = field(default_factory=Counts)
    pending: int = 0
    running: int = 0
    inactive: int = 0
    complete: int = 0
    failed: int = 0
    running_jobs: list[dict] = field(default_factory=list)
    pending_jobs: list[dict] = field(default_factory=list)
    size: int = 1
    depth: int = 0
    starttime: float = 0.0
    expiration: float = 0.0
    version: str = ""
    queues: list[str] = field(default_factory=list)
    now: float = 0.0


def _count_R(R: dict | None, only: set[int] | None = None) -> tuple[set[int], int, int]:
    """(ranks, cores, gpus) of an Rv1 object (of the ranks in ``only`` if given)."""
    from flux.util.idset import decode

    ranks: set[int] = set()
    cores = gpus = 0
    for ent in ((R or {}).get("execution") or {}).get("R_lite") or []:
        rset = decode(ent.get("rank", ""))
        if only is not None:
            rset = [r for r in rset if r in only]
        children = ent.get("children") or {}
        ranks.update(rset)
        cores += len(rset) * len(decode(children.get("core", "") or ""))
        gpus += len(rset) * len(decode(children.get("gpu", "") or ""))
    return ranks, cores, gpus


@dataclass(frozen=True)
class _Node:
    rank: int
    host: str | None
    props: frozenset[str]


def queue_ranks(R: dict | None, requires: list[str] | None) -> set[int] | None:
    """The ranks of R a queue's ``requires`` (RFC 35 terms) selects; None = all."""
    if not requires:
        return None
    from flux.cmd.submit_opts import parse_constraint
    from flux.resource.constraint import compile_constraint
    from flux.util.hostlist import Hostlist
    from flux.util.idset import decode

    execution = (R or {}).get("execution") or {}
    ranks = sorted({r for ent in execution.get("R_lite") or [] for r in decode(ent["rank"])})
    hosts = Hostlist(execution.get("nodelist") or [])
    props: dict[int, set[str]] = {}
    for name, idset in (execution.get("properties") or {}).items():
        for r in decode(idset):
            props.setdefault(r, set()).add(name)
    try:
        match = compile_constraint(parse_constraint(" ".join(requires)))
    except ValueError:
        return None
    return {
        r
        for i, r in enumerate(ranks)
        if match(_Node(r, hosts[i] if i < len(hosts) else None, frozenset(props.get(r, ()))))
    }


class TopData:
    """Queries an instance for one :class:`Snapshot`."""

    def __init__(self, h: Any, queue: str | None = None):
        self.h = h
        self.queue = queue
        self.userid = os.getuid()
        attr = h.attr_get
        self.size = int(attr("size"))
        self.depth = int(attr("instance-level"))
        self.starttime = float(attr("broker.starttime"))
        self.version = attr("version")
        self.owner = int(attr("security.owner")) == self.userid
        self._users: dict[int, str] = {}

    def username(self, userid: int) -> str:
        name = self._users.get(userid)
        if name is None:
            import pwd

            try:
                name = pwd.getpwuid(userid).pw_name
            except KeyError:
                name = str(userid)
            self._users[userid] = name
        return name

    def queues(self) -> list[str]:
        try:
            resp = self.h.rpc("job-manager.queue-list", {}).get()
        except OSError:
            return []
        return sorted(resp.get("queues", []))

    def requires(self) -> list[str] | None:
        """The selected queue's ``requires`` from the instance configuration."""
        try:
            conf = self.h.rpc("config.get", {}).get()
        except OSError:
            return None
        queue = ((conf.get("queues") or {}).get(self.queue) or {}) if self.queue else {}
        requires = queue.get("requires")
        return list(requires) if isinstance(requires, list) else None

    def _jobs(self, states: int) -> list[dict]:
        from flux.job.list import FLUX_USERID_UNKNOWN, job_list

        fut = job_list(
            self.h,
            max_entries=0,
            attrs=JOB_ATTRS,
            userid=FLUX_USERID_UNKNOWN,
            states=states,
            queue=self.queue,
        )
        try:
            return list(fut.get_jobs())
        except OSError:
            return []

    def snapshot(self) -> Snapshot:
        snap = Snapshot(
            size=self.size,
            depth=self.depth,
            starttime=self.starttime,
            version=self.version,
            now=time.time(),
        )
        snap.queues = self.queues()
        futs = {
            "stats": self.h.rpc("job-list.job-stats", {}),
            "resource": self.h.rpc("sched.resource-status", {}),
        }
        stats = futs["stats"].get()
        if self.queue is not None:
            stats = next((q for q in stats.get("queues", []) if q.get("name") == self.queue), {})
        states = stats.get("job_states", {})
        snap.pending = sum(states.get(k, 0) for k in ("depend", "priority", "sched"))
        snap.running = sum(states.get(k, 0) for k in ("run", "cleanup"))
        snap.inactive = states.get("inactive", 0)
        snap.complete = stats.get("successful", 0)
        snap.failed = sum(stats.get(k, 0) for k in ("failed", "timeout", "canceled"))
        try:
            rs = futs["resource"].get()
        except OSError:
            rs = {}
        only = queue_ranks(rs.get("all"), self.requires()) if self.queue is not None else None
        all_ranks, all_cores, all_gpus = _count_R(rs.get("all"), only)
        used_ranks, used_cores, used_gpus = _count_R(rs.get("allocated"), only)
        down_ranks, down_cores, down_gpus = _count_R(rs.get("down"), only)
        snap.nodes = Counts(len(used_ranks), len(down_ranks), len(all_ranks))
        snap.cores = Counts(used_cores, down_cores, all_cores)
        snap.gpus = Counts(used_gpus, down_gpus, all_gpus)
        snap.expiration = float(((rs.get("all") or {}).get("execution") or {}).get("expiration", 0))
        snap.running_jobs = sorted(self._jobs(RUNNING), key=lambda j: -j["id"])
        snap.pending_jobs = sorted(self._jobs(PENDING), key=lambda j: -j["id"])
        return snap


# -- rendering (no curses) -----------------------------------------------------------


def _fsd(seconds: float) -> str:
    from flux.util.duration import format_duration

    return format_duration(abs(seconds), 2)


def bargraph(name: str, counts: Counts, width: int) -> str:
    """``name [|||       ||used/total]``: used grows from the left, down from the right."""
    width = min(width, 80)
    prefix = f"{name:>5} ["
    suffix = f"{min(counts.used, counts.total)}/{counts.total}]"
    slots = max(width - len(prefix) - len(suffix) - 1, 0)
    cells = [" "] * slots
    if counts.total:
        for i in range(min(math.ceil(counts.used / counts.total * slots), slots)):
            cells[i] = "|"
        for i in range(min(math.ceil(counts.down / counts.total * slots), slots)):
            cells[slots - 1 - i] = "|"
    return prefix + "".join(cells) + suffix


@dataclass
class Line:
    """One screen line; ``style`` is "", "header", "selected" or "instance"."""

    text: str
    style: str = ""


def job_row(job: dict, snap: Snapshot, show_queue: bool, name_width: int, user: str) -> str:
    from flux.job.info import statetostr
    from flux.job.JobID import JobID

    run = _fsd(snap.now - job["t_run"]) if job.get("t_run") else ""
    cols = [f"{JobID(job['id']).f58:>13.13}"]
    if show_queue:
        cols.append(f"{job.get('queue', ''):>8.8}")
    cols += [
        f"{user:>8.8}",
        f"{statetostr(job['state'], 'S'):>2.2}",
        f"{job.get('ntasks', 0):>6}",
        f"{job.get('nnodes', 0):>6}",
        f"{run:>7.7}",
        f"{job.get('name', ''):<{name_width}.{name_width}}",
    ]
    return " ".join(cols)


def render(
    snap: Snapshot,
    width: int,
    height: int,
    selected: int | None = None,
    queue: str | None = None,
    details: bool = True,
    username: Any = str,
    path: str = "",
) -> tuple[list[Line], list[int]]:
    """The screen as lines (at most ``height``), and the job ids listed, in order."""
    lines: list[Line] = []
    timeleft = snap.expiration - snap.now if snap.expiration else 0.0
    clock = f"{_fsd(timeleft)}\u231a" if timeleft > 0 else "\u221e"
    title = path or "flux"
    if queue is not None:
        title += f" [{queue}]"
    lines.append(Line(f"{clock:<20}{title:^{max(width - 40, 1)}}{'':20}"[:width]))
    left = max(min(width // 2, 60), 30)
    counts = [f"{snap.pending:>6} pending", f"{snap.running:>6} running"]
    if details:
        counts.append(f"{snap.complete:>6} complete, {snap.failed:>6} failed")
    else:
        counts.append(f"{snap.inactive:>6} inactive")
    graphs = [
        bargraph("nodes", snap.nodes, left),
        bargraph("cores", snap.cores, left),
        bargraph("gpus", snap.gpus, left),
    ]
    for graph, count in zip(graphs, counts, strict=True):
        lines.append(Line(f"{graph:<{left}}  {count}"[:width]))
    info = f"size: {snap.size}"
    if snap.depth:
        info = f"{info:<10}depth: {snap.depth}"
    info = f"{info:<30}uptime: {_fsd(snap.now - snap.starttime)}"
    info = f"{info:<{max(width - len(snap.version), len(info) + 1)}}{snap.version}"
    lines.append(Line(info[:width]))
    lines.append(Line(""))
    show_queue = bool(snap.queues)
    name_width = max(width - (13 + 1 + 8 + 1 + 2 + 1 + 6 + 1 + 6 + 1 + 7 + 1), 4)
    if show_queue:
        name_width = max(name_width - 9, 4)
    header = [f"{'JOBID':>13}"]
    if show_queue:
        header.append(f"{'QUEUE':>8}")
    header += [f"{'USER':>8}", "ST", f"{'NTASKS':>6}", f"{'NNODES':>6}", f"{'RUNTIME':>7}"]
    header.append(f"{'NAME':<{name_width}}")
    lines.append(Line(" ".join(header)[:width], "header"))
    ids: list[int] = []
    jobs = snap.running_jobs + snap.pending_jobs
    if not jobs and queue is not None:
        lines.append(Line(f"{'':24}No jobs to display in queue {queue}"[:width]))
    for job in jobs:
        if len(lines) >= height:
            break
        ids.append(job["id"])
        row = job_row(job, snap, show_queue, name_width, username(job.get("userid", 0)))
        uri = ((job.get("annotations") or {}).get("user") or {}).get("uri")
        style = "selected" if job["id"] == selected else ("instance" if uri else "")
        lines.append(Line(row[:width], style))
    return lines[:height], ids


# -- the curses program ---------------------------------------------------------------


class Top:
    """The interactive loop: state (selection, queue, details) and key handling."""

    def __init__(self, h: Any, queue: str | None = None, color: bool = True):
        self.h = h
        self.data = TopData(h, queue)
        self.queue = queue
        self.details = self.data.owner
        self.selected: int | None = None
        self.ids: list[int] = []
        self.color = color
        self.path = "flux"
        self.snap: Snapshot | None = None
        self.scr: Any = None

    def job_uri(self, jobid: int) -> str | None:
        """The URI a running job advertises when it is a Flux instance (None if not)."""
        for job in self.snap.running_jobs if self.snap is not None else ():
            if job["id"] == jobid:
                uri = ((job.get("annotations") or {}).get("user") or {}).get("uri")
                return uri if isinstance(uri, str) else None
        return None

    def open_job(self, jobid: int) -> bool:
        """Descend into a running job that is a Flux instance (batch, alloc): show its
        own view until q, then come back here. Nothing happens for another job, or
        for one the user may not reach, as in flux-core. Returns True if opened."""
        uri = self.job_uri(jobid)
        if uri is None or self.scr is None:
            return False
        import flux
        from flux.job.JobID import JobID
        from flux.uri import to_local

        try:
            child = Top(flux.Flux(to_local(uri)), color=self.color)
        except OSError:
            return False
        child.path = f"{self.path}/{JobID(jobid).f58}"
        child.run(self.scr)
        self.scr.clear()
        return True

    def move(self, step: int) -> None:
        if not self.ids:
            self.selected = None
            return
        if self.selected not in self.ids:
            self.selected = self.ids[0] if step > 0 else self.ids[-1]
            return
        i = self.ids.index(self.selected) + step
        self.selected = self.ids[max(0, min(i, len(self.ids) - 1))]

    def rotate_queue(self, step: int, queues: list[str]) -> None:
        if not queues:
            return
        choices: list[str | None] = [None, *queues]
        i = choices.index(self.queue) if self.queue in choices else 0
        self.queue = choices[(i + step) % len(choices)]
        self.data.queue = self.queue
        self.selected = None

    def handle_key(self, key: int, queues: list[str]) -> bool:
        """Apply a key; False means quit."""
        import curses

        if key in (ord("q"), ord("Q")):
            return False
        if key in (ord("j"), curses.KEY_DOWN):
            self.move(1)
        elif key in (ord("k"), curses.KEY_UP):
            self.move(-1)
        elif key in (ord("l"), curses.KEY_RIGHT):
            self.rotate_queue(1, queues)
        elif key in (ord("h"), curses.KEY_LEFT):
            self.rotate_queue(-1, queues)
        elif key == ord("d"):
            self.details = not self.details
        elif key in (10, 13, curses.KEY_ENTER) and self.selected is not None:
            self.open_job(self.selected)
        return True

    def draw(self, scr: Any, snap: Snapshot) -> None:
        import curses

        height, width = scr.getmaxyx()
        lines, self.ids = render(
            snap,
            width - 1,
            height,
            self.selected,
            self.queue,
            self.details,
            self.data.username,
            self.path,
        )
        scr.erase()
        attrs = {
            "header": curses.A_REVERSE,
            "selected": curses.A_REVERSE,
            "instance": (curses.color_pair(1) if self.color else 0) | curses.A_BOLD,
            "": 0,
        }
        for y, line in enumerate(lines):
            try:
                scr.addstr(y, 0, line.text, attrs[line.style])
            except curses.error:
                pass  # the bottom-right cell
        scr.refresh()

    def run(self, scr: Any) -> int:
        import curses

        try:
            curses.curs_set(0)
        except curses.error:
            pass
        if self.color and curses.has_colors():
            curses.start_color()
            curses.use_default_colors()
            curses.init_pair(1, curses.COLOR_BLUE, -1)
        scr.keypad(True)
        scr.timeout(int(REFRESH * 1000))
        self.scr = scr
        try:
            snap = self.snap = self.data.snapshot()
            while True:
                self.draw(scr, snap)
                key = scr.getch()
                if key == 12:  # control-L
                    scr.clear()
                elif key != -1 and not self.handle_key(key, snap.queues):
                    return 0
                snap = self.snap = self.data.snapshot()
        except OSError:
            if self.path == "flux":
                raise
            return 0  # a nested instance went away: back to its parent's view


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog=PROG)
    ap.add_argument(
        "--color",
        nargs="?",
        const="always",
        default="auto",
        metavar="WHEN",
        help="Colorize output; WHEN can be 'never', 'always', or 'auto' (default)",
    )
    ap.add_argument("-q", "--queue", metavar="NAME", help="Limit status and jobs to specific queue")
    ap.add_argument(
        "target", nargs="?", metavar="TARGET", help="a Flux URI or a job id (flux uri forms)"
    )
    args = ap.parse_args(argv)
    if args.color not in ("never", "always", "auto"):
        print(f"{PROG}: ERROR: Invalid argument to --color: '{args.color}'", file=sys.stderr)
        return 1
    if not sys.stdout.isatty() or not sys.stdin.isatty():
        print(f"{PROG}: ERROR: stdout and stdin must be a terminal", file=sys.stderr)
        return 1
    import flux

    path = "flux"
    try:
        if args.target:
            from flux.uri import URIError, resolve

            try:
                uri = resolve(args.target, local=True)
            except URIError as exc:
                print(f"{PROG}: ERROR: {exc}", file=sys.stderr)
                return 1
            if "://" not in args.target:
                path = f"flux/{args.target.strip('/')}"
            h = flux.Flux(uri)
        else:
            h = flux.Flux()
    except OSError as exc:
        print(f"{PROG}: ERROR: {exc.strerror or exc}", file=sys.stderr)
        return 1
    top = Top(h, args.queue, color=args.color != "never")
    top.path = path
    if args.queue is not None and args.queue not in top.data.queues():
        print(f"{PROG}: ERROR: queue {args.queue} does not exist", file=sys.stderr)
        return 1
    import curses

    return curses.wrapper(top.run)
