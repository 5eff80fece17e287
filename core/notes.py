"""Session notes: the practice's note templates, writing a note with its progress entries,
signing (which locks it) and addenda. What a new note opens with is in core/progress.py."""
import datetime as dt

from peewee import JOIN

from core import audit
from core.access import scoped
from core.access import NotFound
from core.db import db, utcnow
from core.merge import EditConflict, changed_detail, conflicts_audited, save_guarded
from core.inputs import InputError, parse_date, parse_int
from core.prepared import Prepared
from core.models import (GOAL_STATUSES, NOTE_FORMATS, Client, Goal, NoteAddendum, NoteTemplate,
                         Plan, ProgressEntry, SessionNote, User)
from core.progress import CLOSED_GOAL_STATUSES, active_goals
from core.rendering import render_markdown
from core.revisions import record_changes

ACTION_PROMPT = "What did we agree to work on next?"
DEFAULT_TEMPLATES = {
    "DAP": f"## Data\n\n\n## Assessment\n\n\n## Plan\n{ACTION_PROMPT}\n\n",
    "SOAP": f"## Subjective\n\n\n## Objective\n\n\n## Assessment\n\n\n## Plan\n{ACTION_PROMPT}\n\n",
    "free": f"\n\n{ACTION_PROMPT}\n\n",
}
FORMAT_LABELS = {"DAP": "DAP", "SOAP": "SOAP", "free": "Free text"}
MAX_BODY = 100_000
MAX_COMMENT = 2_000
NOTE_FIELDS = ("date", "format", "body")
PROGRESS_PARTS = ("rating", "status", "comment", "no_change")


def progress_keys(goal_ids) -> tuple[str, ...]:
    """The note form's progress fields of these goals (what it carries and merges)."""
    return tuple(f"goal-{gid}-{part}" for gid in goal_ids for part in PROGRESS_PARTS)


class NoteError(ValueError):
    """Invalid input; `missing` holds the open goals saved without any progress."""

    def __init__(self, errors: dict[str, str], missing=()):
        super().__init__("; ".join(errors.values()))
        self.errors = errors
        self.missing = list(missing)


class NoteLocked(Exception):
    """The note is signed: it is never changed again, only added to."""


class NoteChanged(Exception):
    """Signing from a page that showed an older text: it is signed only as read."""


class NotAuthor(Exception):
    """Only the clinician who wrote an unsigned note may change or sign it."""


# --- note templates -----------------------------------------------------------------------------

def note_templates(practice_id: int) -> dict[str, str]:
    """{format: body} for the practice; the defaults are created the first time they are asked for."""
    bodies = {row.format: row.body for row in
              NoteTemplate.select().where(NoteTemplate.practice == practice_id)}
    missing = [fmt for fmt in NOTE_FORMATS if fmt not in bodies]
    if missing:
        with db.atomic():
            NoteTemplate.insert_many([{"practice": practice_id, "format": fmt,
                                       "body": DEFAULT_TEMPLATES[fmt]} for fmt in missing]
                                     ).on_conflict_ignore().execute()
        bodies.update({fmt: DEFAULT_TEMPLATES[fmt] for fmt in missing})
    return {fmt: bodies[fmt] for fmt in NOTE_FORMATS}


def template_versions(practice_id: int) -> dict[str, int]:
    return {row.format: row.version for row in
            NoteTemplate.select(NoteTemplate.format, NoteTemplate.version)
            .where(NoteTemplate.practice == practice_id)}


def save_note_templates(user, data: dict, versions: dict | None = None,
                        base: dict | None = None) -> dict[str, str]:
    """Save the practice's templates, each merged (core/merge.py) with an admin's save from
    another tab since the form was opened. When any template changed on both sides nothing
    is saved: EditConflict with `fields` (the formats), `values` (the bodies now) and
    `versions`."""
    versions, base = versions or {}, base or {}
    bodies = note_templates(user.practice_id)
    errors = {fmt: f"At most {MAX_BODY} characters." for fmt in NOTE_FORMATS
              if len(data.get(fmt) or "") > MAX_BODY}
    if errors:
        raise NoteError(errors)
    rows = {row.format: row for row in
            NoteTemplate.select().where(NoteTemplate.practice == user.practice_id)}
    clashes, written = [], []
    try:
        with db.atomic():
            for fmt in NOTE_FORMATS:
                if fmt not in data:
                    continue
                body = data[fmt].replace("\r\n", "\n")
                try:
                    _row, write = save_guarded(
                        NoteTemplate, rows[fmt].id, versions.get(fmt, 0), {"body": body},
                        {"body": base[fmt]} if fmt in base else {})
                except EditConflict:
                    clashes.append(fmt)
                    continue
                if write:
                    written.append(fmt)
            if clashes:  # all or nothing: the page is saved as one
                raise EditConflict(None, clashes)
            audit.record("note_template.update", user, target_type="practice",
                         target_id=user.practice_id, detail="changed " + ", ".join(written))
    except EditConflict as exc:
        exc.values = note_templates(user.practice_id)
        exc.versions = template_versions(user.practice_id)
        audit.record("note_template.conflict", user, target_type="practice",
                     target_id=user.practice_id, detail="both changed " + ", ".join(exc.fields))
        raise
    bodies.update(note_templates(user.practice_id))
    return bodies


