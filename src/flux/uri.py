"""Resolve a target (job id, hierarchical job path, ``pid:PID``, URI) to a Flux URI.

Forms (flux-core's ``flux uri``):

* ``local://PATH``, ``ssh://HOST/PATH``: returned as they are (or converted);
* ``jobid:PATH`` or a bare ``PATH``: ``/``-separated job ids, each resolved in the
  instance reached so far from the job's ``annotations.user.uri`` (advertised by
  the child instance); a leading ``/`` starts at the root instance, ``..`` is the
  parent, ``.`` (or nothing) the current instance;
* ``pid:PID``: the ``FLUX_URI`` in the environment of process PID (of its first
  child if PID is a broker).

A query ``?local`` / ``?remote`` forces the form, ``?wait`` waits for the job's
URI to be advertised. The remote form of ``local:///p`` is ``ssh://<hostname>/p``.
"""

from __future__ import annotations

import os
import socket
from typing import Any

from flux.constants import FLUX_RPC_STREAMING

__all__ = ["URIError", "local_path", "resolve", "to_local", "to_remote"]

_RUN = 16  # FLUX_JOB_STATE_RUN


class URIError(Exception):
    """A target that cannot be resolved (the message is flux-core's)."""


def to_local(uri: str) -> str:
    if uri.startswith("ssh://"):
        rest = uri[len("ssh://") :]
        slash = rest.find("/")
        return "local://" + (rest[slash:] if slash >= 0 else "/")
    return uri


def to_remote(uri: str) -> str:
    if uri.startswith("local://"):
        return f"ssh://{socket.gethostname()}{uri[len('local://') :]}"
    return uri


def local_path(uri: str) -> str:
    """The socket path a client connects to (an ssh:// URI of this host is local)."""
    return to_local(uri)[len("local://") :] if "://" in uri else uri


def _getattr(uri: str, name: str) -> str | None:
    import flux

    h = flux.Flux(to_local(uri))
    try:
        return h.rpc("broker.getattr", {"name": name}).get()["value"]
    except OSError:
        return None
    finally:
        h.close()


def _resolve_id(uri: str, arg: str, wait: bool) -> str:
    import flux
    from flux.job.JobID import JobID

    try:
        jobid = int(JobID(arg))
    except (ValueError, TypeError):
        raise URIError(f"{arg} is not a valid jobid") from None
    h = flux.Flux(to_local(uri))
    try:
        if wait:
            found = _wait_memo(h, jobid)
            if found:
                return found
        try:
            job = h.rpc("job-list.list-id", {"id": jobid, "attrs": ["state", "annotations"]}).get()[
                "job"
            ]
        except OSError:
            raise URIError(f"jobid {arg} not found") from None
    finally:
        h.close()
    if job.get("state") != _RUN:
        raise URIError(f"jobid {arg} is not running")
    found = (job.get("annotations") or {}).get("user", {}).get("uri")
    if not found:
        raise URIError(f"URI not found for job {arg}")
    return found


def _wait_memo(h: Any, jobid: int) -> str | None:
    f = h.rpc(
        "job-info.eventlog-watch",
        {"id": jobid, "path": "eventlog", "flags": 0},
        flags=FLUX_RPC_STREAMING,
    )
    import orjson

    try:
        while True:
            try:
                ev = orjson.loads(f.get()["event"])
            except OSError:
                return None
            f.reset()
            if ev.get("name") == "memo" and "uri" in (ev.get("context") or {}):
                return ev["context"]["uri"]
            if ev.get("name") == "finish":
                return None
    finally:
        try:
            h.rpc("job-info.eventlog-watch-cancel", {"matchtag": f.matchtag})
        except (OSError, AttributeError):
            pass


def _resolve_path(path: str, wait: bool) -> str:
    uri = os.environ.get("FLUX_URI")
    if not uri:
        raise URIError("FLUX_URI is not set: not inside a Flux instance")
    if path.startswith("/"):
        while True:
            level = _getattr(uri, "instance-level")
            parent = _getattr(uri, "parent-uri")
            if not level or level == "0" or not parent:
                break
            uri = parent
        uri = _getattr(uri, "local-uri") or uri
    first = True
    by_job = False
    for part in path.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            uri = _getattr(uri, "parent-uri") or _getattr(uri, "local-uri") or uri
            by_job = False
            continue
        uri = _resolve_id(uri, part, wait and first)
        first = False
        by_job = True
    if by_job:
        return uri
    return _getattr(uri, "local-uri") or uri


def _resolve_pid(arg: str) -> str:
    try:
        pid = int(arg)
    except ValueError:
        raise URIError(f"{arg} is not a valid PID") from None

    def env_uri(p: int) -> str | None:
        try:
            with open(f"/proc/{p}/environ", "rb") as f:
                for item in f.read().split(b"\0"):
                    if item.startswith(b"FLUX_URI="):
                        return item[len(b"FLUX_URI=") :].decode()
        except OSError:
            pass
        return None

    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            cmdline = f.read().split(b"\0")
    except OSError:
        raise URIError(f"PID {pid} not found") from None
    words = [w.decode(errors="replace") for w in cmdline if w]
    is_broker = any(w.endswith("flux-broker") or w == "flux.broker" for w in words) or (
        len(words) >= 2 and os.path.basename(words[1]) == "flux" and "broker" in words[2:3]
    )
    if is_broker:
        try:
            with open(f"/proc/{pid}/task/{pid}/children") as f:
                kids = f.read().split()
        except OSError:
            kids = []
        if not kids:
            raise URIError(f"PID {pid} is a flux-broker and no child found")
        pid = int(kids[0])
    uri = env_uri(pid)
    if uri is None:
        raise URIError(f"PID {pid} doesn't seem to have a FLUX_URI")
    return uri


def resolve(target: str, local: bool = False, remote: bool = False, wait: bool = False) -> str:
    """The URI `target` names (see the module docstring); URIError if none."""
    from urllib.parse import parse_qs

    query: dict[str, Any] = {}
    if "?" in target:
        target, _, q = target.partition("?")
        query = parse_qs(q, keep_blank_values=True)
    local = local or "local" in query
    remote = remote or "remote" in query
    wait = wait or "wait" in query
    if local and remote:
        raise URIError("Only one of 'local' or 'remote' is allowed")
    scheme, sep, rest = target.partition(":")
    if not sep:
        scheme, rest = "jobid", target
    elif scheme not in ("ssh", "local", "jobid", "pid"):
        raise URIError(f"No plugin for URI scheme {scheme}")
    if scheme in ("ssh", "local"):
        uri = target
    elif scheme == "pid":
        uri = _resolve_pid(rest)
    else:
        uri = _resolve_path(rest, wait)
    if local:
        return to_local(uri)
    if remote:
        return to_remote(uri)
    return uri
