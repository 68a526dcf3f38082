"""Small deterministic SVG charts for reports: no JavaScript, no fonts or files to fetch.

Each function returns a complete <svg> element as text; labels are XML-escaped here.
"""
from __future__ import annotations

from html import escape

WIDTH, ROW, LEFT, RIGHT = 640, 26, 150, 120
PASS, FAIL, NEUTRAL, LIMIT = "#2e7d32", "#c62828", "#607d8b", "#ef6c00"
FONT = 'font-family="sans-serif" font-size="12"'


def _num(value: float) -> str:
    return f"{value:.1f}"


def _opening(title: str, width: int, height: int) -> list[str]:
    """The <svg> element's start, its title and the title shown at the top."""
    return [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">',
            f'<title>{escape(title)}</title>',
            f'<text x="4" y="18" {FONT} font-weight="bold">{escape(title)}</text>']


def bar_chart(title: str, rows: list[tuple[str, float, str, bool | None]], limit: float | None = None,
              limit_label: str = "") -> str:
    """Horizontal bars: (label, value, value text, passed) per row; an optional limit as a dashed line."""
    top, height = 30, 30 + ROW * len(rows) + 24
    span = max([v for _, v, _, _ in rows] + [limit or 0]) or 1.0
    scale = (WIDTH - LEFT - RIGHT) / span
    parts = _opening(title, WIDTH, height)
    for i, (label, value, text, passed) in enumerate(rows):
        y = top + i * ROW
        color = NEUTRAL if passed is None else PASS if passed else FAIL
        parts.append(f'<text x="{LEFT - 6}" y="{y + 15}" {FONT} text-anchor="end">{escape(label)}</text>')
        parts.append(f'<rect x="{LEFT}" y="{y + 3}" width="{_num(max(value * scale, 1))}" height="{ROW - 8}" '
                     f'fill="{color}"/>')
        parts.append(f'<text x="{_num(LEFT + value * scale + 6)}" y="{y + 15}" {FONT}>{escape(text)}</text>')
    if limit is not None:
        x = _num(LEFT + limit * scale)
        parts.append(f'<line x1="{x}" y1="{top - 4}" x2="{x}" y2="{top + ROW * len(rows)}" stroke="{LIMIT}" '
                     f'stroke-width="2" stroke-dasharray="5,3"/>')
        parts.append(f'<text x="{x}" y="{height - 6}" {FONT} fill="{LIMIT}" text-anchor="middle">'
                     f'{escape(limit_label)}</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def scatter(title: str, points: list[tuple[str, float, float, bool | None]], x_label: str, y_label: str,
            x_limit: float | None = None, y_limit: float | None = None, x_limit_label: str = "",
            y_limit_label: str = "") -> str:
    """Points (label, x, y, passed) with axes from zero on x and around the data on y; limits as dashed lines."""
    width, height, left, bottom, top, right = WIDTH, 340, 60, 40, 30, 30
    xs = [x for _, x, _, _ in points] + ([x_limit] if x_limit is not None else [])
    ys = [y for _, _, y, _ in points] + ([y_limit] if y_limit is not None else [])
    x_max = max(xs) * 1.1 or 1.0
    y_low, y_high = min(ys), max(ys)
    pad = max((y_high - y_low) * 0.15, 0.01)
    y_low, y_high = max(0.0, y_low - pad), min(1.0, y_high + pad) if y_high <= 1 else y_high + pad

    def px(x):
        return left + x / x_max * (width - left - right)

    def py(y):
        return height - bottom - (y - y_low) / ((y_high - y_low) or 1) * (height - top - bottom)

    parts = [*_opening(title, width, height),
             f'<line x1="{left}" y1="{height - bottom}" x2="{width - right}" y2="{height - bottom}" stroke="#444"/>',
             f'<line x1="{left}" y1="{top}" x2="{left}" y2="{height - bottom}" stroke="#444"/>',
             f'<text x="{(left + width - right) // 2}" y="{height - 8}" {FONT} text-anchor="middle">'
             f'{escape(x_label)}</text>',
             f'<text x="14" y="{(top + height - bottom) // 2}" {FONT} text-anchor="middle" '
             f'transform="rotate(-90 14 {(top + height - bottom) // 2})">{escape(y_label)}</text>',
             f'<text x="{left - 4}" y="{_num(py(y_low) + 4)}" {FONT} text-anchor="end">{y_low:.3f}</text>',
             f'<text x="{left - 4}" y="{_num(py(y_high) + 4)}" {FONT} text-anchor="end">{y_high:.3f}</text>',
             f'<text x="{_num(px(x_max))}" y="{height - bottom + 14}" {FONT} text-anchor="end">{x_max:.1f}</text>']
    if y_limit is not None:
        parts.append(f'<line x1="{left}" y1="{_num(py(y_limit))}" x2="{width - right}" y2="{_num(py(y_limit))}" '
                     f'stroke="{LIMIT}" stroke-width="2" stroke-dasharray="5,3"/>')
        parts.append(f'<text x="{width - right}" y="{_num(py(y_limit) - 4)}" {FONT} fill="{LIMIT}" '
                     f'text-anchor="end">{escape(y_limit_label)}</text>')
    if x_limit is not None:
        parts.append(f'<line x1="{_num(px(x_limit))}" y1="{top}" x2="{_num(px(x_limit))}" y2="{height - bottom}" '
                     f'stroke="{LIMIT}" stroke-width="2" stroke-dasharray="5,3"/>')
        parts.append(f'<text x="{_num(px(x_limit) - 4)}" y="{top + 12}" {FONT} fill="{LIMIT}" text-anchor="end">'
                     f'{escape(x_limit_label)}</text>')
    for i, (label, x, y, passed) in enumerate(points):
        color = NEUTRAL if passed is None else PASS if passed else FAIL
        parts.append(f'<circle cx="{_num(px(x))}" cy="{_num(py(y))}" r="6" fill="{color}"/>')
        # labels of nearby points would overlap: stack them, each on its own line above the point
        close = sum(1 for _, x2, y2, _ in points[:i] if abs(px(x2) - px(x)) < 40 and abs(py(y2) - py(y)) < 14)
        parts.append(f'<text x="{_num(px(x) + 9)}" y="{_num(py(y) - 6 - 14 * close)}" {FONT}>{escape(label)}</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def xy(title: str, points: list[tuple[float, float]], x_label: str, y_label: str) -> str:
    """Many unlabelled points (x, y) on equal axes, with the line y = x: predicted against true values."""
    size, margin = 340, 50
    values = [v for point in points for v in point] or [0.0, 1.0]
    low, high = min(values), max(values)
    pad = (high - low) * 0.05 or 1.0
    low, high = low - pad, high + pad

    def at(v: float) -> float:
        return (v - low) / (high - low) * (size - 2 * margin)

    parts = [*_opening(title, size, size),
             f'<rect x="{margin}" y="{margin}" width="{size - 2 * margin}" height="{size - 2 * margin}" fill="none" '
             f'stroke="#444"/>',
             f'<line x1="{margin}" y1="{size - margin}" x2="{size - margin}" y2="{margin}" stroke="{LIMIT}" '
             f'stroke-width="1.5" stroke-dasharray="5,3"/>',
             f'<text x="{size // 2}" y="{size - 12}" {FONT} text-anchor="middle">{escape(x_label)}</text>',
             f'<text x="14" y="{size // 2}" {FONT} text-anchor="middle" transform="rotate(-90 14 {size // 2})">'
             f'{escape(y_label)}</text>',
             f'<text x="{margin}" y="{size - margin + 14}" {FONT}>{low:.4g}</text>',
             f'<text x="{size - margin}" y="{size - margin + 14}" {FONT} text-anchor="end">{high:.4g}</text>']
    for x, y in points:
        parts.append(f'<circle cx="{_num(margin + at(x))}" cy="{_num(size - margin - at(y))}" r="2.5" '
                     f'fill="{NEUTRAL}" fill-opacity="0.7"/>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def curve(title: str, points: list[tuple[float, float]], x_label: str, y_label: str) -> str:
    """A line through (x, y) points, both axes 0..1: a precision-recall curve."""
    size, margin = 340, 50
    inner = size - 2 * margin

    def at(x: float, y: float) -> str:
        return f"{_num(margin + x * inner)},{_num(size - margin - y * inner)}"

    parts = [*_opening(title, size, size),
             f'<rect x="{margin}" y="{margin}" width="{inner}" height="{inner}" fill="none" stroke="#444"/>',
             f'<text x="{size // 2}" y="{size - 12}" {FONT} text-anchor="middle">{escape(x_label)}</text>',
             f'<text x="14" y="{size // 2}" {FONT} text-anchor="middle" transform="rotate(-90 14 {size // 2})">'
             f'{escape(y_label)}</text>',
             f'<text x="{margin}" y="{size - margin + 14}" {FONT}>0</text>',
             f'<text x="{size - margin}" y="{size - margin + 14}" {FONT} text-anchor="end">1</text>',
             f'<text x="{margin - 4}" y="{margin + 4}" {FONT} text-anchor="end">1</text>']
    if points:
        parts.append(f'<polyline fill="none" stroke="{PASS}" stroke-width="2" '
                     f'points="{" ".join(at(x, y) for x, y in points)}"/>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


MASK_COLOURS = [(0, 0, 0), (230, 159, 0), (86, 180, 233), (0, 158, 115), (240, 228, 66), (0, 114, 178),
                (213, 94, 0), (204, 121, 167)]  # Okabe-Ito, then repeated; "ignore" is grey
IGNORE_COLOUR = (128, 128, 128)


def mask_grid_png(pictures, rows_of_masks: list[list], zoom: int = 4) -> bytes:
    """One PNG: per row a picture (H x W x 1 or 3, 0..255) then its masks (class indices, 255: ignore),
    each scaled to the picture's size and by `zoom` (nearest), side by side with a 4-pixel gap."""
    import io

    import numpy as np
    from PIL import Image

    def tile(array, size):
        return Image.fromarray(array).resize((size[1] * zoom, size[0] * zoom), Image.Resampling.NEAREST)

    palette = np.array([MASK_COLOURS[i % len(MASK_COLOURS)] for i in range(256)], np.uint8)
    palette[255] = IGNORE_COLOUR
    tiles = []
    for picture, masks in zip(pictures, rows_of_masks):
        picture = np.clip(np.asarray(picture, np.float32), 0, 255).astype(np.uint8)
        if picture.ndim == 3 and picture.shape[-1] == 1:
            picture = picture[..., 0]
        size = picture.shape[:2]
        tiles.append([tile(picture, size)] + [tile(palette[np.asarray(m, np.uint8)], size) for m in masks])
    gap, width, height = 4, tiles[0][0].width, tiles[0][0].height
    columns = max(len(row) for row in tiles)
    grid = Image.new("RGB", (columns * (width + gap) - gap, len(tiles) * (height + gap) - gap), (255, 255, 255))
    for r, row in enumerate(tiles):
        for c, image in enumerate(row):
            grid.paste(image.convert("RGB"), (c * (width + gap), r * (height + gap)))
    out = io.BytesIO()
    grid.save(out, format="PNG", optimize=False)
    return out.getvalue()


def boxes_grid_png(pictures, rows_of_boxes: list[list[list]], labels: list[str], zoom: int = 4) -> bytes:
    """One PNG: per row a picture (H x W x 1 or 3, 0..255) repeated, each copy with one set of boxes drawn
    on it (the true ones, then each target's): boxes are (class, score or None, x, y, w, h) in the picture's
    pixels after `zoom`; each class has its colour, and a box with a score is labelled with it."""
    import io

    import numpy as np
    from PIL import Image, ImageDraw

    gap, tiles = 4, []
    for picture, box_sets in zip(pictures, rows_of_boxes):
        picture = np.clip(np.asarray(picture, np.float32), 0, 255).astype(np.uint8)
        if picture.ndim == 3 and picture.shape[-1] == 1:
            picture = picture[..., 0]
        base = Image.fromarray(picture).convert("RGB")
        base = base.resize((base.width * zoom, base.height * zoom), Image.Resampling.NEAREST)
        row = []
        for boxes in box_sets:
            image = base.copy()
            draw = ImageDraw.Draw(image)
            for label, score, x, y, w, h in boxes:
                colour = MASK_COLOURS[1 + int(label) % (len(MASK_COLOURS) - 1)]
                draw.rectangle([x, y, x + w, y + h], outline=colour, width=2)
                text = labels[int(label)] + ("" if score is None else f" {score:.2f}")
                draw.text((x + 3, y + 2), text, fill=colour)
            row.append(image)
        tiles.append(row)
    width, height = tiles[0][0].width, tiles[0][0].height
    columns = max(len(row) for row in tiles)
    grid = Image.new("RGB", (columns * (width + gap) - gap, len(tiles) * (height + gap) - gap), (255, 255, 255))
    for r, row in enumerate(tiles):
        for c, image in enumerate(row):
            grid.paste(image, (c * (width + gap), r * (height + gap)))
    out = io.BytesIO()
    grid.save(out, format="PNG", optimize=False)
    return out.getvalue()


CLIP_SIZE = (240, 64)  # each panel of a sound clip's picture, in pixels


def clip_png(samples, rate: int, fft: int = 512, hop: int = 160) -> bytes:
    """One PNG of a sound clip (a mono waveform in -1..1): its waveform (each pixel column spans the min..max of
    its samples) beside its log power spectrogram (Hann windows of `fft` samples every `hop`, 80 dB of range
    below the clip's loudest bin, low frequencies at the bottom, from white to dark blue)."""
    import io

    import numpy as np
    from PIL import Image, ImageDraw

    width, height = CLIP_SIZE
    samples = np.asarray(samples, np.float32)
    wave = Image.new("RGB", (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(wave)
    draw.line([(0, height // 2), (width - 1, height // 2)], fill=(220, 220, 220))
    for x, part in enumerate(np.array_split(samples, width)):
        if part.size:
            top = int(round((1 - float(np.clip(part.max(), -1, 1))) * (height - 1) / 2))
            bottom = int(round((1 - float(np.clip(part.min(), -1, 1))) * (height - 1) / 2))
            draw.line([(x, top), (x, bottom)], fill=(21, 101, 192))
    padded = np.concatenate([samples, np.zeros(max(fft - len(samples), 0), np.float32)])
    starts = range(0, len(padded) - fft + 1, hop)
    frames = np.stack([padded[s:s + fft] for s in starts]) * np.hanning(fft).astype(np.float32)
    power = np.abs(np.fft.rfft(frames, axis=1)) ** 2
    decibels = 10 * np.log10(np.maximum(power, 1e-12))
    shade = np.clip((decibels - (decibels.max() - 80)) / 80, 0, 1).T[::-1]  # [frequency, time], low at the bottom
    dark = np.array([13, 71, 161], np.float32)
    pixels = (255 - shade[..., None] * (255 - dark)).astype(np.uint8)
    spectrogram = Image.fromarray(pixels).resize((width, height), Image.Resampling.BILINEAR)
    gap = 4
    grid = Image.new("RGB", (2 * width + gap, height), (255, 255, 255))
    grid.paste(wave, (0, 0))
    grid.paste(spectrogram, (width + gap, 0))
    out = io.BytesIO()
    grid.save(out, format="PNG", optimize=False)
    return out.getvalue()


def stacked_png(pngs: list[bytes], gap: int = 4) -> bytes:
    """PNGs of one width, one under the other."""
    import io

    from PIL import Image

    images = [Image.open(io.BytesIO(data)).convert("RGB") for data in pngs]
    grid = Image.new("RGB", (max(i.width for i in images), sum(i.height for i in images) + gap * (len(images) - 1)),
                     (255, 255, 255))
    y = 0
    for image in images:
        grid.paste(image, (0, y))
        y += image.height + gap
    out = io.BytesIO()
    grid.save(out, format="PNG", optimize=False)
    return out.getvalue()
