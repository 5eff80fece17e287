from flask import Blueprint

bp = Blueprint("library", __name__)

from blueprints.library import io_routes, routes  # noqa: E402,F401
