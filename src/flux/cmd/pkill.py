"""``flux pkill [OPTIONS] EXPRESSION...``: cancel jobs whose name matches a pattern.

The selection is ``flux pgrep``'s (active jobs of the current user by default); -w waits
for the canceled jobs to end. Exit 0 if jobs matched and were canceled, 1 if none
matched or a cancel failed, 2 for a bad expression or option.
"""

from __future__ import annotations


def main(argv: list[str]) -> int:
    from flux.cmd.pgrep import run

    return run(argv, "flux-pkill")
