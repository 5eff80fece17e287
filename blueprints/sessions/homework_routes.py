"""Homework: assign it from the plan, look at it (which marks the client's feedback seen),
change it, remove it with undo."""
from flask import flash, redirect, request, session, url_for
from flask_login import current_user

from blueprints import edit_forms
from blueprints.sessions import bp
from blueprints.submit_once import submit_once
from blueprints.inputs import arg_id
from blueprints.web import render
from core import audit, homework
from core.access import get_client
from core.merge import EditConflict
from core.models import HOMEWORK_STATUSES

LABELS = [("text", "Task"), ("due_date", "Due"), ("goal", "Goal"), ("objective", "Objective"),
          ("status", "Status")]


def _suggested_text(suggestions):
    """?text= or ?suggestion=<id> (one of this client's active goals' suggestions) prefill the task."""
    if request.args.get("text"):
        return request.args["text"][:homework.MAX_TEXT]
    wanted = arg_id("suggestion")
    for rows in suggestions.values():
        for row in rows:
            if row.id == wanted:
                return row.text
    return ""


def _form(client, data, errors=None, status=200, choices=None):
    goals, objectives, suggestions = choices or homework.plan_choices(client.id)
    return render("sessions/homework_form.html", status=status, client=client, data=data,
                  errors=errors or {}, goals=goals, objectives=objectives, suggestions=suggestions)


@bp.get("/clients/<int:client_id>/homework/new")
def homework_new(client_id):
    client = get_client(current_user, client_id)
    choices = homework.plan_choices(client.id)
    data = {"goal": request.args.get("goal", ""), "objective": request.args.get("objective", ""),
            "text": _suggested_text(choices[2]), "due_date": ""}
    return _form(client, data, choices=choices)


@bp.post("/clients/<int:client_id>/homework")
def homework_create(client_id):
    client = get_client(current_user, client_id)
    data = request.form.to_dict()
    try:
        with submit_once() as once:
            homework.assign_homework(current_user, client, data)
            flash("Homework assigned. The client sees it in their portal.", "success")
            return once.created(url_for("clients.client_detail", client_id=client.id) + "#homework")
    except homework.HomeworkError as exc:
        return _form(client, data, exc.errors, 422)


def _detail(hw, state=None, errors=None, status=200):
    goals, objectives, _suggestions = homework.plan_choices(hw.client_id)
    state = state or edit_forms.opened(homework.clinician_values(hw), hw.version)
    if state["conflict"]:  # goals and objectives by their text, not their id
        names = {"goal": {str(g.id): g.title for g in goals},
                 "objective": {str(o.id): o.text for rows in objectives.values() for o in rows}}
        for side in ("mine", "theirs"):
            shown = dict(state["conflict"][side])
            for key, titles in names.items():
                value = shown.get(key)
                shown[key] = titles.get(str(value), "" if value in (None, "") else "(removed)")
            state["conflict"][side] = shown
    return render("sessions/homework_detail.html", status=status, hw=hw, client=hw.client,
                  errors=errors or {}, goals=goals, objectives=objectives,
                  statuses=HOMEWORK_STATUSES, edited=homework.CLINICIAN_FIELDS, labels=LABELS,
                  **state)


@bp.get("/homework/<int:homework_id>")
def homework_detail(homework_id):
    hw = homework.get_homework(current_user, homework_id)
    audit.record("homework.view", current_user, target_type="homework", target_id=hw.id)
    if hw.feedback_at and not hw.feedback_seen:
        homework.mark_feedback_seen([hw.id])
    return _detail(hw)


@bp.post("/homework/<int:homework_id>")
def homework_update(homework_id):
    hw = homework.get_homework(current_user, homework_id)
    data = {k: request.form.get(k, "") for k in homework.CLINICIAN_FIELDS}
    base = edit_forms.posted_base(request.form, homework.CLINICIAN_FIELDS)
    try:
        homework.update_homework(current_user, hw, data, edit_forms.posted_version(request.form),
                                 base)
    except homework.HomeworkError as exc:
        state = edit_forms.invalid(data, request.form, homework.CLINICIAN_FIELDS)
        return _detail(hw, state, exc.errors, 422)
    except EditConflict as exc:
        hw = homework.get_homework(current_user, homework_id)  # the client's answer, shown above
        state = edit_forms.refused(data, base, exc.values, exc.current.version, exc.fields)
        return _detail(hw, state, status=409)
    flash("Saved.", "success")
    return redirect(url_for("sessions.homework_detail", homework_id=hw.id), 303)


@bp.post("/homework/<int:homework_id>/remove")
def homework_remove(homework_id):
    hw = homework.delete_homework(current_user, homework.get_homework(current_user, homework_id))
    session["undo"] = {"label": "The homework was removed.",
                       "url": url_for("sessions.homework_restore", homework_id=hw.id)}
    return redirect(url_for("clients.client_detail", client_id=hw.client_id) + "#homework", 303)


@bp.post("/homework/<int:homework_id>/restore")
def homework_restore(homework_id):
    hw = homework.get_homework(current_user, homework_id, include_deleted=True)
    homework.delete_homework(current_user, hw, restore=True)
    flash("The homework is back.", "success")
    return redirect(url_for("sessions.homework_detail", homework_id=hw.id), 303)

