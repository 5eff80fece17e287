"""Who may see what. Every route reaches clients (and what hangs off them) through here.

A clinician sees the clients they are primary for or on the care team of; an admin sees every
client of their practice; nobody sees another practice. A record outside scope is reported
exactly like a record that does not exist.
"""
from core import audit
from core.prepared import Prepared
from core.models import CareTeamMember, Client, User


class NotFound(LookupError):
    """Outside the user's scope or absent: the web layer answers 404 for both."""


def client_scope(user):
    """The peewee expression on Client that `user` may see."""
    in_practice = Client.practice == user.practice_id
    if user.is_admin:
        return in_practice
    on_team = Client.id.in_(CareTeamMember.select(CareTeamMember.client)
                            .where(CareTeamMember.user == user.id))
    return in_practice & ((Client.primary_clinician == user.id) | on_team)


def clients_visible_to(user, search: str = "", status: str | None = "active"):
    query = Client.select().where(client_scope(user))
    if status:
        query = query.where(Client.status == status)
    for word in (search or "").split()[:4]:
        pattern = word.lower() + "%"
        # Name prefixes, case-insensitive: "ann sm" finds Ann Smith.
        query = query.where(Client.first_name.ilike(pattern) | Client.last_name.ilike(pattern))
    return query.order_by(Client.last_name, Client.first_name, Client.id)


def denied(user, target_type: str, target_id) -> NotFound:
    """Audit an attempt outside scope (in the record's practice too) and return the exception."""
    audit.denied(user, target_type, target_id if isinstance(target_id, int) else None)
    return NotFound(f"{target_type} {target_id}")


def get_client(user, client_id: int) -> Client:
    """The client with their primary clinician (shown on every client page), within scope."""
    return lookup("client", lambda client_id: (
        Client.select(Client, User).join(User, on=(Client.primary_clinician == User.id))
        .where(Client.id == client_id)), user, "client", client_id)


def scoped(query, user, target_type: str, target_id: int):
    """First row of `query` (already joined to Client) within `user`'s scope, else NotFound."""
    row = query.where(client_scope(user)).first()
    if row is None:
        raise denied(user, target_type, target_id)
    return row


class _ScopeOf:
    """Stands in for a user while a scoped lookup is compiled."""

    def __init__(self, practice_id, user_id, is_admin):
        self.practice_id, self.id, self.is_admin = practice_id, user_id, is_admin


_LOOKUPS: dict = {}


def _prepared_in_scope(name: str, build, user, pass_scope=False) -> tuple[Prepared, tuple]:
    """build(*args) (joined to Client, no scope) with the user's client scope added, compiled
    once per name and role; returns it with the scope's own arguments to append.
    With pass_scope, build(scope, *args) puts the scope (an expression on Client) in itself."""
    prepared = _LOOKUPS.get((name, user.is_admin))
    if prepared is None:
        def scoped_build(scope, args):
            return build(scope, *args) if pass_scope else build(*args).where(scope)
        if user.is_admin:
            def compiled(*args):
                return scoped_build(client_scope(_ScopeOf(args[-1], None, True)), args[:-1])
        else:
            def compiled(*args):
                return scoped_build(client_scope(_ScopeOf(args[-2], args[-1], False)), args[:-2])
        prepared = _LOOKUPS[(name, user.is_admin)] = Prepared(compiled)
    return prepared, (user.practice_id,) + (() if user.is_admin else (user.id,))


def lookup(name: str, build, user, target_type: str, target_id: int):
    """scoped(build(target_id), ...) for the hot paths, compiled once per name and role.

    `build(record_id)` returns the query joined to Client (no scope); the client scope is added
    here, so every lookup is still scoped in this one place.
    """
    if not isinstance(target_id, int) or isinstance(target_id, bool):
        raise denied(user, target_type, target_id)
    prepared, scope_args = _prepared_in_scope(name, lambda i: build(i).limit(1), user)
    row = prepared.first(name, target_id, *scope_args)
    if row is None:
        raise denied(user, target_type, target_id)
    return row


def rows_in_scope(name: str, build, user, *args, pass_scope=False) -> list:
    """Every row of build(*args) (joined to Client, no scope) within `user`'s scope, the SQL
    compiled once per name and role. `args` are ints and strings (see core/prepared.py).
    With pass_scope, build(scope, *args) places the scope itself (say, in a subquery)."""
    prepared, scope_args = _prepared_in_scope(name, build, user, pass_scope)
    return prepared.all(name, *args, *scope_args)


# --- templates ------------------------------------------------------------------------------

def template_scope(user):
    """Templates `user` may see: their own, their practice's shared ones, and public ones."""
    from core.models import Template
    shared = (Template.visibility == "public") | (
        (Template.visibility == "practice") & (Template.practice == user.practice_id))
    return Template.deleted_at.is_null() & (shared | (Template.owner == user.id))


def can_edit_template(user, template) -> bool:
    """The owner edits; an admin also edits the shared templates of their own practice."""
    if template.owner_id == user.id:
        return True
    return (user.is_admin and template.practice_id == user.practice_id
            and template.visibility in ("practice", "public"))


def get_template(user, template_id: int):
    from core.models import Template
    template = Template.select().where((Template.id == template_id) & template_scope(user)).first()
    if template is None:
        raise denied(user, "template", template_id)
    return template
