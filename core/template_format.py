"""The Markdown template format: parse and validate, write back, fill placeholders.

Pure functions, no Flask. docs/template-format.md is the specification.
"""
import re
from dataclasses import dataclass, field

import yaml

from core.inputs import text_problem
from core.template_front_matter import load_front_matter

MAX_BYTES = 256 * 1024
LIST_KINDS = ("objectives", "interventions", "homework")
META_ORDER = ("title", "problem", "tags", "measures", "summary", "license", "author")
_PLACEHOLDER = re.compile(r"\{([^{}\n]{1,100})\}")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


@dataclass
class Goal:
    title: str
    fields: dict[str, str] = field(default_factory=dict)
    objectives: list[str] = field(default_factory=list)
    interventions: list[str] = field(default_factory=list)
    homework: list[str] = field(default_factory=list)
    extra: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class Section:
    title: str
    body: str


@dataclass
class Template:
    meta: dict
    problem: str = ""
    goals: list[Goal] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)

    @property
    def title(self) -> str:
        return self.meta["title"]


@dataclass(frozen=True)
class FormatError:
    filename: str
    line: int
    message: str

    def __str__(self):
        return f"{self.filename}, line {self.line}: {self.message}"


class TemplateFormatError(ValueError):
    def __init__(self, errors: list[FormatError]):
        self.errors = list(errors)
        super().__init__("\n".join(str(e) for e in self.errors))


def _quote(text: str) -> str:
    text = text.strip()
    return repr(text if len(text) <= 60 else text[:57] + "...")


def _decode(source: str | bytes, filename: str) -> list[str]:
    raw = source.encode("utf-8", "surrogatepass") if isinstance(source, str) else bytes(source)
    if len(raw) > MAX_BYTES:
        raise TemplateFormatError([FormatError(
            filename, 1, f"file is {len(raw)} bytes; the limit is {MAX_BYTES}")])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = raw[:exc.start].replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        raise TemplateFormatError([FormatError(
            filename, before.count(b"\n") + 1,
            f"byte 0x{raw[exc.start]:02x} is not valid UTF-8; expected UTF-8 text")]) from None
    text = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    return [line.rstrip() for line in text.split("\n")]


def _front_matter(lines: list[str], err) -> tuple[dict, int]:
    """The front matter mapping and the index of the first body line."""
    if lines[0] != "---":
        err(1, f"found {_quote(lines[0]) if lines[0] else 'an empty line'}; expected '---' "
               "to open the YAML front matter on line 1")
        return {}, len(lines)
    close = next((i for i in range(1, len(lines)) if lines[i] == "---"), None)
    if close is None:
        err(1, "the front matter opened by '---' on line 1 is never closed; expected a '---' line")
        return {}, len(lines)
    return load_front_matter(lines[1:close], err), close + 1


def _heading(line: str) -> tuple[int, str]:
    """(level, text) of an ATX heading; level 0 for other lines."""
    level = len(line) - len(line.lstrip("#"))
    return level, line[level:].strip()


def _item(line: str) -> str | None:
    """The text of a '- ' or '* ' list item, or None when the line is not one."""
    return line[2:].strip() if line in ("-", "*") or line[:2] in ("- ", "* ") else None


