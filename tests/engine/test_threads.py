"""engine/threads.py: Numba's work-queue threads, chosen and launched on the first compile,
not at import; a user's own choice kept."""
import subprocess
import sys

import pytest


@pytest.mark.parametrize("env,layer", [({}, "workqueue"), ({"NUMBA_THREADING_LAYER": "omp"}, "omp")])
def test_configure_once_on_first_use(env, layer):
    code = ("import numba, structnet.engine.ops.conv, structnet.model.network\n"
            "from numba.np.ufunc import parallel\n"
            "assert not parallel._is_initialized, 'threads launched at import'\n"
            "from structnet.engine import threads\n"
            "threads.configure(); threads.configure()\n"
            "assert parallel._is_initialized\n"
            "print(numba.config.THREADING_LAYER)")
    import os
    r = subprocess.run([sys.executable, "-c", code], env={**os.environ, **env}, capture_output=True, text=True)
    if r.returncode and "omp" in r.stderr.lower() and layer == "omp":
        pytest.skip("Numba's OpenMP layer is not available here")
    assert r.returncode == 0, r.stderr[-1500:]
    assert r.stdout.strip() == layer
