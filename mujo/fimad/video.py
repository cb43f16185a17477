"""Write browser-friendly H.264 mp4 files atomically, read them back and describe them (PyAV).

Every reader opens a file with `open_video`, which turns whatever PyAV raises for a hostile file (FFmpeg errors,
undecodable metadata, a stream without a decoder, absurd frame sizes) into a VideoError naming the file.
"""

from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from fractions import Fraction
from pathlib import Path
from typing import Any, Iterable, Iterator

import av
import cv2
import numpy as np

from mujo.fimad.errors import VideoError

__all__ = ["VideoError", "write_mp4", "video_info", "read_frames", "open_video"]

MAX_PIXELS = 4096 * 4096  # a frame larger than this is refused before it is decoded (48 MiB as RGB)
# What PyAV raises for broken or hostile files besides FFmpegError (found by tests/mp4_fuzz.py): metadata that is not
# UTF-8, sizes that overflow, allocations that fail; a ValueError from PyAV (VideoError is one too, and passes).
_READ_ERRORS = (av.FFmpegError, UnicodeError, OverflowError, MemoryError, ValueError)


def _rate(fps: float) -> Fraction:
    if not fps > 0:
        raise ValueError(f"fps must be positive, got {fps}")
    return Fraction(fps).limit_denominator(1001)