class _BodyParser:
    """A line-by-line state machine over the body; modes: top (before any ##), text, fields, list.

    Fields and list items collect their parts (continuation lines) and are joined in finish(),
    so a file of many continuation lines stays linear.
    """

    def __init__(self, err):
        self.err, self.mode, self.text, self.items, self.last = err, "top", None, None, None
        self.problem, self.problem_line, self.goals, self.sections = None, 0, [], []
        self.goal, self.seen, self.fence, self.top_reported = None, {}, None, False

    def feed(self, n: int, line: str):
        if self.fence:
            self.text.append(line)
            marker = self.fence[0]
            if line.strip().startswith(marker) and not line.strip().strip(marker[0]):
                self.fence = None
            return
        level, title = _heading(line)
        if level == 1:
            self.err(n, f"found {_quote(line)}, a level-1 heading; expected '##' "
                        "(## Problem, ## Goal: <title> or another ## section)")
        elif level == 2:
            self.start_section(n, title)
        elif level == 3 and self.goal is not None:
            self.start_subsection(n, title)
        elif level == 3 and title.lower() in LIST_KINDS:
            where = "before any '## Goal: …' heading" if not self.goals else "outside a goal"
            self.err(n, f"'### {title}' appears {where}; expected a goal heading first")
            self.mode, self.items, self.last = "list", [], None  # check its items, keep none
        elif self.mode == "top":
            self.feed_top(n, line)
        elif self.mode == "text":
            code = line.lstrip(" ")
            if len(line) - len(code) < 4 and code[:3] in ("```", "~~~"):
                self.fence = (code[:len(code) - len(code.lstrip(code[0]))], n)
            self.text.append(line)
        elif line and self.mode == "fields":
            self.feed_field(n, line, level)
        elif line:
            self.feed_list_item(n, line, level)

    def feed_top(self, n: int, line: str):
        if line and not self.top_reported:
            self.top_reported = True
            self.err(n, f"{_quote(line)} appears before any '## Goal: …' heading; expected a "
                        "goal heading first" if _item(line) is not None else
                        f"found {_quote(line)} before the first '##' heading; expected "
                        "'## Problem', '## Goal: <title>' or another '## <section>'")

    def start_section(self, n: int, title: str):
        self.mode, self.text, self.goal, self.items, self.last = "text", [], None, None, None
        if title.lower() == "problem":
            if self.problem is not None:
                self.err(n, f"a second '## Problem' (the first is on line {self.problem_line}); "
                            "expected at most one")
            else:
                self.problem, self.problem_line = self.text, n
        elif title.lower() == "goal" or title.lower().startswith("goal:"):
            self.goal, self.seen, self.mode = Goal(title[5:].strip()), {}, "fields"
            self.goals.append(self.goal)
            if not self.goal.title:
                self.err(n, f"found {_quote('## ' + title)} without a title; "
                            "expected '## Goal: <title>'")
        elif not title:
            self.err(n, "found an empty '##' heading; expected a section title after '## '")
        else:
            self.sections.append(Section(title, self.text))

    def start_subsection(self, n: int, heading: str):
        self.last = None
        if heading.lower() in LIST_KINDS:
            self.mode, self.items = "list", getattr(self.goal, heading.lower())
        elif not heading:
            self.err(n, "found an empty '###' heading; expected a heading text after '### '")
            self.mode, self.items = "list", []
        else:
            self.mode, self.text = "text", []
            self.goal.extra.append((heading, self.text))

    def feed_field(self, n: int, line: str, level: int):
        fields, seen, where = self.goal.fields, self.seen, f"under goal {self.goal.title!r}"
        item = _item(line)
        if line[:1] in (" ", "\t") and self.last:
            fields[self.last].append(line.strip())
        elif level:
            self.err(n, f"found {_quote(line)} {where}; expected '### Objectives', "
                        "'### Interventions', '### Homework' or another '### <heading>'")
        elif item is None:  # prose right under the goal heading is its description
            if seen.get("description", "prose") != "prose":
                self.err(n, f"found text {_quote(line)} {where}, which already has a "
                            f"'- Description:' field (line {seen['description']}); expected "
                            "'- Key: value' lines")
            else:
                seen["description"], self.last = "prose", "Description"
                fields.setdefault("Description", []).append(line.strip())
        else:
            key, colon, value = item.partition(":")
            key = key.strip()
            if not colon or not key:
                self.err(n, f"found {_quote(line)} {where}; expected a '- Key: value' field "
                            "(list items go under '### Objectives', '### Interventions' or "
                            "'### Homework')")
            elif key.lower() in seen:
                first = seen[key.lower()]
                first = "its description text" if first == "prose" else f"line {first}"
                self.err(n, f"duplicate field {key!r} {where} (already set by {first}); "
                            "expected each key once")
            else:
                seen[key.lower()], self.last, fields[key] = n, key, [value.strip()]

    def feed_list_item(self, n: int, line: str, level: int):
        item = _item(line)
        if line[:1] in (" ", "\t") and self.last is not None:
            self.items[self.last].append(line.strip())
        elif item is None or level:
            self.err(n, f"found {_quote(line)} in a list section; expected a '- ' list item")
        elif not item:
            self.err(n, "found an empty list item; expected text after '- '")
        else:
            self.items.append([item])
            self.last = len(self.items) - 1

    def finish(self) -> tuple[str, list[Goal], list[Section]]:
        if self.fence:
            self.err(self.fence[1], f"the code fence {self.fence[0]!r} is never closed; "
                                    f"expected a closing {self.fence[0]!r} line")
        for goal in self.goals:
            goal.fields = {k: " ".join(p for p in parts if p) for k, parts in goal.fields.items()}
            for kind in LIST_KINDS:
                setattr(goal, kind, [" ".join(parts) for parts in getattr(goal, kind)])
            goal.extra = [(heading, _join(lines)) for heading, lines in goal.extra]
        for section in self.sections:
            section.body = _join(section.body)
        return _join(self.problem or []), self.goals, self.sections


