"""The project's HDF5 dataset schema (shared by the synthetic world and Human3.6M), its
atomic writer, and the streaming reader that feeds training.

Schema ``structnet-dataset-1`` (N samples):

| dataset | dtype, shape | meaning |
|---|---|---|
| images | uint8 (N,128,128,3) | square crop around the person, RGB |
| poses | float32 (N,17,3) | joints in the camera frame, mm (not root-relative) |
| joints2d | float32 (N,17,2) | joints in crop pixels (x right, y down; 0..128) |
| box | float32 (N,3) | crop box in image pixels: x0, y0, side |
| subject, action, subaction, camera | int16 (N,) | subject number (1 = S1), action index into the ``actions`` attribute, subaction, camera index 0..3 |
| frame | int32 (N,) | frame number at 50 fps |
| camera_intrinsics | float32 (4,9) | fx fy cx cy k1 k2 k3 p1 p2 per camera |
| camera_extrinsics | float32 (S,4,12) | per subject of the ``subjects`` attribute and camera: camera-to-world rotation (9, row-major), centre (3) mm |
| stats/rgb_mean, stats/rgb_cov | float64 (3,), (3,3) | over all pixels, in 0..255 (PCA colour noise) |

Attributes: ``schema``, ``source`` (synthetic, bvh, h36m), ``actions`` and ``subjects``
(JSON lists), ``settings`` (JSON of the generator or extractor settings).
"""
import json
import os

import h5py
import numpy as np

from structnet.errors import UserError

SCHEMA = "structnet-dataset-1"
CROP = 128
INPUT = 112
FIELDS = {"images": ("uint8", (CROP, CROP, 3)), "poses": ("float32", (17, 3)),
          "joints2d": ("float32", (17, 2)), "box": ("float32", (3,)), "subject": ("int16", ()),
          "action": ("int16", ()), "subaction": ("int16", ()), "camera": ("int16", ()),
          "frame": ("int32", ())}


def camera_tables(subjects, get_camera=None):
    """The schema's ``camera_intrinsics`` (4, 9) and ``camera_extrinsics`` (S, 4, 12) tables."""
    if get_camera is None:
        from structnet.geometry.camera import get_camera
    intr = np.stack([get_camera(subjects[0], i).params() for i in range(4)])
    ext = np.stack([[np.concatenate([get_camera(s, i).R.ravel(), get_camera(s, i).t]) for i in range(4)]
                    for s in subjects])
    return intr, ext


