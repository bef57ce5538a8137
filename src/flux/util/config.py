"""``UtilConfig``: layered configuration of Flux Python tools (flux-core's class)."""

from __future__ import annotations

import os
import sys

from flux.util.helpers import dict_merge, xdg_dirs

# (tomllib, json, copy, glob, re and typing are imported where they are used: the
# commands that read a config pay for them only when a config file is there)
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, BinaryIO

__all__ = ["UtilConfig"]


def _toml_load(fp: BinaryIO) -> Any:
    import tomllib

    return tomllib.load(fp)


def _json_load(fp: BinaryIO) -> Any:
    import json

    return json.load(fp)


def _yaml_load(fp: BinaryIO) -> Any:
    try:
        import yaml  # only when a YAML file exists
    except ImportError:
        raise ValueError("reading YAML needs PyYAML (pip install pyyaml)") from None
    return yaml.safe_load(fp)


class UtilConfig:
    """Configuration of a tool, loaded by :meth:`load` from ``<name>.toml``,
    ``<name>.json`` or ``<name>.yaml`` in the XDG directories (system ones first,
    the user's last, so the user's values win), over ``initial_dict``.

    ``subcommand`` selects a sub-table as :attr:`config`; ``toolname`` (default
    ``name``) names the ``<TOOL>[_<SUBCMD>]_FORMAT_DEFAULT`` environment
    variable.  Config keys read as attributes (``conf.formats``).
    """

    extension_handlers: dict[str, Any] = {
        ".toml": _toml_load,
        ".json": _json_load,
        ".yaml": _yaml_load,
    }

    builtin_formats: dict[str, Any] = {}

    def __init__(
        self,
        name: str,
        toolname: str | None = None,
        subcommand: str | None = None,
        initial_dict: dict[str, Any] | None = None,
    ) -> None:
        self.name = name
        self.toolname = toolname
        if initial_dict:
            import copy

            self.dict: dict[str, Any] = copy.deepcopy(initial_dict)
        else:
            self.dict = {}
        self.config = self.dict
        self.subtable = subcommand
        self.searchpath = list(reversed(xdg_dirs()))

    def load(self) -> UtilConfig:
        """Read the config files (lowest precedence first); returns self.

        ValueError (naming the file) if one cannot be decoded or fails :meth:`validate`.
        """
        for path in self.searchpath:
            try:  # (glob.glob(f"{path}/{name}.*") without glob's imports)
                names = os.listdir(path)
            except OSError:
                continue
            prefix = self.name + "."
            for filepath in sorted(
                os.path.join(path, n) for n in names if n.startswith(prefix) and n[0] != "."
            ):
                handler = self.extension_handlers.get(os.path.splitext(filepath)[1])
                if handler is None:
                    continue
                try:
                    with open(filepath, "rb") as fp:
                        conf = handler(fp)
                except OSError:
                    raise
                except Exception as exc:  # the decoders' own error types
                    raise ValueError(f"{filepath}: {exc}") from exc
                if conf is None:
                    conf = {}
                self.validate(filepath, conf)
                dict_merge(self.dict, conf)
        if self.subtable and self.subtable in self.dict:
            self.config = self.dict[self.subtable]
        return self

    def validate_formats(self, path: str, formats: Any) -> None:
        """Check a ``formats`` table: name -> {description?, format: str}; a
        builtin format may not be redefined.  ValueError on error."""
        builtin = self.builtin_formats
        if self.subtable and self.subtable in builtin:
            builtin = builtin[self.subtable]
        if not isinstance(formats, dict):
            raise ValueError(f"{path}: the 'formats' key must be a mapping")
        for name, entry in formats.items():
            if name in builtin:
                raise ValueError(f"{path}: override of builtin format '{name}' not permitted")
            if not isinstance(entry, dict):
                raise ValueError(f"{path}: 'formats.{name}' must be a mapping")
            if "format" not in entry:
                raise ValueError(f"{path}: formats.{name}: required key 'format' missing")
            if not isinstance(entry["format"], str):
                raise ValueError(f"{path}: formats.{name}: 'format' key must be a string")

    def validate(self, path: str, conf: dict[str, Any]) -> None:
        """Check one file's config before it is merged (nothing here; for subclasses)."""

    def _default_env_name(self) -> str:
        prefix = (self.toolname or self.name).upper().replace("-", "_")
        if self.subtable:
            prefix += "_" + self.subtable.upper().replace("-", "_")
        return prefix + "_FORMAT_DEFAULT"

    def get_format_string(self, format_name: str) -> str:
        """The format string of a configured format (or ``format_name`` itself if
        it contains ``{``).  ``help`` lists the formats and ``get-config=NAME``
        prints one, then exit; ``default`` may be overridden by the
        ``..._FORMAT_DEFAULT`` environment variable.  ValueError if unknown."""
        if "{" in format_name:
            return format_name
        formats = self.formats
        if format_name == "help":
            print(f"\nConfigured {self.name} output formats:\n")
            for name, entry in formats.items():
                desc = entry.get("description") if isinstance(entry, dict) else None
                print(f"  {name:<12}" + (f" {desc}" if desc is not None else ""))
            sys.exit(0)
        if format_name.startswith("get-config="):
            name = format_name.split("=", 1)[1]
            if name not in formats:
                raise ValueError(f"--format: No such format {name}")
            entry = formats[name]
            table = f"{self.subtable}.formats.{name}" if self.subtable else f"formats.{name}"
            print(f"[{table}]")
            if "description" in entry:
                print(f'description = "{entry["description"]}"')
            print(f'format = "{entry["format"]}"')
            sys.exit(0)
        if format_name == "default":
            override = os.environ.get(self._default_env_name())
            if override is not None:
                if "{" in override:
                    return override
                format_name = override
        try:
            return formats[format_name]["format"]
        except KeyError:
            import re

            hint = re.sub(r"\w+", r"{\g<0>}", format_name)
            raise ValueError(
                f"--format: No such format {format_name} (Did you mean '{hint}'?)"
            ) from None

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("__") or attr in ("config", "dict"):
            raise AttributeError(attr)
        return self.config[attr]
