"""Workers (BPU) and their coverage: list, enroll, edit, photograph, import, export, renew."""

from flask import Blueprint

bp = Blueprint("workers", __name__, url_prefix="/pekerja", cli_group=None)

from . import commands, demo, imports, probable, views  # noqa: E402,F401
