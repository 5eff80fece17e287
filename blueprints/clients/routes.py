from flask import flash, redirect, request, url_for
from flask_login import current_user

from blueprints import edit_forms
from blueprints.clients import bp
from blueprints.submit_once import submit_once
from blueprints.inputs import arg_text
from blueprints.web import render
from core import audit, clients
from core.access import clients_visible_to, get_client
from core.merge import EditConflict

LABELS = [("first_name", "First name"), ("last_name", "Last name"),
          ("date_of_birth", "Date of birth"), ("email", "Email"),
          ("presenting_problem", "Presenting problem"), ("primary_clinician", "Primary clinician"),
          ("care_team", "Care team")]


def _form_data():
    data = request.form.to_dict()
    data["care_team"] = request.form.getlist("care_team")
    return data


@bp.get("/clients")
def client_list():
    status = request.args.get("status", "active")
    status = status if status in ("active", "discharged") else None
    q = arg_text("q")
    rows = list(clients_visible_to(current_user, q, status).limit(200))
    return render("clients/client_list.html", "clients/_client_rows.html",
                  clients=rows, q=q, show=status or "all")


@bp.route("/clients/new", methods=["GET", "POST"])
def client_new():
    errors, data = {}, {}
    if request.method == "POST":
        data = _form_data()
        try:
            with submit_once() as once:
                client = clients.create_client(current_user, data)
                flash(f"{client.full_name} was added.", "success")
                return once.created(url_for("clients.client_detail", client_id=client.id))
        except clients.ClientError as exc:
            errors = exc.errors
    return render("clients/client_form.html", status=422 if errors else 200, client=None,
                  data=data, errors=errors, colleagues=list(clients.colleagues(current_user)))


@bp.get("/clients/<int:client_id>")
def client_detail(client_id):
    client = get_client(current_user, client_id)
    audit.record("client.view", current_user, target_type="client", target_id=client.id)
    return render("clients/client_detail.html", client=client,
                  **client_page_context(current_user, client))


@bp.route("/clients/<int:client_id>/edit", methods=["GET", "POST"])
def client_edit(client_id):
    client = get_client(current_user, client_id)
    errors, status = {}, 200
    state = edit_forms.opened(clients.client_values(client), client.version)
    if request.method == "POST":
        data = _form_data()
        base = edit_forms.posted_base(request.form, clients.EDITED)
        try:
            clients.update_client(current_user, client, data,
                                  edit_forms.posted_version(request.form), base)
        except clients.ClientError as exc:
            errors, status = exc.errors, 422
            state = edit_forms.invalid(data, request.form, clients.EDITED)
        except EditConflict as exc:
            status = 409
            state = edit_forms.refused({k: data.get(k, "") for k in clients.EDITED}, base,
                                       exc.values, exc.current.version, exc.fields)
        else:
            flash("Saved.", "success")
            return redirect(url_for("clients.client_detail", client_id=client.id), 303)
    colleagues = list(clients.colleagues(current_user))
    if state["conflict"]:
        state["conflict"] = {k: _named(v, colleagues) if k in ("mine", "theirs") else v
                             for k, v in state["conflict"].items()}
    return render("clients/client_form.html", status=status, client=client, errors=errors,
                  colleagues=colleagues, edited=clients.EDITED, labels=LABELS, **state)


def _named(values: dict, colleagues) -> dict:
    """The conflict view shows people by name, not by id."""
    names = {str(u.id): u.name for u in colleagues}
    shown = dict(values)
    shown["primary_clinician"] = names.get(str(values.get("primary_clinician")), "")
    shown["care_team"] = ", ".join(sorted(names.get(str(i), "?") for i in values.get("care_team") or []))
    return shown


@bp.post("/clients/<int:client_id>/discharge")
def client_discharge(client_id):
    client = clients.set_status(current_user, get_client(current_user, client_id), "discharged")
    flash(f"{client.full_name} was discharged. You can reactivate them at any time.", "info")
    return redirect(url_for("clients.client_detail", client_id=client.id), 303)


@bp.post("/clients/<int:client_id>/reactivate")
def client_reactivate(client_id):
    client = clients.set_status(current_user, get_client(current_user, client_id), "active")
    flash(f"{client.full_name} is active again.", "success")
    return redirect(url_for("clients.client_detail", client_id=client.id), 303)


# Other areas add what they show on the client page (plans, notes, homework, scores):
# (partial template, function(user, client) -> its context). Each function must make a fixed
# number of queries.
CLIENT_PAGE_SECTIONS: list[tuple[str, object]] = []


def client_page_context(user, client) -> dict:
    context = {"client_sections": [template for template, _ in CLIENT_PAGE_SECTIONS]}
    for _template, build in CLIENT_PAGE_SECTIONS:
        context.update(build(user, client))
    return context
