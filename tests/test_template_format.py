import pathlib
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.template_format import (
    MAX_BYTES, META_ORDER, FormatError, Goal, Section, Template, TemplateFormatError,
    fill_placeholders, parse_template, template_to_search_text, write_template)

# Not a speed target (bench/ measures speed): a guard against super-linear blow-ups on hostile
# input, which took 16 s to over 60 s before the cost budgets; generous so load never trips it.
CATASTROPHE_SECONDS = 10.0

LIBRARY = pathlib.Path(__file__).resolve().parent.parent / "template_library"

# The example of DESIGN.md, "The template format".
DESIGN_EXAMPLE = """\
---
title: Generalized anxiety, 12-week CBT plan
problem: anxiety
tags: [GAD, CBT, worry]
measures: [GAD-7]
summary: Structured CBT plan for persistent worry.
license: CC-BY-4.0
---

## Problem
Persistent worry most days, difficulty controlling it, poor sleep.

## Goal: Reduce worry to a manageable level
- Measure: GAD-7
- Baseline: to be measured at intake
- Target: GAD-7 below 10
- Timeframe: 12 weeks

### Objectives
- Name three personal worry triggers within 2 weeks
- Practise scheduled worry time 5 days a week within 4 weeks

### Interventions
- Psychoeducation on the worry cycle (CBT), sessions 1-2
- Cognitive restructuring of catastrophic predictions, weekly

### Homework
- Keep a daily worry log for one week
"""

DESIGN_TEMPLATE = Template(
    meta={"title": "Generalized anxiety, 12-week CBT plan", "problem": "anxiety",
          "tags": ["GAD", "CBT", "worry"], "measures": ["GAD-7"],
          "summary": "Structured CBT plan for persistent worry.", "license": "CC-BY-4.0"},
    problem="Persistent worry most days, difficulty controlling it, poor sleep.",
    goals=[Goal(
        title="Reduce worry to a manageable level",
        fields={"Measure": "GAD-7", "Baseline": "to be measured at intake",
                "Target": "GAD-7 below 10", "Timeframe": "12 weeks"},
        objectives=["Name three personal worry triggers within 2 weeks",
                    "Practise scheduled worry time 5 days a week within 4 weeks"],
        interventions=["Psychoeducation on the worry cycle (CBT), sessions 1-2",
                       "Cognitive restructuring of catastrophic predictions, weekly"],
        homework=["Keep a daily worry log for one week"],
        extra=[])],
    sections=[])


def errors_of(source, filename="plan.md") -> list[str]:
    with pytest.raises(TemplateFormatError) as info:
        parse_template(source, filename)
    assert str(info.value) == "\n".join(str(e) for e in info.value.errors)
    return [str(e) for e in info.value.errors]


def doc(body: str, front: str = "title: T\n") -> str:
    return f"---\n{front}---\n{body}"


# --- parsing -------------------------------------------------------------------------------

def test_design_example_parses_to_the_exact_structure():
    t = parse_template(DESIGN_EXAMPLE, "gad.md")
    assert t == DESIGN_TEMPLATE
    assert t.title == "Generalized anxiety, 12-week CBT plan"
    assert list(t.goals[0].fields) == ["Measure", "Baseline", "Target", "Timeframe"]


def test_bytes_and_str_parse_alike():
    assert parse_template(DESIGN_EXAMPLE.encode()) == parse_template(DESIGN_EXAMPLE)


@pytest.mark.parametrize("transform", [
    lambda s: "\ufeff" + s,
    lambda s: s.replace("\n", "\r\n"),
    lambda s: s.replace("\n", "\r"),
    lambda s: s.replace("\n", " \t \n"),
    lambda s: "\ufeff" + s.replace("\n", "  \r\n"),
], ids=["bom", "crlf", "cr", "trailing-whitespace", "all-three"])
def test_bom_line_endings_and_trailing_whitespace_parse_equal(transform):
    assert parse_template(transform(DESIGN_EXAMPLE)) == DESIGN_TEMPLATE
    assert parse_template(transform(DESIGN_EXAMPLE).encode()) == DESIGN_TEMPLATE


