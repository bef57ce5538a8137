"""``flux resource list``, ``info`` and ``R``: the scheduler's view (flux-core 0.88).

The sets ``all``, ``down`` and ``allocated`` come from the scheduler; ``up`` and
``free`` are derived.  ``list`` prints one line per state and distinct
(queue, properties) combination through a format string (named formats
``default`` and ``rlist``); ``info`` is ``list`` with the format
``{nnodes} Nodes, {ncores} Cores, {ngpus} GPUs``; ``R`` prints the union of
the states' sets as RFC 20 R.
"""

from __future__ import annotations

import argparse
import json
import sys
from itertools import combinations

TYPE_CHECKING = False  # (typing costs a command milliseconds to import; hints only)
if TYPE_CHECKING:
    from typing import Any

PROG = "flux-resource"
LIST_STATES = ("up", "down", "allocated", "free", "all")

LIST_HEADINGS = {
    "state": "STATE",
    "queue": "QUEUE",
    "properties": "PROPERTIES",
    "propertiesx": "PROPERTIES",
    "nnodes": "NNODES",
    "ncores": "NCORES",
    "ngpus": "NGPUS",
    "ranks": "RANKS",
    "nodelist": "NODELIST",
    "rlist": "LIST",
}


class ListLine:
    """A resource set shown on one line, with its queue(s) and visible properties."""

    def __init__(
        self,
        rset: Any = None,
        state: str | None = None,
        config: dict[str, Any] | None = None,
        queue: str | None = None,
        queue_filter: Any = None,
        hidden: Any = None,
    ) -> None:
        from flux.resource.ResourceSet import ResourceSet

        self.rset = rset if rset is not None else ResourceSet()
        self.state = state
        self.config = config or {}
        self._queue = queue
        self._queue_filter = queue_filter
        self._hidden = hidden or set()

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("__") or attr == "rset":
            raise AttributeError(attr)
        return getattr(self.rset, attr)

    def add(self, other: ListLine) -> None:
        self.rset = self.rset.copy().add(other.rset)

    def _props(self) -> dict[str, str]:
        return json.loads(self.rset.get_properties())

    @property
    def propertiesx(self) -> str:
        """Properties, less those naming a configured queue."""
        props = self._props()
        for name in self.config.get("queues") or {}:
            props.pop(name, None)
        return ",".join(props)

    @property
    def queue(self) -> str:
        if self._queue is not None:
            return self._queue
        queues = self.config.get("queues") or {}
        if not queues or not self.rset.ranks:
            return ""
        props = set(self._props())
        names = []
        for name, conf in queues.items():
            if self._queue_filter:
                if name not in self._queue_filter:
                    continue
            elif name in self._hidden:
                continue
            if set(conf.get("requires") or ()).issubset(props):
                names.append(name)
        return ",".join(names)


def _by_property_combinations(rset: Any) -> list[Any]:
    """``rset`` split into the subsets of each combination of its properties."""
    props = set(json.loads(rset.get_properties()))
    combos = [set(c) for n in range(1, len(props) + 1) for c in combinations(sorted(props), n)]
    combos.append(set())
    out = []
    for have in combos:
        want = sorted(have) + ["^" + p for p in sorted(props - have)]
        out.append(rset.copy_constraint({"properties": want}))
    return out


def uniq_lines(
    resources: Any,
    states: list[str],
    formatter: Any,
    config: dict[str, Any] | None,
    queues: Any = None,
    hidden: Any = None,
) -> list[ListLine]:
    """The lines of ``states``: sets that would print alike are merged."""
    from flux.util.output import OutputFormat

    hidden = hidden or set()
    uniq = ""
    if len(formatter.fields) > 1 or "state" in formatter.fields:
        for field in formatter.fields:
            if field in ("state", "properties", "propertiesx", "queue"):
                uniq += "{" + field + "}:"
    keyfmt = OutputFormat(uniq, headings=formatter.headings)
    queue_filter = set(queues) if queues else None
    if not queues:
        conf_queues = (config or {}).get("queues") or {}
        queues = [q for q in conf_queues if q not in hidden] or [None]
    lines: dict[str, ListLine] = {}

    def put(line: ListLine) -> None:
        key = keyfmt.format(line)
        if key in lines:
            lines[key].add(line)
        else:
            lines[key] = line

    for state in states:
        if not resources[state].ranks:
            for queue in queues:
                put(ListLine(state=state, config=config, queue=queue))
            continue
        for rset in _by_property_combinations(resources[state]):
            if rset.ranks:
                put(ListLine(rset, state, config, None, queue_filter, hidden))
    pos = {state: i for i, state in enumerate(states)}
    return sorted(
        lines.values(),
        key=lambda x: (pos[x.state], x.rset.ranks.first() if x.rset.ranks else -1),
    )


def get_resources(args: argparse.Namespace) -> tuple[Any, dict[str, Any] | None]:
    """The scheduler's sets (``--from-stdin`` reads them as JSON) and the instance config,
    restricted by ``-q`` and ``-i``.  Exits 1 on an unknown state."""
    from flux.cmd.resource_status import apply_filters
    from flux.resource.list import SchedResourceList, resource_list

    args.states = args.states.split(",")
    for state in args.states:
        if state not in LIST_STATES:
            print(f"{PROG}: ERROR: Invalid resource state {state} specified", file=sys.stderr)
            raise SystemExit(1)
    config = None
    if getattr(args, "from_stdin", False):
        resources = SchedResourceList(json.load(sys.stdin))
        if getattr(args, "config_file", None):
            with open(args.config_file) as fp:
                config = json.load(fp)
    else:
        import flux

        handle = flux.Flux()
        rpcs = [resource_list(handle), handle.rpc("config.get")]
        resources = rpcs[0].get()
        try:
            config = rpcs[1].get()
        except OSError as exc:
            print(f"{PROG}: WARNING: Could not get flux config: {exc}", file=sys.stderr)
    apply_filters(resources, resources.all, config or {}, args)
    return resources, config


def list_handler(args: argparse.Namespace) -> int:
    """``flux resource list``."""
    from flux.cmd.resource_status import ResourceConfig
    from flux.util.output import OutputFormat

    resources, config = get_resources(args)
    list_config = ResourceConfig("list").load()
    fmt = list_config.get_format_string(args.format)
    formatter = OutputFormat(fmt, headings=LIST_HEADINGS)
    hidden = set(list_config.config.get("hidden-queues", []))
    items = uniq_lines(resources, args.states, formatter, config, args.queue, hidden)
    if args.skip_empty or (args.include and not args.no_skip_empty):
        items = [x for x in items if x.rset.ranks]
    formatter.print_items(items, no_header=args.no_header)
    return 0


def info(args: argparse.Namespace) -> int:
    """``flux resource info``: ``N Nodes, M Cores, G GPUs``."""
    if not args.states:
        args.states = "all"
    args.no_header = True
    args.format = "{nnodes} Nodes, {ncores} Cores, {ngpus} GPUs"
    return list_handler(args)


def emit_R(args: argparse.Namespace) -> int:
    """``flux resource R``: the union of the states' sets as R."""
    from flux.resource.ResourceSet import ResourceSet

    resources, _ = get_resources(args)
    rset = ResourceSet()
    rset.starttime = resources["all"].starttime
    rset.expiration = resources["all"].expiration
    for state in args.states:
        rset.add(resources[state])
    print(rset.encode())
    return 0
