"""Dataset images out as PNG files (``structnet export-images``): a few test crops to try
``predict`` on, with ``index.json`` naming each file's row, subject, action and pose (mm,
root-relative) in the dataset."""
import os

import numpy as np

from structnet.data.dataset import Dataset

INDEX = "index.json"        # beside the images; predict passes over it without a note


def export_images(dataset_path, out, n=6, seed=0):
    """Write ``n`` images of the dataset (rows drawn by ``seed``, sorted) as
    ``<row>.png`` (the stored 128 x 128 crop, unchanged) and ``index.json``; returns the rows."""
    from PIL import Image
    from structnet.io import atomic_write, mark_dir, write_json
    ds = Dataset(dataset_path)
    os.makedirs(out, exist_ok=True)
    try:
        n = min(n, len(ds))
        rng = np.random.default_rng(seed)
        rows = np.sort(rng.choice(len(ds), n, replace=False)) if n else np.zeros(0, int)
        images = ds.read_images(rows)
        index = []
        for r, img in zip(rows, images):
            name = f"{int(r):06d}.png"
            atomic_write(os.path.join(out, name), lambda tmp, im=img: Image.fromarray(im).save(tmp, format="PNG"))
            index.append({"file": name, "row": int(r), "subject": int(ds.meta["subject"][r]),
                          "action": ds.actions[int(ds.meta["action"][r])], "pose_mm": ds.root_relative([r])[0].round(3).tolist()})
        write_json(os.path.join(out, INDEX), {"dataset": os.fspath(dataset_path), "images": index})
        mark_dir(out, "export")
    finally:
        ds.close()
    return rows
