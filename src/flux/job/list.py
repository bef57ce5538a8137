"""Query the job-list service: ``flux.job.list``.

:func:`job_list` sends a ``job-list.list`` request, answered with one response
holding every job; :class:`JobList` is the user-friendly front end used by ``flux jobs``.
"""

from __future__ import annotations

import errno
import gc
import os
from collections.abc import Iterable, Iterator

from flux.constants import (
    FLUX_JOB_RESULT_CANCELED,
    FLUX_JOB_RESULT_COMPLETED,
    FLUX_JOB_RESULT_FAILED,
    FLUX_JOB_RESULT_TIMEOUT,
    FLUX_JOB_STATE_ACTIVE,
    FLUX_JOB_STATE_CLEANUP,
    FLUX_JOB_STATE_DEPEND,
    FLUX_JOB_STATE_INACTIVE,
    FLUX_JOB_STATE_PENDING,
    FLUX_JOB_STATE_PRIORITY,
    FLUX_JOB_STATE_RUN,
    FLUX_JOB_STATE_RUNNING,
    FLUX_JOB_STATE_SCHED,
    FLUX_USERID_UNKNOWN,
)
from flux.future import RPC, WaitAllFuture
from flux.job.info import JobInfo

TYPE_CHECKING = False  # (typing costs a command milliseconds to import; hints only)
if TYPE_CHECKING:
    from typing import Any

__all__ = [
    "JobList",
    "JobListIdRPC",
    "JobListIdsFuture",
    "JobListRPC",
    "get_job",
    "get_jobinfo",
    "job_list",
    "job_list_id",
    "job_list_inactive",
]


class _GCPaused:
    """Pause the cyclic garbage collector while building many small objects.

    Tens of thousands of job dicts (and JobInfo objects) would otherwise
    trigger repeated collections that scan everything built so far; none of
    these objects form cycles.
    """

    def __enter__(self) -> None:
        self.was_enabled = gc.isenabled()
        gc.disable()

    def __exit__(self, *exc: object) -> None:
        if self.was_enabled:
            gc.enable()


class JobListRPC(RPC):
    """Future for a ``job-list.list`` request: ``get()`` returns ``{"jobs": [...]}``."""

    def get_jobs(self) -> list[dict]:
        """Returns all jobs in the RPC."""
        with _GCPaused():
            return self.get()["jobs"]

    def get_jobinfos(self) -> Iterator[JobInfo]:
        """Yields a JobInfo object for each job in its current state."""
        for job in self.get_jobs():
            yield JobInfo(job)


def job_list(
    flux_handle: Any,
    max_entries: int = 1000,
    attrs: Iterable[str] = ("all",),
    userid: int = os.getuid(),
    states: int = 0,
    results: int = 0,
    since: float = 0.0,
    name: str | None = None,
    queue: str | Iterable[str] | None = None,
    constraint: dict | None = None,
) -> JobListRPC:
    """List jobs (``job-list.list``), most relevant first.

    The filters are combined with ``and``; ``states`` and ``results`` given
    together are combined with ``or``.
    """
    terms: list[dict] = []
    if constraint:
        terms.append(constraint)
    if userid != FLUX_USERID_UNKNOWN:
        terms.append({"userid": [userid]})
    if name:
        terms.append({"name": [name]})
    if queue:
        if isinstance(queue, str):
            terms.append({"queue": [queue]})
        else:
            try:
                terms.append({"queue": list(queue)})
            except TypeError:
                raise ValueError("queue parameter must be a string or iterable") from None
    if states and results:
        terms.append({"or": [{"states": [states]}, {"results": [results]}]})
    elif states:
        terms.append({"states": [states]})
    elif results:
        terms.append({"results": [results]})
    payload = {
        "max_entries": int(max_entries),
        "attrs": list(attrs),
        "since": since,
        "constraint": {"and": terms},
    }
    return JobListRPC(flux_handle, "job-list.list", payload)


def job_list_inactive(
    flux_handle: Any,
    since: float = 0.0,
    max_entries: int = 1000,
    attrs: Iterable[str] = ("all",),
    name: str | None = None,
    queue: str | Iterable[str] | None = None,
    constraint: dict | None = None,
) -> JobListRPC:
    """Same as ``flux.job.list.job_list``, but lists only inactive jobs."""
    return job_list(
        flux_handle,
        max_entries=max_entries,
        attrs=attrs,
        userid=FLUX_USERID_UNKNOWN,
        states=FLUX_JOB_STATE_INACTIVE,
        since=since,
        name=name,
        queue=queue,
        constraint=constraint,
    )


