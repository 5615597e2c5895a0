"""Admin pages: staff accounts, kiosk devices, settings."""

from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin", cli_group=None)

from . import devices, maintenance, server_clock, settings, views  # noqa: E402,F401
