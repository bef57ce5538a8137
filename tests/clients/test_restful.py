"""flux-restful, installed from PyPI, serves a pure-flux instance unchanged.

The server runs as its docs show (``flux-restful serve`` inside the instance, no
auth, on 127.0.0.1 and a free port) and is driven through its own Python client
(``flux_restful.client.FluxRestfulClient``) and plain HTTP for the web pages.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time

import pytest

pytest.importorskip("flux_restful", reason="flux-restful is in the test extra")
httpx = pytest.importorskip("httpx")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, inst, workdir):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = inst.env
        env["FLUX_AUTH_BACKEND"] = "none"
        exe = shutil.which("flux-restful")
        assert exe, "flux-restful's command is installed with the package"
        self.log = open(os.path.join(workdir, "server.log"), "w+")
        self.proc = subprocess.Popen(
            [exe, "serve", "--host", "127.0.0.1", "--port", str(self.port)],
            env=env,
            cwd=workdir,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(self.url + "/", timeout=2)
                break
            except httpx.TransportError:
                assert self.proc.poll() is None, self.server_log()
                assert time.monotonic() < deadline, self.server_log()
                time.sleep(0.2)

    def server_log(self) -> str:
        self.log.seek(0)
        return self.log.read()[-4000:]

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.log.close()


@pytest.fixture
def restful(make_instance, tmp_path):
    inst = make_instance()
    server = Server(inst, str(tmp_path))
    yield inst, server
    server.stop()


def _client(server):
    from flux_restful.client.main.client import FluxRestfulClient

    return FluxRestfulClient(host=server.url)


def _stream(server, jobid) -> list[str]:
    """The output stream endpoint's lines (the client's stream_output() is broken in
    flux-restful 1.1.0: it treats httpx.stream()'s context manager as a response)."""
    with httpx.stream("GET", f"{server.url}/v1/jobs/{jobid}/output/stream", timeout=60) as r:
        assert r.status_code == 200
        return [line for line in r.iter_lines() if line]


def _wait_inactive(inst, jobid) -> None:
    inst.flux("job", "wait-event", "-t", "60", str(jobid), "clean", check=True)


def test_restful_api(restful, tmp_path):
    inst, server = restful
    cli = _client(server)

    # submit: command, tasks and working directory as query parameters, the
    # environment as the JSON body (the client sends everything as parameters,
    # so its envars cannot arrive: a flux-restful client limitation)
    res = httpx.post(
        f"{server.url}/v1/jobs/submit",
        params={
            "command": "sh -c 'echo out:$GREETING:$(pwd); echo err >&2'",
            "num_tasks": 2,
            "cores_per_task": 1,
            "num_nodes": 1,
            "workdir": str(tmp_path),
            "option_flags": "cpu-affinity=off",
            "runtime": 600,
        },
        json={"GREETING": "hi"},
    ).json()
    assert res["Message"] == "Job submit.", res
    jobid = res["id"]
    _wait_inactive(inst, jobid)
    spec = json.loads(inst.flux("job", "info", str(jobid), "jobspec", check=True).stdout)
    system = spec["attributes"]["system"]
    assert system["shell"]["options"]["cpu-affinity"] == "off"
    assert system["duration"] == 600
    assert system["cwd"] == str(tmp_path)
    assert spec["tasks"][0]["command"] == ["sh", "-c", "echo out:$GREETING:$(pwd); echo err >&2"]
    bad = cli.submit("true", num_tasks=0)
    assert "Errors" in bad or "Error" in bad, bad

    # plain listing: ids as flux.job.job_list gives them
    listing = cli.jobs()
    assert [j["id"] for j in listing["jobs"]] == [jobid]

    # one job's details (JobInfo attributes flux-core's bindings have)
    info = cli.jobs(jobid)
    assert info["id"] == jobid
    assert info["state"] == "INACTIVE"
    assert info["result"] == "COMPLETED"
    assert info["returncode"] == 0
    assert info["nnodes"] == 1
    assert info["ntasks"] == 2
    assert info["waitstatus"] == 0
    assert info["nodelist"] == socket.gethostname()
    assert info["exception"]["occurred"] is False
    assert info["runtime"] > 0
    assert cli.do_request("jobs/123456789", "GET").status_code == 404

    # detailed listings, as a dict by id and as a list
    details = httpx.get(f"{server.url}/v1/jobs", params={"details": "true"}).json()
    assert details[str(jobid)]["result"] == "COMPLETED"
    rows = httpx.get(f"{server.url}/v1/jobs", params={"details": "true", "listing": "true"}).json()
    assert [r["id"] for r in rows] == [jobid]

    # output: the job's output eventlog (guest.output), snapshot and stream
    out = cli.output(jobid)["Output"]
    assert sorted(out) == sorted([f"out:hi:{tmp_path}\n"] * 2 + ["err\n"] * 2)
    streamed = _stream(server, jobid)
    assert sorted(streamed) == sorted([f"out:hi:{tmp_path}"] * 2 + ["err"] * 2)

    # search (the data table's endpoint)
    found = httpx.get(f"{server.url}/v1/jobs/search", params={"search": "COMPLETED"}).json()
    assert [r["id"] for r in found["data"]] == [jobid]
    none = httpx.get(f"{server.url}/v1/jobs/search", params={"search": "no-such-thing"}).json()
    assert none["data"] == [] and none["recordsTotal"] == 1

    # nodes: flux.resource.list.resource_list()'s up set
    assert cli.list_nodes() == {"nodes": [socket.gethostname()]}


def test_restful_stream_and_cancel_running_job(restful):
    inst, server = restful
    cli = _client(server)
    res = cli.submit("sh -c 'echo started; sleep 300'")
    jobid = res["id"]
    inst.flux("job", "wait-event", "-t", "60", str(jobid), "start", check=True)
    # the output so far of a running job, without waiting for its end
    deadline = time.monotonic() + 30
    while cli.output(jobid).get("Output") != ["started\n"]:
        assert time.monotonic() < deadline
        time.sleep(0.2)
    info = cli.jobs(jobid)
    assert info["state"] == "RUN"
    assert cli.cancel(jobid)["Message"] == "Job is requested to cancel."
    _wait_inactive(inst, jobid)
    info = cli.jobs(jobid)
    assert info["result"] == "CANCELED"
    assert info["exception"]["type"] == "cancel"
    # the stream of an ended job gives what it wrote, then ends
    assert _stream(server, jobid) == ["started"]
    again = cli.cancel(jobid)
    assert "cannot be cancelled" in again["Message"]


def test_restful_pages(restful):
    inst, server = restful
    cli = _client(server)
    jobid = cli.submit("echo hello-from-the-web-page")["id"]
    _wait_inactive(inst, jobid)
    home = httpx.get(server.url + "/")
    assert home.status_code == 200
    table = httpx.get(server.url + "/jobs")
    assert table.status_code == 200
    # the table's rows come from the search endpoint the page's script calls
    rows = httpx.get(f"{server.url}/v1/jobs/search", params={"start": 0, "length": 10}).json()
    assert [r["id"] for r in rows["data"]] == [jobid]
    page = httpx.get(f"{server.url}/job/{jobid}")
    assert page.status_code == 200, page.text[-2000:]
    assert "hello-from-the-web-page" in page.text  # the output, from guest.output
    assert f"<td>{jobid}</td>" in page.text
    assert f"({socket.gethostname()})" in page.text  # nnodes (nodelist)
