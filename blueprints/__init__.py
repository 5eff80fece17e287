"""One package per area of the app; each exposes `bp`."""
from importlib import import_module

AREAS = ("main", "setup", "auth", "clients", "admin", "library", "plans", "sessions", "portal")


def register_blueprints(app):
    for area in AREAS:
        app.register_blueprint(import_module(f"blueprints.{area}").bp)
