"""Session notes: the carried-forward form, edit while unsigned, sign, addenda, and the
practice's note templates. Homework, scores and the portal invitation are in the sibling
modules imported at the bottom."""
import datetime as dt

from flask import flash, redirect, request, url_for
from flask_login import current_user

from blueprints import edit_forms
from blueprints.sessions import bp
from blueprints.submit_once import submit_once
from blueprints.web import render, require_admin
from core import audit, measures, notes, progress
from core.access import get_client
from core.homework import mark_feedback_seen
from core.merge import EditConflict
from core.models import GOAL_STATUSES, NOTE_FORMATS

LOCKED = "This note is signed and locked. To correct or add to it, write an addendum."
CHANGED = ("This note was saved again (in another tab, perhaps) since you opened this page, so "
           "it was not signed. Below is the note as it is now: read it, then sign.")
NOT_AUTHOR = "Only the clinician who wrote this note can change or sign it while it is unsigned."


@bp.context_processor
def _helpers():
    return {"target_status": measures.target_status}


def _form_page(client, carry, data, errors=None, missing=(), note=None, status=200, state=None):
    state = state or {"data": data, "version": None, "base": None, "conflict": None}
    edited = notes.NOTE_FIELDS + notes.progress_keys(item.goal.id for item in carry.goals)
    labels = [("date", "Session date"), ("format", "Format"), ("body", "Note")]
    for item in carry.goals:
        key = f"goal-{item.goal.id}-"
        labels += [(key + "rating", f"{item.goal.title}: rating"),
                   (key + "status", f"{item.goal.title}: status change"),
                   (key + "no_change", f"{item.goal.title}: no change"),
                   (key + "comment", f"{item.goal.title}: comment")]
    return render("sessions/note_form.html", status=status, client=client, carry=carry,
                  errors=errors or {}, missing={g.id for g in missing}, note=note,
                  formats=notes.FORMAT_LABELS, goal_statuses=GOAL_STATUSES, edited=edited,
                  labels=labels, **state)


def _open_form(client, data, note=None, status=200, errors=None, missing=(), state=None):
    """The note form, with the plan carried forward; client feedback shown here counts as seen."""
    carry = progress.carry_forward(client, note.id if note else None)
    mark_feedback_seen([h.id for h in carry.homework if h.feedback_at and not h.feedback_seen])
    return _form_page(client, carry, data, errors, missing, note, status, state)


@bp.get("/clients/<int:client_id>/notes/new")
def note_new(client_id):
    client = get_client(current_user, client_id)
    fmt = request.args.get("format")
    templates = notes.note_templates(current_user.practice_id)
    fmt = fmt if fmt in NOTE_FORMATS else "DAP"
    audit.record("note.open_new", current_user, target_type="client", target_id=client.id)
    return _open_form(client, {"format": fmt, "body": templates[fmt],
                               "date": dt.date.today().isoformat()})


@bp.post("/clients/<int:client_id>/notes")
def note_create(client_id):
    client = get_client(current_user, client_id)
    data = request.form.to_dict()
    try:
        with submit_once() as once:
            note = notes.create_note(current_user, client, data)
            flash("The session note is saved. Sign it when it is final.", "success")
            return once.created(url_for("sessions.note_detail", note_id=note.id))
    except notes.NoteError as exc:
        return _open_form(client, data, status=422, errors=exc.errors, missing=exc.missing)


@bp.get("/clients/<int:client_id>/notes")
def note_list(client_id):
    client = get_client(current_user, client_id)
    audit.record("note.list", current_user, target_type="client", target_id=client.id)
    return render("sessions/note_list.html", client=client, notes=notes.notes_of(client.id))


def _detail(note, status=200, error=None, addendum_error=None, addendum=""):
    return render("sessions/note_detail.html", status=status, note=note, client=note.client,
                  entries=notes.note_entries(note.id), addenda=notes.note_addenda(note.id),
                  error=error, addendum_error=addendum_error, addendum=addendum,
                  formats=notes.FORMAT_LABELS)


@bp.get("/notes/<int:note_id>")
def note_detail(note_id):
    note = notes.get_note(current_user, note_id)
    audit.record("note.view", current_user, target_type="note", target_id=note.id)
    return _detail(note)


def _refused(note, exc):
    if isinstance(exc, notes.NoteLocked):
        return _detail(note, status=409, error=LOCKED)
    return _detail(note, status=403, error=NOT_AUTHOR)


