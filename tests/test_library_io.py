"""Import (files, .zip, pasted text; preview then all-or-nothing confirm), export (.md, .zip,
folder) and the `flask library load|import|export` commands."""
import io
import pathlib
import re
import zipfile

import pytest

from core import library
from core.library_io import MAX_FILES, diff_sources
from core.models import AuditEvent, Practice, Template, TemplateTag, TemplateVersion
from core.template_format import parse_template
from tests.conftest import in_db
from tests.test_library import add_template, make_source

STARTER = pathlib.Path(__file__).resolve().parent.parent / "template_library"


def template_count():
    with in_db():
        return Template.select().count()


def malformed_files() -> dict[str, bytes]:
    """One file per kind of problem the issue names, each with the line it must report."""
    return {
        "bad-utf8.md": b"---\ntitle: Bad bytes\n---\n\n## Problem\n\nCaf\xe9 au lait\n",
        "broken-yaml.md": b"---\ntitle: Broken\ntags: [unclosed\n---\n\n## Problem\n\nx\n",
        "no-title.md": b"---\nproblem: anxiety\n---\n\n## Problem\n\nx\n",
        "objective-first.md": b"---\ntitle: Early\n---\n\n### Objectives\n\n- too soon\n",
        "too-big.md": b"---\ntitle: Huge\n---\n\n## Problem\n\n" + b"x" * (256 * 1024),
    }


EXPECTED = {  # file -> (line, words of the message)
    "bad-utf8.md": (7, "not valid UTF-8"),
    "broken-yaml.md": (3, "invalid YAML"),
    "no-title.md": (1, "no 'title'"),
    "objective-first.md": (5, "before any '## Goal"),
    "too-big.md": (1, "the limit is 262144"),
}


def upload(c, files: dict, **fields):
    """The import page's form, with these files chosen."""
    data = {"files": [(io.BytesIO(content), name) for name, content in files.items()], **fields}
    return c.submit("/library/import", data, action="/library/import")


def confirm(c, preview):
    """Press Import on the preview page on screen."""
    return c.submit("/library/import", action="/library/import/confirm", page=preview)


def _unescape(text):
    import html
    return html.unescape(text)


def make_zip(files: dict) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return buffer.getvalue()


# --- web import -------------------------------------------------------------------------------

def test_import_preview_then_confirm_stores_all_in_one_go(world, as_user):
    c = as_user(world.clin_a1)
    form = c.get("/library/import").get_data(as_text=True)
    assert 'type="file" name="files" multiple' in form and 'enctype="multipart/form-data"' in form
    files = {"one.md": make_source(title="Imported one").encode(),
             "two.md": ("\ufeff" + make_source(title="Imported two")).replace("\n", "\r\n").encode()}
    preview = upload(c, files, visibility="practice")
    html = preview.get_data(as_text=True)
    assert preview.status_code == 200
    assert "Imported one" in html and "Imported two" in html and "Import 2 templates" in html
    assert template_count() == 0  # step 1 stores nothing
    response = confirm(c, preview)
    assert response.status_code == 303
    with in_db():
        rows = {t.title: t for t in Template.select()}
        assert set(rows) == {"Imported one", "Imported two"}
        assert {t.visibility for t in rows.values()} == {"practice"}
        assert {t.owner_id for t in rows.values()} == {world.clin_a1.id}
        two = TemplateVersion.get(TemplateVersion.template == rows["Imported two"].id)
        assert "\r" not in two.source and not two.source.startswith("\ufeff")
        event = AuditEvent.get(AuditEvent.action == "template.import")
        assert event.detail == "2 templates, practice"
    assert "Imported two" in as_user(world.clin_a2).get("/library").get_data(as_text=True)