def test_unknown_keys_fields_subsections_and_sections_are_kept_through_a_round_trip():
    source = doc("""
## Notes for the clinician
Screen for **depression** too.

* a Markdown list
* stays text

## Goal: Sleep better
- Measure: ISI
- Owner: both of us
- Review every: 4 weeks

### objectives
- Keep a sleep diary
  every morning

### Rationale
Sleep restriction works.

#### Detail
Deeper headings are text.

## Problem
Insomnia.
## Resources
- https://example.org
""", front="title: Sleep\nreviewed_by: Dr. A\nlicense: CC0\nevidence: {level: A, refs: [1, 2]}\n")
    t = parse_template(source)
    assert t.meta == {"title": "Sleep", "reviewed_by": "Dr. A", "license": "CC0",
                      "evidence": {"level": "A", "refs": [1, 2]}}
    assert t.problem == "Insomnia."
    goal = t.goals[0]
    assert goal.fields == {"Measure": "ISI", "Owner": "both of us", "Review every": "4 weeks"}
    assert goal.objectives == ["Keep a sleep diary every morning"]
    assert goal.extra == [("Rationale", "Sleep restriction works.\n\n#### Detail\n"
                                        "Deeper headings are text.")]
    assert t.sections == [
        Section("Notes for the clinician",
                "Screen for **depression** too.\n\n* a Markdown list\n* stays text"),
        Section("Resources", "- https://example.org")]
    written = write_template(t)
    assert parse_template(written) == t
    assert write_template(parse_template(written)) == written


def test_front_matter_normalisation():
    t = parse_template(doc("", front="title: T\ntags: GAD\nmeasures:\nsummary:\nauthor: ~\n"))
    assert t.meta == {"title": "T", "tags": ["GAD"], "measures": [], "summary": "", "author": ""}


def test_prose_under_a_goal_heading_becomes_its_description():
    t = parse_template(doc("## Goal: Walk\nWalk more, because\n  it lifts mood.\nDaily.\n"
                           "- Measure: steps\n"))
    assert t.goals[0].fields == {"Description": "Walk more, because it lifts mood. Daily.",
                                 "Measure": "steps"}
    assert "- Description: Walk more, because it lifts mood. Daily.\n" in write_template(t)


def test_field_continuation_lines_and_empty_values():
    t = parse_template(doc("## Goal: G\n- Target: below 10\n  by week 12\n- Baseline:\n"))
    assert t.goals[0].fields == {"Target": "below 10 by week 12", "Baseline": ""}


def test_repeated_list_headings_in_one_goal_are_merged():
    t = parse_template(doc("## Goal: G\n### Homework\n- a\n### Notes\nx\n### HOMEWORK\n* b\n"))
    assert t.goals[0].homework == ["a", "b"]


def test_headings_inside_code_fences_are_text():
    t = parse_template(doc("## Notes\n```bash\n# a comment\n## not a section\n```\nafter\n"))
    assert t.sections == [Section("Notes", "```bash\n# a comment\n## not a section\n```\nafter")]


def test_goal_heading_is_case_insensitive_and_untitled_problem_is_empty():
    t = parse_template(doc("## goal:Run\n## problem\n"))
    assert t.goals == [Goal("Run")] and t.problem == ""


def test_write_template_is_canonical():
    text = write_template(parse_template(doc(
        "## Resources\nx\n## Goal: G\n### Homework\n- h\n- Measure: m\n## Problem\np\n",
        front="zeta: 1\nauthor: A\ntitle: T\ntags: [a, b]\n")))
    # the '- Measure' line under Homework is a list item, not a field
    assert text == ("---\ntitle: T\ntags: [a, b]\nauthor: A\nzeta: 1\n---\n\n## Problem\n\np\n\n"
                    "## Goal: G\n\n### Homework\n\n- h\n- Measure: m\n\n## Resources\n\nx\n")
    assert text.endswith("\n") and not text.endswith("\n\n")
    assert list(parse_template(text).meta) == ["title", "tags", "author", "zeta"]


def test_write_template_meta_order():
    meta = {"z": 1, "license": "L", "author": "A", "summary": "S", "measures": ["M"],
            "tags": ["T"], "problem": "P", "title": "Title", "a": 2}
    front = write_template(Template(meta=meta)).split("---\n")[1]
    assert [line.split(":")[0] for line in front.splitlines()] == list(META_ORDER) + ["z", "a"]