class JobListIdRPC(RPC):
    """Future for a ``job-list.list-id`` request."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.jobid: Any = None

    def get_job(self) -> dict:
        """Returns the job dict."""
        return self.get()["job"]

    def get_jobinfo(self) -> JobInfo:
        """Returns a ``JobInfo`` object for the job."""
        return JobInfo(self.get_job())


def job_list_id(
    flux_handle: Any, jobid: Any, attrs: Iterable[str] = ("all",), state: int | None = None
) -> JobListIdRPC:
    """Query job information for a single jobid.

    Use ``get_job()`` or ``get_jobinfo()`` on the returned ``JobListIdRPC``
    to obtain the job data as a dict or a JobInfo object.  An unknown jobid
    raises ``FileNotFoundError`` from those methods.
    """
    if isinstance(jobid, str):
        from flux.job.JobID import JobID

        jobid_int = int(JobID(jobid))
    else:
        jobid_int = int(jobid)
    payload: dict[str, Any] = {"id": jobid_int, "attrs": list(attrs)}
    if state is not None:
        payload["state"] = int(state)
    rpc = JobListIdRPC(flux_handle, "job-list.list-id", payload)
    rpc.jobid = jobid
    return rpc


def get_job(flux_handle: Any, jobid: Any) -> dict | None:
    """Get job information dictionary based on a jobid (``None`` if unknown).

    This is a courtesy, blocking function for users looking for details
    about a job after submission.
    """
    info = get_jobinfo(flux_handle, jobid)
    if info is None:
        return None
    return info.to_dict(filtered=False)


def get_jobinfo(flux_handle: Any, jobid: Any) -> JobInfo | None:
    """Get a :class:`JobInfo` for ``jobid`` (``None`` if unknown)."""
    try:
        return job_list_id(flux_handle, jobid, ["all"]).get_jobinfo()
    except FileNotFoundError:
        return None


class JobListIdsFuture(WaitAllFuture):
    """Simulate interface of JobListRPC for listing multiple jobids
    (a "wait all" composite of ``job-list.list-id`` futures)."""

    def __init__(self) -> None:
        super().__init__()
        self.errors: list[str] = []
        self._jobs: list[dict] | None = None

    def push(self, child: JobListIdRPC) -> JobListIdsFuture:  # type: ignore[override]
        super().push(child)
        return self

    def get_jobs(self) -> list[dict]:
        """get all successful results, appending errors into self.errors"""
        if self._jobs is not None:
            return self._jobs
        jobs = []
        for child in self.children:
            try:
                jobs.append(child.get_job())
            except OSError as err:
                if err.errno == errno.ENOENT:
                    orig = getattr(child.jobid, "orig", child.jobid)
                    self.errors.append(f"JobID {orig} unknown")
                else:
                    self.errors.append(f"rpc: {err.strerror}")
        self._jobs = jobs
        return jobs

    def get_jobinfos(self) -> list[JobInfo]:
        """get all successful results as list of JobInfo objects

        Any errors are appended to self.errors.
        """
        return [JobInfo(job) for job in self.get_jobs()]


class JobList:
    """User friendly class for querying lists of jobs from Flux

    By default a JobList will query the last ``max_entries`` jobs of the
    current user.  Other filter parameters can be passed to the constructor
    or the ``set_user()`` and ``add_filter()`` methods.

    :flux_handle: A Flux handle obtained from flux.Flux()
    :attrs: Optional list of job attributes to fetch. (default is all attrs)
    :filters: List of strings defining the results or states to filter.
    :ids: List of jobids to return. Other filters are ignored if ``ids`` is
          not empty.
    :user: Username or userid for which to fetch jobs ("all" for all users).
    :max_entries: Maximum number of jobs to return
    :since: Limit jobs to those that have been active since a given timestamp.
    :name: Limit jobs to those with a specific name.
    :queue: Limit jobs to those submitted to a specific queue (or queues).
    :constraint: An additional RFC 31 constraint object.
    """

    STATES = {
        "depend": FLUX_JOB_STATE_DEPEND,
        "priority": FLUX_JOB_STATE_PRIORITY,
        "sched": FLUX_JOB_STATE_SCHED,
        "run": FLUX_JOB_STATE_RUN,
        "cleanup": FLUX_JOB_STATE_CLEANUP,
        "inactive": FLUX_JOB_STATE_INACTIVE,
        "pending": FLUX_JOB_STATE_PENDING,
        "running": FLUX_JOB_STATE_RUNNING,
        "active": FLUX_JOB_STATE_ACTIVE,
    }
    RESULTS = {
        "completed": FLUX_JOB_RESULT_COMPLETED,
        "failed": FLUX_JOB_RESULT_FAILED,
        "canceled": FLUX_JOB_RESULT_CANCELED,
        "timeout": FLUX_JOB_RESULT_TIMEOUT,
    }

    def __init__(
        self,
        flux_handle: Any,
        attrs: Iterable[str] = ("all",),
        filters: Iterable[str] = (),
        ids: Iterable[Any] = (),
        user: str | int | None = None,
        max_entries: int = 1000,
        since: float = 0.0,
        name: str | None = None,
        queue: str | Iterable[str] | None = None,
        constraint: dict | None = None,
    ):
        self.handle = flux_handle
        self.attrs = list(attrs)
        self.states = 0
        self.results = 0
        self.max_entries = max_entries
        self.since = since
        self.name = name
        self.queue = queue
        self.constraint = constraint
        if ids:
            from flux.job.JobID import JobID

            self.ids: list[Any] | None = [x if isinstance(x, JobID) else JobID(x) for x in ids]
        else:
            self.ids = None
        self.errors: list[str] = []
        self.userid = os.getuid()
        for fname in filters:
            for item in fname.split(","):
                self.add_filter(item)
        self.set_user(user)

    def set_user(self, user: str | int | None) -> None:
        """Only return jobs for user (may be a username or userid)"""
        if user is None:
            self.userid = os.getuid()
            return
        if isinstance(user, int) and not isinstance(user, bool):
            self.userid = user
            return
        if user == "all":
            self.userid = FLUX_USERID_UNKNOWN
            return
        import pwd

        try:
            self.userid = pwd.getpwnam(user).pw_uid
        except (KeyError, TypeError):
            try:
                self.userid = int(user)
            except (ValueError, TypeError):
                raise ValueError(f"Invalid user {user} specified") from None

    def add_filter(self, fname: str) -> None:
        """Append a state or result filter to JobList query"""
        fname = fname.lower()
        if fname in self.STATES:
            self.states |= self.STATES[fname]
        elif fname in self.RESULTS:
            self.results |= self.RESULTS[fname]
        else:
            raise ValueError(f"Invalid filter specified: {fname}")

    def fetch_jobs(self) -> JobListRPC | JobListIdsFuture:
        """Initiate the JobList query to the Flux job-list module

        JobList.fetch_jobs() returns a JobListRPC or JobListIdsFuture,
        either of which will be fulfilled when the job data is available.

        Once the Future has been fulfilled, a list of JobInfo objects
        can be obtained via JobList.jobs(). If JobList.errors is non-empty,
        then it will contain a list of errors returned via the query.
        """
        if self.ids:
            listids = JobListIdsFuture()
            for jobid in self.ids:
                listids.push(job_list_id(self.handle, jobid, self.attrs))
            return listids
        return job_list(
            self.handle,
            max_entries=self.max_entries,
            attrs=self.attrs,
            userid=self.userid,
            states=self.states,
            results=self.results,
            since=self.since,
            name=self.name,
            queue=self.queue,
            constraint=self.constraint,
        )

    def jobs(self) -> list[JobInfo]:
        """Synchronously fetch a list of JobInfo objects from JobList query

        If the Future object returned by JobList.fetch_jobs has not yet been
        fulfilled (e.g. is_ready() returns False), then this call may block.
        Otherwise, returns a list of JobInfo objects for all jobs returned
        from the underlying job listing RPC.
        """
        rpc = self.fetch_jobs()
        jobs = rpc.get_jobs()
        if hasattr(rpc, "errors"):
            self.errors = rpc.errors
        with _GCPaused():
            return [JobInfo(job) for job in jobs]