# --- writing notes ------------------------------------------------------------------------------

def _clean_note(data: dict) -> tuple[dict, dict]:
    errors, out = {}, {}
    out["format"] = data.get("format") if data.get("format") in NOTE_FORMATS else "DAP"
    out["body"] = (data.get("body") or "").replace("\r\n", "\n")
    if not out["body"].strip():
        errors["body"] = "Write the note; a line or two is enough."
    elif len(out["body"]) > MAX_BODY:
        errors["body"] = f"At most {MAX_BODY} characters."
    try:
        out["date"] = parse_date(data.get("date"))
    except InputError as exc:
        errors["date"] = str(exc)
    else:
        if out["date"] is None:
            errors["date"] = "Give the session date as YYYY-MM-DD."
        elif out["date"] > dt.date.today() + dt.timedelta(days=1):
            errors["date"] = "A session note cannot be dated in the future."
    return out, errors


def _clean_progress(goals: list[Goal], data: dict, errors: dict) -> list[dict]:
    """One entry per goal the clinician said anything about."""
    entries = []
    for goal in goals:
        key = f"goal-{goal.id}-"
        rating_raw = (data.get(key + "rating") or "").strip()
        status = (data.get(key + "status") or "").strip()
        no_change = data.get(key + "no_change") in ("1", "on", "true", "y")
        comment = (data.get(key + "comment") or "").strip()
        rating = None
        if rating_raw:
            rating = parse_int(rating_raw, 0, 10)
            if rating is None:
                errors[key + "rating"] = "A rating is a whole number from 0 to 10."
        if status and status not in GOAL_STATUSES:
            errors[key + "status"] = "Choose a status from the list."
        if len(comment) > MAX_COMMENT:
            errors[key + "comment"] = f"At most {MAX_COMMENT} characters."
        if rating is not None or status or no_change or comment:
            entries.append({"goal": goal, "rating": rating, "status_change": status,
                            "no_change": no_change, "comment": comment})
    return entries


def _validate(goals, data):
    note, errors = _clean_note(data)
    entries = _clean_progress(goals, data, errors)
    covered = {e["goal"].id for e in entries}
    missing = [g for g in goals if g.status not in CLOSED_GOAL_STATUSES and g.id not in covered]
    if errors:
        raise NoteError(errors, missing)
    if missing and data.get("confirm_missing") not in ("1", "on", "true", "y"):
        raise NoteError({"progress": "Some goals have no progress for this session. Record a "
                                     "rating, a comment or \u201cno change\u201d, or confirm that "
                                     "you want to save without."}, missing)
    return note, entries


def _write_entries(user, note_id: int, entries: list[dict]):
    ProgressEntry.delete().where(ProgressEntry.note == note_id).execute()
    if entries:
        ProgressEntry.insert_many([{"note": note_id, "goal": e["goal"].id, "rating": e["rating"],
                                    "status_change": e["status_change"], "no_change": e["no_change"],
                                    "comment": e["comment"]} for e in entries]).execute()
    for e in entries:
        goal = e["goal"]
        if e["status_change"] and e["status_change"] != goal.status:
            # The revision keeps the old status: a note never erases the goal's history.
            Goal.update(status=e["status_change"], version=Goal.version + 1,
                        updated_at=utcnow()).where(Goal.id == goal.id).execute()
            record_changes(user, goal.plan_id, "goal", goal, {"status": e["status_change"]})


def create_note(user, client: Client, data: dict) -> SessionNote:
    goals = active_goals(client.id)
    clean, entries = _validate(goals, data)
    with db.atomic():
        note = SessionNote.create(client=client.id, clinician=user, plan=goals[0].plan_id if goals else None,
                                  body_html=render_markdown(clean["body"]), **clean)
        _write_entries(user, note.id, entries)
        audit.record("note.create", user, target_type="note", target_id=note.id,
                     detail=f"client {client.id}; {len(entries)} progress entries")
    return note


def check_editable(user, note: SessionNote):
    if note.signed_at is not None:
        raise NoteLocked(note.id)
    if note.clinician_id != user.id:
        raise NotAuthor(note.id)


def _note_goals(note: SessionNote) -> list[Goal]:
    """The goals a note's progress can be about: the active ones and those it already has."""
    goals = active_goals(note.client_id)
    kept = {e.goal_id for e in ProgressEntry.select(ProgressEntry.goal).where(ProgressEntry.note == note.id)}
    goals += [g for g in Goal.select(Goal, Plan).join(Plan).where(Goal.id.in_(kept))
              if g.id not in {x.id for x in goals}] if kept else []
    return goals


def note_values(note: SessionNote) -> dict:
    """The edit form's fields as stored now, progress entries included."""
    return note_form_data(note, note_entries(note.id))


