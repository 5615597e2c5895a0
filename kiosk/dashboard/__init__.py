"""Staff home dashboard and report downloads: BAST, lists, exports, the audit trail (the documents
themselves are built by ``kiosk.reports``)."""

from flask import Blueprint

bp = Blueprint("dashboard", __name__, cli_group=None)

from . import views  # noqa: E402,F401
