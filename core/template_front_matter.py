"""The YAML front matter of a template: loaded with a safe loader only, bounded, validated.

Part of the template format (core/template_format.py, docs/template-format.md).
"""
import datetime
import re
from itertools import accumulate

import yaml

# The safe loader only (plain data, no Python objects); libyaml's C build when present, which
# loads front matter about ten times faster than the pure-Python one.
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
MAX_FRONT_MATTER_BYTES = 32 * 1024  # PyYAML is pure Python: keep its input small
MAX_FLOW_DEPTH = 20  # PyYAML's scanner is quadratic in [ { nesting
_KINDS = {bool: "a true/false value", int: "a number", float: "a number", list: "a list",
          dict: "a mapping", type(None): "empty", str: "text", datetime.date: "a date",
          datetime.datetime: "a date and time"}


def _kind(value) -> str:
    return _KINDS.get(type(value), type(value).__name__)


def _is_plain_tree(value, seen: set, depth: int = 0) -> bool:
    """False for YAML aliases (shared or recursive containers) and absurd nesting."""
    if not isinstance(value, (list, dict)):
        return True
    if id(value) in seen or depth > 20:
        return False
    seen.add(id(value))
    return all(_is_plain_tree(v, seen, depth + 1)
               for v in (value.values() if isinstance(value, dict) else value))


def _safe_load(text: str):
    """Fast C loader first; on an error, the pure-Python loader, whose messages and line
    numbers are the ones we report (libyaml words them differently and a line later)."""
    if SAFE_LOADER is yaml.SafeLoader:
        return yaml.safe_load(text)
    try:
        return yaml.load(text, Loader=SAFE_LOADER)  # noqa: S506 - CSafeLoader is a safe loader
    except (yaml.YAMLError, RecursionError):
        return yaml.safe_load(text)


def load_front_matter(lines: list[str], err) -> dict:
    """The validated mapping of the front matter lines (file lines 2, 3, …, without the '---').

    err(line, message) is called for every problem; the mapping is {} when YAML fails.
    """
    text = "\n".join(lines)
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_FRONT_MATTER_BYTES:
        err(2, f"the front matter is {size} bytes; the limit is {MAX_FRONT_MATTER_BYTES}")
        return {}
    if _flow_depth(text) > MAX_FLOW_DEPTH:
        err(2, f"the front matter nests '[' or '{{' {_flow_depth(text)} levels deep; "
               f"the limit is {MAX_FLOW_DEPTH}")
        return {}
    try:
        meta = _safe_load(text)
    except (yaml.YAMLError, RecursionError) as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line if mark else text[:getattr(exc, "position", 0)].count("\n")
        problem = getattr(exc, "problem", None) or getattr(exc, "reason", None) or "too deep"
        if getattr(exc, "context", None):
            problem = f"{exc.context}: {problem}"
        err(line + 2, f"invalid YAML in the front matter ({problem}); expected 'key: value' lines")
        return {}
    if not isinstance(meta, dict):
        err(2, f"the front matter is {_kind(meta)}; expected 'key: value' lines with a title")
        return {}
    if not _is_plain_tree(meta, set()):
        err(2, "the front matter uses YAML anchors/aliases or nests deeper than 20 levels; "
               "expected plain values")
        return {}
    key_lines = {}  # where each top-level key is written, for error messages
    for i in range(len(lines) - 1, -1, -1):
        key_lines[lines[i].partition(":")[0].rstrip().strip("'\"")] = i + 2
    _check_meta(meta, lambda key: key_lines.get(str(key), 2), err)
    return meta


_NOT_BRACKET = re.compile(r"[^\[\]{}]+")


def _flow_depth(text: str) -> int:
    brackets = _NOT_BRACKET.sub("", text)  # only the brackets matter; skip the rest in C
    steps = (1 if char in "[{" else -1 for char in brackets)
    return max(accumulate(steps, lambda depth, step: max(depth + step, 0), initial=0))


def _check_meta(meta: dict, line_of, err):
    """Validate the known keys; normalise empty values and a single tag/measure to a list."""
    for key in meta:
        if not isinstance(key, str):
            err(line_of(key), f"front matter key {key!r} is {_kind(key)}; expected a text key")
    if "title" not in meta:
        err(1, "the front matter has no 'title'; expected a 'title: <text>' line")
    elif not isinstance(meta["title"], str) or not meta["title"].strip():
        found = "empty" if isinstance(meta["title"], (str, type(None))) else _kind(meta["title"])
        err(line_of("title"), f"'title' is {found}; expected a non-empty text")
    for key in ("problem", "summary", "license", "author"):
        if key in meta and meta[key] is None:
            meta[key] = ""
        elif key in meta and not isinstance(meta[key], str):
            err(line_of(key), f"{key!r} is {_kind(meta[key])} ({meta[key]!r}); expected text "
                              "(put it in quotes)")
    for key in ("tags", "measures"):
        if key not in meta:
            continue
        value = meta[key]
        meta[key] = value = [] if value is None else [value] if isinstance(value, str) else value
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            found = "a list with non-text entries" if isinstance(value, list) else _kind(value)
            err(line_of(key), f"{key!r} is {found}; expected a list of text such as [GAD-7, PHQ-9]")