def test_malformed_folder_stores_nothing_and_names_every_problem_with_its_line(world, as_user):
    c = as_user(world.clin_a1)
    files = {"good.md": make_source(title="Good one").encode(), **malformed_files()}
    preview = upload(c, files)
    html = preview.get_data(as_text=True)
    assert preview.status_code == 422
    assert "Nothing was imported" in html and "/library/import/confirm" not in html
    rows = re.findall(r"<tr><td>([^<]+)</td><td>(\d*)</td><td>([^<]+)</td></tr>", html)
    reported = {name: (int(line), message) for name, line, message in rows}
    for name, (line, words) in EXPECTED.items():
        assert name in reported, name
        assert reported[name][0] == line, (name, reported[name])
        assert words in _unescape(reported[name][1]), (name, reported[name])
    assert "Good one" in html  # listed as what would be created once fixed
    assert template_count() == 0


def test_confirm_rechecks_and_refuses_a_batch_with_any_bad_file(world, as_user):
    c = as_user(world.clin_a1)
    forged = {"name": ["good.md", "sneaky.md"],
              "source": [make_source(title="Good"), "---\nno: title\n---\n"],
              "visibility": "private"}
    # Forged: a confirm form no preview page offered (the server must check again).
    response = c.forge("/library/import/confirm", forged, content_type="multipart/form-data")
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "Nothing was imported" in html
    assert "sneaky.md" in html and "no &#39;title&#39;" in html
    assert template_count() == 0
    bad_visibility = dict(forged, source=[make_source(), make_source()], visibility="world")
    assert c.forge("/library/import/confirm", bad_visibility,
                  content_type="multipart/form-data").status_code == 400
    assert template_count() == 0


def test_import_pasted_text_and_nothing_chosen(world, as_user):
    c = as_user(world.clin_a1)
    empty = c.submit("/library/import", {"pasted": "  ", "visibility": "private"})
    assert empty.status_code == 422 and "Choose one or more" in empty.get_data(as_text=True)
    preview = c.submit("/library/import", {"pasted": make_source(title="Pasted plan"),
                                           "visibility": "private"})
    html = preview.get_data(as_text=True)
    assert preview.status_code == 200 and "Pasted plan" in html and "&lt;pasted text&gt;" in html
    assert confirm(c, preview).status_code == 303
    assert template_count() == 1
    bad = c.submit("/library/import", {"pasted": "---\ntitle: x\n", "visibility": "private"})
    assert bad.status_code == 422 and "never closed" in bad.get_data(as_text=True)


def test_zip_import_with_folders_and_skips(world, as_user):
    c = as_user(world.clin_a1)
    archive = make_zip({"plans/a.md": make_source(title="Zip A"), "plans/deep/b.md": make_source(title="Zip B"),
                        "README.txt": "not a template", "__MACOSX/plans/._a.md": "junk",
                        "plans/.hidden.md": "junk"})
    preview = upload(c, {"library.zip": archive})
    html = preview.get_data(as_text=True)
    assert preview.status_code == 200
    assert "library.zip/plans/a.md" in html and "library.zip/plans/deep/b.md" in html
    assert "README.txt (not a .md file)" in html and "junk" not in html
    assert confirm(c, preview).status_code == 303
    with in_db():
        assert {t.title for t in Template.select()} == {"Zip A", "Zip B"}


@pytest.mark.parametrize("archive,words", [
    (make_zip({f"t{i}.md": "x" for i in range(MAX_FILES + 1)}), f"the limit is {MAX_FILES}"),
    (make_zip({"../evil.md": make_source(), "ok.md": make_source()}), "unsafe path"),
    (make_zip({"/abs.md": make_source()}), "unsafe path"),
    (b"PK\x03\x04 this is not really a zip", "not a readable .zip"),
    (make_zip({"bomb.md": "---\ntitle: b\n---\n" + "0" * (21 * 1024 * 1024)}), "the limit is 20971520"),
    (make_zip({"big.md": "---\ntitle: b\n---\n" + "0" * (300 * 1024)}), "the limit is 262144"),
])
def test_zip_guards(world, as_user, archive, words):
    c = as_user(world.clin_a1)
    response = upload(c, {"upload.zip": archive})
    html = _unescape(response.get_data(as_text=True))
    assert response.status_code == 422 and words in html, html[-2000:]
    assert template_count() == 0


