"""Training: run directories, DconvMP-HML pre-training, Algorithm 1, the loop of both phases."""
