"""``flux job cancel ID... [MESSAGE]``."""

from __future__ import annotations

from flux.cmd import job_raise


def main(argv: list[str]) -> int:
    return job_raise.main(["--type=cancel", "--severity=0", *argv])
