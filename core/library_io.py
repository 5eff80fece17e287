"""Templates in and out of the library as files: import (.md files, folders, .zip, pasted text),
export (.md and .zip), and the diff of two sources.

Imports are all-or-nothing: every file is checked first, every problem is reported with its
file and line, and only a batch without a single error is stored, in one transaction.
"""
import difflib
import io
import pathlib
import re
import unicodedata
import zipfile
import zlib
from dataclasses import dataclass, field

from peewee import JOIN

from core import audit
from core.access import template_scope
from core.db import db
from core.library import Parsed, insert_templates, parse_source
from core.models import Practice, Template, TemplateVersion
from core.template_format import MAX_BYTES, FormatError, TemplateFormatError

MAX_FILES = 200
MAX_TOTAL_BYTES = 20 * 1024 * 1024
TEMPLATE_SUFFIXES = (".md", ".markdown")


@dataclass
class ImportItem:
    name: str
    parsed: Parsed

    @property
    def title(self) -> str:
        return self.parsed.template.title

    @property
    def goals(self) -> int:
        return len(self.parsed.template.goals)


@dataclass
class ImportReport:
    """What an import would create, and every problem found. Nothing is stored by building it."""
    items: list[ImportItem] = field(default_factory=list)
    errors: list[FormatError] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.items) and not self.errors

    def error(self, name: str, message: str, line: int = 0):
        self.errors.append(FormatError(name, line, message))


def describe(error: FormatError) -> str:
    """'file, line N: message', or 'file: message' for a problem with no line (archives)."""
    return str(error) if error.line else f"{error.filename}: {error.message}"


# --- reading what was uploaded ----------------------------------------------------------------

def _safe_member(name: str) -> bool:
    parts = name.replace("\\", "/").split("/")
    return not (name.startswith(("/", "\\")) or ".." in parts or ":" in parts[0])


