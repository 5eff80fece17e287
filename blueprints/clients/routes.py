from flask import flash, redirect, request, url_for
from flask_login import current_user

from blueprints.clients import bp
from blueprints.inputs import arg_text
from blueprints.web import render
from core import audit, clients
from core.access import clients_visible_to, get_client


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
            client = clients.create_client(current_user, data)
        except clients.ClientError as exc:
            errors = exc.errors
        else:
            flash(f"{client.full_name} was added.", "success")
            return redirect(url_for("clients.client_detail", client_id=client.id), 303)
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
    errors = {}
    data = {k: getattr(client, k) or "" for k in clients.FIELDS}
    data["primary_clinician"] = client.primary_clinician_id
    data["care_team"] = clients.care_team_ids(client)
    if request.method == "POST":
        data = _form_data()
        try:
            clients.update_client(current_user, client, data)
        except clients.ClientError as exc:
            errors = exc.errors
        else:
            flash("Saved.", "success")
            return redirect(url_for("clients.client_detail", client_id=client.id), 303)
    return render("clients/client_form.html", status=422 if errors else 200, client=client,
                  data=data, errors=errors, colleagues=list(clients.colleagues(current_user)))


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
