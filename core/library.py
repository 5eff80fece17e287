"""The template library: create, save new versions, fork, share, browse, and load the starter set.

Every template is parsed and rendered once, when a version is saved; pages show the stored HTML.
Import, export and diff live in core/library_io.py.
"""
import pathlib
from dataclasses import dataclass
from html import escape

from peewee import IntegrityError

from core import audit
from core.access import NotFound, can_edit_template, denied
from core.db import db, insert_all, insert_each, utcnow
from core.models import VISIBILITIES, Template, TemplateTag, TemplateVersion
from core.rendering import render_template_html
from core.search import index_template, index_templates
from core.template_format import parse_template, template_to_search_text


class VersionConflict(Exception):
    """The template was saved by someone else after the editor was opened."""

    def __init__(self, current: TemplateVersion):
        self.current = current
        super().__init__(f"template is at version {current.number}")


class LibraryError(ValueError):
    """A request the library refuses for a reason the user can fix (shown as the message)."""


# --- saving ---------------------------------------------------------------------------------

def normalize_source(source: str | bytes) -> str:
    """The text as stored: UTF-8 decoded, no BOM, LF line ends, no trailing blanks.

    The parser ignores exactly these differences, so versions diff cleanly whatever the editor.
    """
    text = source.decode("utf-8") if isinstance(source, bytes) else source
    text = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    return "\n".join(line.rstrip() for line in text.split("\n")).strip("\n") + "\n"


@dataclass
class Parsed:
    """A checked template source, ready to store."""
    source: str
    template: object  # core.template_format.Template
    html: str

    @property
    def meta(self) -> dict:
        return self.template.meta

    @property
    def tags(self) -> list[str]:
        seen, tags = set(), []
        for tag in self.meta.get("tags", []):
            tag = " ".join(tag.split())[:80]
            if tag and tag.lower() not in seen:
                seen.add(tag.lower())
                tags.append(tag)
        return tags


def parse_source(source: str | bytes, filename: str = "<pasted text>") -> Parsed:
    """Parse (raising TemplateFormatError with every problem) and render once."""
    parsed = parse_template(source, filename)
    return Parsed(normalize_source(source), parsed, _meta_html(parsed.meta)
                  + render_template_html(parsed))


def _meta_html(meta: dict) -> str:
    """Measures and licence are only in the front matter: render them with the body, escaped."""
    rows = []
    if meta.get("measures"):
        rows.append(("Measures", ", ".join(meta["measures"])))
    if meta.get("license"):
        rows.append(("License", meta["license"]))
    if not rows:
        return ""
    cells = "".join(f"<dt>{escape(k)}</dt><dd>{escape(str(v))}</dd>" for k, v in rows)
    return f'<dl class="template-meta">{cells}</dl>\n'


def _columns(parsed: Parsed, fallback_author: str) -> dict:
    meta = parsed.meta
    author = (meta.get("author") or fallback_author or "").strip()
    return {"title": meta["title"].strip()[:300],
            "problem": (meta.get("problem") or "").strip()[:200],
            "summary": (meta.get("summary") or "").strip(), "author": author[:200]}


def _store_tags_and_index(template: Template, parsed: Parsed, fresh: bool = False):
    """`fresh`: a template created in this transaction has no old tags or index entry."""
    if not fresh:
        TemplateTag.delete().where(TemplateTag.template == template.id).execute()
    tags = parsed.tags
    if tags:
        TemplateTag.insert_many([{"template": template.id, "tag": t} for t in tags]).execute()
    index_template(template.id, template.title, " ".join(tags),
                   template_to_search_text(parsed.template), fresh=fresh)


def insert_template(user, parsed: Parsed, visibility: str, *, practice_id=None, source_key=None,
                    **extra) -> Template:
    """The rows of a new template (call inside a transaction)."""
    return insert_templates(user, [parsed], visibility, practice_id=practice_id,
                            source_key=source_key, **extra)[0]


def insert_templates(user, parsed_list: list[Parsed], visibility: str, *, practice_id=None,
                     source_key=None, **extra) -> list[Template]:
    """The rows of new templates, versions, tags and index entries (call inside a transaction).
    One INSERT per template row (its id is needed); versions, tags and index entries go in
    batches, which is what makes a 1,000-file import take a second or two.

    Without a user (starter library, command line) there is no owner: the template is public,
    or shared with `practice_id` when given, whose admins may then edit it.
    """
    owner = user.id if user else None
    practice = user.practice_id if user else practice_id
    if owner is None and practice is None:
        visibility = "public"  # nobody else could ever see it
    if visibility not in VISIBILITIES:
        raise LibraryError(f"Unknown visibility {visibility!r}.")
    now = utcnow()
    templates = insert_each(Template, [
        dict(owner=owner, practice=practice, visibility=visibility, current_version=1,
             source_key=source_key, created_at=now, updated_at=now,
             **_columns(parsed, user.name if user else ""), **extra)
        for parsed in parsed_list])
    pairs = list(zip(templates, parsed_list))
    insert_all(TemplateVersion, [{"template": t.id, "number": 1, "source": p.source,
                                   "html": p.html, "created_by": owner, "created_at": now}
                                  for t, p in pairs])
    insert_all(TemplateTag, [{"template": t.id, "tag": tag} for t, p in pairs for tag in p.tags])
    index_templates([(t.id, t.title, " ".join(p.tags), template_to_search_text(p.template))
                     for t, p in pairs])
    return templates


