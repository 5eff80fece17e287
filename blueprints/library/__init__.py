from flask import Blueprint

bp = Blueprint("library", __name__)

from blueprints.library import routes  # noqa: E402,F401
