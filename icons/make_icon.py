#!/usr/bin/env python3
"""Draw QuantDesk's source icon: a dark rounded square with a rising green chart line.

Why a script: the icon is generated, not hand-drawn, so it can be regenerated and tweaked in
review without any image editor. It uses only the Python standard library (zlib + struct) so it
runs anywhere Python does, without Pillow.

Usage:
    python3 icons/make_icon.py [OUT.png]          # default: icons/source.png (1024x1024)
    npx @tauri-apps/cli@2 icon icons/source.png -o icons
    rm -rf icons/android icons/ios icons/Square*Logo.png icons/StoreLogo.png   # desktop only

Shapes are rendered from signed distances with a one-pixel ramp, which gives smooth
(anti-aliased) edges without supersampling.
"""

import math
import os
import struct
import sys
import zlib

SIZE = 1024

# Rounded square (the "tile").
TILE_MIN, TILE_MAX = 64.0, 960.0
TILE_RADIUS = 200.0
TILE_TOP = (0x1A, 0x23, 0x38)  # slate, top of the vertical gradient
TILE_BOTTOM = (0x0B, 0x11, 0x1E)  # near-black navy, bottom

# Faint horizontal grid lines inside the tile.
GRID_YS = (320.0, 480.0, 640.0, 800.0)
GRID_COLOR = (0x33, 0x41, 0x55)
GRID_HALF_WIDTH = 3.0
GRID_X0, GRID_X1 = 170.0, 854.0

# The chart: a rising polyline with round joins, a soft fill under it and a dot at its head.
POINTS = [(190.0, 720.0), (330.0, 610.0), (440.0, 660.0), (575.0, 470.0), (690.0, 530.0), (830.0, 290.0)]
LINE_HALF_WIDTH = 26.0
LINE_COLOR = (0x22, 0xC5, 0x5E)  # green
FILL_BOTTOM = 840.0
FILL_ALPHA = 0.30
DOT_RADIUS = 46.0
DOT_COLOR = (0x86, 0xEF, 0xAC)  # light green


def coverage(signed_distance):
    """Fraction of a pixel covered by a shape, from the signed distance (negative = inside)."""
    return min(1.0, max(0.0, 0.5 - signed_distance))


def rounded_rect_sd(x, y):
    """Signed distance from (x, y) to the rounded tile."""
    cx = cy = (TILE_MIN + TILE_MAX) / 2
    half = (TILE_MAX - TILE_MIN) / 2 - TILE_RADIUS
    qx = abs(x - cx) - half
    qy = abs(y - cy) - half
    outside = math.hypot(max(qx, 0.0), max(qy, 0.0))
    inside = min(max(qx, qy), 0.0)
    return outside + inside - TILE_RADIUS


def segment_distance(x, y, a, b):
    ax, ay = a
    bx, by = b
    dx, dy = bx - ax, by - ay
    t = ((x - ax) * dx + (y - ay) * dy) / (dx * dx + dy * dy)
    t = min(1.0, max(0.0, t))
    return math.hypot(x - (ax + t * dx), y - (ay + t * dy))


def line_y_at(x):
    """The chart's y at column x, or None outside the chart's x range."""
    for (ax, ay), (bx, by) in zip(POINTS, POINTS[1:]):
        if ax <= x <= bx:
            return ay + (by - ay) * (x - ax) / (bx - ax)
    return None


def over(dst, src_rgb, alpha):
    """Composite src (straight alpha) over dst (r, g, b, a with straight alpha)."""
    if alpha <= 0.0:
        return dst
    r, g, b, a = dst
    out_a = alpha + a * (1.0 - alpha)
    if out_a <= 0.0:
        return (0.0, 0.0, 0.0, 0.0)
    k = a * (1.0 - alpha)
    return (
        (src_rgb[0] * alpha + r * k) / out_a,
        (src_rgb[1] * alpha + g * k) / out_a,
        (src_rgb[2] * alpha + b * k) / out_a,
        out_a,
    )


def lerp(c0, c1, t):
    return tuple(a + (b - a) * t for a, b in zip(c0, c1))


def render():
    segments = list(zip(POINTS, POINTS[1:]))
    head = POINTS[-1]
    rows = []
    for py in range(SIZE):
        y = py + 0.5
        row = bytearray([0])  # PNG filter type 0 (None) for this scanline
        t = (y - TILE_MIN) / (TILE_MAX - TILE_MIN)
        tile_rgb = lerp(TILE_TOP, TILE_BOTTOM, min(1.0, max(0.0, t)))
        for px in range(SIZE):
            x = px + 0.5
            tile = coverage(rounded_rect_sd(x, y))
            if tile <= 0.0:
                row += b"\x00\x00\x00\x00"
                continue
            pix = (tile_rgb[0], tile_rgb[1], tile_rgb[2], tile)

            # Grid lines.
            if GRID_X0 <= x <= GRID_X1:
                d = min(abs(y - gy) for gy in GRID_YS)
                pix = over(pix, GRID_COLOR, coverage(d - GRID_HALF_WIDTH) * 0.8 * tile)

            # Soft fill between the line and the bottom, fading out downwards.
            ly = line_y_at(x)
            if ly is not None and y > ly and y < FILL_BOTTOM:
                fade = 1.0 - (y - ly) / (FILL_BOTTOM - ly)
                edge = min(1.0, y - ly)  # ramp in over the first pixel under the line
                pix = over(pix, LINE_COLOR, FILL_ALPHA * fade * fade * edge * tile)

            # The line itself, then the dot at its head.
            d = min(segment_distance(x, y, a, b) for a, b in segments)
            pix = over(pix, LINE_COLOR, coverage(d - LINE_HALF_WIDTH) * tile)
            d = math.hypot(x - head[0], y - head[1])
            pix = over(pix, DOT_COLOR, coverage(d - DOT_RADIUS) * tile)

            r, g, b, a = pix
            row += bytes(
                (
                    int(round(min(255.0, max(0.0, r)))),
                    int(round(min(255.0, max(0.0, g)))),
                    int(round(min(255.0, max(0.0, b)))),
                    int(round(min(1.0, max(0.0, a)) * 255.0)),
                )
            )
        rows.append(bytes(row))
    return b"".join(rows)


def png_bytes(width, height, raw_rgba_scanlines):
    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)  # 8-bit RGBA
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw_rgba_scanlines, 9))
        + chunk(b"IEND", b"")
    )


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "source.png")
    with open(out, "wb") as f:
        f.write(png_bytes(SIZE, SIZE, render()))
    print(f"wrote {out} ({SIZE}x{SIZE})", file=sys.stderr)


if __name__ == "__main__":
    main()