def test_unicode_is_written_as_is():
    t = Template(meta={"title": "Ängste – 12 Wochen", "tags": ["Sorgen"]}, problem="Grübeln 😟")
    text = write_template(t)
    assert "Ängste – 12 Wochen" in text and "Grübeln 😟" in text
    assert parse_template(text.encode()) == t


# --- errors --------------------------------------------------------------------------------

@pytest.mark.parametrize("source, expected", [
    ("title: T\n---\n",
     ["plan.md, line 1: found 'title: T'; expected '---' to open the YAML front matter on line 1"]),
    ("",
     ["plan.md, line 1: found an empty line; expected '---' to open the YAML front matter on "
      "line 1"]),
    ("---\ntitle: T\n## Problem\n",
     ["plan.md, line 1: the front matter opened by '---' on line 1 is never closed; expected a "
      "'---' line"]),
    ("---\ntitle: T\ntags: [a, b\nsummary: x\n---\n",
     ["plan.md, line 4: invalid YAML in the front matter (while parsing a flow sequence: "
      "expected ',' or ']', but got ':'); expected 'key: value' lines"]),
    ("---\ntitle: T\nsummary: a: b\n---\n",
     ["plan.md, line 3: invalid YAML in the front matter (mapping values are not allowed here); "
      "expected 'key: value' lines"]),
    ("---\ntitle: T\nnote: \x07\n---\n",
     ["plan.md, line 3: invalid YAML in the front matter (special characters are not allowed); "
      "expected 'key: value' lines"]),
    ("---\n- a\n- b\n---\n",
     ["plan.md, line 2: the front matter is a list; expected 'key: value' lines with a title"]),
    ("---\n---\n",
     ["plan.md, line 2: the front matter is empty; expected 'key: value' lines with a title"]),
    ("---\nproblem: anxiety\n---\n",
     ["plan.md, line 1: the front matter has no 'title'; expected a 'title: <text>' line"]),
    ("---\nsummary: s\ntitle: ''\n---\n",
     ["plan.md, line 3: 'title' is empty; expected a non-empty text"]),
    ("---\ntitle: [a]\n---\n",
     ["plan.md, line 2: 'title' is a list; expected a non-empty text"]),
    ("---\ntitle: T\ntags: [GAD, 7]\nmeasures: {a: 1}\nlicense: 2024\nproblem: yes\n1: x\n---\n",
     ["plan.md, line 3: 'tags' is a list with non-text entries; expected a list of text such as "
      "[GAD-7, PHQ-9]",
      "plan.md, line 4: 'measures' is a mapping; expected a list of text such as [GAD-7, PHQ-9]",
      "plan.md, line 5: 'license' is a number (2024); expected text (put it in quotes)",
      "plan.md, line 6: 'problem' is a true/false value (True); expected text (put it in quotes)",
      "plan.md, line 7: front matter key 1 is a number; expected a text key"]),
    ("---\ntitle: T\na: &x [1]\nb: *x\n---\n",
     ["plan.md, line 2: the front matter uses YAML anchors/aliases or nests deeper than 20 "
      "levels; expected plain values"]),
    ("---\ntitle: T\na: " + "[" * 21 + "]" * 21 + "\n---\n",
     ["plan.md, line 2: the front matter nests '[' or '{' 21 levels deep; the limit is 20"]),
    ("---\ntitle: T\nnotes: '" + "x" * 33000 + "'\n---\n",
     ["plan.md, line 2: the front matter is 33018 bytes; the limit is 32768"]),
], ids=["no-front-matter", "empty-file", "unclosed", "yaml-flow", "yaml-mapping", "yaml-char",
        "not-a-mapping", "empty-front-matter", "no-title", "empty-title", "title-list",
        "key-types", "alias", "flow-depth", "front-matter-size"])
def test_front_matter_errors(source, expected):
    assert errors_of(source) == expected


