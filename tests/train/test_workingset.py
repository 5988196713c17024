"""train/workingset.py: the working set V of Algorithm 1."""
import numpy as np

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