def test_zip_member_larger_than_declared_is_refused():
    """A member whose header lies about its size is read no further than the limit."""
    from core.library_io import ImportReport, _expand_zip
    payload = b"---\ntitle: liar\n---\n" + b"0" * (300 * 1024)
    data = bytearray(make_zip({"liar.md": payload}))
    declared = len(payload).to_bytes(4, "little")
    small = (100).to_bytes(4, "little")
    data = bytes(data).replace(declared, small)  # local header and central directory
    report, files = ImportReport(), []
    _expand_zip("liar.zip", data, report, files)
    assert files == [] and report.errors


def test_other_file_types_are_refused(world, as_user):
    response = upload(as_user(world.clin_a1), {"notes.docx": b"PK..."})
    assert response.status_code == 422
    assert "not a .md file or a .zip" in response.get_data(as_text=True)


# --- export -----------------------------------------------------------------------------------

def test_export_one_template_as_markdown(world, as_user):
    template = add_template(world.clin_a1, "practice", title="Export me, please!")
    c = as_user(world.clin_a2)
    response = c.get(f"/library/{template.id}/export")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == 'attachment; filename="export-me-please.md"'
    assert response.mimetype == "text/markdown"
    with in_db():
        assert response.get_data(as_text=True) == library.get_version(template).source
        assert AuditEvent.get(AuditEvent.action == "template.export").target_id == template.id


def test_export_import_round_trip_keeps_the_structure(world, as_user, app):
    sources = [path.read_text(encoding="utf-8") for path in sorted(STARTER.glob("*.md"))[:4]]
    with in_db():
        originals = [library.create_template(world.clin_a1, s, "private") for s in sources]
        originals.append(library.create_template(world.clin_a1, make_source(
            title="'Odd: title / with — dashes'", extra="\n\n## Unknown section\n\nKept."), "public"))
    c = as_user(world.clin_a1)
    ids = "&".join(f"ids={t.id}" for t in originals)
    response = c.get(f"/library/export?{ids}")
    assert response.status_code == 200 and response.mimetype == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    assert len(archive.namelist()) == 5 and all(n.endswith(".md") for n in archive.namelist())
    other = as_user(world.clin_b)
    preview = upload(other, {"export.zip": response.data})
    assert preview.status_code == 200
    assert confirm(other, preview).status_code == 303
    with in_db():
        imported = {t.title: t for t in Template.select().where(Template.owner == world.clin_b.id)}
        assert len(imported) == 5
        for original in originals:
            copy = imported[original.title]
            before = parse_template(library.get_version(original).source)
            after = parse_template(library.get_version(copy).source)
            assert after == before
            assert (copy.problem, copy.summary) == (original.problem, original.summary)
            assert ({r.tag for r in TemplateTag.select().where(TemplateTag.template == copy.id)}
                    == {r.tag for r in TemplateTag.select().where(TemplateTag.template == original.id)})


def test_export_whole_visible_library_and_nothing_selected(world, as_user):
    add_template(world.clin_a1, "private", title="Mine only")
    add_template(world.clin_a1, "practice", title="Practice one")
    add_template(world.clin_b, "public", title="Public from B")
    add_template(world.clin_b, "private", title="B private")
    c = as_user(world.clin_a2)
    response = c.get("/library/export?all=1")
    names = sorted(zipfile.ZipFile(io.BytesIO(response.data)).namelist())
    assert names == ["practice-one.md", "public-from-b.md"]
    nothing = c.get("/library/export")
    assert nothing.status_code == 303


def test_export_names_are_unique(world, as_user):
    for _ in range(3):
        add_template(world.clin_a1, "private", title="Same title")
    response = as_user(world.clin_a1).get("/library/export?all=1")
    assert sorted(zipfile.ZipFile(io.BytesIO(response.data)).namelist()) == [
        "same-title-2.md", "same-title-3.md", "same-title.md"]


