"""Plans: start one from a template or blank, the plan page, plan-level edits, agreement,
history, print and Markdown export. Goal and item routes are in goal_routes.py."""
import datetime as dt

from flask import Response, flash, redirect, render_template, request, session, url_for
from flask_login import current_user
from markupsafe import Markup

from blueprints.clients.routes import CLIENT_PAGE_SECTIONS
from blueprints.plans import bp, page_cache
from blueprints.submit_once import submit_once
from blueprints.inputs import (InputError, arg_id, arg_text, form_id, form_int, form_version,
                               parse_date, parse_int)
from blueprints.web import render, wants_fragment
from core import audit, plans
from core.access import get_client, get_template
from core.export import plan_markdown
from core.goals import GOAL_FIELDS, ITEM_FIELDS, smart_check
from core.merge import EditConflict, base_from_form
from core.library import create_template
from core.models import GOAL_STATUSES, OBJECTIVE_STATUSES, PLAN_STATUSES
from core.template_format import TemplateFormatError

TEMPLATE_CONTEXT = {"goal_statuses": GOAL_STATUSES, "plan_statuses": PLAN_STATUSES,
                    "objective_statuses": OBJECTIVE_STATUSES, "smart_check": smart_check,
                    "goal_fields": GOAL_FIELDS, "item_fields": ITEM_FIELDS,
                    "plan_fields": plans.PLAN_FIELDS}
PLAN_NAMES = [name for name, _label in plans.PLAN_FIELDS]


@bp.app_context_processor
def _plan_helpers():
    return TEMPLATE_CONTEXT


def _client_plans_section(user, client):
    client_plans = list(plans.plans_for_client(client))
    suggestions = []
    if not any(p.status == "active" for p in client_plans):
        suggestions = plans.suggest_templates(user, client.presenting_problem, limit=3,
                                              others=False)[0]
    return {"client_plans": client_plans, "plan_suggestions": suggestions}


CLIENT_PAGE_SECTIONS.append(("plans/_client_plans.html", _client_plans_section))


def _parse_date(value, default):
    try:
        return parse_date(value) or default
    except InputError:
        return default


# --- starting a plan --------------------------------------------------------------------------

@bp.get("/clients/<int:client_id>/plans/new")
def plan_start(client_id):
    client = get_client(current_user, client_id)
    template_id = arg_id("template")
    if template_id:
        template = get_template(current_user, template_id)
        start = _parse_date(request.args.get("start_date"), dt.date.today())
        preview = plans.preview_plan(plans.current_version_of(template), client, start)
        # A date change re-renders the goals with what was already ticked and typed.
        form = request.args if "version" in request.args else None
        return render("plans/plan_preview.html", "plans/_preview_goals.html", client=client,
                      template=template, preview=preview, errors={}, form=form)
    q = arg_text("q")
    matches, others = plans.suggest_templates(current_user, client.presenting_problem, q)
    return render("plans/plan_start.html", "plans/_template_choices.html", client=client,
                  matches=matches, others=others, q=q)


@bp.post("/clients/<int:client_id>/plans")
def plan_create(client_id):
    client = get_client(current_user, client_id)
    form = request.form
    if form.get("blank"):
        with submit_once() as once:
            plan = plans.create_blank_plan(current_user, client, form.get("title", ""))
            flash("Blank plan created. Add the first goal below.", "success")
            return once.created(url_for("plans.plan_detail", plan_id=plan.id))
    template = get_template(current_user, form_id("template") or 0)
    # The version the preview showed, even if the template was saved again meanwhile.
    version = plans.current_version_of(template, form_int("version", lo=1))
    start = _parse_date(form.get("start_date"), None)
    indexes = [i for i in (parse_int(v, 0, 10_000) for v in form.getlist("goals")) if i is not None]
    baselines = {parse_int(k[9:], 0, 10_000): v for k, v in form.items()
                 if k.startswith("baseline_") and parse_int(k[9:], 0, 10_000) is not None
                 and v.strip()}
    errors = {}
    if start is None:
        errors["start_date"] = "Choose a start date (YYYY-MM-DD)."
    else:
        try:
            with submit_once() as once:
                plan = plans.create_plan_from_template(current_user, client, version, indexes,
                                                       start, baselines)
                flash("The plan is active. Edit any goal in place.", "success")
                return once.created(url_for("plans.plan_detail", plan_id=plan.id))
        except plans.PlanError as exc:
            errors = exc.errors
    preview = plans.preview_plan(version, client, start or dt.date.today())
    return render("plans/plan_preview.html", status=422, client=client, template=template,
                  preview=preview, errors=errors, form=form)


# --- the plan page and plan-level edits -------------------------------------------------------

def _plan_page(plan, status=200, **extra):
    context = dict(plan=plan, client=plan.client, errors=extra.pop("errors", {}),
                   editing=extra.pop("editing", False), **extra)
    if wants_fragment():
        page = plans.load_plan_page(plan)
        return render("plans/plan_detail.html", "plans/_plan_header.html", status=status,
                      page=page, goal_progress=page.goal_progress, **context)

    def render_body(render_with=render_template):
        page = plans.load_plan_page(plan)
        return render_with("plans/_plan_body.html", page=page, goal_progress=page.goal_progress,
                           **context)

    plain_view = status == 200 and not extra and not context["errors"] and not context["editing"]
    if plain_view and hasattr(plan, "change_id"):
        body = page_cache.cached_body(page_cache.page_key(plan, plan.change_id), render_body)
    else:
        body = Markup(render_body())
    return render("plans/plan_detail.html", status=status, body=body, **context)


