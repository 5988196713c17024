"""Checks at the boundaries: every output path before the work starts, and the artefacts
that later commands read back (results JSON, top-k files). Each problem is a one-line
``UserError`` naming the file or the option; ``structnet.cli`` turns it into exit 2."""
import json
import os

import numpy as np

from structnet.errors import UserError


def _names(path, option):
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
    _names(path, option)
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
    _names(path, option)
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
