"""Inline editing of goals, objectives and interventions.

The contract (STYLE.md): GET /goals/<id>/edit -> the form; POST /goals/<id> -> the card, the form
with errors (422) or the form with both versions (409); GET /goals/<id> -> the card (Cancel).
htmx requests get the fragment; plain requests get full pages and redirects.
"""
import json

from flask import flash, redirect, request, url_for
from flask_login import current_user

from blueprints.plans import bp
from blueprints.inputs import form_version
from blueprints.plans.routes import remember_undo
from blueprints.submit_once import submit_once
from blueprints.web import render
from core import goals, plans
from core.goals import GOAL_FIELDS, ITEM_FIELDS, ITEM_NAMES
from core.merge import EditConflict, base_from_form
from core.measures import latest_scores, target_status

KINDS = "any(objectives, interventions)"
GOAL_NAMES = [name for name, _label in GOAL_FIELDS]
ITEM_NAMES_OF = {kind: [name for name, _label in fields] for kind, fields in ITEM_FIELDS.items()}


def _back_to_plan(plan_id, anchor=""):
    return redirect(url_for("plans.plan_detail", plan_id=plan_id) + anchor, 303)


def _card(goal, status=200, notice=None):
    goals.load_parts(goal)
    progress = {goal.id: target_status(goal, latest_scores(goal.plan.client_id))}
    return render("plans/goal_detail.html", "plans/_goal_card.html", status=status, goal=goal,
                  plan=goal.plan, client=goal.plan.client, goal_progress=progress, notice=notice)


def _goal_form(goal, status=200, form=None, errors=None, theirs=None, plan=None, **conflict):
    """The goal's edit form; after a clash `conflict` holds mine, clashes (and base on 422)."""
    plan = plan or goal.plan
    return render("plans/goal_edit.html", "plans/_goal_form.html", status=status, goal=goal,
                  plan=plan, client=plan.client, form=form, errors=errors or {}, theirs=theirs,
                  **conflict)


# --- goals ------------------------------------------------------------------------------------

@bp.get("/goals/<int:goal_id>")
def goal_detail(goal_id):
    goal = goals.get_goal(current_user, goal_id)
    if not request.htmx:
        return _back_to_plan(goal.plan_id, f"#goal-{goal.id}")
    return _card(goal)


@bp.get("/goals/<int:goal_id>/edit")
def goal_edit(goal_id):
    return _goal_form(goals.get_goal(current_user, goal_id))


@bp.post("/goals/<int:goal_id>")
def goal_update(goal_id):
    goal = goals.get_goal(current_user, goal_id)
    form = request.form
    base = base_from_form(form, GOAL_NAMES)
    try:
        goal = goals.update_goal(current_user, goal, form, form_version() or 0,
                                 base)
    except plans.PlanError as exc:
        return _goal_form(goal, 422, form, exc.errors, base=base)
    except EditConflict as exc:
        merged = plans.form_after_conflict(form, base, exc.current, GOAL_NAMES)
        return _goal_form(goal, 409, merged, theirs=exc.current, mine=form, clashes=exc.fields)
    if not request.htmx:
        return _back_to_plan(goal.plan_id, f"#goal-{goal.id}")
    return _card(goal)


@bp.get("/plans/<int:plan_id>/goals/new")
def goal_new(plan_id):
    plan = plans.get_plan(current_user, plan_id)
    if request.args.get("cancel") and request.htmx:
        return render("plans/goal_edit.html", "plans/_goal_add.html", goal=None, plan=plan,
                      client=plan.client, form=None, errors={}, theirs=None)
    return _goal_form(None, plan=plan)


@bp.post("/plans/<int:plan_id>/goals")
def goal_create(plan_id):
    plan = plans.get_plan(current_user, plan_id)
    try:
        with submit_once() as once:
            goal = goals.add_goal(current_user, plan, request.form)
            where = url_for("plans.plan_detail", plan_id=plan.id) + f"#goal-{goal.id}"
            if not request.htmx:
                return once.created(where)
            goals.load_parts(goal)
            return once.created(where, render("plans/goal_detail.html", "plans/_goal_added.html",
                                              goal=goal, plan=plan, client=plan.client,
                                              goal_progress={}))
    except plans.PlanError as exc:
        return _goal_form(None, 422, request.form, exc.errors, plan=plan)


@bp.post("/goals/<int:goal_id>/status")
def goal_status(goal_id):
    goal = goals.get_goal(current_user, goal_id)
    try:
        goal = goals.set_goal_status(current_user, goal, request.form.get("status", ""),
                                     request.form.get("base-status"))
    except plans.PlanError:
        return _card(goal, 422)
    except EditConflict as exc:
        notice = (f"Someone else set this goal to “{exc.current.status}” meanwhile; nothing was "
                  "changed. Choose again if it should still change.")
        if not request.htmx:
            flash(notice, "error")
            return _back_to_plan(goal.plan_id, f"#goal-{goal.id}")
        return _card(goals.get_goal(current_user, goal_id), 409, notice)
    if not request.htmx:
        return _back_to_plan(goal.plan_id, f"#goal-{goal.id}")
    return _card(goal)


@bp.post("/goals/<int:goal_id>/remove")
def goal_remove(goal_id):
    goal = goals.set_goal_removed(current_user, goals.get_goal(current_user, goal_id), True)
    if not request.htmx:
        remember_undo(f"Goal “{goal.title}” removed.", url_for("plans.goal_restore", goal_id=goal.id))
        return _back_to_plan(goal.plan_id)
    return render("plans/goal_detail.html", "plans/_goal_removed.html", goal=goal, plan=goal.plan,
                  client=goal.plan.client)