@bp.get("/plans/<int:plan_id>")
def plan_detail(plan_id):
    plan = plans.get_plan_for_page(current_user, plan_id)
    audit.record("plan.view", current_user, target_type="plan", target_id=plan.id)
    return _plan_page(plan)


@bp.get("/plans/<int:plan_id>/edit")
def plan_edit(plan_id):
    return _plan_page(plans.get_plan(current_user, plan_id), editing=True)


@bp.post("/plans/<int:plan_id>")
def plan_update(plan_id):
    plan = plans.get_plan(current_user, plan_id)
    form = request.form
    base = base_from_form(form, PLAN_NAMES)
    try:
        plan = plans.update_plan(current_user, plan, form, form_version() or 0,
                                 base)
    except plans.PlanError as exc:
        return _plan_page(plan, status=422, editing=True, errors=exc.errors, form=form, base=base)
    except EditConflict as exc:
        return _plan_page(plan, status=409, editing=True, mine=form, theirs=exc.current,
                          clashes=exc.fields,
                          form=plans.form_after_conflict(form, base, exc.current, PLAN_NAMES))
    if request.htmx:
        return _plan_page(plan)
    return redirect(url_for("plans.plan_detail", plan_id=plan.id), 303)


@bp.post("/plans/<int:plan_id>/status")
def plan_status(plan_id):
    plan = plans.get_plan(current_user, plan_id)
    try:
        plans.set_plan_status(current_user, plan, request.form.get("status", ""),
                              request.form.get("base-status"))
    except plans.PlanError as exc:
        return _plan_page(plan, status=422, errors=exc.errors)
    except EditConflict as exc:
        message = (f"Someone else set this plan to “{exc.current.status}” meanwhile; nothing was "
                   "changed. Choose again if it should still change.")
        return _plan_page(plans.get_plan(current_user, plan_id), status=409,
                          errors={"status": message})
    if request.htmx:
        return _plan_page(plan)
    return redirect(url_for("plans.plan_detail", plan_id=plan.id), 303)


@bp.post("/plans/<int:plan_id>/agreement")
def plan_agreement(plan_id):
    plan = plans.get_plan(current_user, plan_id)
    try:
        plans.record_agreement(current_user, plan, request.form.get("client_name", ""),
                               request.form.get("agreed_on", ""))
    except plans.PlanError as exc:
        return _plan_page(plan, status=422, errors=exc.errors, form=request.form)
    flash("The client's agreement is recorded.", "success")
    return redirect(url_for("plans.plan_detail", plan_id=plan.id) + "#agreement", 303)


@bp.get("/plans/<int:plan_id>/history")
def plan_history(plan_id):
    plan = plans.get_plan(current_user, plan_id)
    audit.record("plan.history", current_user, target_type="plan", target_id=plan.id)
    return render("plans/plan_history.html", plan=plan, client=plan.client,
                  revisions=list(plans.plan_history(plan)))


@bp.get("/plans/<int:plan_id>/print")
def plan_print(plan_id):
    plan = plans.get_plan(current_user, plan_id)
    audit.record("plan.print", current_user, target_type="plan", target_id=plan.id)
    return render("plans/plan_print.html", page=plans.load_plan_page(plan), plan=plan,
                  client=plan.client)


@bp.get("/plans/<int:plan_id>/export.md")
def plan_export(plan_id):
    plan = plans.get_plan(current_user, plan_id)
    page = plans.load_plan_page(plan)
    audit.record("plan.export", current_user, target_type="plan", target_id=plan.id,
                 detail=f"client {plan.client_id}; format markdown")
    filename = f"plan-{plan.id}.md"
    return Response(plan_markdown(page, anonymise=False), mimetype="text/markdown; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def remember_undo(label: str, url: str):
    """Offer an Undo on the next full page (the no-JavaScript path of removal)."""
    session["undo"] = {"label": label, "url": url}


@bp.route("/plans/<int:plan_id>/save-as-template", methods=["GET", "POST"])
def plan_save_as_template(plan_id):
    """Offer the plan back to the library, without the client's identifying details."""
    plan = plans.get_plan(current_user, plan_id)
    page = plans.load_plan_page(plan)
    source = request.form.get("source") or plan_markdown(page, anonymise=True)
    visibility = request.form.get("visibility", "private")
    errors = {}
    if request.method == "POST":
        if visibility not in ("private", "practice", "public"):
            errors["visibility"] = "Choose who can see it."
        else:
            try:
                with submit_once() as once:
                    template = create_template(current_user, source, visibility,
                                               filename="plan-template.md")
                    audit.record("plan.save_as_template", current_user, target_type="plan",
                                 target_id=plan.id, detail=f"template {template.id}")
                    flash("Saved to the library as a new template.", "success")
                    return once.created(url_for("library.template_detail",
                                                template_id=template.id))
            except TemplateFormatError as exc:
                errors["source"] = str(exc)
    return render("plans/plan_save_template.html", status=422 if errors else 200, plan=plan,
                  client=plan.client, source=source, visibility=visibility, errors=errors)
