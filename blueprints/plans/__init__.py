from flask import Blueprint

bp = Blueprint("plans", __name__)

from blueprints.plans import goal_routes, routes  # noqa: E402,F401
