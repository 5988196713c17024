"""Files in and out, for every stage: one way to write a file (``atomic_write``: a
temporary name, then a rename; Ctrl-C held until it is complete), JSON and text, the one
HDF5 parameter format of models and checkpoints (``save_params``, ``load_params``),
and the checks at the boundaries: every output path before the work starts, and the
artefacts later commands read back (results JSON, top-k files). Each problem is a
one-line ``UserError`` naming the file or the option; ``structnet.cli`` turns it into
exit 2. Also: worker processes that die with their parent (``worker_init``)."""
import json
import os

import h5py
import numpy as np

from structnet.errors import UserError

PARAMS_FORMAT = "structnet-checkpoint-1"    # models and checkpoints alike (the name is historical)


#: set by the SIGINT handler (``install_interrupt``) and by ``deferred_interrupt``: an interrupt
#: the user sent, even when the KeyboardInterrupt it raised was swallowed (raised inside a
#: finalizer or a library's cleanup, Python prints "Exception ignored" and goes on: seen with
#: worker processes, 5 of 15 tries). Loops check it (``check_interrupt``), writers look at it
#: before they replace a file, and the command line exits 130 when it is set.
_INTERRUPTED = []


def _on_sigint(signum, frame):
    _INTERRUPTED.append(signum)
    raise KeyboardInterrupt


def install_interrupt():
    """Ctrl-C raises KeyboardInterrupt as usual and is also remembered (main thread only)."""
    import signal
    import threading
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, _on_sigint)


def interrupted():
    """Whether Ctrl-C was pressed in this process (``install_interrupt``)."""
    return bool(_INTERRUPTED)


def check_interrupt():
    """Raise KeyboardInterrupt if Ctrl-C was pressed, even if its first raise was swallowed."""
    if _INTERRUPTED:
        raise KeyboardInterrupt


class deferred_interrupt:
    """Hold Ctrl-C (SIGINT) back while an atomic write runs, then raise it once the write is
    complete: h5py's cleanup swallows a KeyboardInterrupt raised inside it, so a run
    interrupted mid-checkpoint used to carry on to its end. No-op outside the main thread."""

    def __enter__(self):
        import signal
        import threading
        self.caught = False
        self.old = None
        if threading.current_thread() is threading.main_thread():
            self.old = signal.signal(signal.SIGINT, self._handler)
        return self

    def _handler(self, signum, frame):
        self.caught = True
        _INTERRUPTED.append(signum)

    def __exit__(self, *exc):
        import signal
        if self.old is not None:
            signal.signal(signal.SIGINT, self.old)
        if self.caught and exc[0] is None:
            raise KeyboardInterrupt
        return False


def worker_init():
    """Initializer of every worker pool: Ctrl-C is the parent's to handle (no traceback
    fragments from workers), and a worker dies with its parent, even a parent killed -9
    (Linux PR_SET_PDEATHSIG; elsewhere the pool's own shutdown)."""
    import signal
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        import ctypes
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)    # PR_SET_PDEATHSIG = 1
    except (OSError, AttributeError):
        pass


def remove_stale_temporaries(path):
    """Remove ``path.tmp<PID>`` files left by killed processes (the PID no longer runs)."""
    import glob
    for tmp in glob.glob(glob.escape(path) + ".tmp*"):
        pid = tmp[len(path) + 4:]
        if pid.isdigit() and int(pid) != os.getpid():
            try:
                os.kill(int(pid), 0)
                continue                        # its writer still runs
            except ProcessLookupError:
                pass
            except PermissionError:
                continue
        try:
            os.remove(tmp)
        except OSError:
            pass


def atomic_write(path, write):
    """Write ``path`` through ``write(tmp_path)`` under a temporary name, then rename it into
    place: a reader never sees half a file, a failed write leaves the old one. Ctrl-C is
    held back until the rename (``deferred_interrupt``)."""
    path = os.fspath(path)
    tmp = f"{path}.tmp{os.getpid()}"
    check_interrupt()                   # an earlier Ctrl-C that was swallowed: write nothing
    with deferred_interrupt():
        try:
            write(tmp)
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.remove(tmp)
            raise


def write_json(path, obj):
    def write(tmp):
        with open(tmp, "w") as f:
            json.dump(obj, f, indent=2, sort_keys=True, default=jsonable)
    atomic_write(path, write)


def write_text(path, text):
    def write(tmp):
        with open(tmp, "w") as f:
            f.write(text)
    atomic_write(path, write)


def jsonable(o):
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(f"not JSON serialisable: {type(o)}")


