"""Node loss and rejoin at rank 0 (flux-core: broker.online group -> resource monitor).

A broker's parent that loses it (send failure, or a goodbye) reports the child's whole
subtree offline up the tree; a broker that says hello to its parent is reported
online. At rank 0 :func:`membership` turns the report into:

* the log line ``dead to Flux: HOSTS (rank IDS)`` (err) for ranks going offline;
* resource ``offline {idset}`` / ``online {idset}`` events, and the scheduler's down set;
* for every job holding resources on a lost rank, the fatal exception
  ``type="exec" severity=0 note="node failure on HOST (rank R)"`` (once per job).

:func:`torpid` marks a broker torpid or lively (flux.broker.liveness).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flux.idset import IDset

if TYPE_CHECKING:
    from flux.broker.broker import Broker


def _job_ranks(R: Any) -> set[int]:
    out: set[int] = set()
    for ent in (R or {}).get("execution", {}).get("R_lite", []):
        try:
            out.update(IDset(ent["rank"]))
        except (KeyError, TypeError, ValueError):
            continue
    return out


def membership(broker: Broker, online: list[int], offline: list[int]) -> None:
    """Rank 0: brokers ``online`` joined, brokers ``offline`` left the instance."""
    resource = getattr(broker, "resource", None)
    if resource is None:
        return
    hosts = broker.boot.hostlist

    def host(r: int) -> str:
        return hosts[r] if 0 <= r < len(hosts) else str(r)

    if offline:
        ids = IDset(sorted(set(offline)))
        from flux.hostlist import Hostlist

        broker.log(f"dead to Flux: {Hostlist([host(r) for r in ids])} (rank {ids})", "err")
        resource.set_offline(ids, True)
        resource.set_torpid(ids, False)  # gone is not torpid
        jm = getattr(broker, "job_manager", None)
        if jm is not None:
            from flux.modules.job_manager.job import RUN

            lost = set(ids)
            for job in list(jm.active.values()):
                if job.state != RUN or job.end_event is not None:
                    continue
                hit = sorted(_job_ranks(job.R) & lost)
                if hit:
                    note = f"node failure on {host(hit[0])} (rank {hit[0]})"
                    jm.raise_exception(job, "exec", 0, note)
    if online:
        resource.set_offline(IDset(sorted(set(online))), False)


def torpid(broker: Broker, rank: int, flag: bool) -> None:
    """Rank 0: the broker ``rank`` stopped answering its parent (or answers again)."""
    resource = getattr(broker, "resource", None)
    if resource is not None:
        resource.set_torpid(IDset([rank]), flag)
