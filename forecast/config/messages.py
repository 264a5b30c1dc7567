"""One-line config errors: a pydantic ValidationError becomes `<file>: line <n>: <key.path>: <what> (got ...)`.

Pydantic reports where a value failed as a `loc` that includes union-member tags and knows nothing of the YAML
file. This module follows a `loc` through the model classes (from a root model the caller names, so it needs none
of the config's own models), words what was expected with "did you mean" hints, and picks the error to show first.
"""

from __future__ import annotations

import difflib
import re
import types
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError


class PathError(ValueError):
    """A validator error that knows which key (relative to the model it was raised in) is at fault."""

    def __init__(self, message: str, path: tuple[str | int, ...]) -> None:
        super().__init__(message)
        self.path = path


KeyPath = tuple[str | int, ...]
_LINE_BREAKS = re.compile(r"\s*[\r\n\x0b\x0c\x1c-\x1e\x85\u2028\u2029]+\s*")
_MAX_SHOWN = 60


def one_line(text: str) -> str:
    """Collapse line breaks so a message is exactly one line."""
    return _LINE_BREAKS.sub(" ", text).strip()


def format_path(path: KeyPath) -> str:
    """Render a key path as `scenarios[2].overtraining.factor`."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(top level)"


def show_value(value: Any) -> str:
    """Short rendering of a user value for `(got ...)`."""
    if value is None:
        text = "null"
    elif isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, Mapping):
        text = "a mapping"
    elif isinstance(value, list | tuple):
        text = "a list" if value else "an empty list"
    elif isinstance(value, str):
        text = repr(value)
    elif isinstance(value, date):
        text = value.isoformat()
    else:
        text = str(value)
    text = one_line(text)
    return text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 1] + "…"


def _candidates(annotation: Any) -> list[Any]:
    """Flatten Annotated/Optional/Union into the concrete alternatives (None dropped)."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _candidates(get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        return [c for arg in get_args(annotation) for c in _candidates(arg)]
    if annotation is type(None):
        return []
    return [annotation]


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def _tag_names(tag: str, model: type[BaseModel]) -> bool:
    """Whether a union tag such as 'UniformRange' or 'function-after[_ordered(), UniformRange]' is `model`."""
    return tag == model.__name__ or tag.endswith(f" {model.__name__}]")


@dataclass(frozen=True)
class _Walk:
    """Result of following a pydantic `loc` through the model classes."""

    path: KeyPath  # loc without union-member tags
    options: list[Any]  # alternatives at the end of the path
    union_paths: list[tuple[KeyPath, bool]]  # (path of a union, whether the chosen branch is a model)


def _walk(root: type[BaseModel], loc: Sequence[str | int]) -> _Walk:
    """Follow `loc` from the `root` model, dropping pydantic's union tags (e.g. 'constrained-float', 'UniformRange')."""
    options: list[Any] = [root]
    path: list[str | int] = []
    unions: list[tuple[KeyPath, bool]] = []
    for part in loc:
        if len(options) > 1 and isinstance(part, str):
            models = [t for t in options if _is_model(t) and _tag_names(part, t)]
            unions.append((tuple(path), bool(models)))
            options = models or [t for t in options if not _is_model(t)]
            continue
        path.append(part)
        nxt: list[Any] = []
        for tp in options:
            if isinstance(part, int) and get_origin(tp) is list:
                nxt.extend(_candidates(get_args(tp)[0]))
            elif _is_model(tp) and isinstance(part, str) and part in tp.model_fields:
                nxt.extend(_candidates(tp.model_fields[part].annotation))
        options = nxt
    return _Walk(tuple(path), options, unions)


def error_path(error: Mapping[str, Any], root: type[BaseModel]) -> KeyPath:
    """Key path of a pydantic error: loc without union tags, extended by a `PathError`'s own path."""
    path = _walk(root, error["loc"]).path
    if error["type"] == "invalid_key" and path:  # a non-text key, not a list index
        path = (*path[:-1], str(path[-1]))
    exc = (error.get("ctx") or {}).get("error")
    return path + exc.path if isinstance(exc, PathError) else path


def _model_keys(root: type[BaseModel], path: KeyPath) -> list[str]:
    """Allowed keys of the model at `path` (for 'did you mean' hints)."""
    walk = _walk(root, path)
    return [name for tp in walk.options if _is_model(tp) for name in tp.model_fields]


def _literal_options(root: type[BaseModel], path: KeyPath) -> list[Any]:
    """Allowed options of the closed set at `path`, if it is a Literal."""
    return [opt for tp in _walk(root, path).options if get_origin(tp) is Literal for opt in get_args(tp)]