def save_params(path, params, state, arrays=None):
    """The one parameter file: ``params/<layer>/<W|b>`` arrays, ``arrays/<name>`` extra arrays
    (optimiser state, the working set), attribute ``state`` (JSON: for a model its kind,
    config and seed; for a checkpoint the loop's position). Atomic."""
    def write(tmp):
        with h5py.File(tmp, "w") as f:
            f.attrs["format"] = PARAMS_FORMAT
            f.attrs["state"] = json.dumps(state, default=jsonable)
            for k, v in params.items():
                f[f"params/{k}"] = v
            for k, v in (arrays or {}).items():
                f[f"arrays/{k}"] = v
            f.flush()
    atomic_write(path, write)


def load_params(path, what="checkpoint"):
    """-> (params dict, state dict, arrays dict); a bad file is a one-line UserError."""
    if not os.path.exists(path):
        raise UserError(f"{path}: no such {what} file")
    try:
        with h5py.File(path, "r") as f:
            if f.attrs.get("format") != PARAMS_FORMAT:
                raise UserError(f"{path}: not a structnet parameter file (format {f.attrs.get('format')!r})")
            state = json.loads(f.attrs["state"])
            params = {k: f[f"params/{k}"][()] for k in dataset_names(f, "params")}
            arrays = {k: f[f"arrays/{k}"][()] for k in dataset_names(f, "arrays")}
    except UserError:
        raise
    except (OSError, KeyError, ValueError) as e:
        raise UserError(f"{path}: corrupt {what} ({e})") from None
    for k, v in params.items():
        if not np.all(np.isfinite(v)):
            raise UserError(f"{path}: parameter {k} contains NaN or inf")
    return params, state, arrays


def dataset_names(f, group="/"):
    """Paths (relative to ``group``) of every dataset under ``group`` of an open HDF5 file."""
    if group not in f:
        return []
    out = []
    f[group].visititems(lambda name, obj: out.append(name) if isinstance(obj, h5py.Dataset) else None)
    return out




def _name_lengths(path, option):
    limit = 255
    for part in os.path.abspath(path).split(os.sep):
        if len(os.fsencode(part)) > limit:
            raise UserError(f"{path}: a name longer than {limit} bytes ({option})")


def _nearest_existing(path):
    p = os.path.abspath(path)
    while not os.path.exists(p):
        p = os.path.dirname(p)
    return p


def out_dir(path, option):
    """An output directory: created here (with its parents) or already a writable
    directory; a file in the way, a long name or an unwritable place is a UserError."""
    path = os.fspath(path)
    _name_lengths(path, option)
    if os.path.exists(path) and not os.path.isdir(path):
        raise UserError(f"{path}: exists and is not a directory ({option})")
    base = _nearest_existing(path)
    if not os.path.isdir(base):
        raise UserError(f"{path}: cannot be created, {base} is a file ({option})")
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as e:
        raise UserError(f"{path}: cannot be created ({e.strerror}) ({option})") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise UserError(f"{path}: not writable ({option})")
    probe = os.path.join(path, f".structnet-write-test{os.getpid()}")
    try:
        with open(probe, "w"):
            pass
        os.remove(probe)
    except OSError as e:
        raise UserError(f"{path}: cannot write there ({e.strerror}) ({option})") from None
    return path


def out_file(path, option):
    """An output file: its directory exists and is writable, and it is not a directory."""
    path = os.fspath(path)
    _name_lengths(path, option)
    if os.path.isdir(path):
        raise UserError(f"{path}: is a directory, a file name is wanted ({option})")
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        raise UserError(f"{path}: directory {parent} does not exist ({option})")
    if not os.access(parent, os.W_OK | os.X_OK) or (os.path.exists(path) and not os.access(path, os.W_OK)):
        raise UserError(f"{path}: not writable ({option})")
    return path


def read_json(path, what="results", needs=(), hint=""):
    """A JSON object from ``path`` with the keys ``needs``; anything else is a UserError."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise UserError(f"{path}: no {what} file{hint}")
    try:
        with open(path) as f:
            obj = json.load(f)
    except (OSError, ValueError) as e:
        raise UserError(f"{path}: not a readable {what} file ({type(e).__name__}: {e})") from None
    if not isinstance(obj, dict) or any(k not in obj for k in needs):
        raise UserError(f"{path}: not a {what} file (needs {', '.join(needs) or 'a JSON object'})")
    return obj


def load_topk(path):
    """The top-k indices (N, k) that ``eval`` kept, from ``topk.npz``."""
    import zipfile
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise UserError(f"{path}: missing; run `make eval` first")
    try:
        with np.load(path) as z:
            idx = z["idx"]
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as e:
        raise UserError(f"{path}: corrupt top-k file ({type(e).__name__})") from None
    if idx.ndim != 2 or idx.dtype.kind not in "iu" or (idx.size and idx.min() < 0):
        raise UserError(f"{path}: 'idx' is {idx.dtype} {idx.shape}, expected non-negative integers (N, k)")
    return idx


def at_least(value, low, option):
    """An integer option's lower bound."""
    if value is not None and value < low:
        raise UserError(f"{option} must be >= {low}, got {value}")
    return value
