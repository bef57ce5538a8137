"""``config.reload`` and ``config.load``: change the instance configuration live.

Both are owner-only.  ``config.reload`` re-reads the config directory given at start;
``config.load`` takes the new configuration object in the request (``flux config
load``).  A new configuration is applied in three steps and nothing changes unless
all succeed:

1. strict validation of ``[policy]``, ``[queues]`` and the queue keys of
   ``[job-manager]`` (:mod:`flux.broker.policy`);
2. jobtap ``conf.update`` on every plugin, with ``{"conf": new}``; a plugin
   returning -1 refuses the change (plugins that already accepted it are given the
   old configuration back);
3. ``broker.conf`` is replaced and the job-manager's queues are reconfigured
   (existing queues keep their enable/start state).

``[resource]`` and ``[access]`` are used as read at start, as in flux-core (a bad
``[access]`` table is still refused).
"""

from __future__ import annotations

import errno
from typing import TYPE_CHECKING, Any

from flux.broker.config import ConfigError, check_access, load_config
from flux.broker.policy import parse_job_manager_options, parse_queue_config
from flux.broker.services import load
from flux.constants import FLUX_ROLE_OWNER

if TYPE_CHECKING:
    from flux.broker.broker import Broker
    from flux.broker.message import Request


class ConfigService:
    def __init__(self, broker: Broker):
        self.broker = broker
        broker.register("config.reload", self.reload_request, FLUX_ROLE_OWNER)
        broker.register("config.load", self.load_request, FLUX_ROLE_OWNER)

    def apply(self, conf: dict[str, Any]) -> None:
        """Validate and apply ``conf``; raise ConfigError (nothing changed) on failure."""
        broker = self.broker
        qconf = parse_queue_config(conf)
        parse_job_manager_options(conf)
        load("flux.modules.job_manager.purge:parse_config")(conf)
        check_access(conf)  # validated only: [access] is read at start
        jm = broker.job_manager
        old = broker.conf
        rc, out = jm.jobtap.call("conf.update", None, {"conf": conf})
        if rc < 0:
            jm.jobtap.call("conf.update", None, {"conf": old})
            raise ConfigError(out.get("errmsg") or "configuration rejected by a jobtap plugin")
        broker.conf = conf
        jm.queues.reconfigure(conf, qconf)
        jm.purge.configure(conf)
        broker.log("config: new configuration applied")

    def _respond(self, req: Request, conf: dict[str, Any]) -> None:
        try:
            self.apply(conf)
        except ConfigError as exc:
            req.respond_error(errno.EINVAL, str(exc))
            return
        self.broker.store.after_commit(lambda: req.respond({}))

    def reload_request(self, req: Request) -> None:
        try:
            conf = load_config(self.broker.config_path)
        except ConfigError as exc:
            req.respond_error(errno.EINVAL, str(exc))
            return
        self._respond(req, conf)

    def load_request(self, req: Request) -> None:
        p = req.payload
        if not isinstance(p, dict):
            req.respond_error(errno.EPROTO, "config must be a JSON object")
            return
        self._respond(req, p)
