"""A jobtap plugin that exercises every topic and helper; tests read its log.

Behaviour is chosen per job through ``attributes.user.probe`` (a list of words)."""

from __future__ import annotations

import json
from typing import Any

from flux import jobtap
from flux.constants import FLUX_ROLE_USER


def _words(args: Any) -> list:
    try:
        return args["jobspec"]["attributes"]["user"]["probe"]
    except (KeyError, TypeError):
        return []


def _log(p: Any, topic: str, args: Any, **extra: Any) -> None:
    path = p.conf.get("log")
    if not path:
        return
    rec = {"topic": topic}
    if args is not None:
        try:
            rec["id"] = int(args["id"])
        except KeyError:
            pass
    rec.update(extra)
    with open(path, "a") as f:
        f.write(json.dumps(rec) + "\n")


def create(p, topic, args, arg):
    _log(
        p,
        topic,
        args,
        state=args["state"],
        redacted="environment" not in args["jobspec"]["attributes"]["system"],
    )
    if "reject-create" in _words(args):
        return jobtap.reject_job(p, args, "nope")
    return 0


def validate(p, topic, args, arg):
    _log(p, topic, args)
    w = _words(args)
    if "reject" in w:
        return jobtap.reject_job(p, args, "rejected for testing")
    if "reject-default" in w:
        return jobtap.reject_job(p, args)
    return 0


def new(p, topic, args, arg):
    _log(p, topic, args)
    w = _words(args)
    jobtap.job_aux_set(p, jobtap.CURRENT_JOB, "born", "yes")
    if "annotate" in w:
        args.out["annotations"] = {"user": {"probe": "hello"}}
    if "subscribe" in w:
        jobtap.job_subscribe(p, jobtap.CURRENT_JOB)
    if "debugflag" in w:
        jobtap.job_set_flag(p, jobtap.CURRENT_JOB, "debug")
    return 0


def dependency(p, topic, args, arg):
    dep = args["dependency"]
    _log(p, topic, args, dependency=dep)
    jobtap.dependency_add(p, jobtap.CURRENT_JOB, f"probe={dep.get('value')}")
    jobtap.dependency_add(p, jobtap.CURRENT_JOB, f"probe={dep.get('value')}")  # no-op
    return 0


def state(p, topic, args, arg):
    _log(p, topic, args, prev_state=args["prev_state"], entry=args["entry"]["name"])
    w = _words(args)
    if topic == "job.state.depend" and "boom" in w:
        raise RuntimeError("probe boom")
    if topic == "job.state.priority":
        if "wait" in w:
            return jobtap.priority_unavail(p, args)
        if "badprio" in w:
            args.out["priority"] = "high"
            return 0
        if "update" in w and "updated" not in _words_done(args):
            jobtap.jobspec_update(
                p, {"attributes.system.duration": 123.0, "attributes.user.done": ["updated"]}
            )
    if topic == "job.state.sched" and "raise" in w:
        jobtap.raise_exception(p, jobtap.CURRENT_JOB, "probe", 3, "just a warning")
        jobtap.event_post(p, jobtap.CURRENT_JOB, "probe-event", {"x": 1}, y="two")
    if topic == "job.state.sched" and "perilog-errors" in w:
        errs = []
        for fn in (
            lambda: jobtap.epilog_start(p, "x"),
            lambda: jobtap.epilog_finish(p, jobtap.CURRENT_JOB, "x", 0),
        ):
            try:
                fn()
                errs.append(0)
            except OSError as exc:
                errs.append(exc.errno)
        _log(p, "perilog-errors", args, errnos=errs)
    if topic == "job.state.run" and "perilog2" in w:
        jobid = int(args["id"])
        h = jobtap.get_flux(p)
        for name, delay in (("p1", 0.1), ("p2", 0.3)):
            jobtap.prolog_start(p, name)

            def fin(h, w_, rev, arg, name=name):
                jobtap.prolog_finish(p, jobid, name, 0)

            h.timer_watcher_create(delay, fin).start()
    if topic == "job.state.run" and "perilog" in w:
        jobid = int(args["id"])
        jobtap.prolog_start(p, "probe-prolog")
        h = jobtap.get_flux(p)

        def fin(h, w_, rev, arg):
            jobtap.prolog_finish(p, jobid, "probe-prolog", 0)

        h.timer_watcher_create(0.2, fin).start()
    if topic == "job.state.cleanup" and "perilog" in w:
        jobid = int(args["id"])
        jobtap.epilog_start(p, "probe-epilog")
        h = jobtap.get_flux(p)

        def efin(h, w_, rev, arg):
            jobtap.epilog_finish(p, jobid, "probe-epilog", 0)

        h.timer_watcher_create(0.2, efin).start()
    if topic == "job.state.inactive":
        _log(
            p,
            "aux",
            args,
            value=jobtap.job_aux_get(p, jobtap.CURRENT_JOB, "born"),
            result=jobtap.get_job_result(p, jobtap.CURRENT_JOB),
            posted=jobtap.job_event_posted(p, jobtap.CURRENT_JOB, "start"),
        )
    return 0


def _words_done(args: Any) -> list:
    try:
        return args["jobspec"]["attributes"]["user"]["done"]
    except (KeyError, TypeError):
        return []


def event(p, topic, args, arg):
    _log(p, topic, args)
    return 0


def simple(p, topic, args, arg):
    _log(p, topic, args)
    return 0


def update(p, topic, args, arg):
    _log(p, topic, args, updates=args["updates"])
    return 0


def conf_update(p, topic, args, arg):
    _log(p, topic, None, has_conf=isinstance(args["conf"], dict))
    if p.conf.get("fail"):
        return jobtap.error(p, args, "Error parsing probe config")
    return 0


def query(p, topic, args, arg):
    args.out["probe"] = "ok"
    return 0


def release(p, msg, arg):
    jobtap.dependency_remove(p, msg.payload["id"], msg.payload["description"])
    msg.respond({})


def set_priority(p, msg, arg):
    jobtap.reprioritize_job(p, msg.payload["id"], msg.payload["priority"])
    msg.respond({})


def ping(p, msg, arg):
    msg.respond({"userid": msg.userid})


def flux_plugin_init(p):
    p.set_name("probe")
    p.add_handler("job.create", create)
    p.add_handler("job.validate", validate)
    p.add_handler("job.new", new)
    p.add_handler("job.dependency.probe", dependency)
    p.add_handler("job.state.*", state)
    p.add_handler("job.event.*", event)
    p.add_handler("job.inactive-add", simple)
    p.add_handler("job.update", update)
    p.add_handler("job.destroy", simple)
    p.add_handler("conf.update", conf_update)
    p.add_handler("plugin.query", query)
    jobtap.service_register(p, "release", release)
    jobtap.service_register(p, "set-priority", set_priority)
    jobtap.service_register(p, "ping", ping)
    jobtap.service_register_ex(p, "uping", ping, FLUX_ROLE_USER)
    return 0
