"""Reading the library: one page of cards with its filters, and everything a template page shows.

Each function makes a fixed number of queries, whatever the size of the library.
"""
from dataclasses import dataclass
from functools import lru_cache, partial
from types import SimpleNamespace
from typing import NamedTuple
from urllib.parse import quote

from peewee import JOIN, SQL, NodeList, fn

from core.access import NotFound, can_edit_template, get_template, template_scope
from core.db import is_sqlite
from core.inputs import parse_int
from core.library import get_version
from core.models import Template, TemplateTag, TemplateVersion, User
from core.prepared import Prepared
from core.search import match_condition, match_query

PER_PAGE = 12  # a page renders in half the time of 24; the pager reaches the rest
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
                   page=min(parse_int(page, 1, 999_999) or 1, 10_000))

    def args(self, **changes) -> dict:
        """Query arguments for a link to these filters (defaults left out)."""
        values = {**self.__dict__, **changes}
        defaults = Filters().__dict__
        return {k: v for k, v in values.items() if v != defaults[k]}


@dataclass
class LibraryPage:
    filters: Filters
    templates: list  # of Card
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


class Tag(NamedTuple):
    name: str
    query: str  # the name quoted for a `?tag=` link, as Jinja's urlencode would


class Card(NamedTuple):
    """What a library card shows: a few columns and the tags, not a hydrated Template."""
    id: int
    title: str
    problem: str
    summary: str
    author: str
    visibility: str
    uses: int
    fork_count: int
    owner_id: int | None
    owner_name: str | None
    tags: tuple[Tag, ...]


@lru_cache(maxsize=4096)  # tags repeat across cards; quoting each one per card was a hot spot
def _tag(name: str) -> Tag:
    return Tag(name, quote(name, safe="/"))


def _tags(tag_list: str | None) -> tuple[Tag, ...]:
    return tuple(map(_tag, tag_list.split(_TAG_SEPARATOR))) if tag_list else ()


_CARD_COLUMNS = (Template.id, Template.title, Template.problem, Template.summary, Template.author,
                 Template.visibility, Template.uses, Template.fork_count, Template.owner, User.name)
# A card's tags in the row itself, in the order the template lists them. Unit separator: parsing
# a tag collapses whitespace, and Python counts \x1f as whitespace, so no tag contains it.
_TAG_SEPARATOR = "\x1f"
_TAG_LIST_SQLITE = SQL(  # SQLite < 3.44 has no ORDER BY inside group_concat; it keeps this order
    "(SELECT group_concat(tag, char(31)) FROM "
    "(SELECT tag FROM template_tag WHERE template_id = t1.id ORDER BY id))")
_TAG_LIST_POSTGRES = SQL(
    "(SELECT string_agg(tag, chr(31) ORDER BY id) FROM template_tag WHERE template_id = t1.id)")


def browse(user, filters: Filters, per_page: int = PER_PAGE) -> LibraryPage:
    """One page of the visible library in one query: the cards with owner name and tags.

    No COUNT: one row past the page tells whether there is a next page.
    """
    optional = (match_query(filters.q), filters.problem, filters.tag)
    shape = (*(bool(v) for v in optional), filters.scope, filters.sort)
    values = [v for v in optional if v]
    prepared = _PAGE_QUERIES.get(shape)
    if prepared is None:
        prepared = _PAGE_QUERIES[shape] = Prepared(partial(_page_query, shape))
    rows = prepared.tuples(shape, user.practice_id, user.id, *values,
                         per_page + 1, (filters.page - 1) * per_page)
    cards = [Card(*row[:-1], _tags(row[-1])) for row in rows]
    return LibraryPage(filters, cards[:per_page], has_next=len(cards) > per_page)


def _page_query(shape, practice_id, user_id, *values):
    """The page query for one shape of filters. `values`: the search query, problem and tag that
    the shape has, then limit and offset. Called with stand-ins (see core.prepared)."""
    has_words, has_problem, has_tag, scope, sort = shape
    user = SimpleNamespace(id=user_id, practice_id=practice_id)
    *present, limit, offset = values
    present = iter(present)
    tag_list = _TAG_LIST_SQLITE if is_sqlite() else _TAG_LIST_POSTGRES
    query = (Template.select(*_CARD_COLUMNS, tag_list)
             .join(User, JOIN.LEFT_OUTER, on=(Template.owner == User.id))
             .where(visible(user)))
    if has_words:
        query = query.where(match_condition(next(present), ordered_scan=True))
    if has_problem:
        query = query.where(Template.problem == next(present))
    if has_tag:
        query = query.where(Template.id.in_(
            TemplateTag.select(TemplateTag.template).where(TemplateTag.tag == next(present))))
    condition = _scope_condition(user, scope)
    if condition is not None:
        query = query.where(condition)
    return query.order_by(*_ORDER[sort]).limit(limit).offset(offset)


# Building the page query's SQL with peewee took longer than SQLite took to run it: one
# compiled query per shape of filters, its rows read as plain tuples (a card needs no models).
_PAGE_QUERIES: dict[tuple, Prepared] = {}


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
