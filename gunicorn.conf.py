"""gunicorn settings for `make run` and production (override on the command line)."""

import os

bind = os.environ.get("KIOSK_BIND", "0.0.0.0:5000")
workers = int(os.environ.get("KIOSK_WORKERS", "2"))
threads = int(os.environ.get("KIOSK_THREADS", "4"))
worker_class = "gthread"
# HTTPS (make run HTTPS=1, or the system service made with HTTPS=1): the LAN certificate.
certfile = os.environ.get("KIOSK_CERTFILE") or None
keyfile = os.environ.get("KIOSK_KEYFILE") or None
timeout = 60
graceful_timeout = 10
# The app writes its own request log without query strings (they may hold a NIK being searched).
accesslog = None
errorlog = "-"
loglevel = "info"
# gunicorn 25+ opens a control socket at $XDG_RUNTIME_DIR/gunicorn.ctl (or ~/.gunicorn/), the
# same path for every gunicorn of the user: a second server (another checkout, a test) would
# take it over and stopping either removes the other's. Nothing here uses gunicornc; systemd
# or make run manage the process. (Older gunicorns ignore this unknown name.)
control_socket_disable = True


def on_starting(server):
    """Before serving: refuse a database that is in use with secrets this server does not hold
    (another server's card keys or secret key), with a message saying what to give it; on a
    new installation, register this server's secrets. See kiosk/installation.py."""
    from kiosk.installation import check_before_serving

    check_before_serving()


def post_worker_init(worker):
    """Each worker starts the app's background jobs (the daily backup's scheduler; the database
    decides which worker makes each backup). Other apps served with this file have none."""
    start = getattr(worker.wsgi, "start_background_jobs", None)
    if start is not None:
        start()
    # The app's ~130,000 objects live as long as the worker: move them out of the garbage
    # collector's reach, so its full collections (about one per thousand scans, ~70 ms each,
    # measured in-process) walk only what requests left behind, not the whole app.
    import gc

    gc.freeze()
