"""Reading a config: YAML with a line number for every key, the header check, presets, and `load_config`.

Every problem a file can have (unreadable, invalid YAML, duplicate keys, wrong schema version, invalid values)
becomes one `ConfigError` line naming the file, the line and the key path.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from forecast.config.messages import KeyPath, format_path, format_validation, one_line, show_value
from forecast.config.schema import SCHEMA_VERSION, Config
from forecast.errors import ConfigError
from forecast.files import file_kind

#: Where the packaged presets live (inside the `forecast` package, read via importlib.resources).
PRESET_PACKAGE = "forecast.config"
PRESET_FOLDER = "presets"
#: Largest scenario file read (the presets are ~6 kB): a bigger one is refused before it is read, so memory and
#: parse time stay bounded.
MAX_FILE_BYTES = 1_000_000
#: Most values a document may expand to once its aliases (`*name`) are followed (the presets: ~1,000). YAML
#: aliases let a few lines stand for billions of values ("billion laughs"); PyYAML shares them by reference, but
#: anything walking the data (validation, hashing, messages) would expand them.
MAX_EXPANDED_VALUES = 100_000


# ----------------------------------------------------------------------------------------------------
# YAML reading with line numbers and duplicate-key detection
# ----------------------------------------------------------------------------------------------------


class _Loader(yaml.SafeLoader):
    """SafeLoader that also reads YAML 1.2 floats such as `1e12` and `7.5e10` (PyYAML reads them as text)."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9_]+)[eE][-+]?[0-9]+$"),
    list("-+0123456789."),
)


def _construct_timestamp(loader: _Loader, node: yaml.ScalarNode) -> Any:
    """Dates like 2024-13-45 match YAML's timestamp pattern but do not exist: report them with a line."""
    try:
        return yaml.SafeLoader.construct_yaml_timestamp(loader, node)
    except ValueError as exc:
        raise yaml.constructor.ConstructorError(
            None, None, f"impossible date {node.value!r} ({exc})", node.start_mark
        ) from None


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _construct_timestamp)


def _key_text(node: yaml.Node) -> str | None:
    """A mapping key as text (None for complex keys, which the models never accept anyway)."""
    return str(node.value) if isinstance(node, yaml.ScalarNode) else None


def _index_lines(node: yaml.Node, source: str) -> dict[KeyPath, int]:
    """Map every key path to its 1-based line; reject duplicate keys, which YAML would silently collapse."""
    lines: dict[KeyPath, int] = {(): node.start_mark.line + 1}
    seen_nodes: set[int] = set()
    stack: list[tuple[yaml.Node, KeyPath]] = [(node, ())]
    while stack:
        current, path = stack.pop()
        if id(current) in seen_nodes:  # aliases: index each node once (also guards against recursive anchors)
            continue
        seen_nodes.add(id(current))
        if isinstance(current, yaml.MappingNode):
            first_line: dict[str, int] = {}
            for key_node, value_node in current.value:
                key = _key_text(key_node)
                if key is None or key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                line = key_node.start_mark.line + 1
                if key in first_line:
                    raise ConfigError(
                        one_line(
                            f"{source}: line {line}: {format_path((*path, key))}: duplicate key '{key}' "
                            f"(first given on line {first_line[key]}; YAML would silently keep only the last)"
                        )
                    )
                first_line[key] = line
                lines[(*path, key)] = line
                stack.append((value_node, (*path, key)))
        elif isinstance(current, yaml.SequenceNode):
            for index, item in enumerate(current.value):
                lines[(*path, index)] = item.start_mark.line + 1
                stack.append((item, (*path, index)))
    return lines


