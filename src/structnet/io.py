"""Files in and out, for every stage: one way to write a file (``atomic_write``: a
temporary name, then a rename; Ctrl-C held until it is complete), JSON and text, the one
HDF5 parameter format of models and checkpoints (``save_params``, ``load_params``),
and the checks at the boundaries: every output path before the work starts, and the
artefacts later commands read back (results JSON, top-k files). Each problem is a
one-line ``UserError`` naming the file or the option; ``structnet.cli`` turns it into
exit 2. Ctrl-C itself is ``structnet.interrupt``'s."""
import json
import os

import h5py
import numpy as np

from structnet.errors import UserError
from structnet.interrupt import check_interrupt, deferred_interrupt

PARAMS_FORMAT = "structnet-checkpoint-1"    # models and checkpoints alike (the name is historical)


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


def atomic_write(path, write, hold_interrupt=True):
    """Write ``path`` through ``write(tmp_path)`` under a temporary name, then rename it into
    place: a reader never sees half a file, a failed write leaves the old one. Ctrl-C is
    held back until the rename (``deferred_interrupt``); ``hold_interrupt=False`` for a long
    write that checks for it itself (``check_interrupt``): the temporary goes with it."""
    import contextlib
    path = os.fspath(path)
    tmp = f"{path}.tmp{os.getpid()}"
    check_interrupt()                   # an earlier Ctrl-C that was swallowed: write nothing
    with deferred_interrupt() if hold_interrupt else contextlib.nullcontext():
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


KIND_FILE = ".structnet-kind"
#: what each kind of directory holds, for the messages
KINDS = {"data": "dataset", "pretrain": "pre-training run", "train": "training run", "eval": "evaluation",
         "run": "run directory (pretrain/, train/, eval/)", "figures": "figures", "predict": "predictions",
         "export": "folder of exported images", "budget": "budget sweep (budget.json, budget.png)"}


def dir_kind(path):
    """The kind of structnet directory ``path`` is (``KINDS``), from its marker, else from what
    it holds (directories written before the markers); None for a new or foreign one."""
    path = os.fspath(path)
    try:
        with open(os.path.join(path, KIND_FILE)) as f:
            kind = f.read().strip()
        if kind in KINDS:
            return kind
    except OSError:
        pass
    if not os.path.isdir(path):
        return None
    names = set(os.listdir(path))
    if names & {"train.h5", "test.h5", "extraction.json"}:
        return "data"
    if {"pretrain", "train"} & {n for n in names if os.path.isdir(os.path.join(path, n))}:
        return "run"
    if "results.json" in names:
        try:
            with open(os.path.join(path, "results.json")) as f:
                res = json.load(f)
            if isinstance(res, dict) and res.get("phase") in ("pretrain", "train"):
                return res["phase"]
            if isinstance(res, dict) and "methods" in res:
                return "eval"
        except (OSError, ValueError):
            pass
    if "log.jsonl" in names:
        try:
            with open(os.path.join(path, "log.jsonl")) as f:
                phase = json.loads(f.readline()).get("phase")
            if phase in ("pretrain", "train"):
                return phase
        except (OSError, ValueError, AttributeError):
            pass
    return None


def claim_dir(path, kind, option, reads=()):
    """An output directory for a command that writes a ``kind`` (``out_dir``'s checks too): one
    that holds another kind of results or inputs (a run, a dataset, an evaluation) is a
    one-line error before any work, and so is one that is a directory the command reads
    (``reads``). The command marks it (``mark_dir``) when it writes its outputs."""
    path = os.fspath(path)
    have = dir_kind(path)
    if have is not None and have != kind:
        raise UserError(f"{path}: holds a {KINDS[have]}; {option} would write a {KINDS[kind]} over it"
                        " (choose another directory)")
    for r in reads:
        if r and os.path.exists(r) and os.path.exists(path) and os.path.samefile(path, r):
            raise UserError(f"{path}: {option} is the directory this command reads ({r}); choose another")
    return out_dir(path, option)


def mark_dir(path, kind):
    """Say what ``path`` holds (``dir_kind`` reads it), once its command writes its outputs."""
    marker = os.path.join(os.fspath(path), KIND_FILE)
    if not os.path.exists(marker):
        write_text(marker, kind + "\n")


def not_an_input(path, option, reads):
    """``path`` (an output file) must not be one of the files the command reads."""
    for r in reads:
        if r and os.path.exists(r) and os.path.exists(path) and os.path.samefile(path, r):
            raise UserError(f"{path}: {option} is a file this command reads; choose another")
        if r and os.path.abspath(path) == os.path.abspath(r):
            raise UserError(f"{path}: {option} is a file this command reads; choose another")


def out_file(path, option, suffixes=None):
    """An output file: its directory exists and is writable, and it is not a directory;
    ``suffixes``: the name must end with one of them (a PNG in a .xyz is a mistake)."""
    path = os.fspath(path)
    _name_lengths(path, option)
    if suffixes and not path.lower().endswith(tuple(suffixes)):
        raise UserError(f"{path}: {option} wants a {' or '.join(suffixes)} file name")
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


def check_environment():
    """The environment variables that size resources, checked before any work (a value the
    kernels would read as "all cores" in silence is a one-line error): $STRUCTNET_THREADS a
    whole number >= 1 (more than 64 are capped by the kernels)."""
    v = os.environ.get("STRUCTNET_THREADS")
    if v is not None and v.strip():
        try:
            n = int(v)
        except ValueError:
            n = None
        if n is None or n < 1:
            raise UserError(f"$STRUCTNET_THREADS: {v!r} is not a whole number of threads >= 1 (unset it for every core)")


def physical_memory():
    """Bytes of memory of this machine (None where the OS does not say)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def check_memory(need, what, share=0.8):
    """A user number that sizes memory (``what``: the options and values) must fit: ``need``
    bytes (an estimate of the largest live arrays) against ``share`` of this machine's
    memory; over it, a one-line UserError before any work (else the machine swaps for
    minutes or the process is killed)."""
    have = physical_memory()
    if have and need > share * have:
        raise UserError(f"{what}: needs about {need / 2 ** 30:.1f} GB of memory, this machine has"
                        f" {have / 2 ** 30:.1f} GB; choose smaller values")


def cap_workers(asked, items, option="--workers"):
    """Worker processes for ``items`` work items: ``asked`` (0 or None: one per core), capped at
    the cores and the items; a cap of a number the user gave is said in one line (each
    worker is a process: 100,000 of them once took the machine down)."""
    import sys
    cpus = os.cpu_count() or 1
    n = min(asked or cpus, cpus, max(1, items))
    if asked and n < asked:
        print(f"structnet: {option} {asked}: using {n} (this machine's {cpus} cores, {items} work items)",
              file=sys.stderr, flush=True)
    return n


def at_least(value, low, option):
    """An integer option's lower bound."""
    if value is not None and value < low:
        raise UserError(f"{option} must be >= {low}, got {value}")
    return value
