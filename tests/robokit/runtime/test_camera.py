"""Cameras through OpenCV: a real mp4 file read at its own rate (as a camera delivers frames), the names
and sources ``--camera NAME=SOURCE`` takes, and what is refused before any arm is touched."""

from __future__ import annotations

import time

import numpy as np
import pytest

from robokit.runtime.camera import Camera, CameraError, CameraSpec

FPS, FRAMES = 20, 30


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    """An H.264 mp4 whose frame k is grey level 8 * k (so a decoded frame tells which one it is)."""
    import imageio.v2 as imageio

    path = tmp_path_factory.mktemp("camera") / "clip.mp4"
    with imageio.get_writer(str(path), fps=FPS, codec="libx264", pixelformat="yuv420p", macro_block_size=1,
                            ffmpeg_log_level="error") as writer:  # fmt: skip
        for k in range(FRAMES):
            writer.append_data(np.full((48, 64, 3), 8 * k, dtype=np.uint8))
    return path


def test_a_video_file_is_read_at_its_own_rate_and_then_ends(clip):
    with Camera(CameraSpec("front", str(clip))) as camera:
        assert camera.shape == (48, 64)
        first, age = camera.latest()
        assert first.shape == (48, 64, 3) and first.dtype == np.uint8 and age < 1.0
        time.sleep(0.5)  # 10 frames at 20 fps
        frame, _ = camera.latest()
        index = round(float(frame.mean()) / 8)
        assert 6 <= index <= 14, index  # neither stuck at the start nor raced to the end
        time.sleep(FRAMES / FPS)
        with pytest.raises(CameraError, match="camera front: the stream .* ended"):
            camera.latest()


def test_a_source_opencv_cannot_open_is_one_camera_error(tmp_path):
    with pytest.raises(CameraError, match="camera side: OpenCV cannot open"):
        Camera(CameraSpec("side", str(tmp_path / "missing.mp4")))


@pytest.mark.parametrize(
    ("text", "expected"),
    [("front=0", CameraSpec("front", 0)), ("wrist_2=/dev/video2", CameraSpec("wrist_2", "/dev/video2")),
     ("top=http://127.0.0.1:8080/s.mjpg", CameraSpec("top", "http://127.0.0.1:8080/s.mjpg"))],
)  # fmt: skip
def test_camera_specs_name_a_camera_and_its_source(text, expected):
    assert CameraSpec.parse(text) == expected


@pytest.mark.parametrize("text", ["front", "front=", "=0", "Front=0", "a b=0", "x" * 40 + "=0"])
def test_a_camera_spec_that_is_not_name_equals_source_is_refused(text):
    with pytest.raises(ValueError, match="--camera"):
        CameraSpec.parse(text)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--camera", "front=0"], "--camera records frames: give --record DIR"),
        (["--record", "R", "--camera", "front=0", "--camera", "front=1"], "a camera named twice (front)"),
        (["--record", "R", "--camera", "front=MISSING"], "camera front: OpenCV cannot open"),
        (["--record", "R", "--camera", "Front=0"], "a name is a lowercase word"),
    ],
)
def test_teleop_refuses_a_bad_camera_before_any_arm(extra, message, tmp_path, capsys):
    from robokit.cli.teleop import main

    argv = [a.replace("MISSING", str(tmp_path / "none.mp4")).replace("R", str(tmp_path / "rec"), 1)
            if a in ("R", "front=MISSING") else a for a in extra]  # fmt: skip
    try:
        code = main(
            ["--leader", str(tmp_path / "no-leader"), "--follower", str(tmp_path / "no-follower"), *argv]
        )
    except SystemExit as exc:  # argparse's own refusal
        code = exc.code
    err = capsys.readouterr().err
    assert code == 2 and message in err and err.count("\n") == 1, err
    assert not (tmp_path / "rec").exists()
