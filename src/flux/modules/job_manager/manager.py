"""The job-manager: job states, eventlogs, urgency and priority, jobtap, wait, raise.

``post_event`` is the one way a job changes: it applies the event, appends it to
the eventlog (memory and store), calls the jobtap stack, publishes it on the
journal, and then takes the action the job's state asks for (which may post more
events, processed in order through the job's FIFO).
"""

from __future__ import annotations

import errno
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import orjson

from flux.constants import (
    FLUX_JOB_PRIORITY_MAX,
    FLUX_JOB_URGENCY_EXPEDITE,
    FLUX_JOB_URGENCY_HOLD,
    FLUX_ROLE_OWNER,
    FLUX_ROLE_USER,
)
from flux.modules.job_manager import events as ev
from flux.modules.job_manager.job import (
    CLEANUP,
    DEPEND,
    FLAG_WAITABLE,
    INACTIVE,
    NEW,
    PRIORITY,
    RUN,
    SCHED,
    STATE_TOPIC,
    Job,
    job_env,
    last_event,
    posted_add,
)
from flux.modules.job_manager.jobtap import JobtapCore
from flux.modules.job_manager.requests import JobRequests

if TYPE_CHECKING:
    from flux.broker.broker import Broker
    from flux.broker.message import Request

USER = FLUX_ROLE_OWNER | FLUX_ROLE_USER
_dumps = orjson.dumps


