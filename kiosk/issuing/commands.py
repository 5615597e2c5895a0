"""CLI: the card-signing keys (rotate to a new key, retire an old one)."""

from __future__ import annotations

import click

from .. import card_registry
from ..tokens import KeyRingError
from . import bp


@bp.cli.command("rotate-card-key")
def rotate_card_key() -> None:
    """Sign new cards with a new key from now on; cards already printed keep working."""
    try:
        key_id = card_registry.rotate_key()
    except KeyRingError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"card key {key_id} is now the current key; older cards keep working")


@bp.cli.command("retire-card-key")
@click.argument("key_id")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def retire_card_key(key_id: str, yes: bool) -> None:
    """Refuse every card printed with KEY_ID from now on (e.g. after the key leaked), and list
    the workers whose valid card that stops: they need a reissued card."""
    key_id = key_id.strip().upper()
    ring = card_registry.keyring()
    if key_id not in ring.key_ids:
        raise click.ClickException(f"no card key {key_id!r} (keys: {', '.join(ring.key_ids)})")
    if key_id == ring.current_id:
        raise click.ClickException(
            f"{key_id} is the current card key and cannot be retired; run rotate-card-key first"
        )
    if key_id in ring.retired_ids:
        click.echo(f"card key {key_id} is already retired")
        return
    affected = card_registry.cards_signed_with(key_id)
    if affected and not yes:
        click.confirm(
            f"{len(affected)} valid card(s) were printed with key {key_id} and will be refused. "
            "Retire it?", abort=True,
        )
    try:
        stopped = card_registry.retire_key(key_id)
    except KeyRingError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"card key {key_id} retired; {len(stopped)} valid card(s) need a reissue")
    for card in stopped:
        worker = card.worker
        click.echo(f"  worker {worker.id}\tcard {card.id}\t{worker.name}")