@pytest.mark.parametrize("body, expected", [
    ("## Problem\nWorry.\n### Objectives\n- Name triggers\n",
     ["plan.md, line 6: '### Objectives' appears before any '## Goal: …' heading; expected a "
      "goal heading first"]),
    ("### Homework\n- Log\n",
     ["plan.md, line 4: '### Homework' appears before any '## Goal: …' heading; expected a goal "
      "heading first"]),
    ("- Measure: GAD-7\n## Goal: G\n",
     ["plan.md, line 4: '- Measure: GAD-7' appears before any '## Goal: …' heading; expected a "
      "goal heading first"]),
    ("\nSome intro\nmore intro\n## Problem\n",
     ["plan.md, line 5: found 'Some intro' before the first '##' heading; expected "
      "'## Problem', '## Goal: <title>' or another '## <section>'"]),
    ("## Goal: G\n## Notes\n### Interventions\n- CBT\n",
     ["plan.md, line 6: '### Interventions' appears outside a goal; expected a goal heading "
      "first"]),
    ("# Anxiety plan\n## Problem\n",
     ["plan.md, line 4: found '# Anxiety plan', a level-1 heading; expected '##' (## Problem, "
      "## Goal: <title> or another ## section)"]),
    ("## Problem\nx\n#hashtag\n",
     ["plan.md, line 6: found '#hashtag', a level-1 heading; expected '##' (## Problem, "
      "## Goal: <title> or another ## section)"]),
    ("## Goal:\n## Goal:   \n## Goal\n",
     ["plan.md, line 4: found '## Goal:' without a title; expected '## Goal: <title>'",
      "plan.md, line 5: found '## Goal:' without a title; expected '## Goal: <title>'",
      "plan.md, line 6: found '## Goal' without a title; expected '## Goal: <title>'"]),
    ("##\n",
     ["plan.md, line 4: found an empty '##' heading; expected a section title after '## '"]),
    ("## Goal: G\n###\n",
     ["plan.md, line 5: found an empty '###' heading; expected a heading text after '### '"]),
    ("## Problem\na\n## Problem\nb\n",
     ["plan.md, line 6: a second '## Problem' (the first is on line 4); expected at most one"]),
    ("## Goal: G\n### Objectives\nName three triggers\n1. numbered\n-\n",
     ["plan.md, line 6: found 'Name three triggers' in a list section; expected a '- ' list item",
      "plan.md, line 7: found '1. numbered' in a list section; expected a '- ' list item",
      "plan.md, line 8: found an empty list item; expected text after '- '"]),
    ("## Goal: G\n### Homework\n#### Week 1\n- a\n",
     ["plan.md, line 6: found '#### Week 1' in a list section; expected a '- ' list item"]),
    ("## Goal: G\n- Measure GAD-7\n- : x\n",
     ["plan.md, line 5: found '- Measure GAD-7' under goal 'G'; expected a '- Key: value' field "
      "(list items go under '### Objectives', '### Interventions' or '### Homework')",
      "plan.md, line 6: found '- : x' under goal 'G'; expected a '- Key: value' field "
      "(list items go under '### Objectives', '### Interventions' or '### Homework')"]),
    ("## Goal: G\n- Measure: GAD-7\n- measure: PHQ-9\n",
     ["plan.md, line 6: duplicate field 'measure' under goal 'G' (already set by line 5); "
      "expected each key once"]),
    ("## Goal: G\nWalk daily.\n- Description: walk\n",
     ["plan.md, line 6: duplicate field 'Description' under goal 'G' (already set by its "
      "description text); expected each key once"]),
    ("## Goal: G\n- Description: walk\nWalk daily.\n",
     ["plan.md, line 6: found text 'Walk daily.' under goal 'G', which already has a "
      "'- Description:' field (line 5); expected '- Key: value' lines"]),
    ("## Goal: G\n#### Deep\n",
     ["plan.md, line 5: found '#### Deep' under goal 'G'; expected '### Objectives', "
      "'### Interventions', '### Homework' or another '### <heading>'"]),
    ("## Notes\n~~~\n# never closed\n## Goal: G\n",
     ["plan.md, line 5: the code fence '~~~' is never closed; expected a closing '~~~' line"]),
], ids=["objectives-under-problem", "list-heading-at-top", "item-at-top", "text-at-top",
        "list-heading-in-section", "h1", "h1-without-space", "goal-without-title",
        "empty-h2", "empty-h3", "second-problem", "non-list-text", "h4-in-list",
        "field-without-colon", "duplicate-field", "prose-then-description",
        "description-then-prose", "h4-under-goal", "unclosed-fence"])
def test_body_errors(body, expected):
    assert errors_of(doc(body)) == expected


def test_all_errors_are_collected_in_line_order():
    source = "---\ntitle: T\nlicense: 1\n---\nintro\n# H1\n## Goal:\n- x\n### Objectives\ntext\n"
    lines = [int(e.split(", line ")[1].split(":")[0]) for e in errors_of(source)]
    assert lines == [3, 5, 6, 7, 8, 10]


