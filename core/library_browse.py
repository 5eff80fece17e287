"""Reading the library: one page of cards with its filters, and everything a template page shows.

Each function makes a fixed number of queries, whatever the size of the library.
"""
import re
from dataclasses import dataclass, field

from peewee import JOIN, SQL, NodeList, fn

from core.access import NotFound, can_edit_template, get_template, template_scope
from core.db import is_sqlite
from core.library import get_version
from core.models import Template, TemplateTag, TemplateVersion, User
from core.search import matching_ids_sql

PER_PAGE = 24
SCOPES = {"all": "All I can see", "mine": "Mine", "practice": "My practice", "public": "Public"}
SORTS = {"used": "Most used", "forked": "Most forked", "newest": "Newest"}
FACET_SAMPLE = 1000  # the filter menus list what the most used visible templates use
_ORDER = {"used": (Template.uses.desc(), Template.id.desc()),
          "forked": (Template.fork_count.desc(), Template.id.desc()),
          "newest": (Template.created_at.desc(), Template.id.desc())}


@dataclass
class Filters:
    q: str = ""
    problem: str = ""
    tag: str = ""
    scope: str = "all"
    sort: str = "used"
    page: int = 1

    @classmethod
    def from_args(cls, args) -> "Filters":
        page = args.get("page", "")
        return cls(q=args.get("q", "").strip()[:200], problem=args.get("problem", "").strip()[:200],
                   tag=args.get("tag", "").strip()[:80],
                   scope=args.get("scope") if args.get("scope") in SCOPES else "all",
                   sort=args.get("sort") if args.get("sort") in SORTS else "used",
                   page=min(int(page), 10_000) if re.fullmatch(r"[1-9][0-9]{0,5}", page) else 1)

    def args(self, **changes) -> dict:
        """Query arguments for a link to these filters (defaults left out)."""
        values = {**self.__dict__, **changes}
        defaults = Filters().__dict__
        return {k: v for k, v in values.items() if v != defaults[k]}


@dataclass
class LibraryPage:
    filters: Filters
    templates: list
    tags: dict = field(default_factory=dict)
    has_next: bool = False


def visible(user):
    """template_scope(user), as a filter that SQLite's planner will not drive the query with.

    Without statistics SQLite reads the scope's OR through three indexes (most of the library)
    and sorts it; wrapped in unary +, it walks the sort index or the search matches and stops
    after one page. PostgreSQL plans from its statistics and needs no hint.
    """
    scope = template_scope(user)
    return NodeList((SQL("+("), scope, SQL(")")), glue="") if is_sqlite() else scope


def _scope_condition(user, scope: str):
    if scope == "mine":
        return Template.owner == user.id
    if scope == "practice":
        return (Template.practice == user.practice_id) & (Template.visibility != "private")
    if scope == "public":
        return Template.visibility == "public"
    return None


def browse(user, filters: Filters, per_page: int = PER_PAGE) -> LibraryPage:
    """One page of the visible library in two queries: the cards (with owner) and their tags.

    No COUNT: one row past the page tells whether there is a next page.
    """
    query = (Template.select(Template, User.id, User.name)
             .join(User, JOIN.LEFT_OUTER, on=(Template.owner == User.id))
             .where(visible(user)))
    words = matching_ids_sql(filters.q, ordered_scan=True)
    if words is not None:
        query = query.where(words)
    if filters.problem:
        query = query.where(Template.problem == filters.problem)
    if filters.tag:
        query = query.where(Template.id.in_(
            TemplateTag.select(TemplateTag.template).where(TemplateTag.tag == filters.tag)))
    scope = _scope_condition(user, filters.scope)
    if scope is not None:
        query = query.where(scope)
    rows = list(query.order_by(*_ORDER[filters.sort])
                .limit(per_page + 1).offset((filters.page - 1) * per_page))
    page = LibraryPage(filters, rows[:per_page], has_next=len(rows) > per_page)
    page.tags = tags_for([t.id for t in page.templates])
    return page


def tags_for(template_ids: list[int]) -> dict[int, list[str]]:
    tags: dict[int, list[str]] = {i: [] for i in template_ids}
    if template_ids:
        rows = (TemplateTag.select(TemplateTag.template, TemplateTag.tag)
                .where(TemplateTag.template.in_(template_ids)).order_by(TemplateTag.id).tuples())
        for template_id, tag in rows:
            tags[template_id].append(tag)
    return tags


def facet_options(user, limit: int = 60) -> tuple[list[str], list[str]]:
    """Problems and the commonest tags of the most used visible templates, for the filter menus.

    A sample keeps this cheap at any library size; every tag on a card is also a filter link.
    """
    sample = (Template.select(Template.id).where(visible(user))
              .order_by(*_ORDER["used"]).limit(FACET_SAMPLE))
    problems = [p for (p,) in Template.select(Template.problem).distinct()
                .where(Template.id.in_(sample) & (Template.problem != ""))
                .order_by(Template.problem).tuples()]
    count = fn.COUNT(TemplateTag.id)
    tags = [t for t, _n in TemplateTag.select(TemplateTag.tag, count)
            .where(TemplateTag.template.in_(sample)).group_by(TemplateTag.tag)
            .order_by(count.desc(), TemplateTag.tag).limit(limit).tuples()]
    return problems, sorted(tags, key=str.lower)


@dataclass
class TemplatePage:
    template: Template
    version: TemplateVersion
    versions: list
    tags: list
    forks: list
    upstream: Template | None
    can_edit: bool

    @property
    def upstream_newer(self) -> bool:
        t = self.template
        return bool(self.upstream and t.forked_from_version
                    and self.upstream.current_version > t.forked_from_version)


def template_page(user, template: Template, version_number: int | None = None) -> TemplatePage:
    """Everything the template page shows, in a fixed number of queries."""
    version = get_version(template, version_number)
    versions = list(TemplateVersion.select(TemplateVersion.id, TemplateVersion.number,
                                           TemplateVersion.created_at, User.id, User.name)
                    .join(User, JOIN.LEFT_OUTER, on=(TemplateVersion.created_by == User.id))
                    .where(TemplateVersion.template == template.id)
                    .order_by(TemplateVersion.number.desc()))
    forks = list(Template.select(Template, User.id, User.name)
                 .join(User, JOIN.LEFT_OUTER, on=(Template.owner == User.id))
                 .where((Template.forked_from == template.id) & template_scope(user))
                 .order_by(Template.created_at.desc()).limit(50))
    upstream = None
    if template.forked_from_id:
        # A fork of a template that is no longer shared with the user shows no link to it.
        upstream = (Template.select().where((Template.id == template.forked_from_id)
                                            & template_scope(user)).first())
    return TemplatePage(template, version, versions, tags_for([template.id])[template.id], forks,
                        upstream, can_edit_template(user, template))


def visible_upstream(user, template: Template) -> Template:
    if not template.forked_from_id:
        raise NotFound(f"template {template.id} is not a fork")
    return get_template(user, template.forked_from_id)
