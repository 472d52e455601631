"""Text colour contrast (WCAG 2): labels written in their edge's colour, dark enough to read."""

from __future__ import annotations

import functools
from collections.abc import Iterable


def _luminance(rgb: Iterable[float]) -> float:
    """WCAG 2 relative luminance of an sRGB colour (channels 0..255)."""
    lin = [c / 255 / 12.92 if c / 255 <= 0.04045 else ((c / 255 + 0.055) / 1.055) ** 2.4 for c in rgb]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def contrast(colour: str, background: str = "#FFFFFF") -> float:
    """WCAG 2 contrast ratio of two ``#RRGGBB`` colours (1 to 21)."""
    a, b = (_luminance(int(c[i:i + 2], 16) for i in (1, 3, 5)) for c in (colour, background))
    return (max(a, b) + 0.05) / (min(a, b) + 0.05)


@functools.cache
def label_colour(colour: str, ratio: float = 4.5) -> str:
    """``colour`` darkened, hue kept, until text in it on white reaches the WCAG AA
    contrast ``ratio`` (edge labels are written in their edge's colour). Cached: a live
    diagram asks for the same few colours hundreds of times per redraw."""
    rgb = [int(colour[i:i + 2], 16) for i in (1, 3, 5)]
    for step in range(101):
        out = "#" + "".join(f"{round(c * (1 - step / 100)):02X}" for c in rgb)
        if contrast(out) >= ratio:
            return out
    return "#000000"  # pragma: no cover - step 100 is black, contrast 21


__all__ = ["contrast", "label_colour"]
