"""``flux hostlist [OPTIONS] [SOURCES...]``: combine, filter and print hostlists.

SOURCES: ``instance`` (the broker's hostlist attribute), a job id (its nodes),
``local`` (the current job's nodes if FLUX_JOB_ID is set, else ``instance``),
``avail``/``available`` (the instance's nodes that are not down or drained),
``stdin``/``-``, or a literal hostlist. Default: stdin (``local`` with -l).
"""

from __future__ import annotations

import argparse
import os
import select
import sys
from typing import Any

from flux.util.hostlist import Hostlist

PROG = "flux-hostlist"

EPILOG = """
SOURCES may include:
instance     hosts from the broker 'hostlist' attribute.
jobid        hosts assigned to a job
local        hosts assigned to current job if FLUX_JOB_ID is set, otherwise
             returns the 'instance' hostlist
avail[able]  instance hostlist minus those nodes down or drained
stdin, '-'   read a list of hosts on stdin
hosts        literal list of hosts

The default when no SOURCES are supplied is 'stdin', unless the -l, --local
option is used, in which case the default is 'local'.
"""


class HostlistError(Exception):
    pass


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog=PROG, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    output = ap.add_mutually_exclusive_group()
    output.add_argument(
        "-e", "--expand", action="store_true", help="Expand hostlist using defined output delimiter"
    )
    ap.add_argument(
        "-d",
        "--delimiter",
        metavar="S",
        default=" ",
        help="Set output delimiter for expanded hostlist (default=' ')",
    )
    output.add_argument(
        "-c", "--count", action="store_true", help="Print the total number of hosts"
    )
    ap.add_argument(
        "-n",
        "--nth",
        metavar="[-]IDS",
        help="Output hosts at indices in idset IDS (-IDS to index from end)",
    )
    ap.add_argument(
        "-F",
        "--find",
        metavar="HOSTS",
        help="Output indices of HOSTS in target in hostlist. Fails if any host is not found.",
    )
    ap.add_argument(
        "-L",
        "--limit",
        metavar="N",
        type=int,
        help="Output at most N hosts (-N for the last N hosts)",
    )
    ap.add_argument("-S", "--sort", action="store_true", help="Return sorted result")
    ap.add_argument(
        "-x",
        "--exclude",
        metavar="IDS|HOSTS",
        help="Exclude all occurrences of HOSTS or indices from final result",
    )
    ap.add_argument(
        "-u",
        "--union",
        "--unique",
        action="store_true",
        help="Return only unique hosts in the final hostlist. Without other options, this is "
        "the same as the union of all hostlist args (default mode is append).",
    )
    setop = ap.add_mutually_exclusive_group()
    setop.add_argument(
        "-i", "--intersect", action="store_true", help="Return the intersection of all hostlists"
    )
    setop.add_argument(
        "-m", "--minus", action="store_true", help="Subtract all hostlist args from first argument"
    )
    setop.add_argument(
        "-X", "--xor", action="store_true", help="Return the symmetric difference of all hostlists"
    )
    ap.add_argument(
        "-f",
        "--fallback",
        action="store_true",
        help="Fallback to treating jobids that are not found as hostnames "
        "(for hostnames that are also valid jobids e.g. f1, fuzz100, etc)",
    )
    ap.add_argument(
        "-l",
        "--local",
        action="store_true",
        help="Set the default source to 'local' instead of 'stdin'",
    )
    ap.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        help="No output. Exit with nonzero exit status if hostlist is empty",
    )
    ap.add_argument(
        "sources", metavar="SOURCES", nargs="*", help="(optional) One or more hostlist sources"
    )
    return ap