def test_diff_sources_counts_lines():
    diff = diff_sources("a\nb\nc\n", "a\nB\nc\nd\n", "old", "new")
    kinds = [kind for kind, _ in diff.lines]
    assert kinds[:3] == ["meta", "meta", "hunk"] and (diff.added, diff.removed) == (2, 1)


# --- command line -----------------------------------------------------------------------------

def test_cli_load_is_idempotent_and_never_overwrites(runner, app):
    result = runner.invoke(args=["library", "load"])
    assert result.exit_code == 0, result.output
    assert "11 loaded, 0 already there" in result.output
    again = runner.invoke(args=["library", "load"])
    assert again.exit_code == 0 and "0 loaded, 11 already there" in again.output
    with in_db():
        assert Template.select().count() == 11
        assert {t.visibility for t in Template.select()} == {"public"}
        assert Template.select().where(Template.owner.is_null(False)).count() == 0
        alcohol = Template.get(Template.source_key == "starter:alcohol-misuse-mi-relapse-prevention.md")
        assert alcohol.author == "Stepwise starter library"
        # An edited starter template (a new version) is left exactly as it is.
        TemplateVersion.create(template=alcohol, number=2, source="edited", html="<p>edited</p>")
        Template.update(current_version=2, title="Edited locally").where(
            Template.id == alcohol.id).execute()
    third = runner.invoke(args=["library", "load"])
    assert third.exit_code == 0 and "0 loaded, 11 already there" in third.output
    with in_db():
        assert Template.select().count() == 11
        alcohol = Template.get_by_id(alcohol.id)
        assert (alcohol.title, alcohol.current_version) == ("Edited locally", 2)
        assert TemplateVersion.select().where(TemplateVersion.template == alcohol.id).count() == 2


def test_cli_load_of_a_bad_folder_stores_nothing(runner, tmp_path):
    (tmp_path / "good.md").write_text(make_source(title="Good"))
    (tmp_path / "bad.md").write_bytes(malformed_files()["objective-first.md"])
    result = runner.invoke(args=["library", "load", str(tmp_path)])
    assert result.exit_code == 1
    assert "bad.md, line 5" in result.output
    assert template_count() == 0


def test_starter_library_is_searchable_after_load(world, as_user, runner):
    runner.invoke(args=["library", "load"])
    c = as_user(world.clin_b)
    body = c.hx_get("/library?q=sober").get_data(as_text=True)
    assert "Alcohol misuse" in body


def test_cli_import_of_malformed_folder_exits_1_with_line_numbered_errors(runner, tmp_path):
    folder = tmp_path / "incoming"
    folder.mkdir()
    (folder / "good.md").write_text(make_source(title="Good"))
    for name, content in malformed_files().items():
        (folder / name).write_bytes(content)
    result = runner.invoke(args=["library", "import", str(folder)])
    assert result.exit_code == 1
    for name, (line, words) in EXPECTED.items():
        assert f"{name}, line {line}: " in result.output, (name, result.output)
        assert words in result.output
    assert template_count() == 0