def even_frame(frame: np.ndarray) -> np.ndarray:
    """Pad an odd width/height by repeating the last column/row: yuv420p needs even sizes."""
    h, w = frame.shape[:2]
    if h % 2 or w % 2:
        frame = np.pad(frame, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge")
    return frame


def write_mp4(path: str | os.PathLike, frames: Iterable[np.ndarray], fps: float, *, crf: int = 28,
              preset: str = "veryfast", gop: int | None = None, threads: int = 0) -> Path:
    """Encode RGB frames as an H.264 mp4 that browsers play and seek precisely.

    libx264, yuv420p, no B-frames (the first frame has pts 0 and no decoding delay), a keyframe every ``gop``
    frames, ``+faststart`` (the index is at the front of the file). The file is written to a temporary name in
    the same folder and renamed at the end, so an interrupted write never leaves a partial file under ``path``.

    Args:
        path: the output file (its folder is created if needed).
        frames: (H, W, 3) uint8 RGB arrays, all the same size; an odd width or height is padded by one pixel.
        fps: frame rate.
        crf: x264 quality (lower is better and larger; 28 is fine for synthetic figures).
        preset: x264 speed preset.
        gop: keyframe interval in frames; default about one second.
        threads: encoder threads; 0 = automatic (use 1 when encoding several files in parallel processes).
    Returns:
        The path written.
    """
    path = Path(path)
    rate = _rate(fps)
    gop = max(1, round(float(rate))) if gop is None else int(gop)
    if gop < 1:
        raise ValueError(f"gop must be >= 1, got {gop}")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    os.chmod(tmp, 0o644)  # mkstemp makes it 0600; a server running as another user must be able to read it
    try:
        n = _encode(tmp, path, frames, rate, crf, preset, gop, threads)
        if n == 0:
            raise VideoError(f"{path}: no frames to write")
        with open(tmp, "rb+") as fh:  # durable before it becomes visible under the final name
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def _encode(tmp: Path, path: Path, frames: Iterable[np.ndarray], rate: Fraction, crf: int, preset: str,
            gop: int, threads: int) -> int:
    """Encode into tmp (format forced to mp4: the name ends in .part); returns the number of frames."""
    shape = None
    with av.open(str(tmp), mode="w", format="mp4", options={"movflags": "+faststart"}) as container:
        stream = container.add_stream("libx264", rate=rate)
        stream.pix_fmt = "yuv420p"
        stream.codec_context.time_base = 1 / rate
        stream.codec_context.thread_count = int(threads)
        stream.codec_context.options = {
            "crf": str(int(crf)), "preset": preset,
            # no B-frames: pts == dts from 0, so no edit list shifts the start; a fixed keyframe interval;
            # tagged BT.601 limited range, which is what the conversion below produces
            "x264-params": f"bframes=0:keyint={gop}:min-keyint={gop}:scenecut=0:"
                           "colorprim=smpte170m:transfer=smpte170m:colormatrix=smpte170m:range=tv",
        }
        i = -1
        for i, frame in enumerate(frames):
            frame = np.asarray(frame)
            if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
                raise VideoError(f"{path}: frame {i} must be (H, W, 3) uint8 RGB, got {frame.shape} {frame.dtype}")
            if shape is None:
                shape = frame.shape
                stream.width, stream.height = even_frame(frame).shape[1], even_frame(frame).shape[0]
            elif frame.shape != shape:
                raise VideoError(f"{path}: frame {i} has shape {frame.shape}, the first frame had {shape}")
            # OpenCV's BT.601 limited-range RGB -> I420 is ~5x faster than PyAV's swscale path
            vf = av.VideoFrame.from_ndarray(cv2.cvtColor(even_frame(frame), cv2.COLOR_RGB2YUV_I420), format="yuv420p")
            vf.pts = i
            vf.time_base = stream.codec_context.time_base
            container.mux(stream.encode(vf))
        if i >= 0:
            container.mux(stream.encode(None))  # flush the encoder
    return i + 1


def _check_file(path: Path) -> None:
    if not path.is_file():
        raise FileNotFoundError(f"video file not found: {path}")


@contextmanager
def open_video(path: str | os.PathLike) -> Iterator[tuple[Any, Any]]:
    """Open a video for reading: (container, its first video stream), closed on exit.

    Raises:
        VideoError: naming the file, for anything PyAV raises while the file is opened or read inside the `with`
            (a broken or hostile file), for a file without a video stream or a decoder for it, and for frames
            larger than MAX_PIXELS.
    """
    path = Path(path)
    try:
        container = av.open(str(path), metadata_errors="replace")  # a title that is not UTF-8 is not fatal
    except VideoError:
        raise
    except _READ_ERRORS as e:
        raise VideoError(f"{path}: not a readable video ({e})") from e
    try:
        if not container.streams.video:
            raise VideoError(f"{path}: the file has no video stream")
        stream = container.streams.video[0]
        cc = stream.codec_context
        if cc is None:
            raise VideoError(f"{path}: no decoder for its video stream (an unknown or broken codec)")
        if (cc.width or 0) * (cc.height or 0) > MAX_PIXELS:
            raise VideoError(f"{path}: {cc.width}x{cc.height} frames; at most {MAX_PIXELS:,} pixels a frame are read")
        yield container, stream
    except VideoError:
        raise
    except _READ_ERRORS as e:
        raise VideoError(f"{path}: not a readable video ({type(e).__name__}: {e})") from e
    finally:
        container.close()


def check_frame(path: Path, frame: Any) -> None:
    """Refuse a decoded frame over MAX_PIXELS before it is converted: a stream may change its size midway (a new
    sequence header in the data), after `open_video` checked the size its header gave."""
    if frame.width * frame.height > MAX_PIXELS:
        raise VideoError(f"{path}: a {frame.width}x{frame.height} frame; at most {MAX_PIXELS:,} pixels a frame are "
                         "read")


def video_info(path: str | os.PathLike) -> dict:
    """Describe a video file.

    Args:
        path: the video file.
    Returns:
        dict with codec (e.g. "h264"), width, height, fps, n_frames, duration_s, start_time_s, pix_fmt and
        size_bytes.
    Raises:
        FileNotFoundError if there is no such file; VideoError naming the file if it is not a readable video
        or holds fewer frames than its index lists (truncated).
    """
    path = Path(path)
    _check_file(path)
    with open_video(path) as (container, s):
        cc, tb = s.codec_context, s.time_base
        fps = float(s.average_rate or s.guessed_rate or 0.0)
        n = sum(1 for p in container.demux(s) if p.size)  # reads the packets, not the pixels: fast
        if s.frames and n < s.frames:
            raise VideoError(f"{path}: truncated video: the index lists {s.frames} frames, the file holds {n}")
        if s.duration is not None and tb is not None:
            duration = float(s.duration * tb)
        elif container.duration is not None:
            duration = container.duration / av.time_base
        else:
            duration = n / fps if fps else 0.0
        start = float(s.start_time * tb) if s.start_time is not None and tb is not None else 0.0
        return {"codec": cc.name, "width": cc.width, "height": cc.height, "fps": fps, "n_frames": int(n),
                "duration_s": duration, "start_time_s": start, "pix_fmt": cc.pix_fmt,
                "size_bytes": path.stat().st_size}


def read_frames(path: str | os.PathLike, *, every: int = 1) -> Iterator[np.ndarray]:
    """Decode a video.

    Args:
        path: the video file.
        every: keep every n-th frame (1 = all), counting from the first.
    Returns:
        An iterator over (H, W, 3) uint8 RGB frames.
    Raises:
        FileNotFoundError / VideoError naming the file (when iteration starts); VideoError after the last
        frame that could be decoded when the file is truncated.
    """
    if every < 1:
        raise ValueError(f"every must be >= 1, got {every}")
    path = Path(path)
    _check_file(path)
    with open_video(path) as (container, stream):
        stream.thread_type = "AUTO"
        n = 0
        for n, frame in enumerate(container.decode(stream), start=1):
            check_frame(path, frame)
            if (n - 1) % every == 0:
                yield frame.to_ndarray(format="rgb24")
        if stream.frames and n < stream.frames:
            raise VideoError(f"{path}: truncated video: decoded {n} of {stream.frames} frames")

