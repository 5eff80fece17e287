"""What an edit form carries between the browser and core/merge.py: the record's version, the
values the form showed (`base-<field>`), and, after a refused save, the form to show again.

Three states of one edit form, each giving the template `data` (the inputs), `version` and
`base` (rendered with base_fields) and `conflict` (for conflict_view, or None):
- opened: the stored values, twice;
- refused for invalid input (422): the posted values, with the version and base the form
  carried, so a stale form stays stale and its next save is still merged;
- refused for a clash (409): my changes over the current values (a field I did not touch
  shows what is stored now, so saving again cannot bring back an old value), and the
  current version and values as the new base: saving again keeps mine where I changed
  something, after I have seen theirs.
"""
from core.inputs import parse_version
from core.merge import as_text, base_from_form


def posted_version(form, name: str = "version") -> int:
    """The version the form was opened at; 0 (matches no row, so the save is merged as a
    stale one and can overwrite nothing unseen) for a missing or malformed value."""
    return parse_version((form.get(name) or "").strip()) or 0


def posted_base(form, fields, prefix: str = "") -> dict:
    """{field: text the form showed}; a field the form did not carry is absent (counts as
    changed by me in core/merge.three_way)."""
    if not prefix:
        return base_from_form(form, fields)
    return {name: form.get("base-" + prefix + name) for name in fields
            if form.get("base-" + prefix + name) is not None}


def opened(values: dict, version: int) -> dict:
    return {"data": dict(values), "version": version, "base": dict(values), "conflict": None}


def invalid(posted: dict, form, fields) -> dict:
    base = posted_base(form, fields)
    return {"data": posted, "version": posted_version(form),
            "base": {name: base.get(name, "") for name in fields}, "conflict": None}


def refused(mine: dict, base: dict, current: dict, version: int, clashes) -> dict:
    """The form after a clash: see the module docstring."""
    data = dict(current)
    for name, value in mine.items():
        if name not in base or as_text(value) != as_text(base[name]):
            data[name] = value
    return {"data": data, "version": version, "base": dict(current),
            "conflict": {"mine": mine, "theirs": current, "clashes": list(clashes)}}
