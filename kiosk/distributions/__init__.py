"""Sembako distributions (penyaluran): events, the pickup desk, live progress."""

from flask import Blueprint

bp = Blueprint("distributions", __name__, url_prefix="/penyaluran", cli_group=None)

from . import views  # noqa: E402,F401
