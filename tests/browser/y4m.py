"""Y4M files for Chromium's fake camera (``--use-file-for-fake-video-capture=<absolute path>``).

Chromium reads 4:2:0 YUV4MPEG2 and loops it, so one frame is a camera looking at a still card.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image

# A desk under office light: mid-grey, a little warm.
DESK = (118, 112, 104)


def frame_image(
    card: Image.Image,
    width: int = 640,
    height: int = 480,
    *,
    scale: float = 0.7,
    rotate: float = 0.0,
    background: tuple[int, int, int] = DESK,
) -> Image.Image:
    """``card`` letterboxed into a ``width``×``height`` RGB frame on ``background``.

    ``scale`` is the share of the frame the card's longer fitting side takes (0 < scale <= 1);
    ``rotate`` turns the card by that many degrees (counter-clockwise) after scaling.
    """
    if not 0 < scale <= 1:
        raise ValueError("scale must be in (0, 1]")
    card = card.convert("RGB")
    fit = min(width / card.width, height / card.height) * scale
    size = (max(1, round(card.width * fit)), max(1, round(card.height * fit)))
    card = card.resize(size, Image.Resampling.LANCZOS)
    if rotate:
        card = card.rotate(rotate, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=background)
    frame = Image.new("RGB", (width, height), background)
    frame.paste(card, ((width - card.width) // 2, (height - card.height) // 2))
    return frame


def yuv420_planes(frame: Image.Image) -> tuple[bytes, bytes, bytes]:
    """The Y, U (Cb) and V (Cr) planes of ``frame``: BT.601 full range (JPEG), chroma 2×2 averaged."""
    if frame.width % 2 or frame.height % 2:
        raise ValueError("4:2:0 needs an even width and height")
    # PIL's YCbCr is the JFIF conversion: BT.601 coefficients, full 0-255 range.
    y, cb, cr = frame.convert("RGB").convert("YCbCr").split()
    half = (frame.width // 2, frame.height // 2)
    u = cb.resize(half, Image.Resampling.BOX)  # BOX at exactly 1/2 = the mean of each 2×2 block
    v = cr.resize(half, Image.Resampling.BOX)
    return y.tobytes(), u.tobytes(), v.tobytes()


def write_y4m(frames: list[Image.Image], out_path: str | Path, fps: int = 30) -> Path:
    """Write ``frames`` (all the same even size) as a 4:2:0 Y4M file; returns its absolute path."""
    if not frames:
        raise ValueError("at least one frame")
    width, height = frames[0].size
    out = Path(out_path).resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "wb") as fh:
        fh.write(f"YUV4MPEG2 W{width} H{height} F{fps}:1 Ip A1:1 C420jpeg\n".encode("ascii"))
        for frame in frames:
            if frame.size != (width, height):
                raise ValueError("every frame must have the same size")
            fh.write(b"FRAME\n")
            for plane in yuv420_planes(frame):
                fh.write(plane)
    return out


def png_to_y4m(
    png_path_or_image: str | Path | Image.Image,
    out_path: str | Path,
    width: int = 640,
    height: int = 480,
    *,
    scale: float = 0.7,
    rotate: float = 0.0,
    background: tuple[int, int, int] = DESK,
    frames: int = 1,
) -> Path:
    """A Y4M fake-camera file showing the card image (a PNG path or a PIL image) on a desk.

    Returns the file's absolute path, as Chromium's flag needs.
    """
    if isinstance(png_path_or_image, Image.Image):
        card = png_path_or_image
    else:
        with Image.open(png_path_or_image) as img:
            card = img.convert("RGB")
    frame = frame_image(card, width, height, scale=scale, rotate=rotate, background=background)
    return write_y4m([frame] * max(1, frames), out_path)


def read_y4m_frame(path: str | Path, index: int = 0) -> Image.Image:
    """Frame ``index`` of a 4:2:0 Y4M file back as an RGB image (for checking what was written)."""
    data = Path(path).read_bytes()
    header, _, rest = data.partition(b"\n")
    fields = header.split()
    if fields[0] != b"YUV4MPEG2":
        raise ValueError("not a YUV4MPEG2 file")
    width = int(next(f[1:] for f in fields if f.startswith(b"W")))
    height = int(next(f[1:] for f in fields if f.startswith(b"H")))
    y_size, c_size = width * height, (width // 2) * (height // 2)
    frame_size = len(b"FRAME\n") + y_size + 2 * c_size
    chunk = rest[index * frame_size:(index + 1) * frame_size]
    if not chunk.startswith(b"FRAME") or len(chunk) != frame_size:
        raise ValueError(f"no frame {index}")
    body = chunk[chunk.index(b"\n") + 1:]
    y = Image.frombytes("L", (width, height), body[:y_size])
    u = Image.frombytes("L", (width // 2, height // 2), body[y_size:y_size + c_size])
    v = Image.frombytes("L", (width // 2, height // 2), body[y_size + c_size:])
    size = (width, height)
    return Image.merge(
        "YCbCr", (y, u.resize(size, Image.Resampling.NEAREST), v.resize(size, Image.Resampling.NEAREST))
    ).convert("RGB")
