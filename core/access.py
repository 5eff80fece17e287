"""Who may see what. Every route reaches clients (and what hangs off them) through here.

A clinician sees the clients they are primary for or on the care team of; an admin sees every
client of their practice; nobody sees another practice. A record outside scope is reported
exactly like a record that does not exist.
"""
from core import audit
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
    """Audit an attempt outside scope and return the exception to raise."""
    audit.record("access.denied", user, target_type=target_type,
                 target_id=target_id if isinstance(target_id, int) else None)
    return NotFound(f"{target_type} {target_id}")


def get_client(user, client_id: int) -> Client:
    """The client with their primary clinician (shown on every client page), within scope."""
    client = (Client.select(Client, User).join(User, on=(Client.primary_clinician == User.id))
              .where((Client.id == client_id) & client_scope(user)).first())
    if client is None:
        raise denied(user, "client", client_id)
    return client


def scoped(query, user, target_type: str, target_id: int):
    """First row of `query` (already joined to Client) within `user`'s scope, else NotFound."""
    row = query.where(client_scope(user)).first()
    if row is None:
        raise denied(user, target_type, target_id)
    return row


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
