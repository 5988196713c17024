"""A user's inputs as the network's crops: image files (PNG, JPEG, ... any size), folders of
them, videos (every n-th frame, PyAV).

A crop is what the datasets hold: uint8 (128, 128, 3), one person roughly centred. An
input of another size is scaled so that its longer side is 128 pixels (Lanczos) and padded
to a square with the training set's mean colour, which the network's input subtracts to
zero; a 128 x 128 input is taken as it is, so an image exported from a dataset gives the
very pixels the evaluation reads. The network then sees the test-time centre crop
(112 x 112 at offset 8, ``Dataset.preprocess``)."""
import os
import sys
from dataclasses import dataclass

import numpy as np

from structnet.data.export import INDEX
from structnet.errors import UserError

CROP = 128
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm")
VIDEO_SUFFIXES = (".mp4", ".mkv", ".avi", ".mov", ".webm", ".m4v", ".mpg", ".mpeg")


@dataclass
class Item:
    """One network input: ``image`` uint8 (128,128,3); ``frame`` and ``time_s`` for a video."""
    name: str
    path: str
    image: np.ndarray
    frame: int | None = None
    time_s: float | None = None


def to_crop(rgb, fill=(0, 0, 0)):
    """uint8 (H,W,3) of any size -> uint8 (128,128,3): scaled (longer side 128) and padded
    (centred, ``fill`` RGB); a 128 x 128 image is returned as it is."""
    from PIL import Image
    a = np.asarray(rgb)
    if a.ndim != 3 or a.shape[2] != 3 or a.shape[0] < 1 or a.shape[1] < 1:
        raise ValueError(f"an image must be (H, W, 3), got {a.shape}")
    if a.dtype != np.uint8:
        raise ValueError(f"an image must be uint8 (0-255), got {a.dtype}")
    if a.shape[:2] == (CROP, CROP):
        return np.ascontiguousarray(a)
    h, w = a.shape[:2]
    s = CROP / max(h, w)
    nh, nw = max(1, round(h * s)), max(1, round(w * s))
    small = np.asarray(Image.fromarray(a).resize((nw, nh), Image.LANCZOS))
    out = np.empty((CROP, CROP, 3), np.uint8)
    out[:] = np.clip(np.round(np.asarray(fill, np.float64)), 0, 255).astype(np.uint8)
    oy, ox = (CROP - nh) // 2, (CROP - nw) // 2
    out[oy:oy + nh, ox:ox + nw] = small
    return out


def expand(inputs):
    """INPUT arguments -> [(kind, path)], kind "image" or "video", in the order given (a
    folder's files sorted by name). A missing path, a folder with no image or video, a file
    of neither kind: one-line errors."""
    out = []
    for p in inputs:
        p = os.fspath(p)
        if os.path.isdir(p):
            names = sorted(os.listdir(p))
            files = [n for n in names if os.path.isfile(os.path.join(p, n)) and not n.startswith(".")]
            found = [(_kind(n), os.path.join(p, n)) for n in files]
            skipped = [os.path.basename(f) for k, f in found if not k and os.path.basename(f) != INDEX]
            found = [(k, f) for k, f in found if k]
            if skipped and found:
                print(f"predict: {p}: skipped {len(skipped)} file{'s' if len(skipped) > 1 else ''} that"
                      f" {'are' if len(skipped) > 1 else 'is'} neither an image nor a video (e.g. {skipped[0]})",
                      file=sys.stderr)
            if not found:
                raise UserError(f"{p}: a folder with no image or video file (suffixes "
                                f"{', '.join(IMAGE_SUFFIXES + VIDEO_SUFFIXES)})")
            out += found
        elif os.path.isfile(p):
            k = _kind(p)
            if k is None:
                raise UserError(f"{p}: not an image or video file by its name (suffixes "
                                f"{', '.join(IMAGE_SUFFIXES + VIDEO_SUFFIXES)})")
            out.append((k, p))
        elif os.path.exists(p):
            raise UserError(f"{p}: neither a file nor a folder")
        else:
            raise UserError(f"{p}: no such file or folder")
    return out


def _kind(name):
    s = os.path.splitext(name)[1].lower()
    return "image" if s in IMAGE_SUFFIXES else "video" if s in VIDEO_SUFFIXES else None


def read_image(path):
    """uint8 (H,W,3) RGB of an image file; an unreadable file is a one-line error."""
    from PIL import Image, UnidentifiedImageError
    try:
        with Image.open(path) as im:
            im.load()
            rgb = im.convert("RGB")
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError, SyntaxError) as e:
        raise UserError(f"{path}: not an image that Pillow can read ({' '.join(str(e).split()) or type(e).__name__})"
                        ) from None
    return np.asarray(rgb, np.uint8)


def video_frames(path, every=1):
    """(frame number, time s, uint8 (H,W,3)) of every ``every``-th frame of a video (PyAV);
    a file PyAV cannot open, without a video stream or without frames: one-line errors."""
    import av
    try:
        container = av.open(path)
    except (av.error.FFmpegError, OSError, ValueError) as e:
        raise UserError(f"{path}: not a video that PyAV can read ({' '.join(str(e).split())})") from None
    n = 0
    try:
        if not container.streams.video:
            raise UserError(f"{path}: no video stream")
        stream = container.streams.video[0]
        try:
            for i, frame in enumerate(container.decode(stream)):
                n += 1
                if i % every == 0:
                    t = frame.time if frame.time is not None else i / float(stream.average_rate or 25)
                    yield i, float(t), frame.to_ndarray(format="rgb24")
        except av.error.FFmpegError as e:
            if n == 0:
                raise UserError(f"{path}: not a video that PyAV can read ({' '.join(str(e).split())})") from None
            raise UserError(f"{path}: unreadable after frame {n - 1} ({' '.join(str(e).split())})") from None
    finally:
        container.close()
    if n == 0:
        raise UserError(f"{path}: a video without frames")


def frame_count(path):
    """The number of frames a video says it has (0 where it does not say)."""
    import av
    try:
        with av.open(path) as c:
            return int(c.streams.video[0].frames) if c.streams.video else 0
    except (av.error.FFmpegError, OSError, ValueError):
        return 0


def items(sources, every=1, fill=(0, 0, 0)):
    """Yield an ``Item`` per image and per kept video frame of ``expand``'s sources."""
    for kind, path in sources:
        name = os.path.basename(path)
        if kind == "image":
            yield Item(name, path, to_crop(read_image(path), fill))
        else:
            for i, t, rgb in video_frames(path, every):
                yield Item(f"{name}#{i}", path, to_crop(rgb, fill), i, t)
