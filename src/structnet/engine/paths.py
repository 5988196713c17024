"""Where structnet keeps what it builds once per machine: the native kernels' library and
the compiled functions (``$STRUCTNET_CACHE``, else ``$XDG_CACHE_HOME/structnet``, else
``~/.cache/structnet``)."""
import os
from pathlib import Path


def cache_dir():
    """Where the built library lives: $STRUCTNET_CACHE, else $XDG_CACHE_HOME/structnet, else ~/.cache/structnet."""
    if os.environ.get("STRUCTNET_CACHE"):
        return Path(os.environ["STRUCTNET_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "structnet"
