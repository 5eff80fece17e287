"""The library's diff counts every added and removed line, whatever the line starts with: a
removed "--" shows as "---" and an added "++" as "+++", the same text as the file header."""
import difflib

import pytest
from hypothesis import given, settings, strategies as st

from core import library
from core.library_io import diff_sources
from core.models import Template
from tests.conftest import in_db
from tests.test_library import add_template, make_source


@pytest.mark.parametrize("old, new, added, removed", [
    ("a\n---\nb\n", "a\nb\n", 0, 1),
    ("a\nb\n", "a\n+++\nb\n", 1, 0),
    ("--\nx\n", "++\nx\n", 1, 1),
    ("---\ntitle: A\n---\nbody\n", "+++\ntitle: A\n+++\nbody\n", 2, 2),
    ("a\n", "a\n---\n+++\n--\n++\n", 4, 0),
    ("---\n+++\n--\n++\na\n", "a\n", 0, 4),
    ("--- x\n+++ y\n", "--- x\n+++ z\n", 1, 1),
])
def test_lines_starting_with_dashes_or_pluses_are_counted(old, new, added, removed):
    diff = diff_sources(old, new, "old", "new")
    kinds = [kind for kind, _ in diff.lines]
    assert (diff.added, diff.removed) == (added, removed)
    assert kinds[:2] == ["meta", "meta"] and kinds.count("meta") == 2  # the header only
    assert (kinds.count("add"), kinds.count("del")) == (added, removed)


def _changed_lines(old: list[str], new: list[str]) -> tuple[int, int]:
    added = removed = 0
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, old, new).get_opcodes():
        if tag != "equal":
            removed, added = removed + (i2 - i1), added + (j2 - j1)
    return added, removed


LINES = st.lists(st.sampled_from(["---", "+++", "--", "++", "-", "+", "@@", "a", "b", ""]),
                 max_size=12)


@settings(derandomize=True, max_examples=300, deadline=None)
@given(LINES, LINES)
def test_counts_match_the_changed_lines(old, new):
    diff = diff_sources("".join(line + "\n" for line in old),
                        "".join(line + "\n" for line in new), "old", "new")
    assert (diff.added, diff.removed) == _changed_lines(old, new)


def test_the_version_diff_page_counts_a_removed_rule_and_front_matter_line(world, as_user):
    """Version 2 drops a Markdown rule ("---", shown as "----") and a front matter line."""
    template = add_template(world.clin_a1, extra="\n\n---\n\nSee also the sleep plan.")
    changed = make_source().replace("summary: A plan for anxiety.\n", "")
    with in_db():
        library.save_version(world.clin_a1, Template.get_by_id(template.id), changed, based_on=1)
    page = as_user(world.clin_a1).get(f"/library/{template.id}/diff?a=1&b=2")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert '<span class="diff-added">+0</span> lines added' in text
    assert '<span class="diff-removed">−5</span> removed' in text  # summary, "", ---, "", See also