@bp.post("/goals/<int:goal_id>/restore")
def goal_restore(goal_id):
    goal = goals.get_goal(current_user, goal_id, include_removed=True)
    goal = goals.set_goal_removed(current_user, goal, False)
    if not request.htmx:
        return _back_to_plan(goal.plan_id, f"#goal-{goal.id}")
    return _card(goal)


@bp.post("/goals/<int:goal_id>/move")
def goal_move(goal_id):
    """htmx gets 204 and an event naming the two goals that swapped; static/stepwise.js moves
    the neighbour's node past the moved one, so nothing else on the page is redrawn (an open
    edit form elsewhere keeps its typing) and focus stays on the pressed arrow."""
    goal = goals.get_goal(current_user, goal_id)
    direction = "up" if request.form.get("direction") == "up" else "down"
    neighbour = goals.move_goal(current_user, goal, direction)
    if not request.htmx:
        return _back_to_plan(goal.plan_id, f"#goal-{goal.id}")
    event = {"goal": goal.id, "other": neighbour.id if neighbour else None,
             "direction": direction}
    return "", 204, {"HX-Trigger": json.dumps({"goal-moved": event})}


# --- objectives and interventions -------------------------------------------------------------

def _item(kind, item, status=200, editing=False, form=None, errors=None, theirs=None,
          **conflict):
    goal = item.goal
    return render("plans/item_edit.html", "plans/_item.html", status=status, kind=kind, item=item,
                  goal=goal, plan=goal.plan, client=goal.plan.client, editing=editing, form=form,
                  errors=errors or {}, theirs=theirs, **conflict)


def _item_section(kind, goal, status=200, form=None, errors=None, adding=True):
    """The goal's list of objectives (or interventions), with the add form open or closed."""
    goals.load_parts(goal)
    return render("plans/item_edit.html", "plans/_item_section.html", status=status, kind=kind,
                  goal=goal, plan=goal.plan, client=goal.plan.client, form=form,
                  errors=errors or {}, item=None, editing=False, adding=adding, theirs=None)


@bp.get(f"/<{KINDS}:kind>/<int:item_id>")
def item_detail(kind, item_id):
    item = goals.get_item(current_user, kind, item_id)
    if not request.htmx:
        return _back_to_plan(item.goal.plan_id, f"#goal-{item.goal_id}")
    return _item(kind, item)


@bp.get(f"/<{KINDS}:kind>/<int:item_id>/edit")
def item_edit(kind, item_id):
    return _item(kind, goals.get_item(current_user, kind, item_id), editing=True)


@bp.post(f"/<{KINDS}:kind>/<int:item_id>")
def item_update(kind, item_id):
    item = goals.get_item(current_user, kind, item_id)
    form, names = request.form, ITEM_NAMES_OF[kind]
    base = base_from_form(form, names)
    try:
        item = goals.update_item(current_user, kind, item, form,
                                 form_version() or 0, base)
    except plans.PlanError as exc:
        return _item(kind, item, 422, True, form, exc.errors, base=base)
    except EditConflict as exc:
        merged = plans.form_after_conflict(form, base, exc.current, names)
        return _item(kind, item, 409, True, merged, theirs=exc.current, mine=form,
                     clashes=exc.fields)
    if not request.htmx:
        return _back_to_plan(item.goal.plan_id, f"#goal-{item.goal_id}")
    return _item(kind, item)


@bp.get(f"/goals/<int:goal_id>/<{KINDS}:kind>/new")
def item_new(goal_id, kind):
    return _item_section(kind, goals.get_goal(current_user, goal_id))


@bp.post(f"/goals/<int:goal_id>/<{KINDS}:kind>")
def item_create(goal_id, kind):
    goal = goals.get_goal(current_user, goal_id)
    try:
        with submit_once() as once:
            goals.add_item(current_user, goal, kind, request.form)
            where = url_for("plans.plan_detail", plan_id=goal.plan_id) + f"#goal-{goal.id}"
            if not request.htmx:
                return once.created(where)
            return once.created(where, _item_section(kind, goal, adding=False))
    except plans.PlanError as exc:
        return _item_section(kind, goal, 422, request.form, exc.errors)


@bp.post(f"/<{KINDS}:kind>/<int:item_id>/remove")
def item_remove(kind, item_id):
    item = goals.set_item_removed(current_user, kind, goals.get_item(current_user, kind, item_id),
                                  True)
    if not request.htmx:
        remember_undo(f"{ITEM_NAMES[kind].capitalize()} removed.",
                      url_for("plans.item_restore", kind=kind, item_id=item.id))
        return _back_to_plan(item.goal.plan_id, f"#goal-{item.goal_id}")
    return render("plans/item_edit.html", "plans/_item_removed.html", kind=kind, item=item,
                  goal=item.goal, plan=item.goal.plan, client=item.goal.plan.client, editing=False,
                  form=None, errors={}, theirs=None)


@bp.post(f"/<{KINDS}:kind>/<int:item_id>/restore")
def item_restore(kind, item_id):
    item = goals.get_item(current_user, kind, item_id, include_removed=True)
    item = goals.set_item_removed(current_user, kind, item, False)
    if not request.htmx:
        return _back_to_plan(item.goal.plan_id, f"#goal-{item.goal_id}")
    return _item(kind, item)

