"""A user's own images in, 3D poses and pictures out (``structnet predict``,
``structnet.predict``): inputs (image files, folders, videos) made into the network's crops,
the poses of the paper's inference (Sec. 5.2), files and pictures."""
