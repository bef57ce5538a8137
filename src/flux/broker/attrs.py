"""Broker attributes as flux-core's ``attr.get`` / ``attr.set`` / ``attr.list`` services.

Each known attribute name (or ``prefix.*`` pattern) has flags: IMMUTABLE (never changes
once set), READONLY (may not be set on the command line) and RUNTIME (a user may update
it). ``attr.set`` refuses unknown names ("unknown attribute") and updates of attributes
without RUNTIME ("attribute may not be updated", unless forced); an IMMUTABLE one stays
as it is even when forced (EPERM). Setting is the instance owner's; reading is anyone's.
"""

from __future__ import annotations

import errno
import fnmatch
from typing import Any

IMMUTABLE = 0x01
READONLY = 0x02
RUNTIME = 0x04
CONFIG = 0x08

REGISTERED: dict[str, int] = {
    "rank": READONLY | IMMUTABLE,
    "size": READONLY | IMMUTABLE,
    "version": READONLY,
    "rundir": IMMUTABLE,
    "rundir-cleanup": IMMUTABLE,
    "statedir": IMMUTABLE,
    "statedir-cleanup": IMMUTABLE,
    "security.owner": READONLY | IMMUTABLE,
    "local-uri": IMMUTABLE,
    "parent-uri": READONLY | IMMUTABLE,
    "instance-level": READONLY | IMMUTABLE,
    "jobid": READONLY | IMMUTABLE,
    "jobid-path": READONLY | IMMUTABLE,
    "parent-kvs-namespace": READONLY | IMMUTABLE,
    "hostlist": IMMUTABLE,
    "hostname": IMMUTABLE,
    "broker.mapping": READONLY | IMMUTABLE,
    "broker.critical-ranks": IMMUTABLE,
    "broker.boot-method": IMMUTABLE,
    "broker.pid": READONLY | IMMUTABLE,
    "broker.quorum": IMMUTABLE,
    "broker.quorum-warn": IMMUTABLE,
    "broker.shutdown-warn": IMMUTABLE,
    "broker.shutdown-timeout": IMMUTABLE,
    "broker.exit-restart": RUNTIME,
    "broker.module-nopanic": RUNTIME,
    "broker.starttime": READONLY | IMMUTABLE,
    "broker.sd-stop-timeout": IMMUTABLE,
    "broker.uuid": READONLY | IMMUTABLE,
    "conf.shell_initrc": RUNTIME,
    "conf.shell_pluginpath": RUNTIME,
    "conf.jobtap_pluginpath": RUNTIME,
    "config.path": IMMUTABLE,
    "tbon.topo": CONFIG,
    "tbon.fanout": CONFIG,
    "tbon.zmqdebug": CONFIG,
    "tbon.descendants": READONLY,
    "tbon.level": READONLY,
    "tbon.maxlevel": READONLY,
    "tbon.endpoint": READONLY,
    "tbon.parent-endpoint": READONLY,
    "log-ring-size": IMMUTABLE,
    "log-forward-level": IMMUTABLE,
    "log-critical-level": IMMUTABLE,
    "log-filename": IMMUTABLE,
    "log-syslog-enable": IMMUTABLE,
    "log-syslog-level": IMMUTABLE,
    "log-stderr-mode": IMMUTABLE,
    "log-stderr-level": RUNTIME,
    "log-level": IMMUTABLE,
    "content.hash": IMMUTABLE,
    "content.dump": RUNTIME,
    "content.restore": RUNTIME,
    "test.*": RUNTIME,
    "test-ro.*": READONLY,
    "test-im.*": IMMUTABLE,
    "test-rd.*": RUNTIME,
    "vendor.*": RUNTIME | IMMUTABLE,
}


def lookup(name: str) -> int | None:
    """The flags of a known attribute name, None if it is not one."""
    flags = REGISTERED.get(name)
    if flags is not None:
        return flags
    for pattern, pflags in REGISTERED.items():
        if pattern.endswith("*") and fnmatch.fnmatchcase(name, pattern):
            return pflags
    return None


class AttrService:
    """attr.get / attr.set / attr.list over the broker's ``attrs`` dict."""

    def __init__(self, broker: Any):
        self.broker = broker
        from flux.constants import FLUX_ROLE_OWNER, FLUX_ROLE_USER

        broker.register("attr.get", self.get, FLUX_ROLE_USER | FLUX_ROLE_OWNER)
        broker.register("attr.list", self.list, FLUX_ROLE_USER | FLUX_ROLE_OWNER)
        broker.register("attr.set", self.set, FLUX_ROLE_OWNER)
        broker.register("attr.rm", self.rm, FLUX_ROLE_OWNER)

    @property
    def attrs(self) -> dict[str, str]:
        return self.broker.attrs

    def get(self, req: Any) -> None:
        p = req.payload if isinstance(req.payload, dict) else {}
        name = p.get("name")
        if not isinstance(name, str):
            req.respond_error(errno.EPROTO, "malformed attr.get request")
            return
        if name not in self.attrs:
            req.respond_error(errno.ENOENT, "No such file or directory")
            return
        flags = (lookup(name) or 0) & IMMUTABLE
        req.respond({"value": self.attrs[name], "flags": flags})

    def list(self, req: Any) -> None:
        req.respond({"names": sorted(self.attrs)})

    def set(self, req: Any) -> None:
        p = req.payload if isinstance(req.payload, dict) else {}
        name, value, force = p.get("name"), p.get("value"), bool(p.get("force", False))
        if not isinstance(name, str) or not isinstance(value, str):
            req.respond_error(errno.EPROTO, "malformed attr.set request")
            return
        flags = lookup(name)
        if flags is None:
            req.respond_error(errno.ENOENT, "unknown attribute")
            return
        if name in self.attrs:
            if not force and not flags & RUNTIME:
                req.respond_error(errno.EINVAL, "attribute may not be updated")
                return
            if flags & IMMUTABLE:
                req.respond_error(errno.EPERM, "Operation not permitted")
                return
        self.attrs[name] = value
        req.respond({})

    def rm(self, req: Any) -> None:
        """Remove an attribute a client set (flux_attr_set with a NULL value)."""
        p = req.payload if isinstance(req.payload, dict) else {}
        name = p.get("name")
        if not isinstance(name, str):
            req.respond_error(errno.EPROTO, "malformed attr.rm request")
            return
        flags = lookup(name)
        if name not in self.attrs:
            req.respond_error(errno.ENOENT, "No such file or directory")
            return
        if flags is None or flags & IMMUTABLE or not flags & RUNTIME:
            req.respond_error(errno.EPERM, "Operation not permitted")
            return
        del self.attrs[name]
        req.respond({})
