"""A grid of dataset samples with their 2D skeletons drawn over them (PNG)."""
import numpy as np
from PIL import Image, ImageDraw

from structnet.io import atomic_write
from structnet.geometry import skeleton as S
from structnet.data.dataset import Dataset

LIMB_COLOURS = {"left": (60, 160, 255), "right": (255, 80, 60), "centre": (255, 230, 60)}


def draw_skeleton(img, joints2d, scale=1):
    """PIL image with the 17-joint skeleton (crop pixels) drawn on it."""
    im = Image.fromarray(img).resize((img.shape[1] * scale, img.shape[0] * scale), Image.NEAREST)
    d = ImageDraw.Draw(im)
    p = joints2d * scale
    for a, b in S.BONES:
        side = "left" if b in S.LEFT else "right" if b in S.RIGHT else "centre"
        d.line([tuple(p[a]), tuple(p[b])], fill=LIMB_COLOURS[side], width=max(1, scale))
    for j in range(17):
        x, y = p[j]
        d.ellipse([x - scale, y - scale, x + scale, y + scale], fill=(255, 255, 255))
    return im


def sample_grid(path, out, rows=4, cols=6, seed=0, scale=2):
    """Write a rows x cols grid of random samples of ``path`` (one per action where possible)."""
    ds = Dataset(path)
    rng = np.random.default_rng(seed)
    picks = []
    for a in range(len(ds.actions)):
        idx = np.flatnonzero(ds.meta["action"] == a)
        if len(idx):
            picks.append(int(rng.choice(idx)))
    rest = np.setdiff1d(np.arange(len(ds)), picks)
    extra = rng.choice(rest, min(len(rest), max(0, rows * cols - len(picks))), replace=False)
    picks = (picks + [int(i) for i in extra])[: rows * cols]       # fewer tiles for a small dataset
    tiles = [draw_skeleton(ds.read_images([i])[0], ds.joints2d[i], scale) for i in picks]
    w, h = tiles[0].size
    grid = Image.new("RGB", (cols * w, rows * h), (0, 0, 0))
    d = ImageDraw.Draw(grid)
    for k, (i, t) in enumerate(zip(picks, tiles)):
        x, y = (k % cols) * w, (k // cols) * h
        grid.paste(t, (x, y))
        d.text((x + 3, y + 2), f"S{ds.meta['subject'][i]} {ds.actions[ds.meta['action'][i]]}", fill=(255, 255, 255))
    atomic_write(out, lambda tmp: grid.save(tmp, format="PNG"))
    ds.close()
    return out
