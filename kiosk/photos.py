"""Workers' photos: checked, turned upright, stripped of metadata, resized to a 4:5 portrait
JPEG and stored under ``instance/photos/`` with a random name.

Refused with a message: anything that is not a JPEG/PNG/WebP image, a file over ``MAX_BYTES``,
and an image whose header claims more than ``MAX_PIXELS`` pixels (a decompression bomb) — the
size is read from the header before any pixel is decoded.
"""

from __future__ import annotations

import io
import os
import re
import secrets
import warnings
from pathlib import Path
from typing import BinaryIO

from flask import current_app
from .i18n import _l
from PIL import Image, ImageOps, UnidentifiedImageError

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


def photos_folder() -> Path:
    """``instance/photos/`` of the current app (created when missing)."""
    folder = Path(current_app.instance_path) / "photos"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def is_photo_name(name: str) -> bool:
    """True when ``name`` has the shape of a stored photo's name (nothing else can be opened)."""
    return bool(name) and bool(NAME_RE.match(name))


def photo_path(name: str) -> Path | None:
    """The file of a stored photo, or ``None`` when the name is malformed or the file is gone."""
    if not is_photo_name(name):
        return None
    path = photos_folder() / name
    return path if path.is_file() else None


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
    """Check, convert and store a photo; returns its new random name. Raises ``PhotoError``."""
    jpeg = prepare(source)
    name = secrets.token_hex(16) + ".jpg"
    folder = photos_folder()
    tmp = folder / (name + ".tmp")
    tmp.write_bytes(jpeg)
    os.replace(tmp, folder / name)
    return name


def delete_photo(name: str | None) -> None:
    """Remove a stored photo (a missing file is fine)."""
    path = photo_path(name) if name else None
    if path is not None:
        path.unlink(missing_ok=True)
