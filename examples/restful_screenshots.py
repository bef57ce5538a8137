"""Screenshots of flux-restful's web pages served from a pure-flux instance.

Run inside an instance (flux-restful, playwright and Debian's chromium installed):

    pip install '.[test]' playwright && apt-get install chromium
    flux start python examples/restful_screenshots.py docs/images

It submits a few jobs (completed, failed, canceled, running), starts
``flux-restful serve`` on 127.0.0.1 with no auth, and saves PNGs of the job
table (``/jobs``) and of one job's page with its output (``/job/ID``) into the
given directory.

The pages load jQuery, DataTables, Bootstrap and Prism from public CDNs, which
this machine cannot reach; the browser's requests for them are answered from the
same packages installed from the npm registry into a cache directory (by file
name), so the pages render as they would on a connected machine.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import flux
import flux.job

NPM_PACKAGES = [
    "jquery@3.6.0",
    "datatables.net@1.13.1",
    "datatables.net-dt@1.13.1",
    "datatables.net-bs5@1.13.1",
    "bootstrap@5.1.3",
    "prismjs@1.23.0",
    "font-awesome@4.7.0",
    "normalize.css@8.0.1",
    "malihu-custom-scrollbar-plugin@3.1.5",
]

CONTENT_TYPES = {
    ".js": "application/javascript",
    ".css": "text/css",
    ".woff": "font/woff",
    ".woff2": "font/woff2",
    ".ttf": "font/ttf",
    ".svg": "image/svg+xml",
    ".eot": "application/vnd.ms-fontobject",
}


def npm_assets(cache: str) -> dict[str, str]:
    """Install the pages' front-end packages into ``cache``; index their files by name."""
    modules = os.path.join(cache, "node_modules")
    if not os.path.isdir(modules):
        os.makedirs(cache, exist_ok=True)
        subprocess.run(
            ["npm", "install", "--silent", "--no-audit", "--no-fund", "--prefix", cache]
            + NPM_PACKAGES,
            check=True,
        )
    index: dict[str, str] = {}
    for top, _dirs, files in os.walk(modules):
        for name in files:
            index.setdefault(name, os.path.join(top, name))
    return index


def asset_for(url: str, index: dict[str, str]) -> str | None:
    name = url.split("?", 1)[0].rsplit("/", 1)[-1]
    candidates = [name, name.replace(".min.", ".")]
    if name.startswith("jquery-") and name.endswith(".min.js"):
        candidates.append("jquery.min.js")  # code.jquery.com names the version
    if name == "jquery.dataTables.min.css":
        candidates.insert(0, "jquery.dataTables.min.css")
    for c in candidates:
        if c in index:
            return index[c]
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def submit_jobs(h: flux.Flux, workdir: str) -> dict[str, int]:
    def js(cmd: list[str], **kw) -> flux.job.JobspecV1:
        spec = flux.job.JobspecV1.from_command(cmd, **kw)
        spec.cwd = workdir
        spec.environment = dict(os.environ)
        return spec

    jobs = {
        "hello": flux.job.submit(
            h, js(["sh", "-c", "echo hello from task $FLUX_TASK_RANK; hostname"], num_tasks=2)
        ),
        "compute": flux.job.submit(h, js(["python3", "-c", "print(sum(range(10**6)))"])),
        "failed": flux.job.submit(h, js(["sh", "-c", "echo going to fail >&2; exit 3"])),
        "canceled": flux.job.submit(h, js(["sleep", "600"])),
        "running": flux.job.submit(h, js(["sh", "-c", "echo still running; sleep 600"])),
    }
    flux.job.event_wait(h, jobs["canceled"], "start")
    flux.job.cancel(h, jobs["canceled"])
    for name in ("hello", "compute", "failed", "canceled"):
        flux.job.event_wait(h, jobs[name], "clean", raiseJobException=False)
    flux.job.event_wait(h, jobs["running"], "start")
    return {k: int(v) for k, v in jobs.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("outdir", help="directory for the PNG files")
    parser.add_argument("--assets", default=os.path.expanduser("~/.cache/pure-flux-restful-assets"))
    parser.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    args = parser.parse_args()
    os.makedirs(args.outdir, exist_ok=True)
    from playwright.sync_api import sync_playwright

    index = npm_assets(args.assets)
    workdir = os.path.abspath(os.path.join(args.outdir, ".restful-run"))
    os.makedirs(workdir, exist_ok=True)
    h = flux.Flux()
    jobs = submit_jobs(h, workdir)

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = dict(os.environ, FLUX_AUTH_BACKEND="none")
    server = subprocess.Popen(
        ["flux-restful", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        cwd=workdir,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(url + "/", timeout=2)
                break
            except OSError:
                time.sleep(0.2)

        def route(r) -> None:
            req_url = r.request.url
            if req_url.startswith(url):
                r.continue_()
                return
            path = asset_for(req_url, index)
            if path is None:
                r.abort()
                return
            ext = os.path.splitext(path)[1]
            with open(path, "rb") as f:
                body = f.read()
            r.fulfill(status=200, body=body, content_type=CONTENT_TYPES.get(ext, "text/plain"))

        with sync_playwright() as pw:
            browser = pw.chromium.launch(
                executable_path=args.chromium,
                args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
            )
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.route("**/*", route)
            page.goto(url + "/jobs")
            page.wait_for_selector("table tbody tr td", timeout=30000)
            page.wait_for_timeout(500)
            table = os.path.join(args.outdir, "restful-jobs.png")
            page.screenshot(path=table, full_page=True)
            page.goto(f"{url}/job/{jobs['hello']}")
            page.wait_for_load_state("networkidle")
            job = os.path.join(args.outdir, "restful-job.png")
            page.screenshot(path=job, full_page=True)
            browser.close()
        print(table)
        print(job)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait()
        flux.job.cancel(h, jobs["running"])
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