def _check_expansion(root: yaml.Node, source: str) -> None:
    """Refuse a document whose aliases form a cycle or expand it beyond MAX_EXPANDED_VALUES; each node's
    expanded size is computed once (memoised by identity), so this check itself stays linear in the file."""
    sizes: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        if id(node) in sizes:
            continue
        children = _children(node)
        if children_done:
            on_path.discard(id(node))
            sizes[id(node)] = 1 + sum(sizes[id(child)] for child in children)
            if sizes[id(node)] > MAX_EXPANDED_VALUES:
                raise ConfigError(
                    f"{source}: line {node.start_mark.line + 1}: YAML aliases (*name) expand this value to more "
                    f"than {MAX_EXPANDED_VALUES:,} values; expected a scenario file without such repetition"
                )
            continue
        if id(node) in on_path:
            raise ConfigError(
                f"{source}: line {node.start_mark.line + 1}: a YAML alias refers to the value that contains it "
                "(a recursive anchor); expected values that do not contain themselves"
            )
        on_path.add(id(node))
        stack.append((node, True))
        for child in children:
            if id(child) in on_path:
                raise ConfigError(
                    f"{source}: line {child.start_mark.line + 1}: a YAML alias refers to the value that contains "
                    "it (a recursive anchor); expected values that do not contain themselves"
                )
            if id(child) not in sizes:
                stack.append((child, False))


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _yaml_error(exc: yaml.YAMLError, source: str) -> ConfigError:
    """One-line message for invalid YAML syntax, with line and column."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    context = getattr(exc, "context", None)
    if context and problem.startswith("but "):
        problem = f"{context}, {problem}"
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
    kind = "invalid YAML value" if isinstance(exc, yaml.constructor.ConstructorError) else "invalid YAML syntax"
    return ConfigError(one_line(f"{source}: {where}{kind}: {problem}"))


def _parse_yaml(text: str, source: str) -> tuple[Any, dict[KeyPath, int]]:
    """Parse YAML text into Python data plus a key-path → line map."""
    try:
        loader = _Loader(text)  # PyYAML checks for forbidden characters (NUL, ESC, ...) already here
    except yaml.YAMLError as exc:
        raise _yaml_error(exc, source) from None
    try:
        node = loader.get_single_node()
        if node is None:
            raise ConfigError(f"{source}: file is empty; expected a mapping starting with 'schema_version: 1'")
        _check_expansion(node, source)
        lines = _index_lines(node, source)
        data = loader.construct_document(node)
    except yaml.YAMLError as exc:
        raise _yaml_error(exc, source) from None
    except (ValueError, TypeError, OverflowError) as exc:  # e.g. an impossible date such as 2024-13-45
        raise ConfigError(one_line(f"{source}: invalid YAML value: {exc}")) from None
    except RecursionError:
        raise ConfigError(f"{source}: YAML is nested too deeply") from None
    finally:
        loader.dispose()
    return data, lines


def _check_header(data: Any, source: str, lines: Mapping[KeyPath, int]) -> None:
    """Top level is a mapping with a supported schema_version (checked first: else other errors mislead)."""
    if not isinstance(data, Mapping):
        raise ConfigError(f"{source}: line 1: the top level must be a mapping of keys (got {show_value(data)})")
    if "schema_version" not in data:
        raise ConfigError(
            f"{source}: schema_version: required key is missing (add 'schema_version: {SCHEMA_VERSION}' at the top)"
        )
    version = data["schema_version"]
    if type(version) is not int or version != SCHEMA_VERSION:
        line = lines.get(("schema_version",), 1)
        raise ConfigError(
            f"{source}: line {line}: schema_version: unsupported schema version; this version of forecast "
            f"reads {SCHEMA_VERSION} (got {show_value(version)})"
        )


def parse_config(text: str, source: str = "<string>") -> Config:
    """Validate YAML text as a Config; every problem becomes a one-line ConfigError naming `source`."""
    data, lines = _parse_yaml(text, source)
    _check_header(data, source, lines)
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_validation(exc, source, data, lines, Config)) from None
    except RecursionError:
        raise ConfigError(f"{source}: YAML is nested too deeply") from None


# ----------------------------------------------------------------------------------------------------
# Presets and loading
# ----------------------------------------------------------------------------------------------------


def _preset_dir() -> Any:
    """The packaged presets folder (a Traversable, so it also works from a wheel or zip)."""
    return resources.files(PRESET_PACKAGE).joinpath(PRESET_FOLDER)


def preset_names() -> list[str]:
    """Names of the packaged presets, sorted."""
    return sorted(entry.name[: -len(".yml")] for entry in _preset_dir().iterdir() if entry.name.endswith(".yml"))


def list_presets() -> dict[str, str]:
    """Preset name → its one-line `description`."""
    out: dict[str, str] = {}
    for name in preset_names():
        data = yaml.load(_preset_dir().joinpath(f"{name}.yml").read_text(encoding="utf-8"), Loader=_Loader)
        description = data.get("description") if isinstance(data, Mapping) else None
        out[name] = one_line(str(description or ""))
    return out


def _read(source: str | Path) -> tuple[str, str]:
    """(text, label) of a preset name or a YAML file path; a one-line ConfigError if unreadable."""
    if isinstance(source, str) and source in preset_names():
        label = f"{PRESET_FOLDER}/{source}.yml"
        return _preset_dir().joinpath(f"{source}.yml").read_text(encoding="utf-8"), label
    path = Path(source)
    label = str(source)
    if not path.exists():
        looks_like_name = isinstance(source, str) and not path.suffix and len(path.parts) == 1
        if looks_like_name:
            raise ConfigError(f"{label}: file not found, and not a preset (presets: {', '.join(preset_names())})")
        raise ConfigError(f"{label}: file not found")
    if path.is_dir():
        raise ConfigError(f"{label}: is a directory; expected a YAML file")
    try:
        data = _read_regular(path, MAX_FILE_BYTES)
    except _NotRegular as exc:
        raise ConfigError(f"{label}: is {exc.kind}, not a regular file; expected a YAML file") from None
    except _TooLarge as exc:
        raise ConfigError(
            f"{label}: file is larger than {exc.limit:,} bytes; expected a scenario file (the presets are ~6 kB)"
        ) from None
    except OSError as exc:
        raise ConfigError(one_line(f"{label}: cannot read: {exc.strerror or exc}")) from None
    try:
        return data.decode("utf-8"), label  # a byte-order mark is passed on: PyYAML skips it
    except UnicodeDecodeError as exc:
        raise ConfigError(one_line(f"{label}: not UTF-8 text ({exc.reason} at byte {exc.start})")) from None


class _NotRegular(OSError):
    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


class _TooLarge(OSError):
    def __init__(self, limit: int) -> None:
        super().__init__(limit)
        self.limit = limit


def _read_regular(path: Path, limit: int) -> bytes:
    """The bytes of `path` if it is a regular file of at most `limit` bytes. Opened without blocking and checked
    on the open descriptor, so a named pipe (which would block a plain read forever) or a file swapped for one
    after a check is refused, not waited on; at most `limit + 1` bytes are ever read."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise _NotRegular(file_kind(mode))
        with os.fdopen(fd, "rb", closefd=False) as file:
            data = file.read(limit + 1)
    finally:
        os.close(fd)
    if len(data) > limit:
        raise _TooLarge(limit)
    return data


def load_config(source: str | Path) -> Config:
    """Load a preset by name (`default`, `villalobos2024`) or a YAML file by path."""
    text, label = _read(source)
    return parse_config(text, label)
