"""CLI: staff accounts, the first-run setup code, and the secret key that signs sessions."""

from __future__ import annotations

import sys

import click
from .. import staff as accounts
from ..installation import register_secret_key
from ..models import ROLES
from . import bp, setup


@bp.cli.command("create-staff")
@click.argument("username")
@click.option("--role", type=click.Choice(ROLES), default="petugas", show_default=True)
@click.option("--name", "full_name", default="", help="Full name shown in reports.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def create_staff(username: str, role: str, full_name: str, password_stdin: bool) -> None:
    """Create a staff account (asks for its password: at least 10 characters, not a common
    password, not the username, the person's or the office's name)."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:  # accounts.create applies the password rule (staff.password_problem)
        staff = accounts.create(username, full_name, role, password, by=None)
    except accounts.StaffError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"created {role} {staff.username}")


@bp.cli.command("setup-code")
def setup_code() -> None:
    """Print a new one-time code for creating the first admin (only while there is none); a
    code printed before stops working."""
    if setup.admin_exists():
        click.echo("An admin account exists: sign in at /masuk.")
        return
    code = setup.new_code()
    click.echo("")
    click.echo("  First run: open /setup in a browser and enter this setup code:")
    click.echo(f"      {code}")
    click.echo("")


@bp.cli.command("register-secret-key")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def register_secret_key_command(yes: bool) -> None:
    """Make this server's secret key the one the database is used with, when the old one is
    lost for good: every signed-in session ends and open pairing codes stop working; every
    other server must then be given this server's secret key."""
    if register_secret_key():
        click.echo("this server's secret key is the installation's")
        return
    if not yes:
        click.confirm("The database is used with another secret key. Replace it with this server's?", abort=True)
    register_secret_key(replace=True)
    click.echo("this server's secret key is now the installation's; give it to every other server")
