"""Compare pure-flux's Python binding surface with flux-core's.

Walks flux-core's binding sources (a checkout of ``src/bindings/python/flux``)
with ``ast`` and reports, for each module given, the public module-level names
and the public methods/properties of each public class that pure-flux lacks::

    PYTHONPATH=src python benchmarks/binding_surface.py /path/to/flux-core/src/bindings/python/flux \\
        [flux.hostlist flux.idset ...]
"""

from __future__ import annotations

import ast
import importlib
import os
import sys

DEFAULT = [
    "flux",
    "flux.core.handle",
    "flux.constants",
    "flux.hostlist",
    "flux.idset",
    "flux.util",
    "flux.resource",
    "flux.resource.list",
    "flux.resource.status",
    "flux.resource.ResourceSet",
    "flux.eventlog",
    "flux.rpc",
    "flux.memoized_property",
    "flux.future",
]


def source_of(root: str, module: str) -> str | None:
    rel = module.split(".")[1:]
    for cand in (os.path.join(root, *rel) + ".py", os.path.join(root, *rel, "__init__.py")):
        if os.path.exists(cand):
            return cand
    return None


# flux-core's C-binding plumbing (cffi handles and wrappers) and module-private helpers:
# not part of what a client uses
IGNORE = {"ffi", "lib", "raw", "Wrapper", "WrapperPimpl", "MOD", "PATTERN", "ALL_LIST", "tls"}


def public(name: str) -> bool:
    return not name.startswith("_") or (name.startswith("__") and name.endswith("__"))


def surface(path: str) -> tuple[set[str], dict[str, set[str]]]:
    tree = ast.parse(open(path).read())
    names: set[str] = set()
    classes: dict[str, set[str]] = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            names.add(node.name)
        elif isinstance(node, ast.ClassDef):
            names.add(node.name)
            members = set()
            for item in node.body:
                if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef):
                    members.add(item.name)
                elif isinstance(item, ast.Assign):
                    members.update(t.id for t in item.targets if isinstance(t, ast.Name))
            classes[node.name] = {m for m in members if public(m) and not m.startswith("__")}
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif (
            isinstance(node, ast.ImportFrom)
            and node.module
            and node.module.startswith("flux")
            and path.endswith("__init__.py")
        ):
            names.update(a.asname or a.name for a in node.names)  # a package's re-exports
    names = {n for n in names if not n.startswith("_") and n not in IGNORE}
    return names, {c: m - IGNORE for c, m in classes.items()}


def main() -> int:
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    root = sys.argv[1]
    modules = sys.argv[2:] or DEFAULT
    total = 0
    for module in modules:
        path = source_of(root, module)
        if path is None:
            print(f"{module}: not in flux-core")
            continue
        names, classes = surface(path)
        try:
            ours = importlib.import_module(module)
        except ImportError as exc:
            print(f"{module}: MISSING MODULE ({exc})")
            total += 1
            continue
        missing = sorted(n for n in names if not hasattr(ours, n))
        lines = [f"  name {n}" for n in missing]
        for cls, members in sorted(classes.items()):
            obj = getattr(ours, cls, None)
            if obj is None or cls.startswith("_"):
                continue
            for m in sorted(members):
                if not hasattr(obj, m):
                    lines.append(f"  {cls}.{m}")
        total += len(lines)
        print(f"{module}: {'ok' if not lines else f'{len(lines)} missing'}")
        for line in lines:
            print(line)
    print(f"total missing: {total}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
