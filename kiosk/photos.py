"""Workers' photos and handover photos: checked, turned upright, stripped of metadata, resized
to a 4:5 portrait JPEG and stored in the database (table ``photo``) under a random name, so every
server shows every photo. ``Worker.photo`` and ``Collection.handover_photo`` hold that name; so
does an enrollment or edit form that is not saved yet (a hidden field), which is how a form shown
again with errors keeps its photo.

Refused with a message: anything that is not a JPEG/PNG/WebP image, a file over ``MAX_BYTES``,
and an image whose header claims more than ``MAX_PIXELS`` pixels (a decompression bomb) — the
size is read from the header before any pixel is decoded.

A photo nobody refers to is deleted after ``UNREFERRED_HOURS`` (``sweep``): the photo of a form
shown again with errors and then abandoned or saved with another photo, of a double submit, of a
request that failed between storing the photo and saving its row. These are faces of people who
were perhaps never enrolled; they are not kept, nor carried into backups. Like the import
uploads, the sweep runs whenever a photo is stored (in the same transaction), and before each
backup. It is one ``DELETE`` of the photos older than the grace period that no worker or
collection refers to, so any number of processes and servers may run it at once. A form saved
with a photo takes it with ``keep`` in its own write transaction: that fails when the photo is
gone (the form says so: take the photo again), and otherwise makes the photo young again, so a
sweep running at the same moment passes it by — on PostgreSQL the sweep waits for the form's
row lock and then re-checks ``created_at``; on SQLite the two writes never overlap. A worker's
replaced or deleted photo goes at once (``discard``, in the transaction that drops the
reference).
"""
from __future__ import annotations

import io
import re
import secrets
import warnings
from datetime import timedelta
from pathlib import Path
from typing import BinaryIO

from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy import delete, exists, select, update

from .database import utcnow, write_transaction
from .extensions import db
from .i18n import _l
from .models import Collection, Photo, Worker

MAX_BYTES = 10 * 1024 * 1024
MAX_PIXELS = 40_000_000  # a 40-megapixel phone photo is the largest honest input
SIZE = (480, 600)
ACCEPTED_FORMATS = {"JPEG", "MPO", "PNG", "WEBP"}
NAME_RE = re.compile(r"^[0-9a-f]{32}\.jpg$")
# Far longer than any form stays open with its photo (a session ends after IDLE_MINUTES idle);
# a form saved later still gets a clear message (``GONE``), never a worker without their photo.
UNREFERRED_HOURS = 6
GONE = _l("Foto yang diambil tadi sudah tidak tersimpan lagi (formulir terlalu lama dibiarkan). "
          "Ambil atau unggah foto lagi.")


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


def exists_now(name: str | None) -> bool:
    """True when a photo named ``name`` is stored (a form's photo may have been swept)."""
    if not name or not is_photo_name(name):
        return False
    return db.session.scalar(select(exists().where(Photo.name == name)))


def store(source: bytes | BinaryIO) -> str:
    """Check, convert and store a photo (its own write transaction, which also sweeps the photos
    nobody refers to); returns its new random name. Raises ``PhotoError``."""
    jpeg = prepare(source)
    name = secrets.token_hex(16) + ".jpg"
    with write_transaction():
        _sweep()
        db.session.add(Photo(name=name, data=jpeg, created_at=utcnow()))
    return name


def keep(name: str) -> bool:
    """Inside the caller's write transaction, before it writes a row that refers to ``name``:
    False when that photo is no longer stored; else True, with the photo's ``created_at`` set to
    now so that no sweep deletes it while the row is being written (module docstring)."""
    if not is_photo_name(name):
        return False
    taken = db.session.execute(
        update(Photo).where(Photo.name == name).values(created_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return taken.rowcount == 1


def unreferred_before(cutoff):
    """The statement deleting the photos stored before ``cutoff`` that no worker and no
    collection refers to."""
    return delete(Photo).where(
        Photo.created_at < cutoff,
        ~exists().where(Worker.photo == Photo.name),
        ~exists().where(Collection.handover_photo == Photo.name),
    ).execution_options(synchronize_session=False)


def _sweep() -> int:
    return db.session.execute(unreferred_before(utcnow() - timedelta(hours=UNREFERRED_HOURS))).rowcount


def sweep() -> int:
    """Delete the photos nobody has referred to for ``UNREFERRED_HOURS`` (its own write
    transaction, or the caller's); returns how many went."""
    with write_transaction():
        return _sweep()


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
