"""Bad input gets a clear error and the right exit code, and changes nothing."""

from __future__ import annotations

import errno
import json
import socket
import struct

import pytest

import flux
from flux.job import JobspecV1


def active_count(inst) -> int:
    return inst.handle().rpc("job-manager.getinfo", {}).get()["active"]


def test_bad_fsd(instance):
    p = instance.flux("submit", "-t", "foo", "true")
    assert p.returncode == 1 and "invalid Flux standard duration" in p.stderr


def test_unknown_option(instance):
    p = instance.flux("submit", "--no-such-option", "true")
    assert p.returncode == 2


def test_bad_and_unknown_jobids(instance):
    p = instance.flux("job", "eventlog", "boo")
    assert p.returncode == 1 and 'error parsing jobid: "boo"' in p.stderr
    p = instance.flux("job", "eventlog", "f1234")
    assert p.returncode == 1 and "not found" in p.stderr
    p = instance.flux("cancel", "f1234")
    assert p.returncode == 1 and "unknown job id" in p.stderr
    p = instance.flux("job", "id", "boo")
    assert p.returncode == 1 and "malformed input" in p.stderr


def test_cancel_inactive(instance):
    jobid = instance.flux("submit", "true", check=True).stdout.strip()
    instance.flux("job", "wait-event", "-t", "30", jobid, "clean", check=True)
    p = instance.flux("cancel", jobid)
    assert p.returncode == 1 and "job is inactive" in p.stderr


def test_malformed_jobspecs_leave_no_trace(instance):
    h = flux.Flux(instance.uri)
    before = h.rpc("job-manager.getinfo", {}).get()["submitted"]
    bad = [
        {},
        {"version": 2, "resources": [], "tasks": [], "attributes": {}},
        {
            "version": 1,
            "resources": [
                {
                    "type": "slot",
                    "count": 0,
                    "label": "task",
                    "with": [{"type": "core", "count": 1}],
                }
            ],
            "tasks": [{"command": ["true"], "slot": "task", "count": {"per_slot": 1}}],
            "attributes": {"system": {"duration": 0}},
        },
        {
            "version": 1,
            "resources": [
                {
                    "type": "slot",
                    "count": 1,
                    "label": "task",
                    "with": [{"type": "core", "count": 1}],
                }
            ],
            "tasks": [{"command": [], "slot": "task", "count": {"per_slot": 1}}],
            "attributes": {"system": {"duration": 0}},
        },
    ]
    for js in bad:
        with pytest.raises(OSError) as e:
            h.rpc("job-ingest.submit", {"jobspec": js}).get()
        assert e.value.errno == errno.EINVAL and e.value.strerror
    with pytest.raises(OSError) as e:
        h.rpc("job-ingest.submit", {"J": "{not json"}).get()
    assert e.value.errno == errno.EINVAL
    with pytest.raises(OSError) as e:
        h.rpc("job-ingest.submit", "[1,2]").get()
    assert e.value.errno == errno.EPROTO
    assert h.rpc("job-manager.getinfo", {}).get()["submitted"] == before


def test_unknown_topic(instance):
    with pytest.raises(OSError) as e:
        instance.handle().rpc("no.such.service", {}).get()
    assert e.value.errno == errno.ENOSYS


def _raw(inst) -> socket.socket:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(inst.uri[len("local://") :])
    return s


def _reply(s: socket.socket) -> list:
    data = b""
    while len(data) < 4 or len(data) < 4 + struct.unpack(">I", data[:4])[0]:
        chunk = s.recv(65536)
        assert chunk, "connection closed"
        data += chunk
    return json.loads(data[4 : 4 + struct.unpack(">I", data[:4])[0]])


