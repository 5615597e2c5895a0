"""The office PC's system service: the systemd unit that starts the server at boot and restarts
it when it dies, made from ``deploy/kiosk-bpu.service.in`` (``make install-service``).

The unit runs gunicorn with the settings of ``make run`` (``gunicorn.conf.py``, the same bind
address, workers and HTTPS certificate) as an unprivileged user who owns ``instance/``.
"""

from __future__ import annotations

import grp
import pwd
from pathlib import Path
from string import Template

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "deploy" / "kiosk-bpu.service.in"


class ServiceError(ValueError):
    """The unit cannot be made as asked (``str(error)`` says why, for the person at the terminal)."""


def render_unit(*, user: str, host: str = "0.0.0.0", port: int = 5000, workers: int = 2, https: bool = False,
                instance: Path | None = None, backups: Path | None = None, group: str | None = None,
                root: Path = ROOT) -> str:
    """The unit's text. ``user`` must not be root: the server needs no privilege."""
    if not user or user == "root":
        raise ServiceError("the service runs as the unprivileged user who owns instance/, not as root")
    if group is None:
        try:
            group = grp.getgrgid(pwd.getpwnam(user).pw_gid).gr_name
        except KeyError:
            group = user
    instance = Path(instance or root / "instance")
    backups = Path(backups or instance.parent / "backups")
    make_args = f" HOST={host} PORT={port} WORKERS={workers}" + (" HTTPS=1" if https else "")
    https_environment = (
        "Environment=KIOSK_PREFER_HTTPS=true\n"
        f"Environment=KIOSK_CERTFILE={instance}/tls/server.crt\n"
        f"Environment=KIOSK_KEYFILE={instance}/tls/server.key"
    ) if https else "# (plain HTTP; make install-service HTTPS=1 serves the LAN certificate of instance/tls/)"
    environment = https_environment
    if instance != root / "instance":
        environment += f"\nEnvironment=KIOSK_INSTANCE_PATH={instance}"
    return Template(TEMPLATE.read_text()).substitute(
        description="Dinas Ketenagakerjaan", root=root, user=user, group=group, bind=f"{host}:{port}",
        workers=int(workers), make_args=make_args, https_environment=environment,
        writable=f"{instance} {backups}",
    )