def test_cli_import_files_folders_and_zip(runner, tmp_path, world):
    (tmp_path / "one.md").write_text(make_source(title="CLI one"))
    sub = tmp_path / "more"
    sub.mkdir()
    (sub / "two.md").write_text(make_source(title="CLI two"))
    (sub / "notes.txt").write_text("ignored")
    (tmp_path / "pack.zip").write_bytes(make_zip({"three.md": make_source(title="CLI three")}))
    result = runner.invoke(args=["library", "import", str(tmp_path / "one.md"), str(sub),
                                 str(tmp_path / "pack.zip")])
    assert result.exit_code == 0, result.output
    assert "Imported 3 templates (public)" in result.output
    with in_db():
        assert {t.title for t in Template.select()} == {"CLI one", "CLI two", "CLI three"}
        assert {(t.owner_id, t.visibility) for t in Template.select()} == {(None, "public")}
    owned = runner.invoke(args=["library", "import", str(tmp_path / "one.md"),
                                "--owner", "clin_a1@example.org"])
    assert owned.exit_code == 0 and "(private)" in owned.output
    shared = runner.invoke(args=["library", "import", str(tmp_path / "one.md"),
                                 "--practice", "Practice B"])
    assert shared.exit_code == 0 and "(practice)" in shared.output
    with in_db():
        mine = Template.get(Template.owner == world.clin_a1.id)
        assert (mine.visibility, mine.practice_id) == ("private", world.practice_a)
        b = Template.get(Template.practice == world.practice_b)
        assert (b.owner_id, b.visibility) == (None, "practice")
    assert runner.invoke(args=["library", "import", str(tmp_path / "one.md"),
                               "--owner", "nobody@example.org"]).exit_code == 1
    assert runner.invoke(args=["library", "import", str(tmp_path / "one.md"),
                               "--visibility", "private"]).exit_code == 1


def test_cli_import_of_practice_template_is_editable_by_its_admin(runner, tmp_path, world, as_user):
    (tmp_path / "one.md").write_text(make_source(title="Practice curated"))
    runner.invoke(args=["library", "import", str(tmp_path), "--practice", "Practice A"])
    with in_db():
        tid = Template.get(Template.title == "Practice curated").id
    assert as_user(world.admin_a).get(f"/library/{tid}/edit").status_code == 200
    assert as_user(world.clin_a1).get(f"/library/{tid}/edit").status_code == 404
    assert as_user(world.clin_b).get(f"/library/{tid}").status_code == 404


def test_cli_export_writes_every_template_and_imports_back(runner, tmp_path, world):
    add_template(world.clin_a1, "private", title="Private A")
    add_template(world.clin_b, "practice", title="Practice B plan")
    with in_db():
        Template.update(deleted_at=Template.created_at).where(Template.id == add_template(
            world.clin_b, "public", title="Deleted one").id).execute()
    out = tmp_path / "export"
    result = runner.invoke(args=["library", "export", str(out)])
    assert result.exit_code == 0 and "Exported 2 templates" in result.output
    assert sorted(p.name for p in out.iterdir()) == ["practice-b-plan.md", "private-a.md"]
    only_b = runner.invoke(args=["library", "export", str(tmp_path / "b"), "--practice", "Practice B"])
    assert only_b.exit_code == 0 and "Exported 1 template " in only_b.output
    assert runner.invoke(args=["library", "export", str(tmp_path / "c"),
                               "--practice", "Nope"]).exit_code == 1
    with in_db():
        assert Practice.select().count() == 2
        assert AuditEvent.select().where(AuditEvent.action == "template.export").count() == 2
    again = runner.invoke(args=["library", "import", str(out)])
    assert again.exit_code == 0 and "Imported 2 templates" in again.output


def test_a_large_batch_parsed_in_worker_processes_gives_the_same_report():
    """The command line parses big batches in forked processes: same items, same order, same
    line-numbered errors as one process."""
    from core.library_io import PARALLEL_FROM, check_files
    starters = sorted(STARTER.glob("*.md"))
    files = [(f"copy-{n}-{path.name}", path.read_bytes())
             for n in range(PARALLEL_FROM // len(starters) + 1) for path in starters]
    files.insert(7, ("broken.md", b"---\ntitle: Broken\n---\n# One hash heading\n"))
    serial, parallel = check_files(files), check_files(files, processes=2)
    assert len(files) > PARALLEL_FROM and serial.errors
    assert [str(e) for e in parallel.errors] == [str(e) for e in serial.errors]
    assert any("broken.md, line 4" in str(e) for e in parallel.errors)
    assert [(i.name, i.parsed.html) for i in parallel.items] == \
        [(i.name, i.parsed.html) for i in serial.items]