class Writer:
    """Append samples to ``path`` under a temporary name; ``close()`` renames it into place.

    Use as a context manager: on an exception the temporary file is removed and nothing
    is left at ``path``.
    """

    #: bytes kept free on the disk beside what a batch of samples needs
    RESERVE = 64 << 20

    def __init__(self, path, source, actions, subjects, settings, intrinsics, extrinsics, chunk=64):
        self.path = os.fspath(path)
        self.tmp = f"{self.path}.tmp{os.getpid()}"
        if os.path.isdir(self.path):
            raise UserError(f"{self.path}: is a directory; the dataset file cannot be written there")
        d = os.path.dirname(os.path.abspath(self.path))
        os.makedirs(d, exist_ok=True)
        from structnet.interrupt import deferred_interrupt
        self.f = None
        try:
            with deferred_interrupt():  # Ctrl-C while the file is made: the temporary goes too
                self.f = h5py.File(self.tmp, "w")
                self.f.attrs.update({"schema": SCHEMA, "source": source, "actions": json.dumps(list(actions)),
                                     "subjects": json.dumps(list(subjects)), "settings": json.dumps(settings)})
                self.f["camera_intrinsics"] = np.asarray(intrinsics, np.float32)
                self.f["camera_extrinsics"] = np.asarray(extrinsics, np.float32)
                for name, (dt, shape) in FIELDS.items():
                    self.f.create_dataset(name, (0,) + shape, dtype=dt, maxshape=(None,) + shape,
                                          chunks=((1 if name == "images" else chunk),) + shape)
        except OSError as e:
            self.abort()
            raise UserError(f"{self.path}: cannot be written ({e})") from None
        except BaseException:
            self.abort()
            raise
        self.n = 0
        self._sum = np.zeros(3)
        self._outer = np.zeros((3, 3))
        self._count = 0

    def append(self, **arrays):
        """Add n samples. A full disk is found before HDF5 meets it (a write that fails inside
        libhdf5 leaves the file in a state that crashed the process): a one-line UserError
        naming the dataset, the temporary removed by the context manager."""
        import shutil
        n = len(arrays["images"])
        for name, (dt, shape) in FIELDS.items():
            a = np.asarray(arrays[name])
            if a.shape != (n,) + shape:
                raise ValueError(f"{name}: shape {a.shape}, expected {(n,) + shape}")
            if a.dtype.kind == "f" and not np.all(np.isfinite(a)):
                raise ValueError(f"{name} contains NaN or inf")
        need = n * sum(np.dtype(dt).itemsize * int(np.prod(shape)) for dt, shape in FIELDS.values())
        free = shutil.disk_usage(os.path.dirname(os.path.abspath(self.tmp))).free
        if free < need + self.RESERVE:
            raise UserError(f"{self.path}: the disk is full ({free / 2 ** 20:.0f} MB free; the next {n} samples"
                            f" need {need / 2 ** 20:.1f} MB and {self.RESERVE >> 20} MB are kept free)")
        try:
            for name, (dt, shape) in FIELDS.items():
                ds = self.f[name]
                ds.resize(self.n + n, axis=0)
                ds[self.n:] = np.asarray(arrays[name]).astype(dt)
        except OSError as e:
            raise UserError(f"{self.path}: writing failed ({e}); nothing was kept") from None
        px = np.asarray(arrays["images"], np.float64).reshape(-1, 3)
        self._sum += px.sum(0)
        self._outer += px.T @ px
        self._count += len(px)
        self.n += n

    def close(self):
        from structnet.interrupt import interrupted
        if interrupted():               # Ctrl-C during the build, even one that was swallowed:
            self.abort()                # the older file stays
            raise KeyboardInterrupt
        try:
            if self._count:
                mean = self._sum / self._count
                self.f["stats/rgb_mean"] = mean
                self.f["stats/rgb_cov"] = self._outer / self._count - np.outer(mean, mean)
            self.f.close()
            os.replace(self.tmp, self.path)
        except OSError as e:
            self.abort()
            raise UserError(f"{self.path}: writing failed ({e}); nothing was kept") from None

    def abort(self):
        try:
            if self.f is not None:
                self.f.close()
        except Exception:                  # noqa: BLE001 (a file HDF5 failed on: remove it anyway)
            pass
        finally:
            if os.path.exists(self.tmp):
                os.remove(self.tmp)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.close()
        else:
            self.abort()
        return False


def crop_input(images, offsets, noise, mean, scale, out):
    """The network input of uint8 (n,128,128,3) crops: the 112 x 112 crop at ``offsets``
    (n,2) (row, column), ``mean`` (3,) RGB subtracted, ``noise`` (n,3) added, times ``scale``,
    into float32 ``out`` (n,3,112,112) (``augment.crop_normalise``)."""
    from structnet.data.augment import crop_normalise
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[1:] != (CROP, CROP, 3) or offsets.max(initial=0) > CROP - INPUT:
        raise ValueError(f"images must be (n, {CROP}, {CROP}, 3) and offsets at most {CROP - INPUT},"
                         f" got {images.shape}")
    return crop_normalise(np.ascontiguousarray(images, dtype=np.uint8), offsets, np.asarray(mean, np.float32).reshape(3),
                          noise, np.float32(scale), out)


