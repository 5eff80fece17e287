"""Import (.md files, a .zip, pasted text) in two steps, and export as .md or .zip.

Step 1 shows what would be created and every error, storing nothing. Step 2 re-checks on the
server exactly the sources it receives and stores them all in one transaction, or nothing.
"""

from flask import Response, abort, flash, redirect, request, url_for
from flask_login import current_user

from blueprints.library import bp
from blueprints.submit_once import submit_once
from blueprints.inputs import arg_int, parse_ids
from blueprints.web import render
from core import library_io
from core.access import get_template
from core.library import get_version
from core.models import VISIBILITIES
from core.template_format import TemplateFormatError


def _visibility() -> str:
    visibility = request.form.get("visibility", "private")
    if visibility not in VISIBILITIES:
        abort(400)
    return visibility


@bp.get("/library/import")
def import_form():
    return render("library/import_form.html", visibilities=VISIBILITIES, visibility="private",
                  pasted="")


@bp.post("/library/import")
def import_preview():
    uploads = [(f.filename or "upload", f.read()) for f in request.files.getlist("files")
               if f.filename]
    pasted = request.form.get("pasted", "")
    if pasted.strip():
        uploads.append(("<pasted text>", pasted.encode("utf-8", "surrogatepass")))
    visibility = _visibility()
    if not uploads:
        return render("library/import_form.html", status=422, visibilities=VISIBILITIES,
                      visibility=visibility, pasted=pasted,
                      message="Choose one or more .md files, a .zip of them, or paste a template.")
    report = library_io.check_uploads(uploads)
    return render("library/import_preview.html", status=200 if report.ok else 422,
                  report=report, visibility=visibility, describe=library_io.describe,
                  confirmed=False)


@bp.post("/library/import/confirm")
def import_confirm():
    names, sources = request.form.getlist("name"), request.form.getlist("source")
    visibility = _visibility()
    if not sources or len(names) != len(sources):
        abort(400)
    files = list(zip(names, sources))
    try:
        with submit_once() as once:
            created = library_io.import_templates(current_user, files, visibility)
            flash(f"Imported {len(created)} template{'s' if len(created) != 1 else ''}.", "success")
            return once.created(url_for("library.library_index", scope="mine", sort="newest"))
    except TemplateFormatError:
        report = library_io.check_files(files)
        return render("library/import_preview.html", status=422, report=report,
                      visibility=visibility, describe=library_io.describe, confirmed=True)


@bp.get("/library/<int:template_id>/export")
def template_export(template_id):
    """One template as its Markdown file (?version=N for an older version)."""
    template = get_template(current_user, template_id)
    version = get_version(template, arg_int("version", lo=1))
    library_io.record_export(current_user, f"version {version.number} as .md", template.id)
    name = library_io.filename_for(template)
    return Response(version.source, mimetype="text/markdown; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="{name}"'})


@bp.get("/library/export")
def library_export():
    """The selected templates (?ids=1&ids=2) or, with ?all=1, the whole visible library, as .zip."""
    ids = parse_ids(request.args.getlist("ids"))
    if not ids and not request.args.get("all"):
        flash("Tick the templates to export first, or export the whole library.", "info")
        return redirect(url_for("library.library_index"), 303)
    query = library_io.visible_for_export(current_user, None if request.args.get("all") else ids)
    data, count = library_io.export_zip(library_io.current_versions(query))
    library_io.record_export(current_user, f"{count} templates as .zip")
    return Response(data, mimetype="application/zip", headers={
        "Content-Disposition": 'attachment; filename="stepwise-templates.zip"'})