@pytest.mark.parametrize(
    "msg, why",
    [
        ([1, "broker.ping", "7", 0, 0, 0, {}, 0, None], "bad matchtag"),
        ([1, "broker.ping", 7, "0", 0, 0, {}, 0, None], "bad flags"),
        ([1, "broker.ping", 7, 1.5, 0, 0, {}, 0, None], "bad flags"),
        ([1, "broker.ping", 7, -1, 0, 0, {}, 0, None], "bad flags"),
        (["1", "broker.ping", 7, 0, 0, 0, {}, 0, None], "type is not an integer"),
        ([None, "broker.ping", 7, 0, 0, 0, {}, 0, None], "type is not an integer"),
        ([8, "broker.ping", 7, 0, 0, 0, {}, 0, None], "unknown message type 8"),
        ([1, ["broker.ping"], 7, 0, 0, 0, {}, 0, None], "topic is not a string"),
        ([1, "broker.ping", 7, 0, 0, 0, {}, 0], "expected 9 fields"),
        ([1, "broker.ping", 7, 0, 0, 0, {}, 0, None, 0, "extra"], "expected 9 fields"),
        ([1, "broker.ping", 7, 0, 0, 0, {}, 0, None, "rank"], "bad nodeid"),
        ([1, "broker.ping", 7, 0, 0, 0, {}, 0, None, -1], "bad nodeid"),
        ({"topic": "broker.ping"}, "not an array"),
        ([1, "job-ingest.submit", 7, 0, 0, 0, [], 0, None], "payload must be an object"),
        ([1, "job-manager.urgency", 7, 0, 0, 0, "x", 0, None], "Protocol error"),
        ([1, "job-manager.raise", 7, 0, 0, 0, None, 0, None], "Protocol error"),
        ([1, "job-info.lookup", 7, 0, 0, 0, 5, 0, None], "Protocol error"),
        ([1, "job-list.list", 7, 0, 0, 0, [], 0, None], "not an object"),
        ([1, "job-info.eventlog-watch-cancel", 7, 0, 0, 0, {}, 0, None], "Protocol error"),
    ],
)
def test_malformed_request_gets_eproto_and_connection_stays(instance, msg, why):
    s = _raw(instance)
    s.settimeout(30)
    body = json.dumps(msg).encode()
    s.sendall(struct.pack(">I", len(body)) + body)
    r = _reply(s)
    assert r[0] == 2 and r[7] == errno.EPROTO and why in r[8], r
    if isinstance(msg, list) and len(msg) > 2 and isinstance(msg[2], (int, str)):
        assert r[2] == msg[2]  # the matchtag is echoed so the sender can tell which
    ok = json.dumps([1, "broker.ping", 9, 0, 0, 0, {"seq": 1}, 0, None]).encode()
    s.sendall(struct.pack(">I", len(ok)) + ok)
    assert _reply(s)[2] == 9
    s.close()


def test_responses_and_events_from_a_client_are_ignored(instance):
    s = _raw(instance)
    s.settimeout(30)
    for mtype in (2, 4):
        body = json.dumps([mtype, "broker.ping", 5, 0, 0, 0, {}, 0, None]).encode()
        s.sendall(struct.pack(">I", len(body)) + body)
    ok = json.dumps([1, "broker.ping", 9, 0, 0, 0, {}, 0, None]).encode()
    s.sendall(struct.pack(">I", len(ok)) + ok)
    assert _reply(s)[2] == 9  # the first answer is the ping's
    s.close()


def test_garbage_and_disconnects(instance):
    # garbage bytes in a well-framed message: an EPROTO answer, the connection stays open
    s = _raw(instance)
    s.sendall(struct.pack(">I", 5) + b"xxxxx")
    s.settimeout(10)
    assert _reply(s)[7] == errno.EPROTO
    body = json.dumps([1, "broker.ping", 3, 0, 0, 0, {}, 0, None]).encode()
    s.sendall(struct.pack(">I", len(body)) + body)
    assert _reply(s)[2:3] == [3]
    s.close()
    # a partial frame, then a disconnect
    s = _raw(instance)
    s.sendall(struct.pack(">I", 1000) + b"[1,")
    s.close()
    # a request whose sender goes away before the answer
    s = _raw(instance)
    js = JobspecV1.from_command(["true"]).jobspec
    body = json.dumps([1, "job-ingest.submit", 7, 0, 0, 0, {"jobspec": js}, 0, None]).encode()
    s.sendall(struct.pack(">I", len(body)) + body)
    s.close()
    # a streaming watch that disconnects mid-stream
    h = flux.Flux(instance.uri)
    jobid = flux.job.submit(h, JobspecV1.from_command(["sleep", "300"]))
    flux.job.event_watch_async(h, jobid).get()
    h.close()
    # the instance still works
    p = instance.flux("run", "echo", "still-here")
    assert p.returncode == 0 and p.stdout == "still-here\n"
    instance.flux("cancel", str(jobid), check=True)


def test_raise_errors(instance):
    h = flux.Flux(instance.uri)
    jobid = flux.job.submit(h, JobspecV1.from_command(["true"]), urgency=0)
    for payload, msg in (
        ({"id": jobid, "type": "bad type", "severity": 0}, "invalid exception type"),
        ({"id": jobid, "type": "x", "severity": 9}, "invalid exception severity"),
    ):
        with pytest.raises(OSError) as e:
            h.rpc("job-manager.raise", payload).get()
        assert e.value.errno == errno.EPROTO and e.value.strerror == msg
    flux.job.cancel(h, jobid)


