"""Every table of Stepwise. Grouped by the migration that introduced it (see core/migrations.py)."""
import json

from flask_login import UserMixin
from peewee import (BooleanField, CharField, DateField, DateTimeField, ForeignKeyField,
                    IntegerField, TextField)

from core.db import BaseModel, utcnow

ROLES = ("admin", "clinician")
CLIENT_STATUSES = ("active", "discharged")
VISIBILITIES = ("private", "practice", "public")
PLAN_STATUSES = ("draft", "active", "completed", "archived")
GOAL_STATUSES = ("not started", "in progress", "achieved", "revised", "discontinued")
OBJECTIVE_STATUSES = ("not started", "in progress", "achieved", "discontinued")
HOMEWORK_STATUSES = ("assigned", "done", "skipped")
NOTE_FORMATS = ("DAP", "SOAP", "free")


class JSONField(TextField):
    """A small JSON document kept in a text column (same on SQLite and PostgreSQL)."""

    def db_value(self, value):
        return None if value is None else json.dumps(value, ensure_ascii=False)

    def python_value(self, value):
        return None if value is None else json.loads(value)


# --- 1: practices, accounts, clients, audit -------------------------------------------------

class Practice(BaseModel):
    name = CharField(max_length=200)
    created_at = DateTimeField(default=utcnow)


class User(UserMixin, BaseModel):
    practice = ForeignKeyField(Practice, backref="members", on_delete="CASCADE")
    email = CharField(max_length=254, unique=True)
    name = CharField(max_length=200)
    password_hash = CharField(max_length=255)
    role = CharField(max_length=20, default="clinician")
    active = BooleanField(default=True)
    version = IntegerField(default=1)  # edit forms (core/merge.py), migration 7
    created_at = DateTimeField(default=utcnow)

    @property
    def is_active(self):
        return self.active

    @property
    def is_admin(self):
        return self.role == "admin"


class UserSession(BaseModel):
    """Server-side record of a signed-in browser; deleting it ends the session at once."""
    token = CharField(max_length=64, unique=True)
    user = ForeignKeyField(User, backref="sessions", on_delete="CASCADE")
    created_at = DateTimeField(default=utcnow)
    last_seen = DateTimeField(default=utcnow)


class Invitation(BaseModel):
    practice = ForeignKeyField(Practice, on_delete="CASCADE")
    email = CharField(max_length=254)
    name = CharField(max_length=200, default="")
    role = CharField(max_length=20, default="clinician")
    token_hash = CharField(max_length=64, unique=True)
    invited_by = ForeignKeyField(User, on_delete="CASCADE")
    created_at = DateTimeField(default=utcnow)
    expires_at = DateTimeField()
    used_at = DateTimeField(null=True)


class Client(BaseModel):
    practice = ForeignKeyField(Practice, backref="clients", on_delete="CASCADE")
    first_name = CharField(max_length=100)
    last_name = CharField(max_length=100)
    date_of_birth = DateField(null=True)
    email = CharField(max_length=254, default="")
    presenting_problem = CharField(max_length=200, default="")
    primary_clinician = ForeignKeyField(User, backref="primary_clients")
    status = CharField(max_length=20, default="active", index=True)
    discharged_at = DateTimeField(null=True)
    version = IntegerField(default=1)  # edit forms (core/merge.py), migration 7
    created_at = DateTimeField(default=utcnow)
    updated_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("practice", "last_name", "first_name"), False),)

    @property
    def full_name(self):
        return f"{self.first_name} {self.last_name}"


class CareTeamMember(BaseModel):
    client = ForeignKeyField(Client, backref="care_team", on_delete="CASCADE")
    user = ForeignKeyField(User, backref="care_team_of", on_delete="CASCADE")

    class Meta:
        indexes = ((("client", "user"), True), (("user", "client"), False))


class AuditEvent(BaseModel):
    """Who did what to which record, from where. Never passwords or clinical text."""
    at = DateTimeField(default=utcnow, index=True)
    user = ForeignKeyField(User, null=True, on_delete="SET NULL")
    practice = ForeignKeyField(Practice, null=True, on_delete="CASCADE")
    action = CharField(max_length=60, index=True)
    target_type = CharField(max_length=40, default="")
    target_id = IntegerField(null=True)
    ip = CharField(max_length=64, default="")
    detail = CharField(max_length=255, default="")


# --- 2: the template library ----------------------------------------------------------------