class Resolver:
    """Turns each source into a Hostlist (one broker connection, opened when needed)."""

    def __init__(self, fallback: bool):
        self.fallback = fallback
        self._h: Any = None

    @property
    def h(self) -> Any:
        if self._h is None:
            from flux.cmd.common import handle

            self._h = handle(PROG)
        return self._h

    def instance(self) -> Hostlist:
        return Hostlist(self.h.attr_get("hostlist"))

    def job(self, arg: str, jobid: int) -> Hostlist:
        from flux.job.list import job_list_id

        try:
            job = job_list_id(self.h, jobid, attrs=["nodelist"]).get_jobinfo()
        except FileNotFoundError:
            if self.fallback:
                return Hostlist(arg)
            raise HostlistError(f"job {arg} not found") from None
        except OSError as exc:
            raise HostlistError(f"job {arg}: {exc.strerror or exc}") from None
        return Hostlist(job.nodelist or "")

    def local(self) -> Hostlist:
        jobid = os.environ.get("FLUX_JOB_ID")
        if jobid:
            from flux.job.JobID import JobID

            return self.job(jobid, int(JobID(jobid)))
        return self.instance()

    def available(self) -> Hostlist:
        status = self.h.rpc("sched.resource-status").get()
        hosts = Hostlist(status["all"]["execution"].get("nodelist", []))
        down = Hostlist(status.get("down", {}).get("execution", {}).get("nodelist", []))
        local = self.local()
        return Hostlist([x for x in local if x in hosts and x not in down])

    @staticmethod
    def stdin() -> Hostlist:
        timeout = float(os.environ.get("FLUX_HOSTLIST_STDIN_TIMEOUT", 15.0))
        if not select.select([sys.stdin], [], [], timeout)[0]:
            raise HostlistError(f"timeout after {timeout}s waiting for stdin")
        hl = Hostlist()
        for line in sys.stdin.read().splitlines():
            if line.strip():
                hl.append(line.strip())
        return hl

    def resolve(self, arg: str) -> Hostlist:
        if arg == "instance":
            return self.instance()
        if arg == "local":
            return self.local()
        if arg in ("avail", "available"):
            return self.available()
        if arg in ("stdin", "-"):
            return self.stdin()
        from flux.job.JobID import JobID

        try:
            jobid = int(JobID(arg))
        except (ValueError, TypeError):
            jobid = None
        if jobid is not None:
            return self.job(arg, jobid)
        try:
            return Hostlist(arg)
        except (TypeError, ValueError):
            raise HostlistError(f"Invalid jobid or hostlist {arg}") from None


def _intersect(a: Hostlist, b: Hostlist) -> Hostlist:
    return Hostlist([x for x in a if x in b]).uniq()


def _minus(a: Hostlist, b: Hostlist) -> Hostlist:
    return Hostlist([x for x in a if x not in b])


def _xor(a: Hostlist, b: Hostlist) -> Hostlist:
    result = _minus(a, b)
    result.append(_minus(b, a))
    return result.uniq()


def _indices(spec: str) -> list[int]:
    from flux.util.idset import decode

    return decode(spec)


def compute(args: argparse.Namespace, lists: list[Hostlist]) -> Hostlist:
    if args.intersect or args.xor or args.minus:
        hl = lists.pop(0)
        op = _intersect if args.intersect else _xor if args.xor else _minus
        for other in lists:
            hl = op(hl, other)
    else:
        hl = Hostlist()
        for other in lists:
            hl.append(other)
    if args.exclude:
        count = len(hl)
        try:
            # delete() drops the first occurrence of each host: repeat for all of them
            while hl.delete(Hostlist(args.exclude).expand()) > 0:
                pass
        except ValueError:
            pass
        if len(hl) == count:
            try:
                drop = set(_indices(args.exclude))
                hl = Hostlist([h for i, h in enumerate(hl) if i not in drop])
            except ValueError:
                pass
    if args.sort:
        hl.sort()
    if args.union:
        hl.uniq()
    if args.limit:
        hl = hl[: args.limit] if args.limit > 0 else hl[args.limit :]
    if args.nth is not None:
        try:
            if args.nth.startswith("-"):
                hl = Hostlist([hl[-i] for i in reversed(_indices(args.nth[1:]))])
            else:
                hl = Hostlist([hl[i] for i in _indices(args.nth)])
        except IndexError:
            raise HostlistError("Invalid index") from None
    return hl


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    if not args.sources:
        args.sources = ["local"] if args.local else ["stdin"]
    resolver = Resolver(args.fallback)
    try:
        hl = compute(args, [resolver.resolve(src) for src in args.sources])
        if args.find:
            found = []
            for host in Hostlist(args.find):
                index = hl.find(host)
                if index < 0:
                    raise HostlistError(f"{host} not found in hostlist")
                found.append(str(index))
            text = " ".join(found)
        elif args.count:
            text = str(len(hl))
        elif args.expand:
            text = args.delimiter.replace("\\n", "\n").join(hl) if len(hl) else None
        else:
            text = hl.encode() if len(hl) else None
    except (HostlistError, ValueError, OSError) as exc:
        print(f"{PROG}: ERROR: {getattr(exc, 'strerror', None) or exc}", file=sys.stderr)
        return 1
    if text is not None and not args.quiet:
        print(text)
    return 1 if args.quiet and not len(hl) else 0
