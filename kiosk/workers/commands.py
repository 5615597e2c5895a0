"""CLI: photos kept on disk by an older version."""

from __future__ import annotations

from pathlib import Path

import click

from .. import photos
from . import bp


@bp.cli.command("import-photos")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
def import_photos(folder: Path) -> None:
    """Copy the photos in FOLDER (the instance/photos/ of a server that kept photos on its own
    disk) into the database; photos already there are left as they are."""
    copied, skipped = photos.import_folder(folder)
    click.echo(f"{copied} photo(s) copied, {skipped} already in the database")
