"""Follow many jobs at once: their state counts, exit codes and output.

flux-core's ``flux.job.watcher``: :class:`JobWatcher` is what ``flux submit --wait
--watch --progress``, ``flux bulksubmit`` and ``flux watch`` run; :class:`JobProgressBar`
is the bar they draw (``PD:`` pending, ``R:`` running, ``CD:`` complete, ``F:`` failed).
Everything runs from the handle's reactor: add jobs, then ``reactor_run()``.
"""

from __future__ import annotations

import os
import re
import sys
import time
from collections import Counter

from flux.progress import ProgressBar

TYPE_CHECKING = False  # (typing costs a command milliseconds to import; hints only)
if TYPE_CHECKING:
    from typing import Any, TextIO

__all__ = ["JobProgressBar", "JobStatus", "JobWatcher"]

# With a progress bar on screen, job output must not move the cursor, change the
# scroll region or clear the screen (colours are harmless and are kept).
_CURSOR_CONTROL = re.compile(
    r"\033\[[\d;]*[rHJfABCDt]"  # scroll region, positioning, erase, movement, window
    r"|\033\[\?[\d;]*[hl]"  # private modes (alternate screen...)
    r"|\033[78DMc]"  # save/restore cursor, index, reverse index, reset
)

_PENDING = ("DEPEND", "PRIORITY", "SCHED")
_RUNNING = ("RUN", "CLEANUP")
_FAILED = ("FAILED", "CANCELED", "TIMEOUT")
#: the events a journal-following JobWatcher acts on (see _on_event), its wait event aside
_JOURNAL_EVENTS = ("alloc", "clean", "exception", "finish", "start")


class JobStatus:
    """A job's simplified status (pending, running, complete or failed) and exit code,
    made from a :class:`flux.job.JobInfo`, plus a count of the events seen."""

    def __init__(self, job: Any):
        from flux.job.info import JobInfo

        if not isinstance(job, JobInfo):
            raise ValueError("JobStatus requires an object of type JobInfo")
        self.id = job.id
        self.status, self.exitcode = self._jobinfo_get_status_and_exitcode(job)
        self._events: Counter[str] = Counter()

    @staticmethod
    def _jobinfo_get_status_and_exitcode(job: Any) -> tuple[str, Any]:
        status = job.status
        if status in _PENDING:
            return "pending", 0
        if status in _RUNNING:
            return "running", 0
        if status == "COMPLETED":
            return "complete", 0
        if status in _FAILED:
            return "failed", job.returncode
        raise ValueError(f"unknown job status {status}")

    @property
    def active(self) -> bool:
        """True while the job is pending or running."""
        return self.status in ("pending", "running")

    @classmethod
    def _just_submitted(cls, jobid: Any, **attrs: Any) -> JobStatus:
        """The status of a job just submitted (pending, exit code 0), without the
        JobInfo that ``JobStatus()`` reads it from."""
        from flux.job.JobID import JobID

        st = cls.__new__(cls)
        st.id = JobID(jobid)
        st.status = "pending"
        st.exitcode = 0
        st._events = Counter()
        st.__dict__.update(attrs)
        return st

    def add_event(self, name: str) -> None:
        self._events[name] += 1

    def event_count(self, name: str) -> int:
        return self._events[name]

    def has_event(self, name: str) -> bool:
        return self._events[name] > 0