def test_error_objects_and_exception():
    with pytest.raises(TemplateFormatError) as info:
        parse_template("nope", "x.md")
    assert isinstance(info.value, ValueError)
    assert info.value.errors == [FormatError(
        "x.md", 1, "found 'nope'; expected '---' to open the YAML front matter on line 1")]
    assert parse_template.__defaults__ == ("<pasted text>",)


def test_invalid_utf8_names_the_line():
    source = b"---\r\ntitle: T\r\n---\r\n## Problem\r\nCaf\xe9\r\n"
    assert errors_of(source) == [
        "plan.md, line 5: byte 0xe9 is not valid UTF-8; expected UTF-8 text"]
    assert errors_of("---\ntitle: \ud800\n---\n".encode("utf-8", "surrogatepass")) == [
        "plan.md, line 2: byte 0xed is not valid UTF-8; expected UTF-8 text"]


def test_size_limit_on_raw_bytes():
    ok = doc("## Notes\n" + "x" * 100 + "\n")
    ok += "y" * (MAX_BYTES - len(ok.encode()))
    assert len(ok.encode()) == MAX_BYTES
    parse_template(ok)
    too_big = ok + "y"
    assert errors_of(too_big) == [f"plan.md, line 1: file is {MAX_BYTES + 1} bytes; "
                                  f"the limit is {MAX_BYTES}"]
    assert errors_of(too_big.encode()) == errors_of(too_big)
    # measured in UTF-8 bytes, not characters
    wide = doc("## Notes\n") + "é" * (MAX_BYTES // 2)
    assert errors_of(wide)[0].startswith("plan.md, line 1: file is ")


@pytest.mark.parametrize("name, body", [
    ("continuations", "## Goal: G\n### Objectives\n- a\n" + "  b\n" * 65000),
    ("field-continuations", "## Goal: G\n- K: v\n" + "  b\n" * 65000),
    ("prose", "## Goal: G\n" + "b\n" * 130000),
    ("headings", "## Goal: G\n" * 23000),
    ("hashes", "## Notes\n" + "#" * 260000),
    ("backticks", "## Notes\n" + "`" * 260000),
    ("h1-errors", "# h\n" * 65000),
    ("placeholder-braces", "## Notes\n" + "{" * 130000 + "}" * 130000),
    ("many-fields", "## Goal: G\n" + "".join(f"- k{i}: v\n" for i in range(25000))),
])
def test_adversarial_256k_inputs_parse_fast(name, body):
    source = doc(body)[:MAX_BYTES]
    started = time.perf_counter()
    try:
        parse_template(source)
    except TemplateFormatError:
        pass
    assert time.perf_counter() - started < CATASTROPHE_SECONDS


@pytest.mark.parametrize("front", [
    "title: T\na: " + "[" * 20 + "]" * 20 + "\n",
    "title: T\n" + "".join(f"k{i}: v\n" for i in range(3500)),
    "title: T\na: " + "- " * 10000 + "x\n",
    "title: T\n" + "".join(f"{i}: v\n" for i in range(4000)),
])
def test_adversarial_front_matter_is_fast(front):
    started = time.perf_counter()
    try:
        parse_template(doc("", front=front))
    except TemplateFormatError:
        pass
    assert time.perf_counter() - started < CATASTROPHE_SECONDS


# --- placeholders and search text ------------------------------------------------------------

def test_fill_placeholders_replaces_known_names_only():
    text = "{client_first_name} logs worry; {unknown} stays; {client_first_name}!"
    assert fill_placeholders(text, {"client_first_name": "Sam"}) == \
        "Sam logs worry; {unknown} stays; Sam!"
    # one pass: a value that looks like a placeholder is not expanded again
    assert fill_placeholders("{a} {b}", {"a": "{b}", "b": "x"}) == "{b} x"


@pytest.mark.parametrize("text", [
    "{__import__('os')}", "{{ 7*7 }}", "{0.__class__}", "{0}", "{}", "{client.__dict__}",
    "{client_first_name!r}", "{client_first_name:>10}", "%(client_first_name)s", "{x.__class__}"])
def test_fill_placeholders_never_evaluates(text):
    assert fill_placeholders(text, {"client_first_name": "Sam", "x": "X"}) == text


def test_search_text_covers_every_part():
    t = parse_template(doc(
        "## Problem\nworrying\n## Goal: Calm\n- Measure: GAD-7\n### Objectives\n- triggers\n"
        "### Homework\n- log\n### Why\nbecause\n## Notes\nscreening\n",
        front="title: Anxiety\nproblem: anxiety\ntags: [GAD]\nmeasures: [PHQ-9]\nsummary: sum\n"))
    text = template_to_search_text(t)
    for word in ["Anxiety", "anxiety", "GAD", "PHQ-9", "sum", "worrying", "Calm",
                 "Measure: GAD-7", "triggers", "log", "Why", "because", "Notes", "screening"]:
        assert word in text


# --- round trips ---------------------------------------------------------------------------

def test_design_example_round_trips():
    assert parse_template(write_template(DESIGN_TEMPLATE)) == DESIGN_TEMPLATE


@pytest.mark.parametrize("path", sorted(LIBRARY.glob("*.md")), ids=lambda p: p.name)
def test_library_template_round_trips(path):
    t = parse_template(path.read_bytes(), path.name)
    written = write_template(t)
    assert parse_template(written, path.name) == t
    assert write_template(parse_template(written)) == written


_TEXT = st.characters(categories=["L", "N", "P", "S", "Zs"])
line_text = st.text(_TEXT, min_size=1, max_size=24).map(str.strip).filter(bool)
maybe_empty = st.text(_TEXT, max_size=24).map(str.strip)
heading_text = line_text.filter(lambda s: not s.startswith("#"))
body_line = st.text(_TEXT, max_size=30).map(str.rstrip).filter(
    lambda s: not s.startswith("#") and s.lstrip(" ")[:3] not in ("```", "~~~"))
body_text = st.lists(body_line, max_size=5).map(lambda lines: "\n".join(lines).strip("\n"))


def _is_section_title(title: str) -> bool:
    low = title.lower()
    return low not in ("problem", "goal") and not low.startswith("goal:")


fields = st.lists(st.tuples(line_text.filter(lambda k: ":" not in k), maybe_empty),
                  max_size=4, unique_by=lambda kv: kv[0].strip().lower()).map(
    lambda pairs: {k.strip(): v for k, v in pairs})
goals = st.builds(
    Goal, title=line_text, fields=fields,
    objectives=st.lists(line_text, max_size=3), interventions=st.lists(line_text, max_size=3),
    homework=st.lists(line_text, max_size=3),
    extra=st.lists(st.tuples(heading_text.filter(
        lambda h: h.lower() not in ("objectives", "interventions", "homework")), body_text),
        max_size=2))
# strings YAML would read as something else unless the writer quotes them
yaml_tricky = st.sampled_from(["yes", "No", "null", "~", "1.5", "0x1F", "2024-01-01", "- x",
                               "a: b", "#c", "'q'", '"d"', "[x]", "{y}", "*ref", "&anchor",
                               "!tag", "%x", "@x", "`x`", "| x", "> x", "x #y", "---", "..."])
meta_text = st.one_of(maybe_empty, yaml_tricky)
unknown_meta = st.dictionaries(
    st.from_regex(r"[a-z_]{1,10}", fullmatch=True).filter(lambda k: k not in META_ORDER),
    st.one_of(meta_text, st.integers(), st.booleans(), st.dates(), st.none(),
              st.floats(allow_nan=False), st.lists(line_text, max_size=3),
              st.dictionaries(line_text, meta_text, max_size=2)),
    max_size=3)


@st.composite
def templates(draw):
    meta = {"title": draw(st.one_of(line_text, yaml_tricky))}
    for key in ("problem", "summary", "license", "author"):
        if draw(st.booleans()):
            meta[key] = draw(meta_text)
    for key in ("tags", "measures"):
        if draw(st.booleans()):
            meta[key] = draw(st.lists(st.one_of(line_text, yaml_tricky), max_size=4))
    meta.update(draw(unknown_meta))
    sections = st.builds(Section, title=heading_text.filter(_is_section_title), body=body_text)
    return Template(meta=meta, problem=draw(body_text), goals=draw(st.lists(goals, max_size=3)),
                    sections=draw(st.lists(sections, max_size=3)))


PROPERTY = settings(max_examples=150, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(templates())
def test_written_template_parses_back_to_itself(t):
    written = write_template(t)
    assert parse_template(written) == t
    assert parse_template(written.replace("\n", "\r\n").encode()) == t


_LINES = st.one_of(
    st.sampled_from(["", "", "## Problem", "### Objectives", "### Homework", "```", "  "]),
    line_text.map(lambda s: f"## Goal: {s}"), heading_text.map(lambda s: f"## {s}"),
    heading_text.map(lambda s: f"### {s}"), line_text.map(lambda s: f"- {s}"),
    line_text.map(lambda s: f"* {s}"), line_text.map(lambda s: f"  {s}"), line_text,
    st.tuples(line_text.filter(lambda k: ":" not in k), maybe_empty).map(
        lambda kv: f"- {kv[0]}: {kv[1]}"))
prose = heading_text.filter(lambda s: s not in ("-", "*") and s[:2] not in ("- ", "* "))


@st.composite
def messy_documents(draw):
    """Valid documents in non-canonical shape: odd spacing, prose, continuations, case."""
    lines, has_problem = ["---", "title: T", "x-extra: [1, 2]", "---"], False
    pick = lambda options: draw(st.sampled_from(options))  # noqa: E731
    for _ in range(draw(st.integers(0, 4))):
        lines += [""] * draw(st.integers(0, 2))
        kind = pick(["goal", "goal", "section"] + ([] if has_problem else ["problem"]))
        if kind != "goal":
            has_problem |= kind == "problem"
            title = "Problem" if kind == "problem" else draw(heading_text.filter(_is_section_title))
            lines += [f"## {title}"] + draw(st.lists(body_line, max_size=4))
            continue
        lines.append(pick(["## Goal: ", "## goal:", "## GOAL:   "]) + draw(line_text))
        has_prose = draw(st.booleans())
        if has_prose:
            lines += [draw(prose), pick(["  ", "\t"]) + draw(line_text)]
        for key, value in draw(fields).items():
            if has_prose and key.lower() == "description":
                continue
            lines += [f"{pick(['-', '*'])} {key}: {value}", ""][:draw(st.integers(1, 2))]
        for heading in draw(st.lists(st.sampled_from(
                ["Objectives", "HOMEWORK", "interventions", "Rationale"]), max_size=3)):
            lines.append(f"### {heading}")
            if heading == "Rationale":
                lines += draw(st.lists(body_line, max_size=3))
                continue
            for item in draw(st.lists(line_text, max_size=3)):
                lines += [f"{pick(['-', '*'])} {item}"] + pick([[], [""], ["   more"]])
    return "\n".join(lines) + "\n"


@PROPERTY
@given(messy_documents(), st.sampled_from(["\n", "\r\n", " \n"]))
def test_messy_documents_round_trip(source, newline):
    t = parse_template(source.replace("\n", newline))
    assert t == parse_template(source)
    written = write_template(t)
    assert parse_template(written) == t
    assert write_template(parse_template(written)) == written


@PROPERTY
@given(st.lists(_LINES, max_size=25))
def test_any_text_round_trips_or_fails_with_line_numbers(lines):
    source = "\n".join(["---", "title: T", "---"] + lines) + "\n"
    try:
        t = parse_template(source)
    except TemplateFormatError as exc:
        assert exc.errors and all(4 <= e.line <= len(lines) + 3 and e.message for e in exc.errors)
        return
    assert parse_template(write_template(t)) == t


def test_multiline_meta_values_cannot_close_the_front_matter():
    t = Template(meta={"title": "T", "notes": "a\n---\nb\n\n---", "x": ["---", "a\n---"],
                       "---": "---"})
    assert parse_template(write_template(t)) == t


def test_write_template_keeps_one_line_parts_on_one_line():
    t = Template(meta={"title": "T"}, goals=[Goal(
        title="Sleep\nbetter", fields={"Target": "7 hours\r\nmost nights"},
        homework=["Keep\ra diary"], extra=[("Why\n", "Because.\n\nIt helps.")])],
        sections=[Section("Notes\nfor you", "x")])
    assert parse_template(write_template(t)) == Template(meta={"title": "T"}, goals=[Goal(
        title="Sleep better", fields={"Target": "7 hours most nights"},
        homework=["Keep a diary"], extra=[("Why", "Because.\n\nIt helps.")])],
        sections=[Section("Notes for you", "x")])
