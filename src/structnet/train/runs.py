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


from structnet.errors import UserError
from structnet.io import jsonable, load_params, mark_dir, remove_stale_temporaries, save_params, write_json



def save_checkpoint(path, params, state, arrays=None):
    """A run's checkpoint: parameters, the loop's state, extra arrays (``io.save_params``)."""
    save_params(path, params, state, arrays)


def load_checkpoint(path):
    """-> (params dict, state dict, arrays dict); a missing or bad file is a UserError."""
    if not os.path.exists(path):
        raise UserError(f"{path}: no checkpoint to resume from")
    return load_params(path, "checkpoint")


class Log:
    """Append JSON lines to ``path`` (flushed per line, so a killed run keeps its log)."""

    def __init__(self, path, fresh=False):
        """fresh: start a new log (a run started from scratch), else append (a resumed run)."""
        self.f = open(path, "w" if fresh else "a")

    def __call__(self, **rec):
        rec.setdefault("time", time.time())
        self.f.write(json.dumps(rec, default=jsonable) + "\n")
        self.f.flush()

    def close(self):
        self.f.close()


def prepare_run_dir(run_dir, config_dict, resume, kind=None):
    """Create the run directory; on resume, check the saved config matches (seed, preset, ...);
    mark it as a ``kind`` run (``structnet.io.mark_dir``)."""
    os.makedirs(run_dir, exist_ok=True)
    for name in ("checkpoint.h5", "model.h5", "results.json", "config.json"):
        remove_stale_temporaries(os.path.join(run_dir, name))
    cfg_path = os.path.join(run_dir, "config.json")
    if resume and os.path.exists(cfg_path):
        try:
            with open(cfg_path) as f:
                saved = json.load(f)
        except (OSError, ValueError) as e:
            raise UserError(f"{cfg_path}: unreadable run config ({type(e).__name__}); delete the run directory"
                            " to start again, or --resume a run whose config.json is intact") from None
        if not isinstance(saved, dict):
            raise UserError(f"{cfg_path}: not a run config (a JSON object is expected)")
        diff = sorted(k for k in set(saved) | set(config_dict) if saved.get(k) != config_dict.get(k))
        if diff:
            raise UserError(f"{cfg_path}: --resume with a different config ({', '.join(diff)})")
    write_json(cfg_path, config_dict)
    if kind:
        mark_dir(run_dir, kind)


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