class Template(BaseModel):
    owner = ForeignKeyField(User, backref="templates", null=True, on_delete="SET NULL")
    practice = ForeignKeyField(Practice, null=True, on_delete="CASCADE")
    visibility = CharField(max_length=10, default="private", index=True)
    title = CharField(max_length=300)
    problem = CharField(max_length=200, default="", index=True)
    summary = TextField(default="")
    author = CharField(max_length=200, default="")
    current_version = IntegerField(default=1)
    forked_from = ForeignKeyField("self", null=True, backref="forks", on_delete="SET NULL")
    forked_from_version = IntegerField(null=True)
    uses = IntegerField(default=0, index=True)
    fork_count = IntegerField(default=0, index=True)
    source_key = CharField(max_length=200, null=True, unique=True)  # starter library file it came from
    created_at = DateTimeField(default=utcnow, index=True)
    updated_at = DateTimeField(default=utcnow)
    deleted_at = DateTimeField(null=True)


class TemplateVersion(BaseModel):
    """One saved revision of a template; never changed after it is written."""
    template = ForeignKeyField(Template, backref="versions", on_delete="CASCADE")
    number = IntegerField()
    source = TextField()
    html = TextField()
    created_by = ForeignKeyField(User, null=True, on_delete="SET NULL")
    created_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("template", "number"), True),)


class TemplateTag(BaseModel):
    template = ForeignKeyField(Template, backref="tag_rows", on_delete="CASCADE")
    tag = CharField(max_length=80, index=True)

    class Meta:
        indexes = ((("template", "tag"), True),)


# --- 3: client action plans -----------------------------------------------------------------

class Plan(BaseModel):
    client = ForeignKeyField(Client, backref="plans", on_delete="CASCADE")
    title = CharField(max_length=300)
    problem = TextField(default="")
    status = CharField(max_length=20, default="draft", index=True)
    start_date = DateField(null=True)
    review_date = DateField(null=True)
    template_version = ForeignKeyField(TemplateVersion, null=True, on_delete="SET NULL")
    sections = JSONField(default=list)  # free-text sections carried over from the template
    version = IntegerField(default=1)
    created_by = ForeignKeyField(User, null=True, on_delete="SET NULL")
    created_at = DateTimeField(default=utcnow)
    updated_at = DateTimeField(default=utcnow)
    deleted_at = DateTimeField(null=True)


class Goal(BaseModel):
    plan = ForeignKeyField(Plan, backref="goals", on_delete="CASCADE")
    position = IntegerField(default=0)
    title = CharField(max_length=300)
    description = TextField(default="")
    measure = CharField(max_length=200, default="")
    baseline = CharField(max_length=200, default="")
    target = CharField(max_length=200, default="")
    timeframe = CharField(max_length=100, default="")
    target_date = DateField(null=True)
    status = CharField(max_length=20, default="not started")
    extra_fields = JSONField(default=dict)  # unknown "- Key: value" lines of the template
    target_met_on = DateField(null=True)
    version = IntegerField(default=1)
    updated_at = DateTimeField(default=utcnow)
    deleted_at = DateTimeField(null=True)


class Objective(BaseModel):
    goal = ForeignKeyField(Goal, backref="objectives", on_delete="CASCADE")
    position = IntegerField(default=0)
    text = TextField()
    target_date = DateField(null=True)
    status = CharField(max_length=20, default="not started")
    version = IntegerField(default=1)
    deleted_at = DateTimeField(null=True)


class Intervention(BaseModel):
    goal = ForeignKeyField(Goal, backref="interventions", on_delete="CASCADE")
    position = IntegerField(default=0)
    text = TextField()
    version = IntegerField(default=1)
    deleted_at = DateTimeField(null=True)


class HomeworkSuggestion(BaseModel):
    goal = ForeignKeyField(Goal, backref="homework_suggestions", on_delete="CASCADE")
    position = IntegerField(default=0)
    text = TextField()
    deleted_at = DateTimeField(null=True)


class Revision(BaseModel):
    plan = ForeignKeyField(Plan, backref="revisions", on_delete="CASCADE")
    user = ForeignKeyField(User, null=True, on_delete="SET NULL")
    at = DateTimeField(default=utcnow)
    entity = CharField(max_length=20)
    entity_id = IntegerField()
    field = CharField(max_length=60)
    old_value = TextField(null=True)
    new_value = TextField(null=True)


class Agreement(BaseModel):
    plan = ForeignKeyField(Plan, backref="agreements", on_delete="CASCADE")
    client_name = CharField(max_length=200)
    agreed_on = DateField()
    plan_version = IntegerField()
    recorded_by = ForeignKeyField(User, null=True, on_delete="SET NULL")
    at = DateTimeField(default=utcnow)


class PlanCounter(BaseModel):
    """Per plan, raised by one in the same transaction as every change to what its page shows,
    by database triggers (core/triggers.py), so no code path can forget it. The version of the
    plan's rendered page (blueprints/plans/page_cache.py). No foreign key: a counter outliving
    its plan is harmless. Created by migration 8 (it replaced step 5's change log)."""
    plan_id = IntegerField(primary_key=True)
    n = IntegerField(default=0)


