"""RFC 36 submission directives (``#FLUX: --opt=val`` lines in a batch script).

:class:`DirectiveParser` reads a script, keeps its full text in ``script`` and the
directives it found in ``directives`` (:class:`Directive` objects whose ``action``
is ``SETARGS`` or ``NOOP`` and whose ``args`` are the shell-split words). Rules:

* a directive line is any run of non-word characters (the prefix) followed by
  ``flux:`` or ``FLUX:``; every directive of a file uses the same sentinel;
* directives stop at the first non-blank line that does not start with the
  prefix; a directive after that point is an error (an *orphan*);
* a value may hold a triple-quoted string, on one line or spanning several lines
  (each continuation line carries the sentinel; common indentation is removed).

``python -m flux.job.directives FILE`` prints each directive as ``ACTION([args])``.
"""

from __future__ import annotations

import re
import shlex
import sys
from collections.abc import Iterable

__all__ = ["Directive", "DirectiveParser"]

_SENTINEL_RE = re.compile(r"^(\W*)((?:flux|FLUX):)(.*)$")
_TRIPLE_PAIR_RE = re.compile(r"""((?:["']){3})(.*)\1""")
_TRIPLE_OPEN_RE = re.compile(r"""((?:["']){3}).""")


class Directive:
    """One directive: ``action`` (``SETARGS`` or ``NOOP``), ``args``, ``lineno``."""

    def __init__(self, value: str, lineno: int = -1) -> None:
        self.lineno = lineno
        lex = shlex.shlex(value, posix=True, punctuation_chars=True)
        lex.whitespace_split = True
        lex.escapedquotes = "\"'"
        try:
            self.args = list(lex)
        except ValueError as exc:
            raise ValueError(f"line {lineno}: {value}: {exc}") from None
        if not self.args:
            self.action = "NOOP"
        elif self.args[0].startswith("-"):
            self.action = "SETARGS"
        else:
            raise ValueError(f"line {lineno}: Unknown directive: {value}")

    def __str__(self) -> str:
        return f"{self.action}({self.args})"


class _Multiline:
    """A triple-quoted value spread over several directive lines."""

    def __init__(self) -> None:
        self.quote: str | None = None
        self.indent = ""
        self.first = ""
        self.startline = -1
        self.lines: list[str] = []

    @property
    def open(self) -> bool:
        return self.quote is not None

    def _add(self, text: str) -> None:
        if text.startswith(self.indent):
            text = text[len(self.indent) :]
        self.lines.append(text)

    def feed(self, value: str, lineno: int) -> str | None:
        """Take one line ending in a triple quote (or any line while open); return
        the joined directive value once the closing quote is seen."""
        tail = value[-3:]
        if not self.open:
            self.quote = tail
            self.indent = value[: len(value) - len(value.lstrip())]
            self.first = value.lstrip()
            self.startline = lineno
            self._add(value[:-3])
            return None
        if tail != self.quote:
            self._add(value)
            return None
        self._add(value[:-3])
        result = self.lines[0] + shlex.quote("\n".join(self.lines[1:]))
        if self.quote in result:
            raise ValueError(f"improperly terminated triple quoted string at: `{self.first}'")
        self.quote = None
        self.lines = []
        self.indent = ""
        return result


def _quote_triples(value: str) -> str:
    """Turn a paired ``'''...'''``/``\"\"\"...\"\"\"`` into one shell-quoted word."""

    def paired(n: int) -> bool:
        return n > 0 and n % 2 == 0

    if paired(value.count('"""')) or paired(value.count("'''")):
        return _TRIPLE_PAIR_RE.sub(lambda m: shlex.quote(m[2]), value)
    if _TRIPLE_OPEN_RE.search(value):
        raise ValueError(f"unclosed triple quote: {value.strip()}")
    return value


class DirectiveParser:
    """Parse the RFC 36 directives of ``inputfile`` (any iterable of lines)."""

    def __init__(self, inputfile: Iterable[str]) -> None:
        self.directives: list[Directive] = []
        self.script = ""
        self.sentinel: str | None = None
        self.prefix: str | None = None
        multi = _Multiline()
        started = False
        disabled = False
        last_line = 0
        lineno = 0
        for line in inputfile:
            lineno += 1
            self.script += line
            m = _SENTINEL_RE.match(line)
            if m is None:
                if multi.open:
                    raise ValueError(
                        f"line {lineno}: unterminated multi-line quote at line "
                        f"{multi.startline}: `{multi.first}'"
                    )
                if (
                    started
                    and not disabled
                    and line.strip()
                    and not line.startswith((self.prefix or "").rstrip())
                ):
                    disabled = True
                    last_line = lineno - 1
                continue
            started = True
            prefix, tag, rest = m.group(1), m.group(2), m.group(3)
            if disabled:
                raise ValueError(
                    f"line {lineno}: orphan '{tag}' detected: "
                    f"directives disabled after line {last_line}"
                )
            try:
                value = _quote_triples(rest)
            except ValueError as exc:
                raise ValueError(f"line {lineno}: {exc}") from None
            sentinel = prefix + tag
            if self.sentinel is None:
                self.sentinel, self.prefix = sentinel, prefix
            elif sentinel != self.sentinel:
                raise ValueError(
                    f"line {lineno}: sentinel changed from '{self.sentinel}' to "
                    f"'{sentinel}'\n\nAll directives in a file must use the same "
                    "sentinel.\n\nTo disable a directive, put a comment character "
                    f"after the sentinel:\n\n  {self.sentinel} # {value.lstrip()}\n"
                )
            if value.endswith(('"""', "'''")):
                joined = multi.feed(value, lineno)
                if joined is not None:
                    self.directives.append(Directive(joined, multi.startline))
            elif multi.open:
                multi._add(value)
            elif value:
                self.directives.append(Directive(value, lineno))
        if multi.open:
            raise ValueError(
                f"line {lineno}: unterminated multi-line quote at line "
                f"{multi.startline}: `{multi.first}'"
            )


if __name__ == "__main__":
    with open(sys.argv[1], encoding="utf-8") if len(sys.argv) > 1 else sys.stdin as f:
        found = DirectiveParser(f).directives
    if found:
        print("\n".join(map(str, found)))
