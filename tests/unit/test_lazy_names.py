"""``flux`` and ``flux.job`` load their names on first use; the names stay what they were
when the packages imported everything eagerly (each check in a fresh interpreter)."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def run(code: str) -> None:
    p = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=60
    )
    assert p.returncode == 0, p.stderr


def test_import_flux_is_light_and_complete():
    run(
        """
        import sys
        import flux
        assert "flux.core.handle" not in sys.modules
        from flux.core.handle import Flux
        assert flux.Flux is Flux
        assert flux.constants.FLUX_NODEID_ANY == 0xFFFFFFFF
        assert flux.rpc.RPC.__name__ == "RPC"
        assert flux.job.JobID(42) == 42  # submodules as attributes
        assert hasattr(flux, "Flux") and not hasattr(flux, "no_such_thing")
        from flux import Flux as F2
        assert F2 is Flux
        """
    )


def test_flux_job_names_load_on_first_use():
    run(
        """
        import sys, types
        import flux.job
        loaded = {m for m in sys.modules if m.startswith("flux.job.")}
        assert loaded == {"flux.job.JobID"}, loaded
        from flux.job.submit import submit, SubmitFuture
        from flux.job.wait import wait
        from flux.job.kill import kill
        from flux.job.result import result
        from flux.job.Jobspec import JobspecV1
        # the functions and classes, never the submodules of the same names
        assert flux.job.submit is submit and flux.job.wait is wait
        assert {"submit", "Jobspec", "list", "JobList"} <= set(dir(flux.job))
        assert flux.job.kill is kill and flux.job.result is result
        assert isinstance(flux.job.Jobspec, type) and flux.job.JobspecV1 is JobspecV1
        assert flux.job.SubmitFuture is SubmitFuture
        assert isinstance(flux.job.list, types.ModuleType)  # flux-core's submodule names
        assert flux.job.list.JobList is flux.job.JobList
        assert callable(flux.job.timeleft) and flux.job.JobID.__name__ == "JobID"
        for name in flux.job.__all__:
            assert getattr(flux.job, name) is not None, name
        try:
            flux.job.no_such_name
        except AttributeError:
            pass
        else:
            raise AssertionError("no AttributeError")
        """
    )


def test_flux_job_names_before_submodule_import():
    run(
        """
        import flux.job
        submit = flux.job.submit  # the function first ...
        import flux.job.submit  # ... then the submodule: the name keeps the function
        assert flux.job.submit is submit and callable(submit)
        assert submit.__module__ == "flux.job.submit"
        """
    )