class JobProgressBar(ProgressBar):
    """A progress bar over a set of jobs: pending/running/complete/failed counts on the
    left, percent done and elapsed time (or jobs/s with ``jps``) on the right.

    Add jobs with :meth:`add_job`/:meth:`add_jobs`, feed their events to
    :meth:`process_event` (``event=None`` when a job is done being followed).
    """

    def __init__(
        self,
        flux_handle: Any,
        starttime: float | None = None,
        jps: bool = False,
        counter_width: int = 3,
        update_interval: float = 0.25,
    ):
        before = (
            "PD:{pending:<{width}} R:{running:<{width}} CD:{complete:<{width}} F:{failed:<{width}} "
        )
        after = "{percent:5.1f}% {jps:4.1f} job/s" if jps else "{percent:5.1f}% {elapsed.dt}"
        self.jobs: dict[Any, JobStatus] = {}
        self._finished_jobs: set[Any] = set()
        self._started = False
        self.starttime = starttime
        self.status: Counter[str] = Counter()
        timer = flux_handle.timer_watcher_create(
            0, lambda *_: self.redraw(), repeat=update_interval
        )
        super().__init__(
            timer=timer,
            total=0,
            width=counter_width,
            before=before,
            after=after,
            pending=0,
            running=0,
            complete=0,
            failed=0,
            jps=0,
        )

    def start(self) -> JobProgressBar:
        """Show the bar and start its redraw timer (which does not keep the reactor
        running by itself)."""
        if self._started:
            return self
        self._started = True
        self.timer.start()
        self.timer.unref()
        t0 = self._t0
        super().start()
        if self.starttime is not None:
            self._t0 = self.starttime
        elif t0 is not None:
            self._t0 = t0
        return self

    def stop(self) -> None:
        self.timer.stop()
        super().stop()

    def update(self) -> None:  # type: ignore[override]
        """Redraw with the current counts."""
        super().update(
            advance=0,
            pending=self.pending,
            running=self.running,
            complete=self.complete,
            failed=self.failed,
        )

    def advance(self, **kwargs: Any) -> None:
        """One more job done."""
        ProgressBar.update(self, advance=1, **kwargs)

    def add_job(self, job: Any) -> None:
        """Follow ``job`` (a JobInfo)."""
        from flux.job.info import JobInfo

        if not isinstance(job, JobInfo):
            raise ValueError("add_job takes an argument of type JobInfo")
        self._add_status(JobStatus(job), job.t_submit)

    def _add_status(self, status: JobStatus, t_submit: float) -> None:
        if status.id in self.jobs:
            raise ValueError(f"job {status.id} is already being monitored")
        if self._t0 is None or t_submit < self._t0:
            self._t0 = t_submit
        self.jobs[status.id] = status
        self.total += 1
        setattr(self, status.status, getattr(self, status.status) + 1)
        self.update()

    def add_jobs(self, *jobs: Any) -> None:
        for job in jobs:
            self.add_job(job)

    def jobs_per_sec(self) -> float:
        t0 = self._t0 if self._t0 is not None else time.time()
        return (self.count + 1) / max(time.time() - t0, 1e-6)

    def _move(self, job: JobStatus, new: str) -> None:
        if job.status in ("pending", "running"):
            setattr(self, job.status, getattr(self, job.status) - 1)
        setattr(self, new, getattr(self, new) + 1)
        job.status = new

    def process_event(self, jobid: Any, event: Any = None) -> None:
        """Account for ``event`` of ``jobid``; None means the job is done."""
        job = self.jobs[jobid]
        if event is None:
            if jobid not in self._finished_jobs:
                self._finished_jobs.add(jobid)
                self.advance(jps=self.jobs_per_sec())
        elif event.name == "alloc" and job.status == "pending":
            self._move(job, "running")
        elif event.name == "exception" and event.context.get("severity") == 0:
            # a running job will still get a finish event
            if job.status == "pending":
                self._move(job, "failed")
        elif event.name == "finish" and job.active:
            job.exitcode = event.context.get("status", 0)
            if job.status == "pending":
                self._move(job, "running")
            self._move(job, "complete" if job.exitcode == 0 else "failed")
        self.update()


