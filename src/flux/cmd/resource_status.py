"""``flux resource status`` and the listing form of ``flux resource drain``.

One line per state (avail, exclude, allocated, torpid, housekeeping, draining,
drained) and up/down, lines with equal fields merged (their ranks and nodes
joined), printed through a format string (``-o``; named formats ``default`` and
``long`` for status, ``default`` and ``long`` for drain, more from
``flux-resource.toml``).  Fields: state statex nnodes ranks nodelist reason
timestamp status up up.ascii color_up color_off.
"""

from __future__ import annotations

import argparse
import json
import sys

from flux.util.config import UtilConfig

TYPE_CHECKING = False  # (typing costs a command milliseconds to import; hints only)
if TYPE_CHECKING:
    from typing import Any

PROG = "flux-resource"

STATUS_STATES = [
    "all",
    "online",
    "avail",
    "offline",
    "exclude",
    "drain",
    "draining",
    "drained",
    "torpid",
    "allocated",
    "housekeeping",
]
STATUS_DEFAULT = "avail,exclude,draining,drained,torpid,housekeeping"

STATUS_HEADINGS = {
    "state": "STATE",
    "statex": "STATE",
    "nnodes": "NNODES",
    "ranks": "RANKS",
    "nodelist": "NODELIST",
    "reason": "REASON",
    "timestamp": "TIME",
    "status": "STATUS",
    "up": "UP",
    "up.ascii": "UP",
    "color_up": "",
    "color_off": "",
}


class ResourceConfig(UtilConfig):
    """``flux-resource.toml`` (``[status|list|drain].formats``, ``list.hidden-queues``)
    over the built-in named formats."""

    builtin_formats: dict[str, Any] = {
        "status": {
            "default": {
                "description": "Default flux-resource status format string",
                "format": "{state:>12} {color_up}{up:>2}{color_off} {nnodes:>6} {nodelist}",
            },
            "long": {
                "description": "Long flux-resource status format string",
                "format": "{state:>12} {color_up}{up:>2}{color_off} {nnodes:>6} "
                "+:{reason:<30.30} {nodelist}",
            },
        },
        "drain": {
            "long": {
                "description": "Long flux-resource drain format string",
                "format": "{timestamp!d:%b%d %R::<12} {state:<8.8} {ranks:<8.8+} "
                "+:{reason:<30.30} {nodelist}",
            },
            "default": {
                "description": "Default flux-resource drain format string",
                "format": "{timestamp!d:%b%d %R::<12} {state:<8.8} {reason:<30.30+} {nodelist}",
            },
        },
        "list": {
            "default": {
                "description": "Default flux-resource list format string",
                "format": "{state:>10} ?+:{queue:<5} ?:{propertiesx:<10.10+} {nnodes:>6} "
                "+:{ncores:>6} ?+:{ngpus:>5} {nodelist}",
            },
            "rlist": {
                "description": "Format including resource list details",
                "format": "{state:>10} ?+:{queue:<5} ?:{propertiesx:<10.10+} {nnodes:>6} "
                "+:{ncores:>6} ?:+{ngpus:>5} {rlist}",
            },
        },
    }

    def __init__(self, subcommand: str) -> None:
        initial = {key: {"formats": value} for key, value in self.builtin_formats.items()}
        super().__init__(name="flux-resource", subcommand=subcommand, initial_dict=initial)

    def validate(self, path: str, conf: dict[str, Any]) -> None:
        for key, value in conf.items():
            if key not in ("status", "list", "drain"):
                raise ValueError(f"{path}: invalid key {key}")
            for key2, val2 in value.items():
                if key2 == "formats":
                    self.validate_formats(path, val2)
                elif key == "list" and key2 == "hidden-queues":
                    if not isinstance(val2, list) or not all(isinstance(q, str) for q in val2):
                        raise ValueError(f"{path}: list.hidden-queues must be a list of strings")
                else:
                    raise ValueError(f"{path}: invalid key {key}.{key2}")


class StatusLine:
    """One ``flux resource status`` line: a state, up or down, its ranks and hosts."""

    def __init__(
        self,
        state: str,
        online: bool,
        ranks: Any,
        hosts: Any,
        reason: str = "",
        timestamp: Any = "",
    ) -> None:
        from flux.hostlist import Hostlist
        from flux.idset import IDset

        self._state = state
        self._online = online
        self.hostlist = Hostlist(hosts)
        self._ranks = IDset(ranks)
        self.reason = reason
        self.timestamp = timestamp

    def update(self, ranks: Any, hosts: Any) -> None:
        self._ranks.add(ranks)
        self.hostlist.append(hosts)
        self.hostlist.sort()

    @property
    def statex(self) -> str:
        return self._state

    @property
    def state(self) -> str:
        return self._state if self._online else self._state + "*"

    @property
    def offline(self) -> bool:
        return not self._online

    @property
    def status(self) -> str:
        return "online" if self._online else "offline"

    @property
    def color_up(self) -> str:
        return "\033[01;32m" if self._online else "\033[01;31m"

    @property
    def color_off(self) -> str:
        return "\033[0;0m"

    @property
    def up(self) -> Any:
        from flux.util.output import AltField

        return AltField("\u2714", "y") if self._online else AltField("\u2717", "n")

    @property
    def nodelist(self) -> str:
        return str(self.hostlist)

    @property
    def ranks(self) -> str:
        return str(self._ranks)

    @property
    def nnodes(self) -> int:
        return len(self.hostlist)


def _excluded(online: bool, with_online: bool, with_offline: bool) -> bool:
    return not ((online and with_online) or (not online and with_offline))


