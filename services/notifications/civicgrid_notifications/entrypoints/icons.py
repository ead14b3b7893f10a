"""The phone app's icons, drawn by this module (no downloads, no image library): a white bell on red.

``python -m civicgrid_notifications.entrypoints.icons`` writes ``static/icons/*.png``; the output is
deterministic (same bytes every run), so the committed files are checked against it by a test.
"""

from __future__ import annotations

import math
import struct
import sys
import zlib
from pathlib import Path

RED = (0xB0, 0x3A, 0x2E)
WHITE = (0xFF, 0xFF, 0xFF)
ICONS = {
    "icon-192.png": (192, False),
    "icon-512.png": (512, False),
    "icon-maskable-512.png": (512, True),
    "apple-touch-icon-180.png": (180, True),
}


def _bell(x: float, y: float) -> bool:
    """The bell in a unit square centred on (0.5, 0.5), about 0.56 wide: the safe zone of a mask."""
    dx, dy = x - 0.5, y - 0.5
    if math.hypot(dx, dy + 0.2) < 0.045:  # the knob on top
        return True
    if -0.17 <= dy <= 0.13:  # the body: a dome narrowing upwards
        t = (dy + 0.17) / 0.30
        half = 0.13 + 0.12 * math.pow(t, 1.6)
        if dy < -0.08:
            return math.hypot(dx / 0.147, (dy + 0.08) / 0.09) <= 1.0
        return abs(dx) <= half
    if 0.13 < dy <= 0.175:  # the rim
        return abs(dx) <= 0.28
    return math.hypot(dx, dy - 0.215) < 0.06  # the clapper


def _inside_rounded(x: float, y: float, radius: float) -> bool:
    cx = min(max(x, radius), 1 - radius)
    cy = min(max(y, radius), 1 - radius)
    return math.hypot(x - cx, y - cy) <= radius


def render(size: int, maskable: bool) -> bytes:
    """RGBA PNG bytes; 4 samples a pixel for smooth edges. Maskable icons fill the square."""
    offsets = (0.25, 0.75)
    rows = bytearray()
    for py in range(size):
        rows.append(0)  # filter: none
        for px in range(size):
            bell = back = 0
            for oy in offsets:
                for ox in offsets:
                    x, y = (px + ox) / size, (py + oy) / size
                    if maskable or _inside_rounded(x, y, 0.22):
                        back += 1
                        if _bell(x, y):
                            bell += 1
            if back == 0:
                rows += b"\x00\x00\x00\x00"
                continue
            share = bell / back
            colour = [round(r + (w - r) * share) for r, w in zip(RED, WHITE, strict=True)]
            rows += bytes([*colour, round(255 * back / 4)])
    return _png(size, size, bytes(rows))


def _png(width: int, height: int, raw: bytes) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack("!I", len(data)) + kind + data + struct.pack("!I", zlib.crc32(kind + data))

    header = struct.pack("!IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )


def directory() -> Path:
    return Path(__file__).parent / "static" / "icons"


def main() -> int:
    out = directory()
    out.mkdir(parents=True, exist_ok=True)
    for name, (size, maskable) in ICONS.items():
        (out / name).write_bytes(render(size, maskable))
        print(f"wrote {out / name}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
