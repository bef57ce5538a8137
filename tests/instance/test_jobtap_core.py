"""The jobtap core: Python plugins dispatched by topic glob, in load order."""

from __future__ import annotations

import json
import os

PRIO_PLUGIN = """
def prio(p, topic, args, arg):
    args.out["priority"] = {offset} + args["urgency"]
    return 0

def flux_plugin_init(p):
    p.add_handler("job.state.priority", prio)
    p.add_handler("job.priority.get", prio)
"""

GLOB_PLUGIN = """
import json
seen = []

def cb(p, topic, args, arg):
    with open({path!r}, "a") as f:
        f.write(topic + "\\n")
    return 0

def flux_plugin_init(p):
    p.add_handler("job.state.*", cb)
    p.add_handler("job.validate", cb)
"""

BAD_PLUGIN = """
def boom(p, topic, args, arg):
    raise RuntimeError("plugin bug")

def reject(p, topic, args, arg):
    if args["jobspec"]["tasks"][0]["command"][0] == "forbidden":
        args.out["errmsg"] = "forbidden commands are not allowed here"
        return -1
    return 0

def flux_plugin_init(p):
    p.add_handler("job.new", boom)
    p.add_handler("job.validate", reject)
"""


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    os.chmod(tmp_path, 0o755)
    return str(path)


def prio_of(inst, jobid):
    p = inst.flux("job", "eventlog", "-f", "json", jobid, check=True)
    evs = [json.loads(x) for x in p.stdout.splitlines()]
    return [e["context"]["priority"] for e in evs if e["name"] == "priority"]


def test_builtins_are_hidden_and_listed_with_a(make_instance):
    inst = make_instance()
    assert inst.flux("jobtap", "list", check=True).stdout == ""
    assert ".priority-default" in inst.flux("jobtap", "list", "-a", check=True).stdout.split()
    p = inst.flux("jobtap", "load", ".no-such-builtin")
    assert p.returncode == 1 and ".no-such-builtin not found" in p.stderr


def test_priority_plugin_last_writer_wins_and_reprioritizes(make_instance, tmp_path):
    from flux.resource.Rv1 import encode

    inst = make_instance(R=encode(hosts="n0", cores="0"))
    blocker = inst.flux("submit", "sleep", "300", check=True).stdout.strip()
    inst.flux("job", "wait-event", "-t", "30", blocker, "start", check=True)
    pending = inst.flux("submit", "--urgency=10", "true", check=True).stdout.strip()
    inst.flux("job", "wait-event", "-t", "30", pending, "priority", check=True)
    assert prio_of(inst, pending) == [10]
    a = write(tmp_path, "prio_a.py", PRIO_PLUGIN.format(offset=100))
    b = write(tmp_path, "prio_b.py", PRIO_PLUGIN.format(offset=1000))
    inst.flux("jobtap", "load", a, check=True)
    # loading reprioritizes pending jobs through job.priority.get
    assert prio_of(inst, pending) == [10, 110]
    inst.flux("jobtap", "load", b, check=True)
    assert prio_of(inst, pending) == [10, 110, 1010]
    assert inst.flux("jobtap", "list", check=True).stdout.split() == ["prio_a.py", "prio_b.py"]
    new = inst.flux("submit", "--urgency=3", "true", check=True).stdout.strip()
    inst.flux("job", "wait-event", "-t", "30", new, "priority", check=True)
    assert prio_of(inst, new) == [1003]
    # hold still forces priority 0 whatever the plugins say
    held = inst.flux("submit", "--urgency=hold", "true", check=True).stdout.strip()
    inst.flux("job", "wait-event", "-t", "30", held, "priority", check=True)
    assert prio_of(inst, held) == [0]
    p = inst.flux("jobtap", "load", a)
    assert p.returncode == 1 and "already loaded" in p.stderr
    inst.flux("jobtap", "remove", "prio_*", check=True)
    assert inst.flux("jobtap", "list", check=True).stdout == ""
    inst.flux("cancel", "--all", check=True)


def test_glob_dispatch_and_query(make_instance, tmp_path):
    inst = make_instance()
    log = tmp_path / "topics.log"
    path = write(tmp_path, "globber.py", GLOB_PLUGIN.format(path=str(log)))
    inst.flux("jobtap", "load", path, check=True)
    jobid = inst.flux("submit", "true", check=True).stdout.strip()
    inst.flux("job", "wait-event", "-t", "30", jobid, "clean", check=True)
    topics = log.read_text().split()
    assert topics == [
        "job.validate",
        "job.state.depend",
        "job.state.priority",
        "job.state.sched",
        "job.state.run",
        "job.state.cleanup",
        "job.state.inactive",
    ]
    q = json.loads(inst.flux("jobtap", "query", "globber.py", check=True).stdout)
    assert q == {"name": "globber.py", "path": path}
    p = inst.flux("jobtap", "query", "nope.py")
    assert p.returncode == 1 and "nope.py: plugin not found" in p.stderr


def test_failing_plugins_never_stop_the_broker(make_instance, tmp_path):
    inst = make_instance()
    path = write(tmp_path, "bad.py", BAD_PLUGIN)
    inst.flux("jobtap", "load", path, check=True)
    p = inst.flux("submit", "forbidden")
    assert p.returncode == 1 and "forbidden commands are not allowed here" in p.stderr
    p = inst.flux("run", "echo", "ok")
    assert p.returncode == 0 and p.stdout == "ok\n"
    dmesg = inst.flux("dmesg", check=True).stdout
    assert "plugin bug" in dmesg and "bad.py" in dmesg