def status_lines(
    rstatus: Any, states: list[str], formatter: Any, with_online: bool, with_offline: bool
) -> list[StatusLine]:
    """The merged lines of ``states`` (the ones drained show their reason and time)."""
    from flux.util.tree import Deduplicator

    result = Deduplicator(
        formatter=formatter,
        except_fields=["nodelist", "ranks", "nnodes"],
        combine=lambda line, new: line.update(new.ranks, new.hostlist),
    )
    wanted = set(states)
    for state in ("avail", "exclude", "allocated", "torpid", "housekeeping"):
        if not wanted & {state, "all"}:
            continue
        for online in (True, False):
            if _excluded(online, with_online, with_offline):
                continue
            ranks = rstatus[state].intersect(rstatus["online" if online else "offline"])
            result.append(StatusLine(state, online, ranks, rstatus.nodelist[ranks]))
    for state in ("draining", "drained"):
        if not wanted & {state, "all"}:
            continue
        ranks = rstatus[state]
        if not ranks and not _excluded(True, with_online, with_offline):
            result.append(StatusLine(state, True, "", ""))
        for rank in ranks:
            online = rank in rstatus.online
            if _excluded(online, with_online, with_offline):
                continue
            info = rstatus.get_drain_info(rank)
            result.append(
                StatusLine(
                    state,
                    online,
                    rank,
                    rstatus.nodelist[rank],
                    reason=info.reason if info else "",
                    timestamp=info.timestamp if info else "",
                )
            )
    return list(result)


def _state_list(arg: str | None) -> list[str]:
    states = (arg or STATUS_DEFAULT).split(",")
    for state in states:
        if state not in STATUS_STATES:
            print(f"{PROG}: ERROR: Invalid resource state {state} specified", file=sys.stderr)
            print(f"{PROG}: valid states: {','.join(STATUS_STATES)}", file=sys.stderr)
            raise SystemExit(1)
    # online/offline alone select up/down lines of the default states
    if not [s for s in states if s not in ("online", "offline")]:
        states.extend(STATUS_DEFAULT.split(","))
    if "drain" in states:
        states.remove("drain")
        states.extend(("draining", "drained"))
    return states


def ranks_by_queue(rset: Any, config: dict[str, Any], queues: Any) -> Any:
    """The ranks of the named queues (``requires`` properties of ``[queues.NAME]``)."""
    from flux.idset import IDset

    conf_queues = (config or {}).get("queues") or {}
    ranks = IDset()
    for queue in queues:
        if queue not in conf_queues:
            raise ValueError(f"{queue}: no such queue")
        requires = conf_queues[queue].get("requires")
        sub = rset.copy_constraint({"properties": requires}) if requires else rset
        ranks.add(sub.ranks)
    return ranks


def apply_filters(resources: Any, rset: Any, config: dict, args: Any) -> None:
    """Restrict ``resources`` (status or list) to ``--queue`` (its ranks in ``rset``
    by ``config``) and ``--include``; ValueError naming the option on bad input."""
    if args.queue:
        try:
            resources.filter(ranks_by_queue(rset, config, args.queue))
        except ValueError as exc:
            raise ValueError(f"--queue: {exc}") from None
    if args.include:
        try:
            resources.filter(args.include)
        except (ValueError, TypeError) as exc:
            raise ValueError(f"--include: {exc}") from None


def status(args: argparse.Namespace) -> int:
    """Print the status lines of ``args`` (format, states, include, queue, ...)."""
    import flux
    from flux.resource.status import ResourceStatus, resource_status
    from flux.util.output import OutputFormat

    if args.states == "help":
        print(f"{PROG}: valid states: {','.join(STATUS_STATES)}", file=sys.stderr)
        return 0
    states = _state_list(args.states)
    fmt = ResourceConfig("status").load().get_format_string(args.format)
    handle = None
    if getattr(args, "from_stdin", False):
        text = sys.stdin.read()
        rstatus = ResourceStatus(json.loads(text) if text else None)
    else:
        handle = flux.Flux()
        rstatus = resource_status(handle).get()
    if args.queue:
        config: dict[str, Any] = {}
        if getattr(args, "config_file", None):
            with open(args.config_file) as fp:
                config = json.load(fp)
        elif handle is not None:
            config = handle.rpc("config.get").get()
    apply_filters(rstatus, rstatus.rset, config if args.queue else {}, args)
    formatter = OutputFormat(fmt, headings=STATUS_HEADINGS)
    if not args.color.enabled:
        formatter = formatter.copy(except_fields=["color_up", "color_off"])
    skip_empty = args.skip_empty or not args.states
    skip_empty_offline = "offline" not in states
    with_online = "online" in states or "offline" not in states
    with_offline = "offline" in states or "online" not in states
    # a node shown as draining/drained is not listed as torpid too
    for drain_state in ("draining", "drained"):
        if "all" in states or drain_state in states:
            rstatus.torpid = rstatus.torpid - rstatus.get_idset(drain_state)
    lines = []
    for line in status_lines(rstatus, states, formatter, with_online, with_offline):
        if line.nnodes == 0 and (skip_empty or (line.offline and skip_empty_offline)):
            continue
        lines.append(line)
    formatter.print_items(lines, no_header=args.no_header)
    return 0


def drain_list(args: argparse.Namespace) -> int:
    """``flux resource drain`` without targets: the drained and draining nodes."""
    args.format = ResourceConfig("drain").load().get_format_string(args.format)
    args.from_stdin = False
    args.config_file = None
    args.states = "drain"
    args.skip_empty = True
    return status(args)
