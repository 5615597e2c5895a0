"""Staff sign-in: accounts (admin, petugas), sessions that expire on shared tablets, first-run
setup of the first admin, and the access decorators every staff page uses."""

from flask import Blueprint

bp = Blueprint("auth", __name__, cli_group=None)

from . import access, commands, views  # noqa: E402,F401  (routes and hooks register on import)
from .access import admin_required, role_required, staff_required  # noqa: E402,F401
