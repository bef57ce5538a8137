"""job-exec: runs a job's tasks as real processes, or waits in test mode."""

from flux.modules.job_exec.execsvc import Exec

__all__ = ["Exec"]
