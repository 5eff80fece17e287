"""The library: browse and search, the template page, the editor with its live preview, fork,
visibility and diff. Import and export are in io_routes.py.

A template the user cannot see is a 404 for every URL and method. A visible template the user
may not edit is the same 404 for the editing URLs, so those never disclose more than the page.
"""
from flask import abort, flash, redirect, request, url_for
from flask_login import current_user

from blueprints.library import bp
from blueprints.submit_once import submit_once
from blueprints.inputs import arg_int, form_int, form_version
from blueprints.web import render, wants_fragment
from core import library
from core.access import get_template
from core.library_browse import (SCOPES, SORTS, Filters, browse, facet_options, template_page,
                                 visible_upstream)
from core.library_io import diff_sources
from core.models import VISIBILITIES
from core.template_format import TemplateFormatError

NEW_TEMPLATE = """---
title: New action plan
problem: anxiety
tags: [CBT]
measures: [GAD-7]
summary: One sentence on who this plan is for.
---

## Problem

What {client_first_name} is struggling with, in a few sentences.

## Goal: Reduce the main problem to a manageable level

- Measure: GAD-7
- Baseline: to be measured at intake
- Target: GAD-7 below 10
- Timeframe: 12 weeks

### Objectives

- A first small step within 2 weeks

### Interventions

- Psychoeducation (CBT), sessions 1-2

### Homework

- One simple task to try before the next session
"""


@bp.get("/library")
def library_index():
    filters = Filters.from_args(request.args)
    page = browse(current_user, filters)
    context = {"page": page, "f": filters, "scopes": SCOPES, "sorts": SORTS}
    if not wants_fragment():  # the menus are on the page, not in the results fragment
        context["problems"], context["tag_options"] = facet_options(current_user)
    response = render("library/library_index.html", "library/_results.html", **context)
    if wants_fragment():
        # The address bar shows the search without the empty and default fields.
        response.headers["HX-Push-Url"] = url_for("library.library_index", **filters.args())
    return response


@bp.get("/library/<int:template_id>")
def template_detail(template_id):
    template = get_template(current_user, template_id)
    page = template_page(current_user, template, arg_int("version", lo=1))
    return render("library/template_detail.html", p=page, t=template,
                  visibilities=VISIBILITIES)


# --- the editor -------------------------------------------------------------------------------

def _editor(status=200, **context):
    context.setdefault("errors", [])
    context.setdefault("conflict", None)
    return render("library/template_form.html", status=status, visibilities=VISIBILITIES,
                  **context)


@bp.route("/library/new", methods=["GET", "POST"])
def template_new():
    if request.method == "GET":
        return _editor(source=NEW_TEMPLATE, template=None, visibility="private")
    source = request.form.get("source", "")
    visibility = request.form.get("visibility", "private")
    if visibility not in VISIBILITIES:
        abort(400)
    try:
        with submit_once() as once:
            template = library.create_template(current_user, source, visibility)
            flash(f"“{template.title}” was added to the library.", "success")
            return once.created(url_for("library.template_detail", template_id=template.id))
    except TemplateFormatError as exc:
        return _editor(422, source=source, template=None, visibility=visibility,
                       errors=exc.errors)


@bp.route("/library/<int:template_id>/edit", methods=["GET", "POST"])
def template_edit(template_id):
    template = library.editable_template(current_user, get_template(current_user, template_id))
    if request.method == "GET":
        version = library.get_version(template)
        return _editor(source=version.source, template=template, based_on=version.number)
    source = request.form.get("source", "")
    based_on = form_version("based_on") or 0
    try:
        version = library.save_version(current_user, template, source, based_on)
    except TemplateFormatError as exc:
        return _editor(422, source=source, template=template, based_on=based_on,
                       errors=exc.errors)
    except library.VersionConflict as exc:
        theirs = exc.current
        mine = library.normalize_source(source)
        return _editor(409, source=source, template=template, based_on=theirs.number,
                       conflict=theirs, conflict_diff=diff_sources(
                           theirs.source, mine, f"saved version {theirs.number}", "your text"))
    if version is None:
        flash("Nothing changed, so no new version was saved.", "info")
    else:
        flash(f"Saved as version {version.number}.", "success")
    return redirect(url_for("library.template_detail", template_id=template.id), 303)


@bp.post("/library/preview")
def template_preview():
    """The live preview: the rendered template, or its errors with their lines. Stores nothing."""
    try:
        parsed = library.parse_source(request.form.get("source", ""))
    except TemplateFormatError as exc:
        return render("library/_preview.html", errors=exc.errors, parsed=None)
    return render("library/_preview.html", errors=[], parsed=parsed)


# --- fork, visibility, diff -------------------------------------------------------------------

@bp.post("/library/<int:template_id>/fork")
def template_fork(template_id):
    template = get_template(current_user, template_id)
    with submit_once() as once:
        fork = library.fork_template(current_user, template, form_int("version", lo=1))
        flash(f"This is your own private copy of “{template.title}”. Edit it freely; "
              "the original is unchanged.", "success")
        return once.created(url_for("library.template_detail", template_id=fork.id))


@bp.post("/library/<int:template_id>/visibility")
def template_visibility(template_id):
    template = get_template(current_user, template_id)
    try:
        library.set_visibility(current_user, template, request.form.get("visibility", ""))
    except library.LibraryError:
        abort(400)
    labels = {"private": "Only you can see it now.",
              "practice": "Everyone in your practice can see it now.",
              "public": "Every practice on this server can see it now."}
    flash(labels[template.visibility], "success")
    return redirect(url_for("library.template_detail", template_id=template.id), 303)


@bp.get("/library/<int:template_id>/diff")
def template_diff(template_id):
    """Any two versions of one template: ?a=N&b=M (default: the previous against the current)."""
    template = get_template(current_user, template_id)
    new_number = arg_int("b", lo=1) or template.current_version
    old_number = arg_int("a", lo=1) or max(new_number - 1, 1)
    old = library.get_version(template, old_number)
    new = library.get_version(template, new_number)
    diff = diff_sources(old.source, new.source, f"version {old.number}", f"version {new.number}")
    return render("library/template_diff.html", t=template, diff=diff, old=old, new=new,
                  upstream=None)


@bp.get("/library/<int:template_id>/diff/upstream")
def template_diff_upstream(template_id):
    """A fork's current version against its upstream's current version."""
    template = get_template(current_user, template_id)
    upstream = visible_upstream(current_user, template)
    mine = library.get_version(template)
    theirs = library.get_version(upstream)
    diff = diff_sources(theirs.source, mine.source,
                        f"upstream “{upstream.title}” version {theirs.number}",
                        f"this fork version {mine.number}")
    return render("library/template_diff.html", t=template, diff=diff, old=theirs, new=mine,
                  upstream=upstream)
