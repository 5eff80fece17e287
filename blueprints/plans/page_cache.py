"""The plan page's body, rendered once per version of the plan and then reused.

A 20-goal plan is ~88 KB of HTML with ~120 editable items: rendering it took ~8 ms of Jinja
and loading it 9 queries, on every view, though a plan changes far less often than it is read.

The key is everything the body is made of:
- the plan's counter (`plan_counter.n`), which database triggers raise by one in the same
  transaction as every write to a goal, objective, intervention, homework idea, agreement,
  revision or measure score of the plan (or its client) (core/triggers.py);
- the plan and client rows and the source template's title, read with the counter;
- today's date (the agreement form defaults to it).

Why this key cannot miss a committed change (it replaced the newest id of a change log, which
could: two writers took ids 3 and 4, 4 committed first, a view cached the page under 4, then 3
committed and stayed invisible behind the same key):
- Each committed change raises the counter, in its own transaction, so the number a view reads
  counts exactly the changes committed before that read; writers of one plan take turns on its
  counter row, so there is no gap for a late commit to fall into.
- The counter is read first, in one statement with the plan and client rows
  (plans.get_plan_for_page), and the content of the page only afterwards, in later statements
  (plans.load_plan_page, on a miss). A statement sees everything committed before it started,
  so the content is at least as new as the key: a change committed in between is cached under
  the older key, and the next view reads the newer number and renders again. The reverse, an
  old body under a newer key, would need the content to be read before the counter.

Nothing user-specific is in the body except the CSRF token of its plain-HTML forms; it is
rendered with a per-process placeholder and the viewer's token is put in on the way out, so
one clinician's token never reaches another.

The cache lives in the worker's memory, as UTF-8 bytes bounded by their total size (least
recently used out first), and belongs to one app, so one database. A miss costs what the page
always cost.
"""
import datetime as dt
import secrets
import threading
from collections import OrderedDict

from flask import current_app, g, render_template
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup

_PLACEHOLDER = "csrf-placeholder-" + secrets.token_hex(16)
MAX_BYTES = 32 * 1024 * 1024


class RenderedCache:
    """A least-recently-used map of key -> rendered text, bounded by the total bytes it holds.

    Kept encoded: a str holding one character beyond Latin-1 takes 2 or 4 bytes for every
    character, so counting characters let the cap be exceeded several times over."""

    def __init__(self, max_bytes: int = MAX_BYTES):
        self.max_bytes, self.size = max_bytes, 0
        self._items: OrderedDict = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get(self, key) -> str | None:
        with self._lock:
            data = self._items.get(key)
            if data is None:
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
        return data.decode()

    def put(self, key, text: str) -> None:
        data = text.encode()
        if len(data) > self.max_bytes:
            return
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self.size -= len(old)
            self._items[key] = data
            self.size += len(data)
            while self.size > self.max_bytes:
                _key, evicted = self._items.popitem(last=False)
                self.size -= len(evicted)


def _cache() -> RenderedCache:
    cache = current_app.extensions.get("plan_page_cache")
    if cache is None:
        cache = current_app.extensions["plan_page_cache"] = RenderedCache()
    return cache


def _row_key(row) -> tuple | None:
    if row is None:
        return None
    return tuple((name, repr(value)) for name, value in sorted(row.__data__.items()))


def page_key(plan, counter) -> tuple:
    source = plan.template_version if plan.template_version_id else None
    return (plan.id, counter, _row_key(plan), _row_key(plan.client),
            source.template.title if source else None, dt.date.today())


def render_shared(template: str, **context) -> str:
    """`template` rendered with a stand-in for the viewer's CSRF token (see put_token)."""
    real = generate_csrf()  # flask-wtf keeps the request's signed token in g.csrf_token
    g.csrf_token = _PLACEHOLDER
    try:
        return render_template(template, **context)
    finally:
        g.csrf_token = real


def put_token(text: str) -> Markup:
    return Markup(text.replace(_PLACEHOLDER, generate_csrf()))


def cached_body(key, render_body) -> Markup:
    """The body for `key`, from the cache or from render_body(render_shared)."""
    cache = _cache()
    text = cache.get(key)
    if text is None:
        text = render_body(render_shared)
        cache.put(key, text)
    return put_token(text)
