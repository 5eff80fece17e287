from flask import Blueprint

bp = Blueprint("sessions", __name__)

from blueprints.sessions import routes  # noqa: E402,F401
