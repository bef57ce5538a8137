"""The binding surface that third-party tools reach, with flux-core 0.88's names.

What Parsl, Maestro and flux-restful call (see tests/clients for the tools
themselves): ``flux.Flux(bytes)``, ``flux.job.list``/``info`` reachable after
``import flux.job``, ``JobInfo``'s underscored attributes, ``JobStats``, the
``guest.output`` eventlog through ``job_kvs_lookup`` and ``event_watch``, the
``version`` attribute, and a ``flux`` first on every PATH.
"""

from __future__ import annotations

import errno
import os
import subprocess
import sys

import pytest

import flux
import flux.job
from flux.job import JobspecV1

TEST_MODE = {"system.exec.test.run_duration": "0.01s"}


def _job(h, cmd, **kw):
    js = JobspecV1.from_command(cmd, **kw)
    js.environment = dict(os.environ)
    return flux.job.submit(h, js, waitable=True)


def test_handle_takes_bytes_uri(instance):
    h = flux.Flux(instance.uri.encode())
    assert h.attr_get("local-uri") == instance.uri


@pytest.mark.parametrize(
    "uri, err",
    [
        ("local:///nonexistent/local-0", errno.ENOENT),
        (b"local:///nonexistent/local-0", errno.ENOENT),
    ],
)
def test_handle_bad_uri(uri, err):
    with pytest.raises(OSError) as exc:
        flux.Flux(uri)
    assert exc.value.errno == err
    assert "Unable to connect to Flux" in str(exc.value)


def test_submodules_reachable_after_import_flux_job():
    code = (
        "import flux.job; "
        "print(flux.job.list.JobList.__name__, flux.job.info.statetostr(8), "
        "flux.job.JobInfo.__name__, flux.job.JobInfoFormat.__name__, "
        "flux.job.kvslookup.job_kvs_lookup.__name__, flux.job.stats.JobStats.__name__, "
        "flux.job.Jobspec.__name__)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == [
        "JobList",
        "SCHED",
        "JobInfo",
        "JobInfoFormat",
        "job_kvs_lookup",
        "JobStats",
        "Jobspec",
    ]


def test_version_attribute_is_the_flux_core_release(instance):
    assert instance.handle().attr_get("version") == "0.88.0"
    assert instance.flux("getattr", "version", check=True).stdout.strip() == "0.88.0"


def test_jobinfo_underscored_attributes(instance):
    h = instance.handle()
    jobid = _job(h, ["sh", "-c", "exit 3"], num_tasks=2)
    flux.job.wait(h, jobid)
    rpc = flux.job.list.JobListIdRPC(h, "job-list.list-id", {"id": jobid, "attrs": ["all"]})
    info = rpc.get_jobinfo()
    # flux-restful's job details read these
    assert info._nnodes == info.nnodes == 1
    assert info._priority == info.priority == 16
    assert info._waitstatus == 3 << 8
    assert info._nodelist == info.nodelist
    assert info._exception.__dict__ == {
        "occurred": False,
        "severity": "",
        "type": "",
        "note": "",
    }
    assert info._state_id == 64 and info._result_id == 2
    assert info.result == "FAILED" and info.returncode == 3
    # computed properties under their underscored name too (flux-core memoizes them so)
    assert info._status == info.status == "FAILED"
    with pytest.raises(AttributeError):
        info._no_such_attribute  # noqa: B018
    with pytest.raises(AttributeError):
        info.no_such_attribute  # noqa: B018


def test_job_stats(make_instance):
    inst = make_instance()
    h = inst.handle()
    for _ in range(3):
        flux.job.wait(h, _job(h, ["true"]))
    flux.job.wait(h, _job(h, ["false"]))
    held = flux.job.submit(h, JobspecV1.from_command(["true"]), urgency=0)
    stats = flux.job.stats.JobStats(h).update_sync()
    assert stats.total == 5
    assert stats.inactive == 4
    assert stats.successful == 3
    assert stats.failed == 1
    assert stats.pending == 1 and stats.active == 1 and stats.running == 0
    with pytest.raises(ValueError, match="no stats available for queue nosuch"):
        flux.job.stats.JobStats(h, queue="nosuch").update_sync()
    flux.job.cancel(h, held)


def _output_events(h, jobid):
    return [(e.name, e.context) for e in flux.job.event_watch(h, jobid, "guest.output")]


