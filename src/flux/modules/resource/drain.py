"""Drain and undrain (flux-core's resource module drain.c semantics), rank 0, owner only.

* ``resource.drain {targets, reason?, mode?}`` and ``resource.undrain {targets, reason?,
  mode?}``: targets are an idset or a hostlist of the instance's R; mode is absent
  (fail if a target is already drained with a reason / not drained), ``update`` (leave
  existing reasons and timestamps), ``overwrite`` (replace the reason) or
  ``force-overwrite`` (replace reason and timestamp).
* A drained rank is down for the scheduler (no new job); a job running there goes on,
  and the rank shows ``draining`` until it is idle (computed by the client from the
  allocated ranks).
* Every drain/undrain is an entry of the resource eventlog (``drain {idset, nodelist,
  reason?, overwrite}``, ``undrain {idset, nodelist, reason?, overwrite}``). With a
  statedir the entries are also appended to ``STATEDIR/resource.eventlog`` (JSON lines)
  and replayed when the instance restarts, so drain state survives a restart.
"""

from __future__ import annotations

import errno
import os
import time
from typing import TYPE_CHECKING, Any

import orjson

from flux.idset import IDset

if TYPE_CHECKING:
    from flux.broker.message import Request
    from flux.modules.resource import Resource

MODES = {None: 0, "update": 0, "overwrite": 1, "force-overwrite": 2}


class DrainError(Exception):
    def __init__(self, errnum: int, msg: str) -> None:
        super().__init__(msg)
        self.errnum = errnum


def _plural(ids: IDset) -> str:
    return "s" if len(ids) > 1 else ""


