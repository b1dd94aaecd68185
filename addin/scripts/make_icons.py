"""Draws the add-in's icons (an envelope with a warning mark) into addin/src/assets/.

Run once by hand when the design changes: `.venv/bin/python addin/scripts/make_icons.py`.
The PNGs are committed; Pillow comes with matplotlib in the dev tools.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

ASSETS = Path(__file__).resolve().parents[1] / "src" / "assets"
BLUE = (0, 120, 212, 255)
WHITE = (255, 255, 255, 255)
ORANGE = (216, 59, 1, 255)


def envelope(size: int, background: tuple[int, int, int, int] | None, ink: tuple[int, int, int, int]) -> Image.Image:
    """An envelope on a rounded square (or on transparency for the outline icon)."""
    scale = 4  # draw large, then downsample for smooth edges
    s = size * scale
    img = Image.new("RGBA", (s, s), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    if background:
        d.rounded_rectangle([0, 0, s - 1, s - 1], radius=s // 6, fill=background)
    w = max(scale, s // 14)
    left, top, right, bottom = s * 0.17, s * 0.28, s * 0.83, s * 0.72
    d.rectangle([left, top, right, bottom], outline=ink, width=w)
    d.line([(left, top), (s / 2, s * 0.52), (right, top)], fill=ink, width=w, joint="curve")
    if background:
        r = s * 0.17
        cx, cy = s * 0.78, s * 0.74
        d.ellipse([cx - r, cy - r, cx + r, cy + r], fill=ORANGE, outline=background, width=w // 2)
        d.line([(cx, cy - r * 0.55), (cx, cy + r * 0.15)], fill=WHITE, width=w)
        d.ellipse([cx - w / 2, cy + r * 0.35, cx + w / 2, cy + r * 0.35 + w], fill=WHITE)
    return img.resize((size, size), Image.LANCZOS)


def main() -> None:
    ASSETS.mkdir(parents=True, exist_ok=True)
    for size in (16, 32, 64, 80, 128):
        envelope(size, BLUE, WHITE).save(ASSETS / f"icon-{size}.png")
    envelope(192, BLUE, WHITE).save(ASSETS / "color.png")  # unified manifest: 192x192
    envelope(32, None, WHITE).save(ASSETS / "outline.png")  # unified manifest: 32x32, white on transparent


if __name__ == "__main__":
    main()