# --- 4: sessions, measures, homework and the portal -----------------------------------------

class Homework(BaseModel):
    client = ForeignKeyField(Client, backref="homework", on_delete="CASCADE")
    plan = ForeignKeyField(Plan, null=True, on_delete="SET NULL")
    goal = ForeignKeyField(Goal, null=True, on_delete="SET NULL")
    objective = ForeignKeyField(Objective, null=True, on_delete="SET NULL")
    text = TextField()
    due_date = DateField(null=True)
    status = CharField(max_length=20, default="assigned")
    feedback = TextField(default="")
    feedback_at = DateTimeField(null=True)
    feedback_seen = BooleanField(default=False)
    completed_at = DateTimeField(null=True)
    version = IntegerField(default=1)  # edit forms (core/merge.py), migration 7
    assigned_by = ForeignKeyField(User, null=True, on_delete="SET NULL")
    created_at = DateTimeField(default=utcnow, index=True)
    deleted_at = DateTimeField(null=True)


class NoteTemplate(BaseModel):
    practice = ForeignKeyField(Practice, on_delete="CASCADE")
    format = CharField(max_length=10)
    body = TextField()
    version = IntegerField(default=1)  # edit forms (core/merge.py), migration 7

    class Meta:
        indexes = ((("practice", "format"), True),)


class SessionNote(BaseModel):
    client = ForeignKeyField(Client, backref="notes", on_delete="CASCADE")
    clinician = ForeignKeyField(User, null=True, on_delete="SET NULL")
    plan = ForeignKeyField(Plan, null=True, on_delete="SET NULL")
    date = DateField(index=True)
    format = CharField(max_length=10, default="DAP")
    body = TextField(default="")
    body_html = TextField(default="")
    signed_at = DateTimeField(null=True)
    version = IntegerField(default=1)  # edit forms (core/merge.py), migration 7
    created_at = DateTimeField(default=utcnow)
    updated_at = DateTimeField(default=utcnow)

    class Meta:
        # "notes of this client since ...", counted from the index alone
        indexes = ((("client", "created_at"), False),)


class NoteAddendum(BaseModel):
    note = ForeignKeyField(SessionNote, backref="addenda", on_delete="CASCADE")
    author = ForeignKeyField(User, null=True, on_delete="SET NULL")
    at = DateTimeField(default=utcnow)
    body = TextField()
    body_html = TextField(default="")


class ProgressEntry(BaseModel):
    note = ForeignKeyField(SessionNote, backref="progress", on_delete="CASCADE")
    goal = ForeignKeyField(Goal, backref="progress", on_delete="CASCADE")
    rating = IntegerField(null=True)
    status_change = CharField(max_length=20, default="")
    no_change = BooleanField(default=False)
    comment = TextField(default="")
    created_at = DateTimeField(default=utcnow)


class CustomMeasure(BaseModel):
    practice = ForeignKeyField(Practice, on_delete="CASCADE")
    name = CharField(max_length=60)
    min_score = IntegerField(default=0)
    max_score = IntegerField()

    class Meta:
        indexes = ((("practice", "name"), True),)


class MeasureScore(BaseModel):
    client = ForeignKeyField(Client, backref="scores", on_delete="CASCADE")
    instrument = CharField(max_length=60)
    score = IntegerField()
    taken_on = DateField()
    recorded_by = ForeignKeyField(User, null=True, on_delete="SET NULL")
    created_at = DateTimeField(default=utcnow)


class PortalAccount(BaseModel):
    """A client's own sign-in to the portal; never a clinician account."""
    client = ForeignKeyField(Client, unique=True, on_delete="CASCADE")
    email = CharField(max_length=254, unique=True)
    password_hash = CharField(max_length=255, default="")
    active = BooleanField(default=True)
    created_at = DateTimeField(default=utcnow)


class PortalInvitation(BaseModel):
    client = ForeignKeyField(Client, on_delete="CASCADE")
    email = CharField(max_length=254)
    token_hash = CharField(max_length=64, unique=True)
    invited_by = ForeignKeyField(User, on_delete="CASCADE")
    created_at = DateTimeField(default=utcnow)
    expires_at = DateTimeField()
    used_at = DateTimeField(null=True)


class PortalSession(BaseModel):
    token = CharField(max_length=64, unique=True)
    account = ForeignKeyField(PortalAccount, backref="sessions", on_delete="CASCADE")
    created_at = DateTimeField(default=utcnow)
    last_seen = DateTimeField(default=utcnow)


class GoalProgress(BaseModel):
    """When the newest note with a progress entry for the goal was written. Kept by database
    triggers on progress_entry (core/triggers.py); read by the dashboard's "goals without
    progress". No row: the goal never had progress."""
    goal_id = IntegerField(primary_key=True)
    last_at = DateTimeField(null=True)