def _unknown_key(root: type[BaseModel], path: KeyPath) -> str:
    """'unknown key' message with a 'did you mean' hint from the keys allowed at that level."""
    key = str(path[-1]) if path else ""
    allowed = _model_keys(root, path[:-1])
    close = difflib.get_close_matches(key, allowed, n=1)
    if close:
        return f"unknown key '{key}'; did you mean '{close[0]}'?"
    return f"unknown key '{key}' (allowed keys: {', '.join(allowed)})"


_TYPE_WORDS = {
    "int_type": "an integer",
    "int_parsing": "an integer",
    "int_from_float": "an integer",
    "float_type": "a number",
    "float_parsing": "a number",
    "finite_number": "a finite number",
    "string_type": "text",
    "bool_type": "true or false",
    "list_type": "a list",
    "dict_type": "a mapping",
    "date_type": "a date like 2024-12-31",
    "date_parsing": "a date like 2024-12-31",
    "date_from_datetime_parsing": "a date like 2024-12-31",
    "date_from_datetime_inexact": "a date like 2024-12-31",
    "date_future": "a date in the future",
    "date_past": "a date in the past",
}
_MISSING = "required key is missing"
_BOUNDS = {"greater_than": ">", "greater_than_equal": ">=", "less_than": "<", "less_than_equal": "<="}


def describe_error(error: Mapping[str, Any], root: type[BaseModel]) -> str:
    """What was expected at the error's key, in words (without file, line or path)."""
    kind = error["type"]
    path = _walk(root, error["loc"]).path
    ctx = error.get("ctx") or {}
    got = f" (got {show_value(error.get('input'))})"
    if kind == "extra_forbidden":
        return _unknown_key(root, path)
    if kind == "missing":
        return _MISSING
    if kind == "value_error":
        return one_line(str(ctx.get("error", error["msg"])))
    if kind == "literal_error":
        options = _literal_options(root, path)
        text = ", ".join(repr(opt) for opt in options) if options else ctx.get("expected", "")
        close = difflib.get_close_matches(str(error.get("input")), [str(o) for o in options], n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        return f"unknown option {show_value(error.get('input'))}; expected one of {text}{hint}"
    if kind in _BOUNDS:
        bound = next(iter(ctx.values()))
        return f"expected a value {_BOUNDS[kind]} {bound:g}{got}"
    if kind == "model_type":
        keys = _model_keys(root, path)
        return f"expected a mapping with keys {', '.join(keys)}{got}"
    if kind == "too_short":
        return f"expected at least {ctx.get('min_length', 1)} item(s){got}"
    if kind == "string_pattern_mismatch":
        pattern = ctx.get("pattern")
        return f"expected a name of lowercase letters, digits, '.', '_' or '-' (pattern {pattern}){got}"
    if kind == "invalid_key":
        return f"keys must be text{got}"
    if kind in _TYPE_WORDS:
        return f"expected {_TYPE_WORDS[kind]}{got}"
    return f"{one_line(error['msg'])}{got}"


def _value_at(data: Any, path: KeyPath) -> Any:
    """The raw YAML value at `path`, or None if absent."""
    for part in path:
        in_mapping = isinstance(data, Mapping) and part in data
        in_list = isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data)
        if not (in_mapping or in_list):
            return None
        data = data[part]
    return data


def _relevant(errors: list[dict[str, Any]], data: Any, root: type[BaseModel]) -> list[dict[str, Any]]:
    """Drop errors from union branches the user did not mean (a mapping means the mapping branch)."""
    kept = []
    for error in errors:
        unions = _walk(root, error["loc"]).union_paths
        if all(is_model == isinstance(_value_at(data, upath), Mapping) for upath, is_model in unions):
            kept.append(error)
    return kept or errors


def _line_of(path: KeyPath, lines: Mapping[KeyPath, int]) -> int | None:
    """Line of the deepest existing key along `path` (a missing key points at its parent)."""
    for end in range(len(path), 0, -1):
        line = lines.get(path[:end])
        if line is not None:
            return line
    return None


def format_validation(
    exc: ValidationError, source: str, data: Any, lines: Mapping[KeyPath, int], root: type[BaseModel]
) -> str:
    """`<file>: line <n>: <key.path>: <expected> (got <value>)` for the first error in file order."""
    errors = _relevant(list(exc.errors()), data, root)
    located = []
    for error in errors:
        path = error_path(error, root)
        located.append((_line_of(path, lines), path, describe_error(error, root)))
    # A missing key is often the consequence of a misspelt one, so report wrong keys and values first,
    # then keys present in the file before those that are not, each group in file order.
    located.sort(key=lambda item: (item[2] == _MISSING, item[0] is None, item[0] or 0))
    line, path, what = located[0]
    where = f"line {line}: " if line is not None else ""
    more = f" (+{len(located) - 1} more)" if len(located) > 1 else ""
    return one_line(f"{source}: {where}{format_path(path)}: {what}{more}")