def _join(lines: list[str]) -> str:
    return "\n".join(lines).strip("\n")


def parse_template(source: str | bytes, filename: str = "<pasted text>") -> Template:
    """Parse one template file; raise TemplateFormatError listing every problem found."""
    lines = _decode(source, filename)
    errors: list[FormatError] = []

    def err(line: int, message: str):
        errors.append(FormatError(filename, line, message))

    meta, start = _front_matter(lines, err)
    body = _BodyParser(err)
    for index in range(start, len(lines)):
        body.feed(index + 1, lines[index])
    problem, goals, sections = body.finish()
    # A NUL or other control character cannot be stored (PostgreSQL refuses NUL in text); a
    # line the front matter parser already reported keeps that message.
    if _has_control_text(meta):  # a YAML escape such as "\0" puts one in without a raw byte
        err(2, "a front matter value contains control characters (such as NUL) that cannot be "
               "stored; expected plain text")
    reported = {e.line for e in errors}
    for index, line in enumerate(lines):
        if index + 1 not in reported and text_problem(line):
            err(index + 1, "the line " + text_problem(line) + "; expected plain text")
    if errors:
        raise TemplateFormatError(sorted(errors, key=lambda e: e.line))
    return Template(meta=meta, problem=problem, goals=goals, sections=sections)


def _has_control_text(value) -> bool:
    if isinstance(value, dict):
        return any(_has_control_text(k) or _has_control_text(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return any(_has_control_text(v) for v in value)
    return bool(text_problem(value))


def _line(text) -> str:
    """One-line text for a heading, field or item of a Template built in code."""
    return _LINE_BREAK.sub(" ", str(text)).strip()


def write_template(t: Template) -> str:
    """Canonical Markdown for a template; parse_template(write_template(t)) gives t back."""
    meta = {key: t.meta[key] for key in META_ORDER if key in t.meta}
    meta.update((key, value) for key, value in t.meta.items() if key not in META_ORDER)
    yaml_text = yaml.safe_dump(meta, allow_unicode=True, sort_keys=False, default_flow_style=None)
    out = ["---", yaml_text.rstrip("\n"), "---"]
    if t.problem:
        out += ["", "## Problem", "", t.problem]
    for goal in t.goals:
        out += ["", f"## Goal: {_line(goal.title)}"]
        if goal.fields:
            out += [""] + [f"- {_line(key)}: {_line(value)}".rstrip()
                           for key, value in goal.fields.items()]
        for kind in LIST_KINDS:
            if getattr(goal, kind):
                out += ["", f"### {kind.capitalize()}", ""]
                out += [f"- {_line(item)}" for item in getattr(goal, kind)]
        for heading, text in goal.extra:
            out += ["", f"### {_line(heading)}"] + (["", text] if text else [])
    for section in t.sections:
        out += ["", f"## {_line(section.title)}"] + (["", section.body] if section.body else [])
    return "\n".join(out) + "\n"


def fill_placeholders(text: str, values: dict[str, str]) -> str:
    """Replace {name} for the names in values, in one pass; nothing is ever evaluated."""
    return _PLACEHOLDER.sub(lambda m: str(values.get(m.group(1), m.group(0))), text)


def template_to_search_text(t: Template) -> str:
    """Plain text of everything a clinician might search for, one piece per line."""
    meta = t.meta
    parts = [meta.get("title", ""), meta.get("problem", ""), " ".join(meta.get("tags", [])),
             " ".join(meta.get("measures", [])), meta.get("summary", ""), t.problem]
    for goal in t.goals:
        parts.append(goal.title)
        parts += [f"{key}: {value}" for key, value in goal.fields.items()]
        parts += goal.objectives + goal.interventions + goal.homework
        for heading, text in goal.extra:
            parts += [heading, text]
    for section in t.sections:
        parts += [section.title, section.body]
    return "\n".join(part for part in parts if part)
