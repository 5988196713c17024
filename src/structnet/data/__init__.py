"""Data: the dataset file, the synthetic world (and BVH import), Human3.6M extraction."""