def _expand_zip(name: str, data: bytes, report: ImportReport, files: list):
    """Add the .md members of an archive to `files`, refusing anything that looks like a bomb."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = [m for m in archive.infolist() if not m.is_dir()]
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError):
        report.error(name, "is not a readable .zip archive")
        return
    if len(members) > MAX_FILES:
        report.error(name, f"holds {len(members)} files; the limit is {MAX_FILES}")
        return
    declared = sum(m.file_size for m in members)
    if declared > MAX_TOTAL_BYTES:
        report.error(name, f"unpacks to {declared} bytes; the limit is {MAX_TOTAL_BYTES}")
        return
    total = 0
    for member in members:
        label = f"{name}/{member.filename}"
        base = member.filename.replace("\\", "/").rsplit("/", 1)[-1]
        if not _safe_member(member.filename):
            report.error(label, "has an unsafe path (absolute or with '..'); nothing was read")
            continue
        if "__MACOSX" in member.filename.split("/") or base.startswith("."):
            continue  # archive tool metadata, not a template
        if not base.lower().endswith(TEMPLATE_SUFFIXES):
            report.skipped.append(f"{label} (not a .md file)")
            continue
        if member.file_size > MAX_BYTES:
            report.error(label, f"file is {member.file_size} bytes; the limit is {MAX_BYTES}", 1)
            continue
        try:
            with archive.open(member) as fh:
                content = fh.read(MAX_BYTES + 1)  # never trust the declared size
        except (zipfile.BadZipFile, RuntimeError, NotImplementedError, OSError, EOFError,
                zlib.error) as exc:
            report.error(label, f"could not be unpacked ({exc.__class__.__name__})")
            continue
        total += len(content)
        if len(content) > MAX_BYTES or total > MAX_TOTAL_BYTES:
            report.error(label, "unpacks to more than its declared size; the archive was refused")
            return
        files.append((label, content))


def gather(uploads: list[tuple[str, bytes]], report: ImportReport,
           max_files: int | None = MAX_FILES) -> list[tuple[str, bytes]]:
    """(name, bytes) of every template file in `uploads`, .zip archives expanded."""
    files: list[tuple[str, bytes]] = []
    for name, data in uploads:
        lower = name.lower()
        if lower.endswith(".zip"):
            _expand_zip(name, data, report, files)
        elif lower.endswith(TEMPLATE_SUFFIXES) or name == "<pasted text>":
            files.append((name, data))
        else:
            report.error(name, "is not a .md file or a .zip of them")
    if max_files is not None and len(files) > max_files:
        report.error("import", f"{len(files)} template files; the limit is {max_files} at once")
        return []
    return files


def _parse_file(file: tuple[str, bytes | str]):
    name, data = file
    try:
        return name, parse_source(data, name), None
    except TemplateFormatError as exc:
        return name, None, exc.errors


# Below this many files a second process costs more than it saves.
PARALLEL_FROM = 200


def check_files(files: list[tuple[str, bytes | str]], report: ImportReport | None = None,
                processes: int = 1) -> ImportReport:
    """Parse every file; the report names each one that would be created and every error.

    `processes` > 1 (the command line, on a machine with several cores) parses a large batch
    in forked worker processes: parsing and rendering are pure CPU, about 40% of an import.
    Workers only parse; they never touch the database."""
    report = report or ImportReport()
    if processes > 1 and len(files) >= PARALLEL_FROM:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor
        with ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("fork")) as pool:
            results = list(pool.map(_parse_file, files, chunksize=50))
    else:
        results = map(_parse_file, files)
    for name, parsed, errors in results:
        if errors:
            report.errors += errors
        else:
            report.items.append(ImportItem(name, parsed))
    return report


def check_uploads(uploads: list[tuple[str, bytes]], max_files: int | None = MAX_FILES,
                  processes: int = 1) -> ImportReport:
    """`max_files` bounds a web upload; the command line passes None (its files are local)."""
    report = ImportReport()
    return check_files(gather(uploads, report, max_files), report, processes)


def read_paths(paths) -> list[tuple[str, bytes]]:
    """Files for the command line: .md files, folders (searched recursively) and .zip archives."""
    uploads = []
    for raw in paths:
        path = pathlib.Path(raw)
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                if child.is_file() and child.suffix.lower() in TEMPLATE_SUFFIXES + (".zip",):
                    uploads.append((str(child), child.read_bytes()))
        else:
            uploads.append((str(path), path.read_bytes()))
    return uploads


def import_templates(user, files: list[tuple[str, bytes | str]], visibility: str = "private",
                     practice: Practice | None = None) -> list[Template]:
    """Re-check and store every file in one transaction; any error stores nothing.

    `user` None (the command line) makes templates without an owner: public, or shared with
    `practice` when one is given (its admins can then edit them).
    """
    return store_checked(user, check_files(files), visibility, practice)


def store_checked(user, report: ImportReport, visibility: str = "private",
                  practice: Practice | None = None) -> list[Template]:
    """Store the templates of a report this process just checked (the CLI parses once)."""
    if report.errors:
        raise TemplateFormatError(report.errors)
    if not report.items:
        raise TemplateFormatError([FormatError("import", 0, "there is no template to import")])
    with db.atomic():
        created = insert_templates(user, [item.parsed for item in report.items], visibility,
                                   practice_id=practice.id if practice else None)
        audit.record("template.import", user,
                     practice=practice.id if practice else None, target_type="template",
                     detail=f"{len(created)} templates, {visibility}")
        if visibility == "public" and user is not None:
            audit.record("template.publish", user, target_type="template",
                         detail=f"imported {len(created)} templates as public")
    return created


# --- export -----------------------------------------------------------------------------------

def slug(title: str) -> str:
    text = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    text = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return text[:80].rstrip("-") or "template"


def filename_for(template: Template) -> str:
    return f"{slug(template.title)}.md"


def current_versions(query):
    """(template, current version source) for the templates of `query`, in one query."""
    return (query.select(Template.id, Template.title, TemplateVersion.source)
            .join(TemplateVersion, JOIN.INNER, on=((TemplateVersion.template == Template.id)
                  & (TemplateVersion.number == Template.current_version)))
            .order_by(Template.title, Template.id).tuples())


def visible_for_export(user, ids: list[int] | None):
    query = Template.select().where(template_scope(user))
    return query.where(Template.id.in_(ids)) if ids is not None else query


def _unique(name: str, used: set) -> str:
    stem, n = name[:-3], 2
    while name in used:
        name, n = f"{stem}-{n}.md", n + 1
    used.add(name)
    return name


def export_zip(rows) -> tuple[bytes, int]:
    """A .zip of one .md per (id, title, source) row; names from titles, made unique."""
    buffer, used, count = io.BytesIO(), set(), 0
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for _id, title, source in rows:
            archive.writestr(_unique(f"{slug(title)}.md", used), source)
            count += 1
    return buffer.getvalue(), count


def export_folder(rows, folder) -> int:
    folder = pathlib.Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    used, count = set(), 0
    for _id, title, source in rows:
        (folder / _unique(f"{slug(title)}.md", used)).write_text(source, encoding="utf-8")
        count += 1
    return count


def record_export(user, what: str, template_id: int | None = None, practice=None):
    audit.record("template.export", user, practice=practice, target_type="template",
                 target_id=template_id, detail=what)


# --- diff -------------------------------------------------------------------------------------

@dataclass
class Diff:
    old_label: str
    new_label: str
    lines: list[tuple[str, str]]  # (css class, text) — the template escapes the text
    added: int = 0
    removed: int = 0


def diff_sources(old: str, new: str, old_label: str, new_label: str, context: int = 3) -> Diff:
    """A unified diff of two Markdown sources, line by line with its kind."""
    lines, added, removed = [], 0, 0
    in_hunk = False
    for line in difflib.unified_diff(old.splitlines(), new.splitlines(), old_label, new_label,
                                     n=context, lineterm=""):
        # The "---"/"+++" file header comes once, before the first hunk; inside a hunk the same
        # text is a removed "--..." or added "++..." line (front matter's "---" among them).
        if not in_hunk and line.startswith(("+++", "---")):
            kind = "meta"
        elif line.startswith("@@"):
            kind, in_hunk = "hunk", True
        elif line.startswith("+"):
            kind, added = "add", added + 1
        elif line.startswith("-"):
            kind, removed = "del", removed + 1
        else:
            kind = "ctx"
        lines.append((kind, line))
    return Diff(old_label, new_label, lines, added, removed)