def update_note(user, note: SessionNote, data: dict, expected_version: int, base: dict) -> SessionNote:
    """Save the edit form, merged (core/merge.py) with a save from another tab since it was
    opened. Only the progress fields the form showed (it carries their base) are compared, so
    the entries of goals closed meanwhile are kept. EditConflict (with `values`) when the same
    field changed on both sides."""
    check_editable(user, note)
    goals = _note_goals(note)
    clean, _entries = _validate(goals, data)
    shown = [k for k in progress_keys(g.id for g in goals) if k in base]
    mine = {**clean, **{k: (data.get(k) or "").strip() for k in shown}}
    with conflicts_audited(user, "note", note.id, note_values), db.atomic():
        try:
            _before, write = save_guarded(
                SessionNote, note.id, expected_version, mine, base,
                also={"updated_at": utcnow()}, where=SessionNote.signed_at.is_null(),
                current_of=note_values)
        except NotFound:  # signed meanwhile
            raise NoteLocked(note.id) from None
        if "body" in write:
            SessionNote.update(body_html=render_markdown(write["body"])).where(
                SessionNote.id == note.id).execute()
        if any(k.startswith("goal-") for k in write):
            merged = {**note_values(SessionNote.get_by_id(note.id)), **write}
            errors = {}
            entries = _clean_progress(goals, merged, errors)
            if errors:  # cannot happen: both sides were valid
                raise NoteError(errors)
            _write_entries(user, note.id, entries)
        audit.record("note.update", user, target_type="note", target_id=note.id,
                     detail=changed_detail(write))
    return SessionNote.get_by_id(note.id)


def sign_note(user, note: SessionNote, expected_version: int) -> SessionNote:
    """Sign the note as the page showed it: NoteChanged when it was saved (in another tab)
    since, so nobody signs a text they have not read."""
    check_editable(user, note)
    with db.atomic():
        now = utcnow()
        if not (SessionNote.update(signed_at=now)
                .where((SessionNote.id == note.id) & SessionNote.signed_at.is_null()
                       & (SessionNote.version == expected_version)).execute()):
            if SessionNote.get_by_id(note.id).signed_at is not None:
                raise NoteLocked(note.id)
            changed = True
        else:
            changed = False
            audit.record("note.sign", user, target_type="note", target_id=note.id)
    if changed:
        audit.record("note.conflict", user, target_type="note", target_id=note.id,
                     detail="sign refused: changed since the page was opened")
        raise NoteChanged(note.id)
    note.signed_at = now
    return note


def add_addendum(user, note: SessionNote, body: str) -> NoteAddendum:
    body = (body or "").replace("\r\n", "\n").strip()
    if note.signed_at is None:
        raise NoteError({"addendum": "This note is not signed yet: edit it directly."})
    if not body:
        raise NoteError({"addendum": "Write the addendum."})
    if len(body) > MAX_BODY:
        raise NoteError({"addendum": f"At most {MAX_BODY} characters."})
    with db.atomic():
        row = NoteAddendum.create(note=note.id, author=user, body=body, body_html=render_markdown(body))
        audit.record("note.addendum", user, target_type="note", target_id=note.id,
                     detail=f"addendum {row.id}")
    return row


# --- reading notes ------------------------------------------------------------------------------

def get_note(user, note_id: int) -> SessionNote:
    """A note of a client in `user`'s scope (client attached), else NotFound (audited)."""
    return scoped(SessionNote.select(SessionNote, Client).join(Client).where(SessionNote.id == note_id),
                  user, "note", note_id)


def note_form_data(note: SessionNote, entries) -> dict:
    """The edit form's values for a saved note."""
    data = {"format": note.format, "body": note.body, "date": note.date.isoformat()}
    for e in entries:
        key = f"goal-{e.goal_id}-"
        data.update({key + "rating": "" if e.rating is None else str(e.rating),
                     key + "status": e.status_change, key + "comment": e.comment,
                     key + "no_change": "1" if e.no_change else ""})
    return data


def note_entries(note_id: int) -> list[ProgressEntry]:
    return list(ProgressEntry.select(ProgressEntry, Goal).join(Goal)
                .where(ProgressEntry.note == note_id).order_by(Goal.position, Goal.id))


def note_addenda(note_id: int) -> list[NoteAddendum]:
    return list(NoteAddendum.select(NoteAddendum, User).join(User, JOIN.LEFT_OUTER)
                .where(NoteAddendum.note == note_id).order_by(NoteAddendum.at, NoteAddendum.id))


def notes_of(client_id: int, limit: int | None = None):
    """The client's notes, newest first, with what a list of them shows (not their text)."""
    if limit:
        return _NOTE_ROWS.all("notes, limited", client_id, limit)
    return _NOTE_ROWS.all("notes", client_id)


def _note_rows(client_id, limit=None):
    query = (SessionNote.select(SessionNote.id, SessionNote.client, SessionNote.date,
                                SessionNote.format, SessionNote.signed_at, SessionNote.created_at,
                                SessionNote.clinician, User.id, User.name)
             .join(User, JOIN.LEFT_OUTER).where(SessionNote.client == client_id)
             .order_by(SessionNote.date.desc(), SessionNote.created_at.desc()))
    return query.limit(limit) if limit is not None else query


_NOTE_ROWS = Prepared(_note_rows)
