"""Failed sign-in limits, shared by the clinician and the portal sign-in.

Counted per (account, address) pair and per address, only for failed attempts:
- the pair limit (LOGIN_LIMIT_PER_ACCOUNT_ADDRESS) stops guessing one password from one place
  without letting anyone elsewhere lock the account's owner out: their own address has its own
  count;
- the address limit (LOGIN_LIMIT_PER_ADDRESS) stops one place from trying many accounts.
A per-account cap across all addresses (LOGIN_LIMIT_PER_ACCOUNT) is off by default: it is the
only limit that slows guessing spread over many addresses, but whoever reaches it, from as few
addresses as it takes, locks the owner out everywhere, and that lockout is what this replaces.
A deployment that prefers the trade-off sets it (say "100 per day")."""
from flask import current_app, request
from flask_limiter.util import get_remote_address

from blueprints.extensions import limiter
from core.accounts import normalize_email


def _failed(response):
    return response.status_code != 303


def _account(prefix):
    return lambda: f"{prefix}-account:" + normalize_email(request.form.get("email", ""))[:254]


def _pair(prefix):
    return lambda: (f"{prefix}-pair:{get_remote_address()}:"
                    + normalize_email(request.form.get("email", ""))[:254])


def _config(name):
    return lambda: current_app.config[name] or "1000000 per day"


def sign_in_limits(prefix: str):
    """Decorate a sign-in view (POST counts when it does not redirect, i.e. fails)."""
    def decorate(view):
        for name, key in (("LOGIN_LIMIT_PER_ACCOUNT_ADDRESS", _pair(prefix)),
                          ("LOGIN_LIMIT_PER_ADDRESS", get_remote_address),
                          ("LOGIN_LIMIT_PER_ACCOUNT", _account(prefix))):
            exempt = (lambda n=name: not current_app.config[n])
            view = limiter.limit(_config(name), methods=["POST"], key_func=key,
                                 deduct_when=_failed, exempt_when=exempt)(view)
        return view
    return decorate
