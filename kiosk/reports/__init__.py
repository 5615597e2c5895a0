"""Reports: the staff home dashboard, BAST, lists, exports, the audit trail."""

from flask import Blueprint

bp = Blueprint("reports", __name__, cli_group=None)

from . import views  # noqa: E402,F401
