"""Readers of the release's file formats: CDF poses, MATLAB v7.3 masks, mp4 video; the crop.

A problem with one sequence's file raises ``SequenceError`` (one line naming the file);
the extractor reports it and goes on with the other sequences.
"""
import os

import h5py
import numpy as np
from PIL import Image

from structnet.data.dataset import CROP


class SequenceError(Exception):
    """A fault in one sequence's files: reported, never fatal to a whole extraction."""


def read_pose_cdf(path):
    """``Pose`` of a D3_Positions(_mono) CDF -> float32 (N, 32, 3), mm.

    cdflib returns (1, N, 96) or (N, 96) depending on its version; both are accepted.
    """
    import cdflib
    try:
        f = cdflib.CDF(os.fspath(path))
        pose = np.asarray(f.varget("Pose"))
    except FileNotFoundError:
        raise SequenceError(f"{path}: no such file") from None
    except Exception as e:                       # cdflib raises many kinds on a damaged file
        raise SequenceError(f"{path}: unreadable CDF ({type(e).__name__}: {e})") from None
    pose = pose.reshape(-1, pose.shape[-1]) if pose.ndim >= 2 else pose
    if pose.ndim != 2 or pose.shape[1] != 96:
        raise SequenceError(f"{path}: 'Pose' has shape {pose.shape}, expected (N, 96) = 32 joints x 3")
    if len(pose) == 0:
        raise SequenceError(f"{path}: 'Pose' holds no frames")
    if not np.all(np.isfinite(pose)):
        raise SequenceError(f"{path}: 'Pose' contains NaN or inf")
    return pose.reshape(-1, 32, 3).astype(np.float32)


def read_mask_boxes(path):
    """Boxes of a ``ground_truth_bb`` .mat (HDF5, MATLAB v7.3) -> float64 (N, 4) x0, y0, w, h px.

    ``Masks`` is a cell array of frame masks stored as object references; MATLAB writes
    each (H, W) mask transposed, as (W, H). The box is the extent of the pixels equal to 1;
    a frame with an empty mask gets a row of NaN.
    """
    try:
        f = h5py.File(os.fspath(path), "r")
    except FileNotFoundError:
        raise SequenceError(f"{path}: no such file") from None
    except OSError as e:
        raise SequenceError(f"{path}: not an HDF5 (MATLAB v7.3) file ({e})") from None
    with f:
        if "Masks" not in f:
            raise SequenceError(f"{path}: no 'Masks' variable")
        refs = f["Masks"][()].ravel()
        boxes = np.full((len(refs), 4), np.nan)
        for i, ref in enumerate(refs):
            try:
                m = np.asarray(f[ref]).T == 1
            except (ValueError, KeyError, OSError, TypeError) as e:
                raise SequenceError(f"{path}: mask {i} unreadable ({e})") from None
            cols, rows = np.flatnonzero(m.any(0)), np.flatnonzero(m.any(1))
            if len(cols):
                boxes[i] = cols[0], rows[0], cols[-1] - cols[0] + 1, rows[-1] - rows[0] + 1
    return boxes


def square_box(xywh):
    """(x0, y0, w, h) -> the square (x0, y0, side) with the same centre, side = max(w, h), whole px."""
    x0, y0, w, h = xywh
    side = max(int(round(max(w, h))), 2)
    cx, cy = x0 + w / 2, y0 + h / 2
    return np.array([round(cx - side / 2), round(cy - side / 2), side], np.float64)


def crop(frame, box, size=CROP):
    """uint8 (H, W, 3) frame, square box (x0, y0, side) px -> uint8 (size, size, 3).

    Pixels outside the frame are black; downscaling filters (Pillow's bilinear resize
    widens its kernel by the scale, so it does not alias)."""
    x0, y0, side = (int(round(v)) for v in box)
    img = Image.fromarray(frame).crop((x0, y0, x0 + side, y0 + side))
    return np.asarray(img.resize((size, size), Image.BILINEAR))


class Video:
    """Frames of an mp4 through PyAV (FFmpeg): ``for i, get in Video(path): rgb = get()``.

    ``get()`` converts the decoded frame to uint8 (H, W, 3) RGB; frames that are not needed
    are decoded (the codec needs them) but not converted. A decoding failure after some
    frames ends the iteration; ``error`` then holds the message and ``count`` the frames read.
    """

    def __init__(self, path, threads=0):
        self.path = os.fspath(path)
        self.threads = threads
        self.error = None
        self.count = 0

    def __iter__(self):
        import av
        try:
            container = av.open(self.path)
        except FileNotFoundError:
            raise SequenceError(f"{self.path}: no such file") from None
        except Exception as e:                   # av.error.InvalidDataError and friends
            raise SequenceError(f"{self.path}: not a readable video ({type(e).__name__}: {e})") from None
        with container:
            if not container.streams.video:
                raise SequenceError(f"{self.path}: holds no video stream")
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            if self.threads:
                stream.codec_context.thread_count = self.threads
            frames = container.decode(stream)
            while True:
                try:
                    fr = next(frames)
                except StopIteration:
                    return
                except Exception as e:
                    self.error = f"{type(e).__name__}: {e}"
                    return
                self.count += 1
                yield self.count - 1, (lambda fr=fr: fr.to_ndarray(format="rgb24"))