class Drain:
    """Per-rank drain state: ``info[rank] = [timestamp, reason or None]``."""

    def __init__(self, resource: Resource) -> None:
        self.resource = resource
        self.broker = resource.broker
        self.info: dict[int, list] = {}
        statedir = getattr(self.broker, "statedir", None)
        self.path = os.path.join(statedir, "resource.eventlog") if statedir else None

    # -- state -----------------------------------------------------------------------
    @property
    def ranks(self) -> IDset:
        return IDset(sorted(self.info))

    def status(self) -> dict[str, dict[str, Any]]:
        """``{IDSET: {timestamp, reason}}`` grouping ranks that share both (resource.status)."""
        groups: dict[tuple[float, str], list[int]] = {}
        for rank in sorted(self.info):
            ts, reason = self.info[rank]
            groups.setdefault((round(ts), reason or ""), []).append(rank)
        return {
            str(IDset(ranks)): {"timestamp": ts, "reason": reason}
            for (ts, reason), ranks in groups.items()
        }

    def _size(self) -> int:
        ranks = self.resource.ranks
        return (max(ranks) + 1) if len(ranks) else 0

    def targets(self, targets: Any) -> IDset:
        """The ranks named by an idset or a hostlist (DrainError EINVAL if invalid)."""
        if not isinstance(targets, str):
            raise DrainError(errno.EPROTO, "invalid targets")
        try:
            ids = IDset(targets)
        except ValueError:
            from flux.hostlist import Hostlist

            try:
                hosts = list(Hostlist(targets))
            except (ValueError, TypeError):
                raise DrainError(
                    errno.EINVAL, "invalid targets: Hostlist cannot be decoded"
                ) from None
            names = self.resource.hostnames()
            known = set(names.values())
            missing = [h for h in hosts if h not in known]
            if missing:
                raise DrainError(
                    errno.EINVAL, f"invalid targets: invalid hosts: {Hostlist(missing)}"
                ) from None
            want = set(hosts)
            ids = IDset(r for r, h in names.items() if h in want)
        if not len(ids):
            raise DrainError(errno.EINVAL, "idset is empty")
        if max(ids) >= self._size():
            raise DrainError(errno.EINVAL, "idset is out of range")
        return ids

    def _nodelist(self, ids: IDset) -> str:
        from flux.hostlist import Hostlist

        names = self.resource.hostnames()
        return str(Hostlist([names[r] for r in ids if r in names]))

    def _apply(self, name: str, ctx: dict[str, Any], timestamp: float) -> None:
        ids = IDset(ctx["idset"])
        overwrite = int(ctx.get("overwrite", 0))
        reason = ctx.get("reason")
        if name == "drain":
            for r in ids:
                cur = self.info.get(r)
                if cur is not None and cur[1] and not overwrite:
                    continue
                if cur is None or overwrite == 2:
                    self.info[r] = [timestamp, reason]
                else:
                    cur[1] = reason
        else:
            for r in ids:
                self.info.pop(r, None)

    # -- persistence -----------------------------------------------------------------
    def replay(self) -> list[dict[str, Any]]:
        """Drain/undrain entries saved by an earlier run on this statedir (applied)."""
        if self.path is None or not os.path.exists(self.path):
            return []
        size = self._size()
        entries = []
        with open(self.path, "rb") as f:
            for line in f:
                try:
                    ent = orjson.loads(line)
                    name, ctx = ent["name"], ent["context"]
                    ids = IDset(ctx["idset"])
                except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
                    continue
                if name not in ("drain", "undrain"):
                    continue
                ctx["idset"] = str(IDset(r for r in ids if r < size))
                self._apply(name, ctx, float(ent.get("timestamp", time.time())))
                entries.append(ent)
        return entries

    def _save(self, entry: dict[str, Any]) -> None:
        if self.path is None:
            return
        with open(self.path, "ab") as f:
            f.write(orjson.dumps(entry) + b"\n")

    # -- requests --------------------------------------------------------------------
    def _parse(self, req: Request) -> tuple[IDset, str | None, str | None]:
        p = req.payload if isinstance(req.payload, dict) else {}
        mode = p.get("mode")
        reason = p.get("reason")
        if mode not in MODES:
            raise DrainError(errno.EINVAL, "Invalid mode specified")
        if reason is not None and not isinstance(reason, str):
            raise DrainError(errno.EPROTO, "invalid reason")
        return self.targets(p.get("targets")), reason, mode

    def drain_request(self, req: Request) -> None:
        try:
            ids, reason, mode = self._parse(req)
            overwrite = MODES[mode]
            if mode is None:
                drained = IDset(r for r in ids if r in self.info and self.info[r][1])
                excluded = IDset(r for r in ids if r in self.resource.exclude)
                if len(drained) or len(excluded):
                    bad = IDset(sorted(set(drained) | set(excluded)))
                    what = " or ".join(
                        w
                        for w, s in (("already drained", drained), ("excluded", excluded))
                        if len(s)
                    )
                    raise DrainError(
                        errno.EEXIST if len(drained) else errno.EINVAL,
                        f"rank{_plural(bad)} {bad} {what}",
                    )
        except DrainError as exc:
            req.respond_error(exc.errnum, str(exc))
            return
        ctx: dict[str, Any] = {"idset": str(ids), "nodelist": self._nodelist(ids)}
        if reason is not None:
            ctx["reason"] = reason
        ctx["overwrite"] = overwrite
        self._post("drain", ctx)
        self.broker.log(
            f"resource: drain idset={ids} nodelist={ctx['nodelist']} "
            f"overwrite={overwrite} reason={reason or ''}"
        )
        req.respond({})

    def undrain_request(self, req: Request) -> None:
        try:
            ids, reason, mode = self._parse(req)
            overwrite = MODES[mode]
            if mode is None:
                bad = IDset(r for r in ids if r not in self.info)
                if len(bad):
                    raise DrainError(errno.EEXIST, f"rank{_plural(bad)} {bad} not drained")
            else:
                ids = IDset(r for r in ids if r in self.info)
        except DrainError as exc:
            req.respond_error(exc.errnum, str(exc))
            return
        if len(ids):
            ctx: dict[str, Any] = {"idset": str(ids), "nodelist": self._nodelist(ids)}
            if reason is not None:
                ctx["reason"] = reason
            ctx["overwrite"] = overwrite
            self._post("undrain", ctx)
            self.broker.log(f"resource: undrain idset={ids} nodelist={ctx['nodelist']}")
        req.respond({})

    def _post(self, name: str, ctx: dict[str, Any]) -> None:
        now = time.time()
        self._apply(name, ctx, now)
        entry = self.resource.post(name, ctx, timestamp=now)
        self._save(entry)
        self.resource.update_down()
