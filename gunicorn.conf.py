"""gunicorn settings for `make run` and production (override on the command line)."""

import os

bind = os.environ.get("KIOSK_BIND", "0.0.0.0:5000")
workers = int(os.environ.get("KIOSK_WORKERS", "2"))
threads = int(os.environ.get("KIOSK_THREADS", "4"))
worker_class = "gthread"
timeout = 60
graceful_timeout = 10
# The app writes its own request log without query strings (they may hold a NIK being searched).
accesslog = None
errorlog = "-"
loglevel = "info"
