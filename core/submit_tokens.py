"""One-time form tokens: the storage side.

A form that creates a record carries a random token. The request that creates the record
claims the token in the same transaction as its insert and notes where the result lives, so a
repeat of that request (a resubmit after a dropped connection, a double click) finds the token
taken and answers with the first result instead of creating a second record.
"""
import datetime as dt
import re
import secrets

from peewee import CharField, DateTimeField, IntegerField, TextField

from core.db import BaseModel, db, utcnow

KEEP = dt.timedelta(days=1)
_SHAPE = re.compile(r"[A-Za-z0-9_-]{16,64}\Z")


class SubmitToken(BaseModel):
    token = CharField(max_length=64, primary_key=True)
    # A plain number, not a foreign key: a row lives a day and only ever answers its own user.
    user_id = IntegerField()
    created_at = DateTimeField(default=utcnow, index=True)
    result_url = TextField(null=True)

    class Meta:
        table_name = "submit_token"


def new_token() -> str:
    return secrets.token_urlsafe(24)


def well_formed(token: str) -> bool:
    return bool(_SHAPE.match(token or ""))


class Taken:
    """The token was claimed before: by this user (`url` is their first result, or None if it
    recorded none) or by somebody else (`mine` is False and nothing else is told)."""

    def __init__(self, mine: bool, url: str | None):
        self.mine, self.url = mine, url


def claim(token: str, user_id: int) -> Taken | None:
    """Claim `token` for `user_id` inside the caller's transaction: None when it is ours now,
    else what the earlier claim left. A concurrent claim of the same token waits for the first
    transaction (the primary key on PostgreSQL, the write lock on SQLite) and then sees it."""
    p = db.param
    cursor = db.execute_sql(
        f"INSERT INTO submit_token (token, user_id, created_at) VALUES ({p}, {p}, {p}) "
        "ON CONFLICT (token) DO NOTHING", [token, user_id, utcnow()])
    if cursor.rowcount == 1:
        return None
    row = SubmitToken.get_or_none(SubmitToken.token == token)
    if row is None:  # pruned between the two statements: a day-old token, treat as used
        return Taken(False, None)
    return Taken(row.user_id == user_id, row.result_url if row.user_id == user_id else None)


def record(token: str, url: str) -> None:
    SubmitToken.update(result_url=url).where(SubmitToken.token == token).execute()


def prune(now: dt.datetime | None = None) -> int:
    """Forget tokens older than a day (one indexed delete)."""
    cutoff = (now or utcnow()) - KEEP
    return SubmitToken.delete().where(SubmitToken.created_at < cutoff).execute()
