import numpy as np

from structnet.train.linesearch import best_step, step_grid
from structnet.train.workingset import WorkingSet


def test_working_set_counts_and_top_k():
    ws = WorkingSet(10)
    ws.add([3, 3, 7, 1, 3, 7])
    ws.add(np.array([9]))
    assert ws.counts[3] == 3 and ws.counts[7] == 2 and ws.counts[0] == 0
    assert list(ws.most_frequent(2)) == [3, 7]
    assert list(ws.most_frequent(10)) == [3, 7, 1, 9]          # ties by index; never unchosen poses
    assert len(ws.most_frequent(0)) == 0
    assert list(WorkingSet(10, ws.counts).most_frequent(3)) == [3, 7, 1]


def test_line_search_picks_the_least_cost():
    grid = step_grid(-7, 2)
    assert len(grid) == 10 and grid[0] == 1e-7 and grid[-1] == 100
    s, costs = best_step(lambda s: (np.log10(s) + 3) ** 2, grid)
    assert s == 1e-3 and len(costs) == 10
    s, _ = best_step(lambda s: np.nan if s > 1e-5 else -s, grid)
    assert s == 1e-5
    s, _ = best_step(lambda s: 1.0, grid)                      # ties: the smallest step
    assert s == 1e-7
