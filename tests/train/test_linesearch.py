"""train/linesearch.py: the step grid and the choice of the least cost (Sec. 5.3)."""
import numpy as np

from structnet.train.linesearch import best_step, step_grid


def test_line_search_picks_the_least_cost():
    grid = step_grid(-7, 2)
    assert len(grid) == 10 and grid[0] == 1e-7 and grid[-1] == 100
    s, costs = best_step(lambda s: (np.log10(s) + 3) ** 2, grid)
    assert s == 1e-3 and len(costs) == 10
    s, _ = best_step(lambda s: np.nan if s > 1e-5 else -s, grid)
    assert s == 1e-5
    s, _ = best_step(lambda s: 1.0, grid)                      # ties: the smallest step
    assert s == 1e-7


def test_finer_grid_holds_the_decades():
    g = step_grid(-1, 2, per_decade=3)
    assert len(g) == 10 and np.allclose(g[::3], [0.1, 1, 10, 100]) and np.allclose(g[1], 10 ** (-1 + 1 / 3))
    assert np.all(np.diff(np.log10(g)) > 0.33) and np.array_equal(step_grid(-7, 2, 1), step_grid(-7, 2))
