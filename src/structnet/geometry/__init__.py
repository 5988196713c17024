"""Geometry: the skeleton, cameras, poses, error metrics and the Human3.6M protocol."""