class JobWatcher:
    """Follow the status, and optionally the output, of many jobs.

    ``wait`` is the event after which a job is no longer followed ("clean" by
    default; "exec.NAME" for an exec eventlog event); ``watch`` copies each job's
    output to ``stdout``/``stderr``; ``progress`` draws a :class:`JobProgressBar`.
    After ``reactor_run()``, ``exitcode`` is the largest exit code of the jobs
    (128+signal for a signaled job, 1 for a job that failed before starting).
    """

    class JobWatchStatus(JobStatus):
        """A JobStatus with where its output goes and the event that ends its watch."""

        def __init__(self, job: Any, stdout: Any, stderr: Any, wait: str = "clean"):
            super().__init__(job)
            self.stdout = stdout
            self.stderr = stderr
            self.wait = wait

    def __init__(
        self,
        flux_handle: Any,
        jobs: list[Any] | None = None,
        progress: bool = False,
        jps: bool = False,
        wait: str = "clean",
        watch: bool = True,
        log_events: bool = False,
        log_status: bool = False,
        stdout: TextIO = sys.stdout,
        stderr: TextIO = sys.stderr,
        labelio: bool = False,
        starttime: float | None = None,
        output_callback: Any = None,
    ):
        self.flux_handle = flux_handle
        self.wait = wait
        self.watch = watch
        self.t0 = starttime
        self.log_events = log_events
        self.log_status = log_status
        self.output_callback = output_callback
        if output_callback is None:
            self.stdout = self._reopen(stdout)
            self.stderr = self._reopen(stderr)
        self.labelio = labelio
        self.exitcode = 0
        self.show_progress = progress
        self.progress = JobProgressBar(flux_handle, starttime=starttime, jps=jps)
        # one job-manager events stream for all jobs (see follow_journal)
        self._journal: Any = None
        self._followed: dict[int, JobWatcher.JobWatchStatus] = {}
        self._early: dict[int, list[dict]] | None = None  # events of jobs not added yet
        self._allow: set[str] | None = None  # the events the journal sends (None: all)
        if jobs:
            self.add_jobs(*jobs)

    @staticmethod
    def _reopen(stream: Any) -> Any:
        """Output may not be valid UTF-8: write undecodable bytes back as they were."""
        try:
            stream.reconfigure(errors="surrogateescape")
        except (AttributeError, ValueError, OSError):
            pass
        return stream

    @staticmethod
    def _status_to_exitcode(status: int) -> int:
        if os.WIFEXITED(status):
            return os.WEXITSTATUS(status)
        if os.WIFSIGNALED(status):
            return 128 + os.WTERMSIG(status)
        return status

    def start(self) -> JobWatcher:
        if self.show_progress:
            self.progress.start()
        return self

    def stop(self) -> JobWatcher:
        if self.show_progress:
            self.progress.stop()
        return self

    def add_jobs(
        self, *jobs: Any, stdout: Any = None, stderr: Any = None, wait: str = "clean"
    ) -> JobWatcher:
        """Follow ``jobs`` (JobInfo objects) until their ``wait`` event."""
        from flux.job.event import event_watch_async

        self.progress.add_jobs(*jobs)
        if self.output_callback is None:
            stdout = self.stdout if stdout is None else stdout
            stderr = self.stderr if stderr is None else stderr
        for job in jobs:
            if not self.t0 or job.t_submit < self.t0:
                self.t0 = job.t_submit
            status = self.JobWatchStatus(job, stdout, stderr, wait=wait)
            if self._journal is not None:
                self._journal_add(status)
            else:
                event_watch_async(self.flux_handle, job.id).then(self._event_watch_cb, status)
            if not status.active:
                self._progress_update(status)
        return self

    def _add_new(self, jobid: int, stdout: Any, stderr: Any, wait: str) -> None:
        """Follow a job just submitted through the journal (what :meth:`add_jobid`
        does through a JobInfo, without building one: a --cc of thousands adds many)."""
        now = time.time()
        self.progress._add_status(JobStatus._just_submitted(jobid), now)
        if self.output_callback is None:
            stdout = self.stdout if stdout is None else stdout
            stderr = self.stderr if stderr is None else stderr
        if not self.t0 or now < self.t0:
            self.t0 = now
        self._journal_add(
            self.JobWatchStatus._just_submitted(jobid, stdout=stdout, stderr=stderr, wait=wait),
        )

    # -- one stream for every job --------------------------------------------------------
    def follow_journal(self) -> bool:
        """Follow the jobs added from now on (just submitted ones: their events from the
        first) through one ``job-manager.events-journal`` stream rather than an eventlog
        watch per job. Only the instance owner may read the journal: False (and per-job
        watches) for anyone else. Call :meth:`all_added` once the last job is added."""
        from flux.constants import FLUX_RPC_STREAMING

        payload: dict[str, Any] = {"batch": True, "backlog": False}
        if not (self.log_events or self.log_status):
            # only the events that change what is followed: a job's status, exit code,
            # output watch and end (its other events cost the broker and this process)
            allow = set(_JOURNAL_EVENTS)
            if self.wait and not self.wait.startswith("exec."):
                allow.add(self.wait)
            payload["allow"] = dict.fromkeys(sorted(allow), 1)
            self._allow = allow
        fut = self.flux_handle.rpc("job-manager.events-journal", payload, flags=FLUX_RPC_STREAMING)
        try:
            fut.get()  # the sentinel: caught up
        except OSError:
            fut.stop()
            return False
        fut.reset()
        self._journal = fut
        self._early = {}
        fut.then(self._journal_cb)
        return True

    def all_added(self) -> None:
        """No more jobs will be added: events of unknown jobs are dropped from now on and
        the stream ends once every followed job is done."""
        self._early = None
        self._journal_maybe_end()

    def _journal_add(self, job: Any) -> None:
        allow = self._allow
        if allow is not None and job.wait and job.wait not in allow:
            if not job.wait.startswith("exec."):  # (its event is not in the stream)
                from flux.job.event import event_watch_async

                if self._early is not None:
                    self._early.pop(int(job.id), None)
                event_watch_async(self.flux_handle, job.id).then(self._event_watch_cb, job)
                return
        self._followed[int(job.id)] = job
        early = self._early.pop(int(job.id), None) if self._early is not None else None
        for entry in early or ():
            if int(job.id) not in self._followed:
                break
            self._journal_event(job, entry)

    def _journal_cb(self, future: Any) -> None:
        payload = future.get()
        future.reset()
        batch = payload.get("batch")
        if batch is None:  # one event per response (flux-core's format)
            batch = [(payload.get("id"), e) for e in payload.get("events", ())]
        followed = self._followed
        for jobid, entry in batch:
            job = followed.get(jobid)
            if job is not None:
                self._journal_event(job, entry)
            elif self._early is not None:
                self._early.setdefault(jobid, []).append(entry)
        self._journal_maybe_end()

    def _journal_event(self, job: Any, entry: dict) -> None:
        from flux.job.event import EventLogEvent

        stop = _JournalStop(self, job)
        self._on_event(job, EventLogEvent(entry), stop)
        if entry.get("name") == "clean" and int(job.id) in self._followed:
            self._progress_update(job)  # the end of its eventlog (as a watch's ENODATA)
            stop.cancel()

    def _journal_maybe_end(self) -> None:
        fut = self._journal
        if fut is None or self._early is not None or self._followed:
            return
        from flux.constants import FLUX_RPC_NORESPONSE

        self._journal = None
        try:
            self.flux_handle.rpc(
                "job-manager.events-journal-cancel",
                {"matchtag": fut.matchtag},
                flags=FLUX_RPC_NORESPONSE,
            )
        except OSError:
            pass
        fut.stop()

    def add_jobid(
        self, jobid: Any, stdout: Any = None, stderr: Any = None, wait: str = "clean"
    ) -> JobWatcher:
        """Follow a job known only by its id (as if it were just submitted)."""
        if self._journal is not None:
            self._add_new(int(jobid), stdout, stderr, wait)
            return self
        from flux.job.info import JobInfo

        job = JobInfo({"id": int(jobid), "state": 8, "t_submit": time.time()})  # SCHED
        return self.add_jobs(job, stdout=stdout, stderr=stderr, wait=wait)

    def _progress_update(self, job: JobStatus, event: Any = None) -> None:
        if self.show_progress:  # the counts only feed the bar
            self.progress.process_event(job.id, event)

    def _log(self, job: Any, timestamp: float, msg: str) -> None:
        print(f"{job.id.f58}: {timestamp - (self.t0 or timestamp):4.3f}s: {msg}", file=job.stderr)

    def _log_event(self, job: Any, event: Any, prefix: str = "") -> None:
        if self.log_events and event is not None:
            self._log(job, event.timestamp, f"{prefix}{event.name} {event.context_string}")

    def _event_watch_cb(self, future: Any, job: Any) -> None:
        event = future.get_event()
        if event is None:
            self._progress_update(job, event)
            return
        self._on_event(job, event, future)

    def _on_event(self, job: Any, event: Any, future: Any) -> None:
        """``event`` of ``job``; ``future.cancel(stop=True)`` stops following the job."""
        self._progress_update(job, event)
        job.add_event(event.name)
        if self.t0 is None or event.timestamp < self.t0:
            self.t0 = event.timestamp
        self._log_event(job, event)
        if event.name == "exception":
            if event.context.get("severity") == 0:
                if not job.has_event("start"):
                    self.exitcode = max(self.exitcode, 1)
                    job.status = "failed"
                if not job.has_event("shell.init") and job.stderr is not None:
                    from flux.job.output import JobExceptionEvent

                    print(JobExceptionEvent(event).render(), file=job.stderr)
        elif event.name == "alloc":
            job.status = "running"
        elif event.name == "start":
            if self.watch or job.wait.startswith("exec."):
                from flux.job.event import event_watch_async

                event_watch_async(self.flux_handle, job.id, eventlog="guest.exec.eventlog").then(
                    self._exec_event_cb, job, future
                )
        elif event.name == "finish":
            status = event.context.get("status", 0)
            self.exitcode = max(self.exitcode, self._status_to_exitcode(status))
            job.status = "failed" if status else "complete"
            if self.log_status:
                self._log(job, event.timestamp, f"{job.status}: status={status}")
        if job.wait and job.wait == event.name:
            self._progress_update(job)
            future.cancel(stop=True)

    def _exec_event_cb(self, future: Any, job: Any, main_future: Any) -> None:
        """An exec eventlog event; ``main_future.cancel(stop=True)`` ends the job's watch."""
        event = future.get_event()
        if event is None:
            return
        self._log_event(job, event, prefix="exec.")
        if self.watch and event.name == "shell.init":
            from flux.job.output import output_watch_async

            output_watch_async(self.flux_handle, job.id, labelio=self.labelio, nowait=True).then(
                self._output_watch_cb, job
            )
            if not job.wait or not job.wait.startswith("exec."):
                future.cancel(stop=True)
        if job.wait and job.wait == f"exec.{event.name}":
            future.cancel(stop=True)
            main_future.cancel(stop=True)

    def _output_watch_cb(self, future: Any, job: Any) -> None:
        try:
            stream, data = future.get_output()
        except OSError:
            return
        if self.output_callback is not None:
            self.output_callback(job.id, stream, data)
            return
        if stream is None:
            for out in (job.stdout, job.stderr):
                out.flush()
            return
        out = job.stdout if stream == "stdout" else job.stderr
        if self.show_progress:
            data = _CURSOR_CONTROL.sub("", data)
        if self.labelio:
            for line in data.splitlines(keepends=True):
                out.write(f"{job.id}: {line}")
        else:
            out.write(data)


class _JournalStop:
    """What ``cancel(stop=True)`` on a job's eventlog watch does when the job is followed
    through the journal: stop following it."""

    __slots__ = ("watcher", "job")

    def __init__(self, watcher: JobWatcher, job: Any):
        self.watcher = watcher
        self.job = job

    def cancel(self, stop: bool = False) -> None:
        w = self.watcher
        if w._followed.pop(int(self.job.id), None) is not None:
            w._journal_maybe_end()
