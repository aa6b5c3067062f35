"""Draw the web app's PNG icons (static/icons/) from the favicon's shapes, with the standard library only.

The icons are committed; run this again only to change them: ``python .ci/make_icons.py``. The shapes are
the favicon's (static/favicon.svg, a 32-unit square): a blue rounded square and a white pair of notes.
"any" icons keep the rounded corners; the maskable one fills the square and keeps the notes inside the
central 80 % circle every platform mask leaves visible.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

ICONS = Path(__file__).resolve().parent.parent / "static" / "icons"
BLUE = (0x24, 0x57, 0xC5)
WHITE = (0xFF, 0xFF, 0xFF)
SAMPLES = 4  # per axis: 16 samples per pixel smooth the edges


def _in_quad(x: float, y: float, quad: tuple[tuple[float, float], ...]) -> bool:
    sign = 0.0
    for (ax, ay), (bx, by) in zip(quad, quad[1:] + quad[:1], strict=True):
        cross = (bx - ax) * (y - ay) - (by - ay) * (x - ax)
        if cross != 0:
            if sign and (cross > 0) != (sign > 0):
                return False
            sign = cross
    return True


_BEAM = ((12.0, 8.0), (25.0, 6.0), (25.0, 9.8), (12.0, 13.0))


def _note(x: float, y: float) -> bool:
    """Inside the pair of notes, in favicon units (0-32)."""
    heads = ((10.0, 23.8), (21.0, 21.7))
    if any((x - cx) ** 2 + (y - cy) ** 2 <= 4.0**2 for cx, cy in heads):
        return True
    if (12.0 <= x <= 14.0 and 8.0 <= y <= 23.8) or (23.0 <= x <= 25.0 and 6.0 <= y <= 21.7):
        return True
    return _in_quad(x, y, _BEAM)


def _rounded(x: float, y: float, radius: float) -> bool:
    cx = min(max(x, radius), 32 - radius)
    cy = min(max(y, radius), 32 - radius)
    return (x - cx) ** 2 + (y - cy) ** 2 <= radius**2


def draw(size: int, *, maskable: bool) -> bytes:
    """RGBA rows of one icon."""
    scale = 32 / size
    shrink = 0.62 if maskable else 1.0  # maskable: the notes within the safe circle
    rows = bytearray()
    for row in range(size):
        rows.append(0)  # PNG filter: none
        for col in range(size):
            colour = [0.0, 0.0, 0.0]
            cover = 0
            for sy in range(SAMPLES):
                for sx in range(SAMPLES):
                    x = (col + (sx + 0.5) / SAMPLES) * scale
                    y = (row + (sy + 0.5) / SAMPLES) * scale
                    if not maskable and not _rounded(x, y, 7.0):
                        continue
                    cover += 1
                    nx, ny = 16 + (x - 16) / shrink, 16 + (y - 16) / shrink - (0.8 if maskable else 0)
                    shade = WHITE if _note(nx, ny) else BLUE
                    for i in range(3):
                        colour[i] += shade[i]
            alpha = cover / SAMPLES**2
            pixel = [round(c / cover) if cover else 0 for c in colour]
            rows += bytes((*pixel, round(alpha * 255)))
    return bytes(rows)


def png(size: int, rgba_rows: bytes) -> bytes:
    """A PNG file of ``size`` x ``size`` RGBA pixels."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rgba_rows, 9))
        + chunk(b"IEND", b"")
    )


def main() -> None:
    ICONS.mkdir(parents=True, exist_ok=True)
    for name, size, maskable in (
        ("icon-192.png", 192, False),
        ("icon-512.png", 512, False),
        ("icon-maskable-512.png", 512, True),
    ):
        (ICONS / name).write_bytes(png(size, draw(size, maskable=maskable)))
        print(f"wrote {ICONS / name}")


if __name__ == "__main__":
    main()
