"""Homework: assign it from the plan, look at it (which marks the client's feedback seen),
change it, remove it with undo."""
from flask import flash, redirect, request, session, url_for
from flask_login import current_user

from blueprints.sessions import bp
from blueprints.inputs import arg_id
from blueprints.web import render
from core import audit, homework
from core.access import get_client
from core.models import HOMEWORK_STATUSES


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
        homework.assign_homework(current_user, client, data)
    except homework.HomeworkError as exc:
        return _form(client, data, exc.errors, 422)
    flash("Homework assigned. The client sees it in their portal.", "success")
    return redirect(url_for("clients.client_detail", client_id=client.id) + "#homework", 303)


def _detail(hw, data=None, errors=None, status=200):
    goals, objectives, _suggestions = homework.plan_choices(hw.client_id)
    data = data or {"text": hw.text, "due_date": hw.due_date.isoformat() if hw.due_date else "",
                    "goal": hw.goal_id or "", "objective": hw.objective_id or "", "status": hw.status}
    return render("sessions/homework_detail.html", status=status, hw=hw, client=hw.client,
                  data=data, errors=errors or {}, goals=goals, objectives=objectives,
                  statuses=HOMEWORK_STATUSES)


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
    data = request.form.to_dict()
    try:
        homework.update_homework(current_user, hw, data)
    except homework.HomeworkError as exc:
        return _detail(hw, data, exc.errors, 422)
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