@bp.get("/notes/<int:note_id>/edit")
def note_edit(note_id):
    note = notes.get_note(current_user, note_id)
    try:
        notes.check_editable(current_user, note)
    except (notes.NoteLocked, notes.NotAuthor) as exc:
        return _refused(note, exc)
    audit.record("note.view", current_user, target_type="note", target_id=note.id)
    values = notes.note_values(note)
    return _open_form(note.client, values, note=note,
                      state=edit_forms.opened(values, note.version))


@bp.post("/notes/<int:note_id>")
def note_update(note_id):
    note = notes.get_note(current_user, note_id)
    data = request.form.to_dict()
    base = {k[len("base-"):]: v for k, v in request.form.items() if k.startswith("base-")}
    try:
        notes.update_note(current_user, note, data, edit_forms.posted_version(request.form), base)
    except (notes.NoteLocked, notes.NotAuthor) as exc:
        return _refused(note, exc)
    except notes.NoteError as exc:
        state = {"data": data, "version": edit_forms.posted_version(request.form),
                 "base": base, "conflict": None}
        return _open_form(note.client, data, note=note, status=422, errors=exc.errors,
                          missing=exc.missing, state=state)
    except EditConflict as exc:
        mine = {k: data.get(k, "") for k in exc.values.keys() | base.keys()
                if k in base or k in notes.NOTE_FIELDS}
        state = edit_forms.refused(mine, base, exc.values, exc.current.version, exc.fields)
        return _open_form(note.client, state["data"], note=notes.get_note(current_user, note_id),
                          status=409, state=state)
    flash("Saved.", "success")
    return redirect(url_for("sessions.note_detail", note_id=note.id), 303)


@bp.post("/notes/<int:note_id>/sign")
def note_sign(note_id):
    note = notes.get_note(current_user, note_id)
    try:
        notes.sign_note(current_user, note, edit_forms.posted_version(request.form))
    except (notes.NoteLocked, notes.NotAuthor) as exc:
        return _refused(note, exc)
    except notes.NoteChanged:
        return _detail(notes.get_note(current_user, note_id), status=409, error=CHANGED)
    flash("Signed. The note is now locked; corrections go in an addendum.", "success")
    return redirect(url_for("sessions.note_detail", note_id=note.id), 303)


@bp.post("/notes/<int:note_id>/addenda")
def note_addendum(note_id):
    note = notes.get_note(current_user, note_id)
    body = request.form.get("body", "")
    try:
        with submit_once() as once:
            notes.add_addendum(current_user, note, body)
            flash("Addendum added.", "success")
            return once.created(url_for("sessions.note_detail", note_id=note.id) + "#addenda")
    except notes.NoteError as exc:
        return _detail(note, status=422, addendum_error=exc.errors.get("addendum"), addendum=body)


# --- the practice's note templates (admins) ----------------------------------------------------

@bp.route("/admin/note-templates", methods=["GET", "POST"])
def note_templates():
    require_admin()
    errors, status = {}, 200
    bodies = notes.note_templates(current_user.practice_id)
    versions = notes.template_versions(current_user.practice_id)
    state = edit_forms.opened(bodies, None)
    if request.method == "POST":
        form = request.form
        posted = {fmt: form[fmt] for fmt in NOTE_FORMATS if fmt in form}
        sent_versions = {fmt: edit_forms.posted_version(form, "version-" + fmt) for fmt in NOTE_FORMATS}
        base = edit_forms.posted_base(form, NOTE_FORMATS)
        try:
            notes.save_note_templates(current_user, posted, sent_versions, base)
        except notes.NoteError as exc:
            errors, status, versions = exc.errors, 422, sent_versions
            state = edit_forms.invalid({**bodies, **posted}, form, NOTE_FORMATS)
        except EditConflict as exc:
            status, versions = 409, exc.versions
            state = edit_forms.refused(posted, base, exc.values, None, exc.fields)
        else:
            flash("The note templates are saved. New notes start from them.", "success")
            return redirect(url_for("sessions.note_templates"), 303)
    return render("sessions/note_templates.html", status=status, errors=errors,
                  formats=notes.FORMAT_LABELS, prompt=notes.ACTION_PROMPT, versions=versions,
                  edited=NOTE_FORMATS, **state)


from blueprints.sessions import homework_routes, panels, progress_routes  # noqa: E402,F401
