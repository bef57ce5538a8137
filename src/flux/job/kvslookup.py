"""Look up a job's stored data (jobspec, R, eventlogs) through ``job-info.lookup``.

flux-core's ``flux.job.kvslookup``: :func:`job_info_lookup` (one RPC future),
:func:`job_kvs_lookup` (one job, synchronous) and :class:`JobKVSLookup` (many jobs).

Keys the job-info service here knows: ``jobspec``, ``R``, ``J``, ``eventlog`` and
``guest.exec.eventlog``. The service always answers with the *current* jobspec and R
(updates from the eventlog applied), so ``base=True`` only changes the request flags.
"""

from __future__ import annotations

import errno
import json
from collections.abc import Iterable

from flux.future import RPC, WaitAllFuture
from flux.job.JobID import JobID

TYPE_CHECKING = False  # (typing costs a command milliseconds to import; hints only)
if TYPE_CHECKING:
    from typing import Any

# job_lookup_flags of flux-core's <flux/core.h>
FLUX_JOB_LOOKUP_JSON_DECODE = 1
FLUX_JOB_LOOKUP_CURRENT = 2

_SPECIAL_KEYS = ("jobspec", "R")


def _decode_field(data: dict, key: str) -> None:
    value = data.get(key)
    if not isinstance(value, (str, bytes)):
        return
    try:
        data[key] = json.loads(value)
    except json.JSONDecodeError:
        pass  # left as it is, as flux-core does


def decode_special_data(data: dict) -> None:
    """Decode the ``jobspec`` and ``R`` values of ``data`` (JSON text) into dicts."""
    for key in _SPECIAL_KEYS:
        if key in data:
            _decode_field(data, key)


class JobInfoLookupRPC(RPC):
    """The future of one ``job-info.lookup`` request (``.jobid`` names the job)."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.jobid: Any = None

    def get(self) -> dict:
        return super().get()

    def get_decode(self) -> dict:
        """The response with ``jobspec`` and ``R`` decoded into dicts (a copy)."""
        data = dict(super().get())
        decode_special_data(data)
        return data


def _payload(jobid: Any, keys: Iterable[str], flags: int, original: bool) -> dict:
    payload: dict[str, Any] = {"id": int(JobID(jobid)), "keys": list(keys), "flags": flags}
    if original:
        payload["original"] = True
    return payload


def job_info_lookup(
    flux_handle: Any, jobid: Any, keys: Iterable[str] = ("jobspec",), flags: int = 0
) -> JobInfoLookupRPC:
    """Send a ``job-info.lookup`` request for ``keys`` of job ``jobid``; return its future."""
    rpc = JobInfoLookupRPC(flux_handle, "job-info.lookup", _payload(jobid, keys, flags, False))
    rpc.jobid = JobID(jobid)
    return rpc


def _lookup_rpc(
    flux_handle: Any, jobid: Any, keys: Iterable[str], original: bool, base: bool
) -> JobInfoLookupRPC:
    flags = 0 if base else FLUX_JOB_LOOKUP_CURRENT
    rpc = JobInfoLookupRPC(flux_handle, "job-info.lookup", _payload(jobid, keys, flags, original))
    rpc.jobid = JobID(jobid)
    return rpc


def _result(rpc: JobInfoLookupRPC, decode: bool) -> dict:
    return rpc.get_decode() if decode else dict(rpc.get())


def job_kvs_lookup(
    flux_handle: Any,
    jobid: Any,
    keys: Iterable[str] = ("jobspec",),
    decode: bool = True,
    original: bool = False,
    base: bool = False,
) -> dict | None:
    """Look up job data by jobid: a dict with ``id`` and each key, or None if no such job.

    :flux_handle: a Flux handle obtained from flux.Flux()
    :jobid: jobid to look up data for
    :keys: keys to fetch (default ``["jobspec"]``)
    :decode: decode ``jobspec`` and ``R`` into Python dicts (default True)
    :original: for ``jobspec``, return the jobspec as originally submitted
    :base: for ``jobspec`` or ``R``, ask for the value without eventlog updates
    """
    rpc = _lookup_rpc(flux_handle, jobid, keys, original, base)
    try:
        return _result(rpc, decode)
    except FileNotFoundError:
        return None  # the job does not exist


class JobKVSLookupFuture(WaitAllFuture):
    """Wraps one lookup future per job; errors (unknown jobs...) collect in ``errors``."""

    def __init__(self) -> None:
        super().__init__()
        self.errors: list[str] = []

    def _get(self, decode: bool = True) -> list[dict]:
        self.wait_for()
        jobs = []
        for child in self.children:
            try:
                jobs.append(_result(child, decode))
            except OSError as err:
                if err.errno == errno.ENOENT:
                    orig = getattr(child.jobid, "orig", None) or child.jobid
                    self.errors.append(f"JobID {orig} unknown")
                else:
                    self.errors.append(f"rpc: {err.strerror}")
        return jobs

    def get(self) -> list[dict]:  # type: ignore[override]
        """Every successful result (errors appended to ``self.errors``)."""
        return self._get(False)

    def get_decode(self) -> list[dict]:
        """As :meth:`get`, with ``jobspec`` and ``R`` decoded into dicts."""
        return self._get(True)


class JobKVSLookup:
    """Look up data of many jobs.

    :flux_handle: a Flux handle obtained from flux.Flux()
    :ids: jobids to get data for
    :keys: keys to fetch (default ``["jobspec"]``)
    :decode: decode ``jobspec`` and ``R`` into Python dicts (default True)
    :original: for ``jobspec``, return the jobspec as originally submitted
    :base: for ``jobspec`` or ``R``, ask for the value without eventlog updates
    """

    def __init__(
        self,
        flux_handle: Any,
        ids: Iterable[Any] = (),
        keys: Iterable[str] = ("jobspec",),
        decode: bool = True,
        original: bool = False,
        base: bool = False,
    ):
        self.handle = flux_handle
        self.keys = list(keys)
        self.ids = [JobID(i) for i in ids] if ids else []
        self.decode = decode
        self.original = original
        self.base = base
        self.errors: list[str] = []

    def fetch_data(self) -> JobKVSLookupFuture:
        """Send one lookup per job; the returned future's ``get()`` gives the results."""
        fut = JobKVSLookupFuture()
        for jobid in self.ids:
            fut.push(_lookup_rpc(self.handle, jobid, self.keys, self.original, self.base))
        return fut

    def data(self) -> list[dict]:
        """Fetch and return the data of every known job (others are noted in ``errors``)."""
        fut = self.fetch_data()
        data = fut.get_decode() if self.decode else fut.get()
        self.errors = fut.errors
        return data
