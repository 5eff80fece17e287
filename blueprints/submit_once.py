"""One-time form tokens for the routes that create records (storage: core/submit_tokens.py).

    with submit_once() as once:
        note = notes.create_note(...)
        return once.created(url_for("sessions.note_detail", note_id=note.id))

The token is claimed in the same transaction as the insert. A validation error raised inside
the block rolls both back, so the user can correct the form and send it again. A form without
a token (a page rendered before this existed) is served as before.
"""
from contextlib import contextmanager

from flask import abort, flash, make_response, redirect, request
from flask_login import current_user
from markupsafe import Markup

from core import submit_tokens
from core.db import db

FIELD = "submit_token"
ALREADY_SENT = "This form was already sent; here is what it saved."
LINK_SHOWN_ONCE = ("This invitation was already created; its link is shown only once. If you did "
                   "not copy it, create a new invitation (it replaces the earlier link).")
DAMAGED = "This form arrived damaged. Reload the page and try again; nothing was saved."
NOT_YOURS = ("This form was already used. Reload the page to get a fresh form and try again; "
             "nothing was saved.")


def submit_token_field() -> Markup:
    """The hidden input each create form carries (a new token at every render)."""
    return Markup('<input type="hidden" name="%s" value="%s">') % (FIELD, submit_tokens.new_token())


class Once:
    def __init__(self, token: str):
        self.token = token
        self.url = None

    def created(self, url: str, response=None):
        """Note where the new record is shown; returns `response` or a 303 to `url`."""
        self.url = url
        return response if response is not None else redirect(url, 303)


class _NothingCreated(Exception):
    pass


def _replay(taken, message):
    from blueprints.web import error_response  # web imports this module's field helper
    if not taken.mine or not taken.url:
        return error_response(409, NOT_YOURS)
    flash(message, "info")
    if request.headers.get("HX-Request"):
        response = make_response("", 200)
        response.headers["HX-Redirect"] = taken.url
        return response
    return redirect(taken.url, 303)


@contextmanager
def submit_once(replay_message: str = ALREADY_SENT):
    """Claim the form's token around a create; see the module docstring. A repeat never enters
    the block: it is answered at once (abort) with the first result, or a 409 when the token is
    another member's. `replay_message`: what a repeat is told (an invitation link, shown once,
    cannot be shown again)."""
    token = request.form.get(FIELD, "")
    once = Once(token)
    if not token:
        yield once
        return
    if not submit_tokens.well_formed(token):
        from blueprints.web import error_response
        abort(error_response(400, DAMAGED))
    try:
        with db.atomic():
            taken = submit_tokens.claim(token, current_user.id)
            if taken is not None:  # sent before: the block never runs, the first result answers
                abort(_replay(taken, replay_message))
            yield once
            if once.url is None:
                raise _NothingCreated  # the block returned an error page: give the token back
            submit_tokens.record(token, once.url)
    except _NothingCreated:
        return
    submit_tokens.prune()
