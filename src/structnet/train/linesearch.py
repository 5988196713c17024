"""Line search over step sizes (Sec. 4, legacy_notes/original-code.md ``get_search_steps`` / ``do_opt``)."""
import numpy as np


def step_grid(min_exp=-7, max_exp=2, per_decade=1):
    """10^min_exp, ..., 10^max_exp (the paper's [1e-7, 1e2]: ten steps), with ``per_decade``
    steps in each decade, evenly spaced in log (1: the paper's grid; 3: 1, 2.15, 4.64, 10 ...)."""
    if per_decade == 1:
        return np.array([float(f"1e{e}") for e in range(min_exp, max_exp + 1)])
    n = (max_exp - min_exp) * per_decade + 1
    return 10.0 ** (min_exp + np.arange(n) / per_decade)


def best_step(cost_at, steps):
    """Evaluate ``cost_at(s)`` for every step; return (best step, list of costs).

    Non-finite costs (a step that overflows) never win; the smallest step wins ties.
    """
    costs = [float(cost_at(s)) for s in steps]
    finite = [c if np.isfinite(c) else np.inf for c in costs]
    return float(steps[int(np.argmin(finite))]), costs
