"""Evaluation videos: text overlays, H.264 mp4 files (imageio-ffmpeg), grid montages.

Frames are (H, W, 3) uint8. Sizes should be multiples of 16 (H.264 macroblocks); others are padded.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

MIN_TEXT_PX = 20  # font size: a line's ink (ascender to descender) is about 19 px tall, readable
_FONTS: dict[int, Any] = {}


def font_px(frame_height: int) -> int:
    """Font size (px) for a frame: 1/24 of its height, at least ``MIN_TEXT_PX``."""
    return max(MIN_TEXT_PX, frame_height // 24)


def _font(size: int) -> Any:
    if size not in _FONTS:
        from PIL import ImageFont

        try:
            _FONTS[size] = ImageFont.load_default(size=size)
        except TypeError:  # Pillow < 10.1: a fixed bitmap font
            _FONTS[size] = ImageFont.load_default()
    return _FONTS[size]


def overlay(frame: np.ndarray, lines: Sequence[str]) -> np.ndarray:
    """``frame`` (H, W, 3) uint8 with ``lines`` of text in a dark box at the top left, the font sized
    to the frame (``font_px``): draw it at the size the frame is shown, not before a downscale."""
    from PIL import Image, ImageDraw

    img = Image.fromarray(frame)
    draw = ImageDraw.Draw(img)
    size = font_px(frame.shape[0])
    font = _font(size)
    pitch = round(size * 1.2)
    width = max(draw.textlength(t, font=font) for t in lines) if lines else 0
    margin = max(4, size // 4)
    draw.rectangle(
        [margin, margin, 2 * margin + width + 4, 2 * margin + pitch * len(lines)], fill=(20, 20, 20)
    )
    for i, text in enumerate(lines):
        draw.text((margin + 4, margin + 2 + pitch * i), text, fill=(240, 240, 240), font=font)
    return np.asarray(img)


def write_mp4(path: str | Path, frames: Iterable[np.ndarray], fps: float, threads: int = 1) -> Path:
    """Write frames as an H.264 (yuv420p) mp4 a person can open, at the frames' size (an odd side gains one
    pixel: yuv420p needs even sides); returns the path."""
    import imageio.v2 as imageio

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = imageio.get_writer(
        str(path),
        fps=fps,
        codec="libx264",
        pixelformat="yuv420p",
        macro_block_size=2,  # yuv420p needs even sides: an odd one gains a pixel, an even one stays
        ffmpeg_log_level="error",
        ffmpeg_params=["-preset", "veryfast", "-crf", "23", "-threads", str(threads)],
    )
    try:
        for f in frames:
            writer.append_data(np.ascontiguousarray(f))
    finally:
        writer.close()
    return path


def downscale(frame: np.ndarray, factor: int) -> np.ndarray:
    """Average-pool by an integer factor: (H, W, 3) -> (H // f, W // f, 3)."""
    if factor == 1:
        return frame
    h, w = frame.shape[0] // factor * factor, frame.shape[1] // factor * factor
    f = frame[:h, :w].reshape(h // factor, factor, w // factor, factor, 3).mean(axis=(1, 3))
    return f.astype(np.uint8)


def grid(episodes: Sequence[Sequence[np.ndarray]], cols: int | None = None) -> list[np.ndarray]:
    """Montage of several episodes' frames side by side; shorter episodes hold their last frame."""
    if not episodes:
        return []
    n = len(episodes)
    cols = cols or int(np.ceil(np.sqrt(n)))
    rows = int(np.ceil(n / cols))
    h, w, _ = episodes[0][0].shape
    length = max(len(e) for e in episodes)
    out = []
    for t in range(length):
        canvas = np.zeros((rows * h, cols * w, 3), dtype=np.uint8)
        for i, ep in enumerate(episodes):
            r, c = divmod(i, cols)
            canvas[r * h : (r + 1) * h, c * w : (c + 1) * w] = ep[min(t, len(ep) - 1)]
        out.append(canvas)
    return out


def read_mp4(path: str | Path) -> tuple[int, tuple[int, int]]:
    """(number of frames, (height, width)) by decoding the whole file."""
    import imageio.v2 as imageio

    reader = imageio.get_reader(str(path))
    try:
        n, shape = 0, (0, 0)
        for frame in reader:
            n += 1
            shape = frame.shape[:2]
    finally:
        reader.close()
    return n, shape