def test_submit_prints_each_refusal_as_flux_core(instance):
    p = instance.flux("submit", "-n", "100000", "true")
    assert p.returncode == 1
    assert p.stderr == "[Errno 22] unsatisfiable request\n"
    p = instance.flux("submit", "--cc=1-2", "-n", "100000", "true")
    assert p.returncode == 1 and p.stdout == ""
    assert p.stderr.splitlines() == [
        "cc=1: [Errno 22] unsatisfiable request",
        "cc=2: [Errno 22] unsatisfiable request",
    ]
    p = instance.flux("run", "-n", "100000", "true")
    assert p.returncode == 1 and p.stderr == "flux-run: ERROR: unsatisfiable request\n"


def test_raw_jobspec_text_is_judged_by_the_instance(instance):
    import errno

    import pytest

    from flux import Flux
    from flux.job import submit

    h = Flux(instance.uri)
    with pytest.raises(OSError) as exc:
        submit(h, "{bad")
    assert exc.value.errno == errno.EINVAL and "invalid JSON" in exc.value.strerror
    p = instance.flux("job", "submit", input="{bad")
    assert p.returncode == 1 and "flux-job: jobspec: invalid JSON" in p.stderr
    js = instance.flux("run", "--dry-run", "--urgency=hold", "true", check=True).stdout
    jobid = instance.flux("job", "submit", "--urgency=0", input=js, check=True).stdout.strip()
    assert instance.flux("jobs", "-no", "{state}", jobid, check=True).stdout.strip() == "SCHED"
    assert instance.flux("job", "submit", "--flags=bogus", input=js).returncode == 1
    instance.flux("cancel", jobid, check=True)


def test_job_subcommand_options_as_flux_core(instance):
    jobid = instance.flux("submit", "--urgency=hold", "true", check=True).stdout.strip()
    instance.flux("job", "raise", "-m", "my note", "-t", "test", "-s", "4", jobid, check=True)
    p = instance.flux("job", "eventlog", jobid, check=True)
    assert 'type="test" severity=4 note="my note"' in p.stdout
    # usage errors exit 1, as flux-core's C subcommands
    assert instance.flux("job", "raise").returncode == 1
    assert instance.flux("job", "kill").returncode == 1
    p = instance.flux("job", "wait-event", "-c", "0", jobid, "clean")
    assert p.returncode == 1 and "count must be > 0" in p.stderr
    p = instance.flux("job", "wait-event", "-t", "0.2s", jobid, "clean")
    assert p.returncode == 1 and "wait-event timeout on event 'clean'" in p.stderr
    instance.flux("job", "cancel", "--message=bye", jobid, check=True)
    instance.flux("job", "wait-event", "-t", "30s", jobid, "clean", check=True)
    p = instance.flux("job", "eventlog", jobid, check=True)
    assert 'type="cancel" severity=0 note="bye"' in p.stdout


def test_job_status_and_wait_as_flux_core(instance):
    a = instance.flux("submit", "true", check=True).stdout.strip()
    b = instance.flux("submit", "sh", "-c", "exit 5", check=True).stdout.strip()
    p = instance.flux("job", "status", "-v", a, b)
    assert p.returncode == 5
    assert p.stderr.splitlines() == [
        "flux-job: fetching status for 2 jobs",
        "flux-job: all done.",
        f"flux-job: {b}: exited with exit code 5",
    ]
    p = instance.flux("job", "status", "f1234")
    assert p.returncode == 1 and p.stderr == "flux-job: f1234: No such job\n"
    # a job that is not waitable: exit code 2
    p = instance.flux("job", "wait", a)
    assert p.returncode == 2 and "not waitable" in p.stderr


def test_submit_log_files(instance, tmp_path):
    log, err = tmp_path / "log", tmp_path / "err"
    p = instance.flux("submit", f"--log={log}", "--urgency=hold", "true", check=True)
    assert p.stdout == "" and log.read_text().startswith("f")  # ASCII f58 in tests
    jobid = log.read_text().strip()
    p = instance.flux("submit", f"--log={log}", f"--log-stderr={err}", "-n", "100000", "true")
    assert p.returncode == 1 and p.stderr == ""
    assert err.read_text() == "[Errno 22] unsatisfiable request\n"
    instance.flux("cancel", jobid, check=True)


def test_getinfo_max_jobid_as_flux_core(instance):
    """job-manager.getinfo answers flux-core's max_jobid: the highest id submitted,
    still there once that job is inactive and purged."""
    from flux.job.JobID import JobID

    h = instance.handle()
    ids = instance.flux("submit", "--cc=1-3", "true", check=True).stdout.split()
    top = max(int(JobID(x)) for x in ids)
    assert h.rpc("job-manager.getinfo", {}).get()["max_jobid"] == top
    for x in ids:
        instance.flux("job", "wait-event", "-t", "60", x, "clean", check=True)
    instance.flux("job", "purge", "--force", "--num-limit=0", check=True)
    assert h.rpc("job-manager.getinfo", {}).get()["max_jobid"] == top
