"""The job-list service: answers job listing queries from an index of all
jobs maintained from the job-manager journal (see :mod:`.service`)."""

from .service import JobListService

__all__ = ["JobListService"]
