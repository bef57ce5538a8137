"""``flux bulksubmit [OPTIONS] COMMAND... [::: INPUTS...]``: one job per input combination.

Like GNU parallel or xargs: inputs come from stdin (one per line by default) or from
``:::`` lists (``::::`` reads a list from a file, ``:::+``/``::::+`` links a list to the
previous ones instead of multiplying), and are substituted into the command and the
options with Python's ``str.format``: ``{}``/``{0}``/``{1}``, format specs (``{:>4}``),
``{.%}`` (no extension), ``{./}`` (basename), ``{.//}`` (dirname), ``{./%}``,
``{seq}``/``{seq1}``, methods from ``--define NAME=CODE`` (``{.NAME}``), and ``{cc}``
(replaced in a second pass, once per ``--cc``/``--bcc`` id; empty without them).
``{{...}}`` mustache templates are left for the job shell.
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys

TYPE_CHECKING = False  # (typing costs a command milliseconds to import; hints only)
if TYPE_CHECKING:
    from typing import Any

PROG = "flux-bulksubmit"
USAGE = "flux bulksubmit [OPTIONS...] COMMAND [ARGS...]"
DELIM = ":::"
_LIST = "::list::"

# options whose values are formatted with each input, and how --dry-run shows them
MUTABLE = {
    "queue": "-q",
    "bank": "-B",
    "ntasks": "-n",
    "nodes": "-N",
    "cores_per_task": "-c",
    "gpus_per_task": "-g",
    "cores": "--cores=",
    "tasks_per_node": "--tasks-per-node=",
    "tasks_per_core": "--tasks-per-core=",
    "gpus_per_node": "--gpus-per-node=",
    "time_limit": "-t",
    "env": "--env=",
    "urgency": "--urgency=",
    "setopt": "-o ",
    "setattr": "--setattr=",
    "job_name": "--job-name=",
    "input": "--input=",
    "output": "--output=",
    "error": "--error=",
    "cc": "--cc=",
    "bcc": "--bcc=",
    "log": "--log=",
    "log_stderr": "--log-stderr=",
    "dependency": "--dependency=",
    "taskmap": "--taskmap=",
    "requires": "--requires=",
    "wait": "--wait-event=",
    "cwd": "--cwd=",
    "flags": "--flags=",
    "signal": "--signal=",
}


class BulkError(Exception):
    """A message for ``flux-bulksubmit: ERROR: ...`` (exit 1)."""


class Xinput(str):
    """One input string; its attributes ``%``, ``/``, ``//``, ``/%`` and the --define
    methods give transformed versions of it (``{0./}``)."""

    methods: dict[str, Any] = {}

    def __new__(cls, value: str, methods: dict[str, Any]) -> Xinput:
        obj = super().__new__(cls, value)
        obj.methods = methods
        return obj

    def __getattribute__(self, attr: str) -> Any:
        text = str.__str__(self)
        if attr == "%":
            return os.path.splitext(text)[0]
        if attr == "/":
            return os.path.basename(text)
        if attr == "//":
            return os.path.dirname(text)
        if attr == "/%":
            return os.path.basename(os.path.splitext(text)[0])
        methods = str.__getattribute__(self, "__dict__").get("methods", {})
        if attr in methods:
            result = eval(methods[attr], {}, {"x": text})  # the user's own --define code
            if isinstance(result, list):
                return _LIST.join(str(x) for x in result)
            return result
        try:
            return str.__getattribute__(self, attr)
        except AttributeError:
            raise ValueError(f"Unknown input string method '.{attr}'") from None


def _keep_mustache(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("{{", "\0stache\0").replace("}}", "\0/stache\0")
    if isinstance(value, list):
        return [_keep_mustache(x) for x in value]
    return value


def _restore_mustache(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("\0stache\0", "{{").replace("\0/stache\0", "}}")
    if isinstance(value, list):
        return [_restore_mustache(x) for x in value]
    return value


def substitute(
    args: argparse.Namespace, inputs: list[str], **kwargs: Any
) -> tuple[argparse.Namespace, str]:
    """A copy of ``args`` with ``inputs`` and ``kwargs`` formatted into the command and
    the mutable options, and the --dry-run text of it (changed options, then command)."""
    xin = [Xinput(x, args.methods) for x in inputs]
    new = argparse.Namespace(**vars(args))
    command: list[str] = []
    for arg in args.command:
        try:
            text = _keep_mustache(arg).format(*xin, **kwargs)
        except (IndexError, KeyError):
            raise BulkError(f"Invalid replacement string in command: '{arg}'") from None
        except (ValueError, AttributeError, TypeError) as exc:
            raise BulkError(str(exc)) from None
        command.extend(_restore_mustache(text.split(_LIST)))
    new.command = command
    shown: list[str] = []
    for attr, opt in MUTABLE.items():
        value = getattr(args, attr, None)
        if value is None:
            continue
        kept = _keep_mustache(value)
        try:
            if isinstance(kept, str):
                result: Any = kept.format(*xin, **kwargs)
            elif isinstance(kept, list):
                result = [x.format(*xin, **kwargs) for x in kept]
            else:
                result = kept
        except IndexError:
            raise BulkError(f"Invalid replacement index in {opt}{value}'") from None
        except KeyError as exc:
            raise BulkError(f"Replacement key {exc} not found in '{opt}{value}'") from None
        except (ValueError, AttributeError, TypeError) as exc:
            raise BulkError(str(exc)) from None
        result = _restore_mustache(result)
        setattr(new, attr, result)
        if (result != value or attr == "cc") and result:
            shown.append(f"{opt}{result}")
    return new, " ".join(shown + command)


def _read_inputs(fp: Any, sep: str | None) -> list[str]:
    return [x for x in fp.read().split(sep) if x]


def _split_before(items: list[str], pred: Any) -> list[list[str]]:
    groups: list[list[str]] = [[]]
    for item in items:
        if pred(item):
            groups.append([])
        groups[-1].append(item)
    return groups


def split_command_inputs(
    command: list[str], sep: str | None
) -> tuple[list[str], list[list[str]], list[tuple[int, list[str]]]]:
    """Split ``command`` at the ``:::`` delimiters: (template, input lists, linked lists
    as (position, list))."""
    template, *groups = _split_before(command, lambda x: x.startswith(DELIM))
    lists: list[list[str]] = []
    links: list[tuple[int, list[str]]] = []
    for position, group in enumerate(groups):
        delim, items = group[0], group[1:]
        if delim not in (DELIM, DELIM + "+", DELIM + ":", DELIM + ":+"):
            raise BulkError(f"invalid input delimiter '{delim}'")
        if delim.startswith(DELIM + ":"):
            if len(items) != 1:
                raise BulkError(f"Multiple args not allowed after {DELIM}:")
            if items[0] == "-":
                items = _read_inputs(sys.stdin, sep)
            else:
                try:
                    with open(items[0]) as fp:
                        items = _read_inputs(fp, sep)
                except OSError as exc:
                    raise BulkError(f"{items[0]}: {exc.strerror}") from None
        if delim.endswith("+"):
            links.append((position, items))
        else:
            lists.append(items)
    return template, lists, links


def create_commands(args: argparse.Namespace) -> list[tuple[argparse.Namespace, str]]:
    """One (options, --dry-run text) per combination of inputs."""
    sep: str | None = args.sep.encode().decode("unicode_escape")
    if sep is not None and sep.lower() == "none":
        sep = None
    methods = {}
    for item in args.methods:
        name, eq, code = item.partition("=")
        if not eq or not name:
            raise BulkError(f"--define: invalid argument '{item}', expected NAME=CODE")
        try:
            methods[name] = compile(code, name, "eval")
        except SyntaxError as exc:
            raise BulkError(f"--define={item}: {exc.msg}") from None
    args.methods = methods
    template, lists, links = split_command_inputs(args.command, sep)
    args.command = template or ["{}"]
    if not lists:
        lists = [_read_inputs(sys.stdin, sep)]
    combos = [list(x) for x in itertools.product(*lists)]
    for position, items in links:
        cycle = itertools.cycle(items)
        for combo in combos:
            combo.insert(position, next(cycle) if items else "")
    return [substitute(args, combo, seq=i, seq1=i + 1, cc="{cc}") for i, combo in enumerate(combos)]


def _specs_for(xargs: argparse.Namespace) -> list[tuple[int | None, dict, int, int]]:
    """The jobspecs of one command: one per --cc/--bcc id (``{cc}`` substituted)."""
    from flux.cmd import submit_opts

    copies = submit_opts.cc_list(xargs)
    if copies == [None]:
        xargs = submit_opts._substitute_cc(xargs, "")  # type: ignore[arg-type]
    urgency = submit_opts.parse_urgency(xargs.urgency) if xargs.urgency is not None else 16
    flags = submit_opts.parse_flags(xargs.flags)
    return [(cc, submit_opts.jobspec_from_args(xargs, cc), urgency, flags) for cc in copies]


def parser() -> argparse.ArgumentParser:
    from flux.cmd import submit_opts

    ap = argparse.ArgumentParser(prog=PROG, usage=USAGE)
    submit_opts.add_submit_options(ap)
    ap.add_argument(
        "--shuffle", action="store_true", help="Shuffle list of commands before submission"
    )
    ap.add_argument(
        "--sep",
        metavar="STRING",
        default="\n",
        help="Set the input argument separator. To split on whitespace, use --sep=none. "
        "The default is newline.",
    )
    ap.add_argument(
        "--define",
        action="append",
        dest="methods",
        default=[],
        metavar="NAME=CODE",
        help="Define a named method for transforming any input, accessible via e.g. "
        "'{0.NAME}' (the local variable 'x' holds the input string)",
    )
    return ap


def main(argv: list[str]) -> int:
    from flux.cmd.submit import progress_check, submit_and_follow

    args = parser().parse_args(argv)
    try:
        commands = create_commands(args)
        if args.shuffle:
            import random

            random.shuffle(commands)
        from flux.cmd import submit_opts

        total = sum(len(submit_opts.cc_list(x)) for x, _ in commands)
        if total == 0:
            raise BulkError("no jobs provided for bulk submission")
        if args.progress and args.dry_run:
            print(f"bulksubmit: submitting a total of {total} jobs")
        specs: list[Any] = []
        for xargs, text in commands:
            if args.verbose or args.dry_run:
                print(f"bulksubmit: submit {text}")
            if not args.dry_run:
                specs.extend(_specs_for(xargs))
    except (BulkError, ValueError) as exc:
        sys.stdout.flush()
        print(f"{PROG}: ERROR: {exc}", file=sys.stderr)
        return 1
    if args.dry_run:
        return 0
    from flux.cmd.common import handle

    h = handle(PROG)
    progress_check(args, PROG)
    return submit_and_follow(h, args, specs, 16, 0, PROG)


__all__ = ["MUTABLE", "Xinput", "create_commands", "main", "split_command_inputs", "substitute"]
