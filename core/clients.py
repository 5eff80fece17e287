"""Creating, editing, discharging and reactivating clients, and their care teams."""
import datetime as dt

from core import audit
from core.db import db, utcnow
from core.merge import changed_detail, conflicts_audited, save_guarded
from core.inputs import InputError, parse_date, parse_id, parse_ids
from core.models import CareTeamMember, Client, User

FIELDS = ("first_name", "last_name", "date_of_birth", "email", "presenting_problem")
EDITED = FIELDS + ("primary_clinician", "care_team")  # what the edit form carries and merges


class ClientError(ValueError):
    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(errors.values()))
        self.errors = errors


def colleagues(user):
    """Active members of the user's practice, for choosing clinicians and care teams."""
    return (User.select().where((User.practice == user.practice_id) & (User.active == True))  # noqa: E712
            .order_by(User.name))


def clean_client_data(user, data: dict) -> dict:
    errors, out = {}, {}
    for key in ("first_name", "last_name"):
        value = (data.get(key) or "").strip()
        if not value:
            errors[key] = "Required."
        elif len(value) > 100:
            errors[key] = "At most 100 characters."
        out[key] = value
    dob = (data.get("date_of_birth") or "").strip()
    out["date_of_birth"] = None
    if dob:
        try:
            out["date_of_birth"] = parse_date(dob)
            if out["date_of_birth"] > dt.date.today():
                errors["date_of_birth"] = "A date of birth cannot be in the future."
        except InputError as exc:
            errors["date_of_birth"] = str(exc)
    out["email"] = (data.get("email") or "").strip().lower()[:254]
    if out["email"] and "@" not in out["email"]:
        errors["email"] = "Enter a valid email address or leave it empty."
    out["presenting_problem"] = (data.get("presenting_problem") or "").strip()[:200]
    ids = {u.id: u for u in colleagues(user)}
    primary = data.get("primary_clinician")
    primary = parse_id(primary) or user.id
    if primary not in ids:
        errors["primary_clinician"] = "Choose an active member of your practice."
    out["primary_clinician"] = primary
    team = set(parse_ids(data.get("care_team") or []))
    if team - set(ids):
        errors["care_team"] = "Choose active members of your practice."
    out["care_team"] = sorted(team - {primary})
    if errors:
        raise ClientError(errors)
    return out


def _set_team(client, team_ids):
    CareTeamMember.delete().where(CareTeamMember.client == client.id).execute()
    if team_ids:
        CareTeamMember.insert_many([{"client": client.id, "user": uid} for uid in team_ids]).execute()


def create_client(user, data: dict) -> Client:
    clean = clean_client_data(user, data)
    team = clean.pop("care_team")
    with db.atomic():
        client = Client.create(practice=user.practice_id, **clean)
        _set_team(client, team)
        audit.record("client.create", user, target_type="client", target_id=client.id)
    return client


def client_values(client: Client) -> dict:
    """The edit form's fields as stored now (the care team from its own table)."""
    values = {key: getattr(client, key) for key in FIELDS}
    values["primary_clinician"] = client.primary_clinician_id
    values["care_team"] = care_team_ids(client)
    return values


def update_client(user, client: Client, data: dict, expected_version: int, base: dict) -> Client:
    """Save the edit form, merged with whatever a colleague saved since it was opened
    (core/merge.py); EditConflict (with `values`, the current fields) when we both changed
    the same field. The care team is guarded by the client's version too."""
    clean = clean_client_data(user, data)
    with conflicts_audited(user, "client", client.id, client_values), db.atomic():
        _before, write = save_guarded(Client, client.id, expected_version, clean, base,
                                      also={"updated_at": utcnow()},
                                      where=Client.practice == client.practice_id,
                                      current_of=client_values)
        if "care_team" in write:
            _set_team(client, write["care_team"])
        audit.record("client.update", user, target_type="client", target_id=client.id,
                     detail=changed_detail(write))
    return Client.get_by_id(client.id)


def set_status(user, client: Client, status: str) -> Client:
    with db.atomic():
        client.status = status
        client.discharged_at = utcnow() if status == "discharged" else None
        client.updated_at = utcnow()
        # Only these columns: a full save() would write back every field as loaded, over a
        # colleague's edit saved in between.
        Client.update(status=client.status, discharged_at=client.discharged_at,
                      updated_at=client.updated_at).where(Client.id == client.id).execute()
        audit.record("client.discharge" if status == "discharged" else "client.reactivate", user,
                     target_type="client", target_id=client.id)
    return client


def care_team_ids(client) -> list[int]:
    return [row.user_id for row in CareTeamMember.select().where(CareTeamMember.client == client.id)]
