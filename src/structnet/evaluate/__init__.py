"""Evaluation: the paper's methods on the test set, APF, the floor and the oracles."""
