"""``Tree`` (a pstree-like console display) and ``Deduplicator`` of flux-core's ``flux.util``."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterable, Iterator
from typing import Any, NamedTuple

__all__ = ["Deduplicator", "Tree"]


class Deduplicator:
    """Collect items, merging those whose formatted line is the same.

    ``formatter`` is an OutputFormat; ``except_fields`` are left out of the
    comparison (counts, node lists ...); ``combine(existing, new)`` is called
    when an item matches one already held.
    """

    def __init__(
        self,
        formatter: Any,
        except_fields: Iterable[str] | None = None,
        combine: Callable[[Any, Any], Any] | None = None,
    ) -> None:
        self.formatter = formatter.copy(except_fields=except_fields, nullify_expansion=True)
        self.combine = combine
        self.hash: dict[str, Any] = {}
        self.items: list[Any] = []

    def __iter__(self) -> Iterator[Any]:
        return iter(self.items)

    def append(self, item: Any) -> None:
        """Add ``item``, or combine it with the held item that formats the same."""
        key = self.formatter.format(item)
        held = self.hash.get(key)
        if held is None:
            self.hash[key] = item
            self.items.append(item)
        elif self.combine is not None:
            self.combine(held, item)


class _Connectors(NamedTuple):
    PIPE: str
    TEE: str
    ELBOW: str
    BLANK: str


class Tree:
    """A labelled tree printed like pstree.

    ``prefix`` is printed before the tree drawing on this node's line;
    ``combine_children`` merges identical children added with :meth:`append`
    into one shown as ``N*[label]``.
    """

    Connectors = _Connectors

    connector_styles = {
        "ascii": _Connectors("|   ", "|-- ", "`-- ", "    "),
        "box": _Connectors("│   ", "├── ", "└── ", "    "),
        "compact": _Connectors("│ ", "├─", "└─", "  "),
    }

    def __init__(self, label: str, prefix: str = "", combine_children: bool = False) -> None:
        self.label = label
        self.prefix = f"{prefix} " if prefix else ""
        self.duplicates: dict[str, Tree] = {}
        self.duplicate_count = 1
        self.children: list[Tree] = []
        self.combine_children = combine_children

    def append(self, label: str, prefix: str = "") -> Tree:
        """Add a child (or count one more of an identical child); returns it."""
        if not self.combine_children:
            return self.add(label, prefix)
        key = f"{prefix}{label}"
        existing = self.duplicates.get(key)
        if existing is not None:
            existing.increment()
            return existing
        child = self.duplicates[key] = self.add(label, prefix, combine_children=True)
        return child

    def append_tree(self, tree: Tree) -> Tree:
        """Add a child Tree (a leaf identical to a held one is counted instead)."""
        if not self.combine_children or tree.children:
            self.children.append(tree)
            return tree
        key = f"{tree.prefix}{tree.label}"
        existing = self.duplicates.get(key)
        if existing is not None:
            existing.increment()
            return existing
        self.children.append(tree)
        self.duplicates[key] = tree
        return tree

    def add(self, label: str, prefix: str = "", combine_children: bool = False) -> Tree:
        """Add a child without combining; returns it."""
        child = Tree(label, prefix=prefix, combine_children=combine_children)
        self.children.append(child)
        return child

    def increment(self) -> None:
        self.duplicate_count += 1

    def _lines(
        self,
        out: list[str],
        stack: list[str],
        connector: str,
        style: _Connectors,
        max_level: int | None,
        truncate: int | None,
    ) -> None:
        if max_level is not None and len(stack) > max_level:
            return
        label = f"{self.duplicate_count}*[{self.label}]" if self.duplicate_count > 1 else self.label
        line = f"{self.prefix}{''.join(stack[:-1])}{connector}{label}"
        if truncate and len(line) > truncate:
            line = line[: truncate - 1] + "+"
        out.append(line)
        for i, child in enumerate(self.children):
            last = i == len(self.children) - 1
            stack.append(style.BLANK if last else style.PIPE)
            child._lines(out, stack, style.ELBOW if last else style.TEE, style, max_level, truncate)
            stack.pop()

    def render(
        self,
        style: str = "box",
        level: int | None = None,
        skip_root: bool = False,
        truncate: bool = True,
    ) -> None:
        """Print the tree: ``style`` "box", "ascii" or "compact"; down to depth
        ``level``; without the root line if ``skip_root``; lines cut at the
        terminal width (132 if unknown) if ``truncate``."""
        if skip_root:
            for child in self.children:
                child.render(style=style, level=level, truncate=truncate)
            return
        limit = shutil.get_terminal_size((132, 25)).columns if truncate else None
        out: list[str] = []
        self._lines(out, [], "", self.connector_styles[style], level, limit)
        for line in out:
            print(line)