def centre_input(images, mean, scale=1.0):
    """uint8 (n,128,128,3) -> float32 (n,3,112,112): the test-time input (the centre crop at
    offset 8, ``mean`` (3,) RGB subtracted, times ``scale``), the values ``Dataset.preprocess``
    gives without an rng."""
    n = len(images)
    return crop_input(images, np.full((n, 2), (CROP - INPUT) // 2, np.int64), np.zeros((n, 3), np.float32), mean,
                      scale, np.empty((n, 3, INPUT, INPUT), np.float32))


def training_mean(data_dir):
    """The RGB mean (3,) of ``data_dir``/train.h5, in pixel units: what every image fed to a
    network trained on that set has subtracted (the authors' mean of the training set; test
    images too, and a user's own)."""
    path = os.path.join(data_dir, "train.h5")
    f = open_dataset(path)
    try:
        mean = np.asarray(f["stats/rgb_mean"][()], np.float64)
    except (KeyError, OSError) as e:
        raise UserError(f"{path}: no readable 'stats/rgb_mean' ({e})") from None
    finally:
        f.close()
    if mean.shape != (3,) or not np.all(np.isfinite(mean)):
        raise UserError(f"{path}: 'stats/rgb_mean' is not 3 finite numbers")
    return mean


def open_dataset(path):
    """Open and validate a dataset file; every problem is a one-line UserError naming it."""
    path = os.fspath(path)
    if not os.path.exists(path):
        if os.path.islink(path):
            try:
                os.stat(path)
            except OSError as e:
                raise UserError(f"{path}: a symbolic link that leads nowhere ({e.strerror})") from None
        raise UserError(f"{path}: no such dataset file (run `make data`)")
    try:
        f = h5py.File(path, "r")
    except OSError as e:
        raise UserError(f"{path}: cannot read as HDF5, truncated or corrupt? ({e})") from None
    try:
        if f.attrs.get("schema") != SCHEMA:
            raise UserError(f"{path}: schema {f.attrs.get('schema')!r}, expected {SCHEMA!r}")
        n = None
        for name, (dt, shape) in FIELDS.items():
            if name not in f:
                raise UserError(f"{path}: dataset '{name}' is missing")
            ds = f[name]
            if ds.shape[1:] != shape or ds.dtype != np.dtype(dt):
                raise UserError(f"{path}: '{name}' is {ds.dtype} {ds.shape}, expected {dt} (N,{shape})")
            if n is None:
                n = ds.shape[0]
            elif ds.shape[0] != n:
                raise UserError(f"{path}: '{name}' has {ds.shape[0]} rows, 'images' has {n}")
        for name in ("stats/rgb_mean", "stats/rgb_cov", "camera_intrinsics", "camera_extrinsics"):
            if name not in f:
                raise UserError(f"{path}: dataset '{name}' is missing")
        if n == 0:
            raise UserError(f"{path}: holds no samples")
    except UserError:
        f.close()
        raise
    except (OSError, KeyError, RuntimeError) as e:
        f.close()
        raise UserError(f"{path}: unreadable ({e})") from None
    return f


MAX_COORD_MM = 1e5           # 100 m: any pose coordinate beyond is a unit or data error


class Dataset:
    """Read-only view of a dataset file; the small arrays are loaded, images are streamed."""

    def __init__(self, path):
        self.path = os.fspath(path)
        self.f = open_dataset(self.path)
        try:
            self.actions = json.loads(self.f.attrs["actions"])
            self.subjects = json.loads(self.f.attrs["subjects"])
            self.source = self.f.attrs["source"]
            self.settings = json.loads(self.f.attrs["settings"])
        except (KeyError, ValueError, TypeError) as e:
            raise UserError(f"{self.path}: attribute missing or unreadable ({e})") from None
        try:
            self.poses = self.f["poses"][()].astype(np.float64)
            self.joints2d = self.f["joints2d"][()]
            self.meta = {k: self.f[k][()] for k in ("subject", "action", "subaction", "camera", "frame")}
            self.box = self.f["box"][()]
            self.rgb_mean = self.f["stats/rgb_mean"][()]
            self.rgb_cov = self.f["stats/rgb_cov"][()]
        except OSError as e:
            raise UserError(f"{self.path}: unreadable, truncated? ({e})") from None
        self._check()
        self._reader = None
        ev, evec = np.linalg.eigh(self.rgb_cov)
        self.pca_values, self.pca_vectors = np.sqrt(np.clip(ev, 0, None)), evec

    def _check(self):
        """Values a reader would otherwise take silently: NaN, absurd poses, bad indices."""
        for name, a in (("poses", self.poses), ("joints2d", self.joints2d), ("box", self.box),
                        ("stats/rgb_mean", self.rgb_mean), ("stats/rgb_cov", self.rgb_cov)):
            if not np.all(np.isfinite(a)):
                raise UserError(f"{self.path}: '{name}' contains NaN or inf")
        if np.abs(self.poses).max() > MAX_COORD_MM:
            raise UserError(f"{self.path}: 'poses' has a coordinate of {np.abs(self.poses).max():.3g} mm,"
                            f" beyond {MAX_COORD_MM:.0e} mm (wrong unit?)")
        if self.rgb_cov.shape != (3, 3) or self.rgb_mean.shape != (3,):
            raise UserError(f"{self.path}: 'stats/rgb_cov' / 'stats/rgb_mean' are not 3x3 / 3")
        a = self.meta["action"]
        if len(a) and (a.min() < 0 or a.max() >= len(self.actions)):
            raise UserError(f"{self.path}: 'action' indices {int(a.min())}..{int(a.max())} outside its list of"
                            f" {len(self.actions)} actions")
        cams = self.meta["camera"]
        n_cam = self.f["camera_intrinsics"].shape[0]
        if len(cams) and (cams.min() < 0 or cams.max() >= n_cam):
            raise UserError(f"{self.path}: 'camera' indices {int(cams.min())}..{int(cams.max())} outside its"
                            f" camera table of {n_cam} (camera_intrinsics)")
        subj = {int(s) for s in np.unique(self.meta["subject"])}
        known = {int(str(s).lstrip("S")) for s in self.subjects if str(s).lstrip("S").isdigit()}
        if known and subj - known:
            raise UserError(f"{self.path}: 'subject' {sorted(subj - known)[0]} is not in its subjects list"
                            f" ({', '.join(map(str, self.subjects))}), whose cameras the file holds")

    def __len__(self):
        return len(self.poses)

    def close(self):
        self.f.close()

    def root_relative(self, idx=slice(None)):
        """(n, 17, 3) poses minus the pelvis, mm: the targets."""
        p = self.poses[idx]
        return p - p[:, :1]

    def read_images(self, idx, out=None):
        """uint8 (n,128,128,3) for integer indices (any order, repeats allowed), read at
        chunk speed: random access that never loads the file (Human3.6M at every frame is
        ~75 GB of images).

        How, by the file's layout (``_image_reader``): chunks of one image without filters
        (every writer of ours): each image is its chunk's raw bytes (``read_direct_chunk``,
        ~25 us an image); other chunkings or compressed chunks: each chunk the indices touch
        is read once through the filters; no chunks: one ``read_direct`` per image. h5py's
        fancy selection ``ds[sorted_idx]`` gives the same bytes at ~15 ms an image.
        ``out``: a C-contiguous uint8 (n,128,128,3) array to fill (a feed's shared slot).
        """
        idx = np.asarray(idx, dtype=np.int64).reshape(-1)
        if out is None:
            out = np.empty((len(idx),) + FIELDS["images"][1], np.uint8)
        if len(idx) and (idx.min() < 0 or idx.max() >= len(self)):
            raise IndexError(f"{self.path}: image index outside 0..{len(self) - 1}")
        try:
            self._image_reader()(idx, out)
        except OSError as e:
            raise UserError(f"{self.path}: cannot read images, truncated? ({e})") from None
        return out

    def _image_reader(self):
        """The fastest exact way to read single images of this file: fn(idx, out)."""
        if self._reader is not None:
            return self._reader
        ds = self.f["images"]
        chunks = ds.chunks
        dcpl = ds.id.get_create_plist()
        if chunks == (1,) + FIELDS["images"][1] and dcpl.get_nfilters() == 0:
            dsid, n_bytes = ds.id, int(np.prod(chunks))

            def read(idx, out):
                flat = out.reshape(len(out), n_bytes)
                for k, i in enumerate(idx):
                    dsid.read_direct_chunk((int(i), 0, 0, 0), out=flat[k])
        elif chunks is not None:
            per = chunks[0]

            def read(idx, out):
                first = idx // per
                for c in np.unique(first):
                    block = ds[c * per:min((c + 1) * per, len(ds))]
                    sel = np.flatnonzero(first == c)
                    out[sel] = block[idx[sel] - c * per]
        else:
            def read(idx, out):
                for k, i in enumerate(idx):
                    ds.read_direct(out, np.s_[int(i)], np.s_[k])
        self._reader = read
        return read

    def preprocess(self, images, rng=None, pca_std=0.1, return_offsets=False, scale=1.0, jitter=8, out=None,
                   mean=None):
        """uint8 (n,128,128,3) -> float32 (n,3,112,112) network input.

        Training (rng given): a 112 x 112 crop at row and column offsets drawn from
        0..``jitter`` (the authors': 0..8; a pair (lo, hi): lo..hi) and AlexNet-style PCA colour noise (Sec. 5.1:
        noise by the RGB covariance of the training set, eigenvector-weighted with
        N(0, pca_std) coefficients, in pixel units). Testing: offset 8 (the centre crop).
        Values: (pixel - mean RGB) * ``scale``; the authors fed raw pixels (scale 1; see
        legacy_notes/deviations.md for the quick preset's scale). ``return_offsets``: also
        the (n, 2) crop offsets (row, column) in the 128 x 128 image. ``out``: a float32
        (n,3,112,112) array to fill. ``mean``: the RGB mean (3,) to subtract, default this file's;
        a test set is fed with its training set's (``training_mean``), as the authors did.

        The random draws are made image by image in the order of the authors' loop (offsets,
        then the noise coefficients), so a seed gives the same batch as ever; the pixels
        are computed for the whole batch at once, the same float32 operations in the same
        order, so the values are bit for bit those of the loop.
        """
        n = len(images)
        x = np.empty((n, 3, INPUT, INPUT), np.float32) if out is None else out
        mean = np.asarray(self.rgb_mean if mean is None else mean, np.float32).reshape(3)
        offsets = np.full((n, 2), (CROP - INPUT) // 2, np.int64)
        noise = np.zeros((n, 3), np.float32)
        if rng is not None:
            lo, hi = jitter if isinstance(jitter, tuple) else (0, jitter)
            for i in range(n):
                offsets[i] = rng.integers(lo, hi + 1, 2)
                noise[i] = (self.pca_vectors @ (rng.normal(0, pca_std, 3) * self.pca_values)).astype(np.float32)
        crop_input(images, offsets, noise, mean, scale, x)
        return (x, offsets) if return_offsets else x

    def input_for(self, config, images, rng=None, return_offsets=False, out=None, mean=None):
        """``preprocess`` with a run's input settings (input_scale, crop_min..crop_jitter, pca_noise)."""
        return self.preprocess(images, rng, config.pca_noise, return_offsets, config.input_scale,
                               (config.crop_min, config.crop_jitter), out, mean)

    def batches(self, batch_size, rng, indices=None, train=True):
        """Yield (indices, images float32 (B,3,112,112)) over a shuffled pass (train) or in order."""
        idx = np.arange(len(self)) if indices is None else np.asarray(indices)
        if train:
            idx = idx[rng.permutation(len(idx))]
        for s in range(0, len(idx), batch_size):
            b = idx[s:s + batch_size]
            yield b, self.preprocess(self.read_images(b), rng if train else None)
