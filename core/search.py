"""Full-text index over the template library: SQLite FTS5, or a tsvector + GIN on PostgreSQL.

Queries are built from words only (no user-supplied operators); every word is a prefix match,
so the search works as the clinician types. SQLite keeps prefix indexes for the first 1-3
letters, so the first keystrokes of a search do not walk every term of the vocabulary.
"""
import re

from peewee import SQL

from core.db import db, is_sqlite

_WORD = re.compile(r"[^\W_]+", re.UNICODE)
MAX_TERMS = 8


def create_search_index():
    if is_sqlite():
        db.execute_sql(
            "CREATE VIRTUAL TABLE IF NOT EXISTS template_fts USING fts5("
            "title, tags, body, tokenize='unicode61 remove_diacritics 2', prefix='1 2 3')")
    else:
        db.execute_sql("ALTER TABLE template ADD COLUMN IF NOT EXISTS search_vector tsvector")
        db.execute_sql("CREATE INDEX IF NOT EXISTS template_search_idx ON template "
                       "USING GIN (search_vector)")


def index_template(template_id: int, title: str, tags: str, body: str, fresh: bool = False):
    """(Re)write one template's entry; call inside the transaction that saves it.
    `fresh`: the template is new, so there is no old entry to delete."""
    if is_sqlite():
        if not fresh:
            db.execute_sql("DELETE FROM template_fts WHERE rowid = ?", (template_id,))
        db.execute_sql("INSERT INTO template_fts (rowid, title, tags, body) VALUES (?, ?, ?, ?)",
                       (template_id, title, tags, body))
    else:
        db.execute_sql(
            "UPDATE template SET search_vector = "
            "setweight(to_tsvector('simple', %s), 'A') || setweight(to_tsvector('simple', %s), 'B')"
            " || setweight(to_tsvector('simple', %s), 'C') WHERE id = %s",
            (title, tags, body, template_id))


def index_templates(rows: list[tuple[int, str, str, str]]):
    """Index new templates in one batch: rows of (id, title, tags, body)."""
    if not rows:
        return
    cursor = db.cursor()
    if is_sqlite():
        cursor.executemany("INSERT INTO template_fts (rowid, title, tags, body) VALUES (?, ?, ?, ?)",
                           rows)
    else:  # pages of rows per statement: psycopg2's executemany is a round trip per row
        from psycopg2.extras import execute_values
        execute_values(
            cursor,
            "UPDATE template AS t SET search_vector = "
            "setweight(to_tsvector('simple', v.title), 'A') || "
            "setweight(to_tsvector('simple', v.tags), 'B') || "
            "setweight(to_tsvector('simple', v.body), 'C') "
            "FROM (VALUES %s) AS v (id, title, tags, body) WHERE t.id = v.id",
            rows, page_size=200)


def search_terms(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text or "")][:MAX_TERMS]


def match_query(text: str) -> str | None:
    """The search engine's query for the words of `text` (every word a prefix), or None."""
    terms = search_terms(text)
    if not terms:
        return None
    if is_sqlite():
        return " ".join('"%s"*' % t.replace('"', "") for t in terms)
    return " & ".join("%s:*" % t.replace("'", "").replace("\\", "") for t in terms)


def matching_ids_sql(text: str, ordered_scan: bool = False):
    """A SQL fragment `template.id IN (...)` for the words of `text`, or None for no words.

    ordered_scan=True suits a query that sorts by an indexed column with a LIMIT (the library
    page): SQLite then walks that index and probes the matches, stopping after one page, instead
    of fetching every match (thousands for the first letters typed) and sorting them all.
    """
    query = match_query(text)
    return None if query is None else match_condition(query, ordered_scan)


def match_condition(query: str, ordered_scan: bool = False):
    """The SQL fragment for a `match_query` result (separate, so it can be compiled once)."""
    if is_sqlite():
        column = "+t1.id" if ordered_scan else "t1.id"
        return SQL(column + " IN (SELECT rowid FROM template_fts WHERE template_fts MATCH ?)",
                   (query,))
    return SQL("t1.search_vector @@ to_tsquery('simple', %s)", (query,))