class JobManager(JobRequests):
    def __init__(self, broker: Broker):
        self.broker = broker
        self.store = broker.store
        self.owner = broker.owner
        self.active: dict[int, Job] = {}
        self.journal_subs: list[Callable[[Job, dict], None]] = []
        self.watchers: dict[int, list[Callable[[Job, dict | None], None]]] = {}
        self.jobtap = JobtapCore(self, broker.plugin_searchpath())
        self.waiters: dict[int, list[Request]] = {}
        self.any_waiters: list[Request] = []
        self.zombies: dict[int, dict] = {}
        # the ids of the jobs that went inactive most recently (the journal's "full"
        # backlog). A value is None until a lookup rebuilds the job from the store:
        # holding the ended Job objects themselves would pin the allocator's arenas
        # (they were allocated while thousands of jobs waited) and keep the peak's
        # memory after a burst; an inactive job costs nothing here, it lives in the store
        self.max_inactive_cache = 100
        self.inactive_cache: OrderedDict[int, Job | None] = OrderedDict()
        self.stats = {"submitted": 0, "inactive": 0}
        self._last_info: tuple[dict, Any] | None = None  # see submit
        # reloaded SCHED jobs whose flux-restart is still to come (restart.py posts them
        # in slices once the broker serves; an event for one of them posts it first)
        self.unresumed: set[int] = set()
        # the highest id in ``active`` (None: to be computed again), for getinfo
        self._max_active: int | None = 0
        self._memory = getattr(broker, "memory", None)  # told of each job that ends
        reg = broker.register
        reg("job-manager.urgency", self.urgency_request, USER)
        reg("job-manager.raise", self.raise_request, USER)
        reg("job-manager.raiseall", self.raiseall_request, USER)
        reg("job-manager.kill", self.kill_request, USER)
        reg("job-manager.killall", self.killall_request, USER)
        reg("job-manager.wait", self.wait_request, FLUX_ROLE_OWNER)  # as flux-core
        reg("job-manager.getinfo", self.getinfo_request, USER)
        reg("job-manager.memo", self.memo_request, USER)
        from flux.modules.job_manager.jobtap_service import JobtapService

        self.jobtap_service = JobtapService(self)
        from flux.modules.job_manager.update import UpdateService

        self.update_service = UpdateService(self)
        from flux.modules.job_manager.queues import QueueManager

        self.queues = QueueManager(self)  # RFC 33 queue state; see queues.py
        from flux.modules.job_manager.purge import Purge

        self.purge = Purge(self)  # inactive job purge (RPCs and [job-manager] limits)
        from flux.modules.job_manager.journal import Journal

        self.journal = Journal(self)  # job-manager.events-journal

    # -- plumbing ----------------------------------------------------------------
    def log(self, msg: str) -> None:
        self.broker.log(msg)

    def journal_subscribe(self, cb: Callable[[Job, dict], None]) -> None:
        self.journal_subs.append(cb)

    def watch(self, jobid: int, cb: Callable[[Job, dict | None], None]) -> None:
        self.watchers.setdefault(jobid, []).append(cb)

    def unwatch(self, jobid: int, cb: Callable) -> None:
        lst = self.watchers.get(jobid)
        if lst and cb in lst:
            lst.remove(cb)
            if not lst:
                del self.watchers[jobid]

    # -- the one way to change a job -------------------------------------------------
    def post_event(self, job: Job, name: str, context: dict | None = None) -> None:
        entry: dict[str, Any] = {"timestamp": time.time(), "name": name}
        if context:
            entry["context"] = context
        self.post_entry(job, entry)

    def post_entry(self, job: Job, entry: dict) -> None:
        if self.unresumed and job.id in self.unresumed:
            self.resume(job)
            now = time.time()  # (its flux-restart came first: so does its time)
            if entry.get("timestamp", now) < now:
                entry["timestamp"] = now
        if job.processing:
            if job.evqueue is None:
                job.evqueue = []
            job.evqueue.append(entry)
            return
        job.processing = True
        try:
            self._process(job, entry)
            q = job.evqueue
            while q:
                self._process(job, q.pop(0))
        finally:
            job.processing = False
            if job.evqueue is not None and not job.evqueue:
                job.evqueue = None  # (an empty list per waiting job adds up)

    def _process(self, job: Job, entry: dict) -> None:
        if job.readonly:
            self.log(f"job {job.id}: dropping event {entry['name']}: eventlog is read-only")
            return
        prev = job.state
        try:
            ev.apply_event(job, entry)
        except (ev.EventError, KeyError, TypeError) as exc:
            self.log(f"job {job.id}: event {entry['name']} rejected: {exc}")
            return
        name = entry["name"]
        seq = job.seq
        job.seq = seq + 1
        self.store.append_event(job.id, seq, _dumps(entry))
        posted = job.events_posted
        if name not in posted:
            job.events_posted = posted_add(posted, name)
        if name == "jobspec-update":
            self._jobspec_updated(job, entry)
        elif name == "resource-update" and job.R is not None:
            self.store.set_R(job.id, _dumps(job.R))
            self.broker.exec.update_expiration(job)
        for cb in self.journal_subs:
            cb(job, entry)
        w = self.watchers.get(job.id)
        if w:
            for cb in list(w):
                cb(job, entry)
        if job.subscribers:
            self.jobtap_event(job, entry)
        state = job.state
        if state != prev:
            rc, out = self.jobtap.call(
                STATE_TOPIC[state], job, {"entry": entry, "prev_state": prev}
            )
            if out:
                self._state_out(job, state, rc, out)
        self._action(job, prev)

    def jobtap_event(self, job: Job, entry: dict) -> None:
        topic = "job.event." + entry["name"]
        for plugin in list(job.subscribers or ()):
            self.jobtap.call(topic, job, {"entry": entry}, only=plugin)

    def _jobspec_updated(self, job: Job, entry: dict) -> None:
        self.jobtap.call("job.update", job, {"updates": entry.get("context", {})})

    def _state_out(self, job: Job, state: int, rc: int, out: dict) -> None:
        if not out:
            return
        if state in (PRIORITY, SCHED):
            self._priority_from_out(job, out, STATE_TOPIC[state])
        if "annotations" in out:
            self.annotate(job, out["annotations"])
        if state == SCHED and "R" in out and job.R is None:
            R = out["R"]
            if isinstance(R, dict):
                job.R = R
                self.store.set_R(job.id, _dumps(R))

    def annotate(self, job: Job, annotations: Any) -> None:
        """Merge plugin annotations into the job's (journal only, not the eventlog)."""
        if annotations is None:
            changed = job.annotations is not None
            job.annotations = None
        elif isinstance(annotations, dict):
            cur = dict(job.annotations or {})
            _merge_annotations(cur, annotations)
            changed = cur != (job.annotations or {})
            job.annotations = cur or None
        else:
            self.log(f"job {job.id}: ignoring annotations that are not an object")
            return
        if changed:
            entry = {
                "timestamp": time.time(),
                "name": "annotations",
                "context": {"annotations": job.annotations},
            }
            for cb in self.journal_subs:
                cb(job, entry)

    def _priority_from_out(self, job: Job, out: dict, topic: str) -> None:
        """A state callback's ``priority`` out-arg: an integer >= 0 reprioritizes the job
        (hold and expedite still force 0 and the maximum); -2 (unavailable) or any other
        negative value leaves the job where it is, waiting for a later reprioritize."""
        if "priority" not in out:
            return
        prio = out["priority"]
        if not isinstance(prio, int) or isinstance(prio, bool):
            self.post_event(
                job,
                "exception",
                {
                    "type": topic,
                    "severity": 4,
                    "note": f"arg_unpack: priority must be an integer (job may be stuck in "
                    f"{'PRIORITY' if job.state == PRIORITY else 'SCHED'} state)",
                    "userid": self.owner,
                },
            )
            return
        if prio >= 0:
            self.reprioritize(job, prio)

    def reprioritize(self, job: Job, prio: int) -> None:
        if job.state not in (PRIORITY, SCHED):
            return
        if job.urgency == FLUX_JOB_URGENCY_HOLD:
            prio = 0
        elif job.urgency == FLUX_JOB_URGENCY_EXPEDITE:
            prio = FLUX_JOB_PRIORITY_MAX
        prio = max(0, min(FLUX_JOB_PRIORITY_MAX, prio))
        if job.state == SCHED and prio == job.priority:
            return
        self.post_event(job, "priority", {"priority": prio})

    def _action(self, job: Job, prev: int) -> None:
        state = job.state
        if state == SCHED:
            sched = self.broker.sched
            if "alloc-bypass" in job.set_flags:
                pass
            elif job.priority > 0:
                if (
                    not job.alloc_queued
                    and not job.has_resources
                    and job.queue in self.queues.started
                ):
                    job.alloc_queued = True
                    sched.enqueue(job)
                elif job.alloc_queued:
                    sched.reprioritize(job)
            elif job.alloc_queued:
                job.alloc_queued = False
                sched.dequeue(job)
        elif state == DEPEND:
            if not job.deps and not job.depend_posted:
                job.depend_posted = True
                self.post_event(job, "depend")
        elif state == PRIORITY:
            if job.alloc_queued:
                job.alloc_queued = False
                self.broker.sched.dequeue(job)
        elif state == RUN:
            if (
                not job.start_pending
                and not job.finished
                and job.perilog_active == 0
                and not job.prolog_pending
                and "start" not in job.events_posted
            ):
                job.start_pending = True
                self.broker.exec.start(job)
        elif state == CLEANUP:
            if job.alloc_queued:
                job.alloc_queued = False
                self.broker.sched.dequeue(job)
            if job.start_pending and prev == RUN:
                self.broker.exec.kill_on_exception(job)
            if job.epilog_pending:
                return
            if (
                job.has_resources
                and not job.start_pending
                and job.perilog_active == 0
                and not job.free_posted
            ):
                if "alloc-bypass" not in job.set_flags:
                    self.broker.sched.free(job)
                self.post_event(job, "free")
                return
            if (
                not job.alloc_queued
                and not job.start_pending
                and not job.has_resources
                and job.perilog_active == 0
                and "clean" not in job.events_posted
            ):
                # the next job gets the freed resources before this one is cleaned up
                # (as flux-core's scheduler answers a free before the job-manager's clean)
                self.broker.sched.freed()
                self.post_event(job, "clean")
        elif state == INACTIVE and prev != INACTIVE:
            self._inactive(job)

    def _inactive(self, job: Job) -> None:
        self.active.pop(job.id, None)
        if not self.active:
            self.store.commit_soon()  # (the end of a burst: its waiters wait no longer)
        if self._memory is not None:
            self._memory.job_ended(len(self.active))
        self.store.set_inactive(job.id)
        self.stats["inactive"] += 1
        self.jobtap.call("job.inactive-add", job)
        self.jobtap.call("job.destroy", job)
        job.aux = None
        job.subscribers = None
        cache = self.inactive_cache
        cache[job.id] = None
        if len(cache) > self.max_inactive_cache:
            cache.popitem(last=False)
        w = self.watchers.pop(job.id, None)
        if w:
            for cb in w:
                cb(job, None)
        if job.flags & FLAG_WAITABLE:
            result = self.wait_result(job)
            waiters = self.waiters.pop(job.id, None)
            if waiters:
                for req in waiters:
                    req.respond(result)
            elif self.any_waiters and self._owner_any_waiter(job, result):
                pass
            else:
                self.zombies[job.id] = result

    def _owner_any_waiter(self, job: Job, result: dict) -> bool:
        for req in self.any_waiters:
            if req.userid == job.userid:
                self.any_waiters.remove(req)
                req.respond(result)
                return True
        return False

    # -- submission (called by job-ingest) -----------------------------------------
    def submit(
        self, jobid: int, userid: int, jobspec: dict, info: Any, urgency: int, flags: int
    ) -> Job | str:
        """Create a job; return it, or an error message if a plugin rejected it.
        A rejected job leaves no trace: events that plugins post while it is being
        validated are held back and posted after its submit event."""
        job = Job(jobid, userid, jobspec, info)
        last = self._last_info
        if last is not None and last[0] is job.jobspec:
            # a copy of the previous job (flux submit --cc, which differ in their
            # environment only): share its summary, as Job() shares the redacted
            # jobspec (never changed in place: a jobspec-update builds new ones), and
            # with it the scheduler's request (see Sched.feasible_request)
            info = job.info = last[1]
        else:
            self._last_info = (job.jobspec, info)
        now = time.time()
        job.urgency = urgency
        job.flags = flags
        job.t_submit = now
        job.processing = True
        err = self._validate_new(job, info)
        if err is not None:
            self.jobtap.call("job.destroy", job)
            return err
        self.active[jobid] = job
        if self._max_active is not None and jobid > self._max_active:
            self._max_active = jobid
        self.stats["submitted"] += 1
        self.store.add_job(jobid, userid, _dumps(jobspec))
        held, job.evqueue = job.evqueue, None
        job.processing = False
        job.evqueue = held
        self.post_entry(
            job,
            {
                "timestamp": now,
                "name": "submit",
                "context": {"userid": userid, "urgency": urgency, "flags": flags, "version": 1},
            },
        )
        rc, out = self.jobtap.call("job.new", job)
        if out and "annotations" in out:
            self.annotate(job, out["annotations"])
        return job

    def _validate_new(self, job: Job, info: Any) -> str | None:
        rc, out = self.jobtap.call("job.create", job)
        if rc < 0:
            return out.get("errmsg") or "rejected by job-manager plugin"
        rc, out = self.jobtap.call("job.validate", job)
        if rc < 0:
            return out.get("errmsg") or "rejected by job-manager plugin"
        for dep in info.dependencies or ():
            err = self._dependency_check(job, dep)
            if err:
                return err
        # a request that can never fit is refused now, after the policy checks had
        # their say (their messages are the more useful ones)
        job.sched_req, err = self.broker.sched.feasible_request(info)
        return err

    def _dependency_check(self, job: Job, dep: Any) -> str | None:
        if not isinstance(dep, dict) or "scheme" not in dep:
            return "dependency missing scheme"
        scheme = dep["scheme"]
        topic = f"job.dependency.{scheme}"
        if not self.jobtap.has_handlers(topic):
            return f'dependency scheme "{scheme}" not supported'
        rc, out = self.jobtap.call(topic, job, {"dependency": dep})
        if rc < 0:
            return out.get("errmsg") or "rejected by job-manager dependency plugin"
        return None

    def forget_new(self, job: Job) -> None:
        """Drop a new job whose submission could not be stored (disk fault): as if it
        had been rejected; nobody was told its id."""
        if self.active.get(job.id) is not job:
            return
        del self.active[job.id]
        if job.id == self._max_active:
            self._max_active = None
        self.stats["submitted"] -= 1
        for cb in self.watchers.pop(job.id, None) or ():
            cb(job, None)  # (ends the stream)
        self.jobtap.call("job.destroy", job)
        if self.broker.job_list is not None:
            self.broker.job_list.remove(job.id)

    def accepted(self, job: Job) -> None:
        """The job's submit event is on disk: let it move on."""
        if job.state == NEW and not job.readonly:
            self.post_event(job, "validate")

    # -- lookups -------------------------------------------------------------------
    def lookup(self, req: Request, jobid: Any, einval_inactive: bool = False) -> Job | None:
        """Find an active job or respond with flux-core's error; None if responded."""
        if not isinstance(jobid, int) or isinstance(jobid, bool):
            req.respond_error(errno.EPROTO, "invalid request: id must be an integer")
            return None
        job = self.active.get(jobid)
        if job is None:
            err = errno.EINVAL if einval_inactive else errno.ENOENT
            if self.broker.job_exists(jobid):
                req.respond_error(
                    errno.EINVAL if einval_inactive else errno.EINVAL, "job is inactive"
                )
            else:
                req.respond_error(err, "unknown job id" if not einval_inactive else "unknown job")
            return None
        return job

    def original_jobspec(self, jobid: int) -> dict | None:
        """The jobspec as submitted, environment included (from the store)."""
        row = self.store.job_row(jobid)
        if row is None:
            self.store.flush()
            row = self.store.job_row(jobid)
        return None if row is None else orjson.loads(row[1])

    def job_environment(self, job: Job) -> dict:
        """The environment a job was submitted with (a copy the caller may change)."""
        if job.env is not None:
            return job_env(job.env)
        js = self.original_jobspec(job.id) or {}
        env = js.get("attributes", {}).get("system", {}).get("environment")
        return dict(env) if isinstance(env, dict) else {}

    def full_jobspec(self, job: Job) -> dict:
        """The current jobspec with the submitted environment (what `flux job info` shows)."""
        env = self.job_environment(job)
        js = job.jobspec
        if not env:
            return js
        attrs = js.get("attributes", {})
        system = dict(attrs.get("system", {}), environment=env)
        return dict(js, attributes=dict(attrs, system=system))

    def lookup_any(self, jobid: int) -> Job | None:
        """An active job, a recently inactive one, or one rebuilt from the store."""
        job = self.active.get(jobid) or self.inactive_cache.get(jobid)
        if job is not None:
            return job
        row = self.store.job_row(jobid)
        if row is None:
            self.store.flush()  # commit only on a miss (the job may still be queued)
            row = self.store.job_row(jobid)
        if row is None:
            return None
        import orjson

        from flux.job.Jobspec import validate_jobspec

        userid, jobspec_b, R_b, _inactive = row
        jobspec = orjson.loads(jobspec_b)
        try:
            info = validate_jobspec(jobspec)
        except (ValueError, TypeError, KeyError):
            info = None
        job = Job(jobid, userid, jobspec, info)
        # what the job-manager applied: the queued writes of the next commit included
        # (a job that just ended is rebuilt without forcing a commit)
        self.restore(job, [orjson.loads(e) for e in self.store.eventlog(jobid, queued=True)])
        R_b = self.store.queued_R(jobid) or R_b
        if R_b is not None:
            job.R = orjson.loads(R_b)
        if job.state == INACTIVE:
            self.inactive_cache[jobid] = job
            if len(self.inactive_cache) > self.max_inactive_cache:
                self.inactive_cache.popitem(last=False)
        return job

    def getinfo_request(self, req: Request) -> None:
        """flux-core's ``max_jobid`` (the highest id ever submitted, purged jobs
        included), with this implementation's counters beside it."""
        if self._max_active is None:
            self._max_active = max(self.active, default=0)
        max_jobid = max(self.store.max_jobid(), self._max_active)
        req.respond(
            {
                "max_jobid": max_jobid,
                "active": len(self.active),
                "submitted": self.stats["submitted"],
                "inactive": self.stats["inactive"],
            }
        )

    def disconnected(self, conn: Any) -> None:
        self.any_waiters = [r for r in self.any_waiters if r.conn is not conn]
        for jobid in list(self.waiters):
            lst = [r for r in self.waiters[jobid] if r.conn is not conn]
            if lst:
                self.waiters[jobid] = lst
            else:
                del self.waiters[jobid]

    # -- jobtap plumbing used by flux.jobtap ----------------------------------------------
    def flush_plugin_updates(self, job: Job) -> None:
        updates, job.pending_updates = job.pending_updates, None
        if updates:
            self.post_event(job, "jobspec-update", updates)

    def plugin_removed(self, plugin: Any) -> None:
        for job in self.active.values():
            if job.aux and plugin in job.aux:
                del job.aux[plugin]
            if job.subscribers and plugin in job.subscribers:
                job.subscribers.discard(plugin)

    # -- restart -----------------------------------------------------------------------------
    def restore(self, job: Job, entries: list[dict]) -> None:
        """Rebuild a job from its stored eventlog (no actions, no plugins)."""
        for entry in entries:
            try:
                ev.apply_event(job, entry)
            except (ev.EventError, KeyError, TypeError) as exc:
                self.log(f"job {job.id}: replay of {entry.get('name')} failed: {exc}")
            job.seq += 1
            job.events_posted = posted_add(job.events_posted, entry["name"])

    def eventlog(self, job: Job) -> list[dict]:
        """A job's eventlog, from the store (entries not committed yet included)."""
        return [orjson.loads(raw) for raw in self.store.eventlog(job.id, queued=True)]

    def last_event(self, job: Job, name: str) -> dict:
        """The job's most recent event called ``name``."""
        return last_event(self.eventlog(job), name)

    def restart_active(self, job: Job, defer: bool = False) -> None:
        """Bring a reloaded active job back into motion (``defer``: a SCHED job's
        flux-restart waits for :meth:`resume`)."""
        self.active[job.id] = job
        self._max_active = None
        self.jobtap.call("job.create", job)
        self.jobtap.call("job.new", job)
        state = job.state
        if state == NEW:
            self.post_event(job, "validate")
        elif state == DEPEND:
            for dep in (job.info.dependencies if job.info is not None else None) or ():
                err = self._dependency_check(job, dep)
                if err:
                    # not fatal: loading the plugin that handles the scheme releases it
                    self.raise_exception(
                        job, "dependency", 4, f"{err} (job may be stuck in DEPEND state)"
                    )
                    return
            self._action(job, NEW)
        elif state == PRIORITY:
            rc, out = self.jobtap.call(
                STATE_TOPIC[PRIORITY],
                job,
                {"prev_state": DEPEND, "entry": self.last_event(job, "depend")},
            )
            self._state_out(job, PRIORITY, rc, out)
        elif state == SCHED:
            self.unresumed.add(job.id)
            if not defer:
                self.resume(job)
        elif state == RUN:
            if job.R is not None and "alloc-bypass" not in job.set_flags:
                self.broker.sched.mark_allocated(job)
            self.broker.exec.reattach(job)
        elif state == CLEANUP:
            if job.has_resources and job.R is not None and "alloc-bypass" not in job.set_flags:
                self.broker.sched.mark_allocated(job)
            if job.start_pending:
                job.start_pending = False
            if "start" in job.events_posted and "release" not in job.events_posted:
                job.start_pending = False
            self._action(job, CLEANUP)

    def resume(self, job: Job) -> None:
        """Post the flux-restart of a reloaded SCHED job: back to PRIORITY, where its
        priority is computed again (flux-core resets it first, so that the ``priority``
        event is posted even when the value is unchanged)."""
        self.unresumed.discard(job.id)
        if job.state == SCHED and self.active.get(job.id) is job:
            job.priority = -1
            self.post_event(job, "flux-restart")


def _merge_annotations(dst: dict, src: dict) -> None:
    for k, v in src.items():
        if v is None:
            dst.pop(k, None)
        elif isinstance(v, dict) and isinstance(dst.get(k), dict):
            sub = dict(dst[k])
            _merge_annotations(sub, v)
            if sub:
                dst[k] = sub
            else:
                dst.pop(k, None)
        else:
            dst[k] = v