def create_template(user, source: str | bytes, visibility: str = "private",
                    filename: str = "<pasted text>", source_key=None) -> Template:
    """Parse, render and store a new template with its version 1 (raises TemplateFormatError).

    `user` None is the starter library: no owner or practice, public.
    """
    parsed = parse_source(source, filename)
    with db.atomic():
        template = insert_template(user, parsed, visibility, source_key=source_key)
        audit.record("template.create", user, target_type="template", target_id=template.id,
                     detail=f"visibility {template.visibility}")
        if user is not None and template.visibility == "public":
            audit.record("template.publish", user, target_type="template", target_id=template.id,
                         detail="created public")
    return template


def editable_template(user, template: Template) -> Template:
    """`template` when `user` may edit it; otherwise the same 404 as an invisible template."""
    if not can_edit_template(user, template):
        raise denied(user, "template", template.id)
    return template


def save_version(user, template: Template, source: str | bytes,
                 based_on: int) -> TemplateVersion | None:
    """Save `source` as the next immutable version; None when it equals the current one.

    Raises TemplateFormatError (nothing stored) or VersionConflict when `based_on` is not the
    current version any more (someone saved meanwhile).
    """
    editable_template(user, template)
    parsed = parse_source(source)
    with db.atomic():
        latest = (Template.select(Template.current_version)
                  .where(Template.id == template.id).scalar())
        current = get_version(template, latest)
        if current.number != based_on:
            raise VersionConflict(current)
        if current.source == parsed.source:
            return None
        number = based_on + 1
        # The WHERE on current_version makes a concurrent save of the same base lose cleanly.
        changed = (Template.update(current_version=number, updated_at=utcnow(),
                                   **_columns(parsed, template.author or user.name))
                   .where((Template.id == template.id) & (Template.current_version == based_on))
                   .execute())
        if not changed:
            raise VersionConflict(current)
        version = TemplateVersion.create(template=template.id, number=number, source=parsed.source,
                                         html=parsed.html, created_by=user.id)
        template = Template.get_by_id(template.id)
        _store_tags_and_index(template, parsed)
        audit.record("template.update", user, target_type="template", target_id=template.id,
                     detail=f"version {number}")
    return version


def fork_template(user, template: Template, version_number: int | None = None) -> Template:
    """A private copy owned by `user` of the given (default: current) version, lineage kept."""
    version = get_version(template, version_number)
    parsed = parse_source(version.source, f"{template.title} v{version.number}")
    with db.atomic():
        fork = insert_template(user, parsed, "private", forked_from=template.id,
                               forked_from_version=version.number)
        Template.update(fork_count=Template.fork_count + 1).where(
            Template.id == template.id).execute()
        audit.record("template.fork", user, target_type="template", target_id=fork.id,
                     detail=f"from template {template.id} version {version.number}")
    return fork


def set_visibility(user, template: Template, visibility: str) -> Template:
    editable_template(user, template)
    if visibility not in VISIBILITIES:
        raise LibraryError("Choose private, practice or public.")
    if visibility == template.visibility:
        return template
    with db.atomic():
        Template.update(visibility=visibility, updated_at=utcnow()).where(
            Template.id == template.id).execute()
        # Publishing (to every practice on the server) is its own action, easy to find in the log.
        audit.record("template.publish" if visibility == "public" else "template.visibility", user,
                     target_type="template", target_id=template.id,
                     detail=f"{template.visibility} -> {visibility}")
    template.visibility = visibility
    return template


# --- reading ----------------------------------------------------------------------------------

def get_version(template: Template, number: int | None = None) -> TemplateVersion:
    """Version `number` (default: current) of a template already checked for access."""
    number = number or template.current_version
    version = (TemplateVersion.select()
               .where((TemplateVersion.template == template.id)
                      & (TemplateVersion.number == number))
               .first())
    if version is None:
        raise NotFound(f"template {template.id} version {number}")
    return version


# --- the starter library ----------------------------------------------------------------------

STARTER_FOLDER = pathlib.Path(__file__).resolve().parent.parent / "template_library"


def load_starter_library(folder=STARTER_FOLDER) -> tuple[int, int]:
    """Load every *.md of `folder` once, keyed "starter:<filename>"; returns (created, skipped).

    A template already loaded (edited since or not, deleted or not) is left exactly as it is.
    Any malformed file raises TemplateFormatError with every error, and nothing is stored.
    """
    from core.template_format import TemplateFormatError
    paths = sorted(pathlib.Path(folder).glob("*.md"))
    parsed, errors = {}, []
    for path in paths:
        try:
            parsed[path.name] = parse_source(path.read_bytes(), path.name)
        except TemplateFormatError as exc:
            errors += exc.errors
    if errors:
        raise TemplateFormatError(errors)
    keys = {f"starter:{name}": name for name in parsed}
    for _attempt in range(2):
        try:
            with db.atomic():
                existing = {k for (k,) in Template.select(Template.source_key)
                            .where(Template.source_key.in_(list(keys) or [""])).tuples()}
                created = 0
                for key, name in keys.items():
                    if key not in existing:
                        insert_template(None, parsed[name], "public", source_key=key)
                        created += 1
                if created:
                    audit.record("template.import", None, target_type="template",
                                 detail=f"starter library: {created} templates")
            return created, len(keys) - created
        except IntegrityError:
            continue  # another process loaded it at the same moment: look again
    return 0, len(keys)