def test_guest_output_lookup_and_watch(instance):
    h = instance.handle()
    jobid = _job(h, ["sh", "-c", "echo out; echo err >&2"], num_tasks=2)
    flux.job.wait(h, jobid)
    events = _output_events(h, jobid)
    name, header = events[0]
    assert name == "header"
    assert header == {
        "version": 1,
        "encoding": {"stdout": "UTF-8", "stderr": "UTF-8"},
        "count": {"stdout": 2, "stderr": 2},
        "options": {},
    }
    data = [c for n, c in events[1:] if "data" in c]
    assert sorted((c["stream"], c["rank"], c["data"]) for c in data) == [
        ("stderr", "0", "err\n"),
        ("stderr", "1", "err\n"),
        ("stdout", "0", "out\n"),
        ("stdout", "1", "out\n"),
    ]
    eofs = [c for n, c in events if c.get("eof")]
    assert sorted((c["stream"], c["rank"]) for c in eofs) == [
        ("stderr", "0"),
        ("stderr", "1"),
        ("stdout", "0"),
        ("stdout", "1"),
    ]
    assert all(n == "data" for n, _ in events[1:])
    # the same log as one value through job_kvs_lookup (RFC 24 text, one entry a line)
    text = flux.job.job_kvs_lookup(h, jobid, keys=["guest.output"])["guest.output"]
    lines = text.splitlines()
    assert len(lines) == len(events)
    assert [flux.job.EventLogEvent(line).name for line in lines] == [n for n, _ in events]


def test_guest_output_of_a_running_job(instance):
    h = instance.handle()
    jobid = _job(h, ["sh", "-c", "echo first; read x; echo second"])
    watch = flux.job.event_watch_async(h, jobid, "guest.output")
    assert watch.get_event().name == "header"
    assert watch.get_event().context["data"] == "first\n"
    # a snapshot of a running job: header and data so far, no eof yet
    text = flux.job.job_kvs_lookup(h, jobid, keys=["guest.output"])["guest.output"]
    names = [flux.job.EventLogEvent(line).context for line in text.splitlines()]
    assert names[1]["data"] == "first\n" and not any(c.get("eof") for c in names)
    instance.flux("job", "attach", str(jobid), input="go\n", check=True)
    rest = []
    while (ev := watch.get_event()) is not None:
        rest.append(ev.context)
    assert rest[0]["data"] == "second\n"
    assert [c.get("eof") for c in rest[1:]] == [True, True]


def test_guest_output_watch_waits_for_a_pending_job(instance):
    h = instance.handle()
    js = JobspecV1.from_command(["echo", "later"])
    js.environment = dict(os.environ)
    jobid = flux.job.submit(h, js, urgency=0, waitable=True)
    watch = flux.job.event_watch_async(h, jobid, "guest.output")
    # the watch is open before the job starts
    instance.flux("job", "urgency", str(jobid), "default", check=True)
    names = []
    while (ev := watch.get_event()) is not None:
        names.append((ev.name, ev.context.get("data")))
    assert names[0] == ("header", None)
    assert ("data", "later\n") in names


def test_guest_output_missing(instance):
    h = instance.handle()
    # a job canceled before it started has no output log: the watch says so
    js = JobspecV1.from_command(["true"])
    jobid = flux.job.submit(h, js, urgency=0)
    watch = flux.job.event_watch_async(h, jobid, "guest.output")
    flux.job.cancel(h, jobid)
    with pytest.raises(FileNotFoundError):
        watch.get_event()
    # test mode runs no task, so no output log either (as flux-core's test exec)
    js = JobspecV1.from_command(["true"])
    js.setattr("system.exec.test.run_duration", "0.01s")
    test = flux.job.submit(h, js, waitable=True)
    flux.job.wait(h, test)
    assert flux.job.job_kvs_lookup(h, test, keys=["guest.output"]) is None
    with pytest.raises(FileNotFoundError):
        flux.job.job_info_lookup(h, test, keys=["guest.output"]).get()
    # an unknown key is not found, as in flux-core's KVS
    with pytest.raises(FileNotFoundError):
        flux.job.job_info_lookup(h, test, keys=["no.such.key"]).get()
    assert flux.job.job_kvs_lookup(h, 12345, keys=["guest.output"]) is None


def test_guest_output_guest_refused(instance):
    """A guest may not read the owner's job output (flux-core: EPERM)."""
    from conftest import GUEST_UID, need_root, run_in_child

    need_root()
    h = instance.handle()
    jobid = int(_job(h, ["echo", "secret"]))
    flux.job.wait(h, jobid)

    def probe() -> int:
        h = flux.Flux(instance.uri)
        for fn in (
            lambda: flux.job.job_info_lookup(h, jobid, keys=["guest.output"]).get(),
            lambda: flux.job.event_watch_async(h, jobid, "guest.output").get_event(),
        ):
            try:
                fn()
                print(0)
            except OSError as exc:
                print(exc.errno)
        return 0

    rc, out, err = run_in_child(instance, probe, uid=GUEST_UID)
    assert rc == 0, err
    assert out.split() == [str(errno.EPERM), str(errno.EPERM)]


def test_attr_set_and_remove(make_instance):
    inst = make_instance()
    h = inst.handle()
    h.attr_set("log-stderr-level", "5")
    assert h.attr_get("log-stderr-level") == "5"
    h.attr_remove("log-stderr-level")
    with pytest.raises(FileNotFoundError):
        h.attr_get("log-stderr-level")
    with pytest.raises(FileNotFoundError):
        h.attr_set("no-such-attribute", "1")
    with pytest.raises(OSError) as exc:
        h.attr_remove("rank")
    assert exc.value.errno == errno.EPERM
    assert h.attr_get("rank") == "0"
