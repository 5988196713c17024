"""Run directories: resolved config, JSON-lines log, atomic HDF5 checkpoints, results JSON.

A run directory holds ``config.json`` (the resolved configuration), ``log.jsonl`` (one
JSON object per line), ``checkpoint.h5`` (parameters and loop state, rewritten
atomically) and, at the end, ``model.h5`` and ``results.json``. Here too: the checks
made before resuming (``check_checkpoint``, ``finished_results``) and the readers of the
log (``log_records``, ``read_curve``).
"""
import json
import os
import time

import h5py
import numpy as np

from structnet.errors import UserError

CKPT_FORMAT = "structnet-checkpoint-1"


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
            json.dump(obj, f, indent=2, sort_keys=True, default=_jsonable)
    atomic_write(path, write)


def write_text(path, text):
    def write(tmp):
        with open(tmp, "w") as f:
            f.write(text)
    atomic_write(path, write)


def _jsonable(o):
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(f"not JSON serialisable: {type(o)}")


class Log:
    """Append JSON lines to ``path`` (flushed per line, so a killed run keeps its log)."""

    def __init__(self, path, fresh=False):
        """fresh: start a new log (a run started from scratch), else append (a resumed run)."""
        self.f = open(path, "w" if fresh else "a")

    def __call__(self, **rec):
        rec.setdefault("time", time.time())
        self.f.write(json.dumps(rec, default=_jsonable) + "\n")
        self.f.flush()

    def close(self):
        self.f.close()


def save_checkpoint(path, params, state, arrays=None):
    """params: name -> array; state: JSON-able dict; arrays: extra name -> array. Atomic."""
    def write(tmp):
        with h5py.File(tmp, "w") as f:
            f.attrs["format"] = CKPT_FORMAT
            f.attrs["state"] = json.dumps(state, default=_jsonable)
            for k, v in params.items():
                f[f"params/{k}"] = v
            for k, v in (arrays or {}).items():
                f[f"arrays/{k}"] = v
            f.flush()
    atomic_write(path, write)


def load_checkpoint(path):
    """-> (params dict, state dict, arrays dict); a bad file is a one-line UserError."""
    if not os.path.exists(path):
        raise UserError(f"{path}: no checkpoint to resume from")
    try:
        with h5py.File(path, "r") as f:
            if f.attrs.get("format") != CKPT_FORMAT:
                raise UserError(f"{path}: not a structnet checkpoint (format {f.attrs.get('format')!r})")
            state = json.loads(f.attrs["state"])
            params = {k: f[f"params/{k}"][()] for k in _names(f, "params")}
            arrays = {k: f[f"arrays/{k}"][()] for k in _names(f, "arrays")}
    except UserError:
        raise
    except (OSError, KeyError, ValueError) as e:
        raise UserError(f"{path}: corrupt checkpoint ({e})") from None
    for k, v in params.items():
        if not np.all(np.isfinite(v)):
            raise UserError(f"{path}: parameter {k} contains NaN or inf")
    return params, state, arrays


def _names(f, group):
    if group not in f:
        return []
    out = []
    f[group].visititems(lambda name, obj: out.append(name) if isinstance(obj, h5py.Dataset) else None)
    return out


def prepare_run_dir(run_dir, config_dict, resume):
    """Create the run directory; on resume, check the saved config matches (seed, preset, ...)."""
    os.makedirs(run_dir, exist_ok=True)
    for name in ("checkpoint.h5", "model.h5", "results.json", "config.json"):
        remove_stale_temporaries(os.path.join(run_dir, name))
    cfg_path = os.path.join(run_dir, "config.json")
    if resume and os.path.exists(cfg_path):
        with open(cfg_path) as f:
            saved = json.load(f)
        diff = sorted(k for k in set(saved) | set(config_dict) if saved.get(k) != config_dict.get(k))
        if diff:
            raise UserError(f"{cfg_path}: --resume with a different config ({', '.join(diff)})")
    write_json(cfg_path, config_dict)


def check_checkpoint(path, params, expected, state, epochs, nb):
    """Verify a checkpoint against the run's network before resuming: the same parameter
    names and shapes, and a position (epoch, batch) inside the configured run."""
    missing = sorted(set(expected) - set(params))
    extra = sorted(set(params) - set(expected))
    if missing or extra:
        raise UserError(f"{path}: parameters do not match this network"
                        + (f" (missing {', '.join(missing[:4])})" if missing else "")
                        + (f" (unknown {', '.join(extra[:4])})" if extra else ""))
    for k, shape in expected.items():
        if tuple(params[k].shape) != tuple(shape):
            raise UserError(f"{path}: parameter {k} has shape {tuple(params[k].shape)}, expected {tuple(shape)}")
    e, b = state.get("epoch"), state.get("batch")
    if not isinstance(e, int) or not isinstance(b, int) or not (0 <= e <= epochs) or not (0 <= b <= nb) \
            or (e == epochs and b):
        raise UserError(f"{path}: position epoch={e!r} batch={b!r} is outside this run "
                        f"({epochs} epochs of {nb} batches)")


def finished_results(run_dir, resume):
    """The results of a finished run in run_dir (model.h5 and results.json present) when
    resuming, else None: ``--resume`` on a finished run leaves it as it is."""
    res_path, model = os.path.join(run_dir, "results.json"), os.path.join(run_dir, "model.h5")
    if not (resume and os.path.exists(res_path) and os.path.exists(model)):
        return None
    try:
        with open(res_path) as f:
            res = json.load(f)
    except ValueError:
        raise UserError(f"{res_path}: corrupt results of a finished run (delete the run directory to redo it)") from None
    print(f"{run_dir}: already finished ({model}); left as it is", flush=True)
    return res


def log_records(log_path):
    """The JSON records of a run's log.jsonl (a line cut short by a kill is skipped)."""
    with open(log_path) as f:
        for line in f:
            try:
                yield json.loads(line)
            except ValueError:
                continue


def read_curve(log_path, phase):
    """Every curve point of a run's log (resumed runs included), in step order."""
    pts = {}
    for r in log_records(log_path):
        if r.get("event") == "curve" and r.get("phase") == phase:
            pts[r["step"]] = {k: r[k] for k in ("step", "seconds", "mpjpe", "curve_seconds") if k in r}
    return [pts[k] for k in sorted(pts)]
