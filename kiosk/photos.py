"""Workers' photos and handover photos: checked, turned upright, stripped of metadata, resized
to a 4:5 portrait JPEG and stored in the database (table ``photo``) under a random name, so every
server shows every photo. ``Worker.photo`` and ``Collection.handover_photo`` hold that name; so
does an enrollment form that is not saved yet.

Refused with a message: anything that is not a JPEG/PNG/WebP image, a file over ``MAX_BYTES``,
and an image whose header claims more than ``MAX_PIXELS`` pixels (a decompression bomb) — the
size is read from the header before any pixel is decoded.
"""

from __future__ import annotations

import io
import re
import secrets
import warnings
from pathlib import Path
from typing import BinaryIO

from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy import delete, exists, select

from .database import write_transaction
from .extensions import db
from .i18n import _l
from .models import Collection, Photo, Worker

MAX_BYTES = 10 * 1024 * 1024
MAX_PIXELS = 40_000_000  # a 40-megapixel phone photo is the largest honest input
SIZE = (480, 600)
ACCEPTED_FORMATS = {"JPEG", "MPO", "PNG", "WEBP"}
NAME_RE = re.compile(r"^[0-9a-f]{32}\.jpg$")


class PhotoError(Exception):
    """A photo refused; ``message`` says why, in the person's language."""

    def __init__(self, message):
        super().__init__(message)
        self.message = message


def is_photo_name(name: str) -> bool:
    """True when ``name`` has the shape of a stored photo's name (nothing else is looked up)."""
    return isinstance(name, str) and bool(NAME_RE.match(name))


def load(name: str | None) -> bytes | None:
    """The JPEG bytes of the stored photo ``name``, or ``None`` (no name, not a photo's name,
    no such photo)."""
    if not name or not is_photo_name(name):
        return None
    return db.session.scalar(select(Photo.data).where(Photo.name == name))


def _read_limited(source: bytes | BinaryIO) -> bytes:
    if isinstance(source, (bytes, bytearray)):
        data = bytes(source)
    else:
        data = source.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise PhotoError(_l("Foto terlalu besar (lebih dari %(mb)s MB).", mb=MAX_BYTES // (1024 * 1024)))
    if not data:
        raise PhotoError(_l("Berkas foto kosong."))
    return data


def prepare(source: bytes | BinaryIO) -> bytes:
    """Check an uploaded or captured image and return the JPEG to store. Raises ``PhotoError``."""
    data = _read_limited(source)
    not_image = PhotoError(_l("Berkas ini bukan foto. Gunakan foto JPG atau PNG."))
    with warnings.catch_warnings():
        # Pillow warns (and errors past 2x) on its own bomb limit; ours is checked first.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data)) as img:
                if img.format not in ACCEPTED_FORMATS:
                    raise not_image
                width, height = img.size
                if width * height > MAX_PIXELS or width <= 0 or height <= 0:
                    raise PhotoError(_l("Ukuran gambar tidak wajar (terlalu banyak piksel). Ambil foto lagi."))
                img.load()
                upright = ImageOps.exif_transpose(img)
                rgb = upright.convert("RGB")
        except PhotoError:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise PhotoError(_l("Ukuran gambar tidak wajar (terlalu banyak piksel). Ambil foto lagi.")) from None
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
            raise not_image from None
    portrait = ImageOps.fit(rgb, SIZE, Image.Resampling.LANCZOS, centering=(0.5, 0.4))
    out = io.BytesIO()
    # A fresh image carries no EXIF: no GPS position or phone model is kept.
    portrait.save(out, "JPEG", quality=85, optimize=True)
    return out.getvalue()


def store(source: bytes | BinaryIO) -> str:
    """Check, convert and store a photo (its own write transaction); returns its new random
    name. Raises ``PhotoError``."""
    jpeg = prepare(source)
    name = secrets.token_hex(16) + ".jpg"
    with write_transaction():
        db.session.add(Photo(name=name, data=jpeg))
    return name


def discard(name: str | None) -> None:
    """Delete the stored photo ``name`` inside the caller's write transaction, unless a worker
    or a collection still refers to it (a name typed into a form cannot delete another
    worker's photo)."""
    if not name or not is_photo_name(name):
        return
    db.session.execute(
        delete(Photo).where(
            Photo.name == name,
            ~exists().where(Worker.photo == name),
            ~exists().where(Collection.handover_photo == name),
        ).execution_options(synchronize_session=False)
    )


def delete_photo(name: str | None) -> None:
    """Delete the stored photo ``name`` in its own write transaction (see ``discard``)."""
    if name and is_photo_name(name):
        with write_transaction():
            discard(name)


def import_folder(folder: str | Path) -> tuple[int, int]:
    """Copy the photos of a folder (``instance/photos/`` of a version that kept photos on disk)
    into the database, keeping their names; photos already there are skipped. Returns (copied,
    skipped). The files are left in place."""
    copied = skipped = 0
    for path in sorted(Path(folder).glob("*.jpg")):
        if not is_photo_name(path.name):
            continue
        with write_transaction():
            if db.session.get(Photo, path.name) is not None:
                skipped += 1
                continue
            db.session.add(Photo(name=path.name, data=path.read_bytes()))
        copied += 1
    return copied, skipped
