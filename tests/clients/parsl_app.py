"""A Parsl program run by tests/clients/test_parsl.py, as Parsl's docs show it.

Parsl's FluxExecutor starts its own instance (``flux start`` through a
LocalProvider) and submits each app as a job through ``flux.job.FluxExecutor``.
Prints one JSON line of what the apps gave back.
"""

import json
import os
import sys

import parsl
from parsl import bash_app, python_app
from parsl.config import Config
from parsl.executors import FluxExecutor
from parsl.providers import LocalProvider


@python_app
def add(a, b):
    return a + b


@python_app
def where():
    import os

    return {"FLUX_JOB_ID": os.environ.get("FLUX_JOB_ID"), "FLUX_URI": os.environ.get("FLUX_URI")}


@python_app
def fails():
    raise ValueError("raised inside a parsl app")


@bash_app
def hello(name, stdout=None, stderr=None):
    return f"echo hello {name}; echo to-stderr >&2"


def main() -> int:
    workdir = sys.argv[1]
    cfg = Config(
        executors=[
            FluxExecutor(provider=LocalProvider(), working_dir=os.path.join(workdir, "parsl"))
        ],
        run_dir=os.path.join(workdir, "runinfo"),
    )
    parsl.load(cfg)
    out: dict = {}
    try:
        out["sums"] = [f.result(timeout=120) for f in [add(i, i) for i in range(5)]]
        out["where"] = where().result(timeout=120)
        stdout = os.path.join(workdir, "hello.out")
        stderr = os.path.join(workdir, "hello.err")
        out["bash_rc"] = hello("parsl", stdout=stdout, stderr=stderr).result(timeout=120)
        with open(stdout) as f:
            out["bash_stdout"] = f.read()
        with open(stderr) as f:
            out["bash_stderr"] = f.read()
        try:
            fails().result(timeout=120)
            out["raised"] = None
        except ValueError as exc:
            out["raised"] = str(exc)
    finally:
        parsl.dfk().cleanup()
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
