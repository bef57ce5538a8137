"""flux.progress (Bottombar, ProgressBar) and --progress/--jps of flux submit."""

from __future__ import annotations

import io
import os
import re
import sys
from collections import namedtuple

import pytest
from ptyrun import run_in_pty

from flux.progress import Bottombar, ElapsedTime, ProgressBar

Size = namedtuple("Size", "columns lines")
ESC = re.compile(r"\x1b(\[[\d;?]*[A-Za-z]|[78DM])")


def final_line(output: str) -> str:
    """The line written once the bar has given the terminal back (reset scroll region,
    cursor restored, then the bar's final state)."""
    reset = "\x1b[r\x1b8"
    assert reset in output
    rest = output[output.rindex(reset) + len(reset) :]
    return ESC.sub("", rest.replace("\r", "").split("\n")[0])


def test_elapsed_time_dt():
    assert str(ElapsedTime(61.6).dt) == "0:01:02"


def test_bottombar_keywords_formatter_and_final_line(monkeypatch):
    out = io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)
    monkeypatch.setattr("shutil.get_terminal_size", lambda *a: Size(40, 10))
    bb = Bottombar(lambda b, width: f"i={b.i}".ljust(width, "."), i=0).start()
    assert bb.i == 0
    bb.update(i=5)
    assert "\x1b[1;9r" in out.getvalue()  # the scroll region leaves the last line
    assert "\x1b[10;1H" in out.getvalue()
    bb.stop()
    text = out.getvalue()
    assert text.endswith("i=5" + "." * 37 + "\n")
    assert "\x1b[r" in text  # scroll region reset
    bb.stop()  # a second stop writes nothing
    assert out.getvalue() == text
    assert str(Bottombar(a=1, b="x").__class__.__name__) == "Bottombar"
    default = Bottombar(a=1, b="x")
    default.size = Size(20, 5)
    assert str(default) == "a=1 b=x"


def test_progressbar_fill_percent_and_autostop(monkeypatch):
    out = io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)
    monkeypatch.setattr("shutil.get_terminal_size", lambda *a: Size(32, 10))
    pb = ProgressBar(total=4, before="{count}/{total} ", style="bar", autostop=True).start()
    pb.update()
    assert str(pb) == "1/4 │" + "█" * 5 + "─" * 14 + "│  25.0%"
    pb.update(advance=3)
    assert out.getvalue().endswith("4/4 │" + "█" * 19 + "│ 100.0%\n")
    assert not pb._running
    with pytest.raises(KeyError):
        ProgressBar(style="nope")


def test_unref_timer_does_not_keep_reactor_running(instance):
    h = instance.handle()
    ticks = []
    timer = h.timer_watcher_create(0, lambda *a: ticks.append(1), repeat=0.01).start()
    timer.unref()
    # an RPC answered, then nothing referenced is left: reactor_run returns
    h.rpc("broker.getattr", {"name": "rank"}).then(lambda f: f.get())
    h.reactor_run()
    timer.ref()
    timer.stop()


def test_progress_not_a_tty_warns_and_draws_nothing(instance):
    p = instance.flux("submit", "--cc=1-2", "--progress", "--wait", "true")
    assert p.returncode == 0, p.stderr
    assert "flux-submit: WARNING: stdout is not a tty. Ignoring --progress option" in p.stderr
    assert "\x1b" not in p.stdout and len(p.stdout.split()) == 2


def test_progress_wait_final_line_on_a_terminal(instance):
    argv = [sys.executable, "-m", "flux", "submit", "--cc=1-4", "--progress", "--wait"]
    rc, out = run_in_pty(argv + ["sh", "-c", "exit $((FLUX_JOB_CC % 2))"], instance.env)
    assert rc == 1
    last = final_line(out)
    assert re.match(r"PD:0 +R:0 +CD:2 +F:2 +│█+│100\.0% 0:00:\d\d$", last), last
    assert "\x1b[r" in out  # the terminal's scroll region is given back


def test_progress_jps_and_submit_only_bar(instance):
    argv = [sys.executable, "-m", "flux", "submit", "--cc=1-3", "--progress", "--jps"]
    rc, out = run_in_pty([*argv, "--wait", "true"], instance.env)
    assert rc == 0
    assert re.search(r"CD:3 +F:0 +│█+│100\.0% +[\d.]+ job/s$", final_line(out))
    rc, out = run_in_pty([*argv[:-1], "true"], instance.env, cols=80)
    assert rc == 0
    assert re.match(r"Submitting 3 jobs: │█+│100\.0% 0:00:\d\d$", final_line(out))
    assert len(re.findall(r"ƒ\w+|f\w{4,}", ESC.sub("", out))) >= 3  # the ids


def test_watch_output_with_progress(instance):
    argv = [sys.executable, "-m", "flux", "submit", "--progress", "--watch"]
    rc, out = run_in_pty([*argv, "printf", "hello\\033[2Jthere\\n"], instance.env)
    assert rc == 0
    assert "hellothere" in out  # cursor control in job output is dropped
    assert os.linesep in out
