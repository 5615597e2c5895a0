"""CLI for the office IT person: the LAN certificate that lets the kiosks use their cameras."""

from __future__ import annotations

import click
from flask import current_app

from .. import tls
from . import bp


@bp.cli.command("make-cert")
@click.option("--name", "names", multiple=True, help="Host name to include (repeatable; default: this machine's).")
@click.option("--ip", "addresses", multiple=True, help="IP address to include (repeatable; default: this machine's).")
@click.option("--new-ca", is_flag=True, help="Also make a new office CA (every tablet must then trust it again).")
def make_cert(names: tuple[str, ...], addresses: tuple[str, ...], new_ca: bool) -> None:
    """Make the HTTPS certificate for the LAN in <secrets>/tls/ (server.crt, server.key, and the
    office CA ca.crt to install on the kiosk tablets; see docs/kiosk-setup.md). <secrets> is
    KIOSK_SECRETS_DIR, default instance/. With several servers, make one certificate naming
    them all (--name/--ip for each) in the shared secrets folder."""
    try:
        made = tls.make_certificate(
            current_app.config["SECRETS_DIR"],
            list(names) or None,
            list(addresses) or None,
            new_ca=new_ca,
        )
        click.echo(tls.describe(made.cert))
    except (tls.TlsError, ValueError) as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"certificate: {made.cert}")
    click.echo(f"key:         {made.key}")
    click.echo(f"office CA:   {made.ca_cert}  (install on each kiosk tablet; also served at /kiosk/sertifikat)")
