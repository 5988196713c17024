"""A renderer for the synthetic world: the body as shaded capsules through a real camera.

Only the square crop box around the person is rendered, at 128 x 128, as the paper
crops Human3.6M frames by their bounding box. Limbs, torso, hips, shoulders and neck
are capsules, the head a sphere whose front (the side of the nose) is skin and whose
back is hair, the hands spheres and the feet capsules pointing forward. Each capsule is
drawn as a depth-tested impostor: a pixel inside the projected capsule gets the depth
and the normal of the capsule's surface there, and Lambert shading from the
sequence's light. Clothing: per-subject shirt, trousers, skin, hair and shoe colours,
with stripes along the shirt. The background is a cluttered room image per (subject,
camera) covering the whole camera view, sampled under the crop box. Pixel noise last.
"""
import zlib

import numba
import numpy as np

from structnet.geometry import camera as C

CROP = 128
# capsule list: (joint a, joint b, radius mm, material)  materials: 0 shirt 1 trousers 2 skin 3 shoes 4 hair/face
_BODY = (
    (0, 7, 125, 0), (7, 8, 135, 0), (1, 4, 100, 1), (11, 14, 70, 0), (8, 9, 48, 2),
    (1, 2, 78, 1), (2, 3, 55, 1), (4, 5, 78, 1), (5, 6, 55, 1),
    (11, 12, 48, 0), (12, 13, 40, 2), (14, 15, 48, 0), (15, 16, 40, 2),
)
HEAD_RADIUS = 100.0


def _rng(*keys):
    return np.random.default_rng([zlib.crc32(str(k).encode()) for k in keys])


def appearance(subject, seed=0):
    """(5, 3) colours in [0, 1] for shirt, trousers, skin, shoes, hair; plus stripe params."""
    r = _rng("look", seed, subject)
    skin = np.array([0.85, 0.65, 0.52]) * r.uniform(0.55, 1.05)
    shirt = r.uniform(0.1, 0.95, 3)
    trousers = r.uniform(0.05, 0.7, 3) * r.uniform(0.5, 1.0)
    shoes = r.uniform(0.02, 0.3, 3)
    hair = np.array([0.25, 0.17, 0.1]) * r.uniform(0.2, 1.6)
    colours = np.clip(np.stack([shirt, trousers, skin, shoes, hair]), 0, 1)
    stripes = np.array([r.uniform(2, 7), r.uniform(0.0, 0.35)])   # cycles per bone, depth
    return colours.astype(np.float32), stripes.astype(np.float32)


def background(subject, cam_index, seed=0, size=256):
    """(size, size, 3) float32 room image covering the camera's whole view."""
    r = _rng("room", seed, subject, cam_index)
    yy, xx = np.mgrid[0:size, 0:size] / size
    base = r.uniform(0.2, 0.8, 3)
    img = base[None, None] * (0.7 + 0.5 * yy[..., None]) + r.uniform(-0.15, 0.15, 3) * xx[..., None]
    horizon = r.uniform(0.45, 0.65)
    floor = r.uniform(0.15, 0.6, 3)
    img[yy > horizon] = floor * (0.8 + 0.4 * (yy[yy > horizon, None] - horizon))
    for _ in range(r.integers(25, 45)):                      # clutter: boxes and discs
        c = r.uniform(0, 1, 3)
        x0, y0 = r.uniform(-0.1, 1.0, 2)
        w, h = r.uniform(0.02, 0.25, 2)
        if r.random() < 0.5:
            m = (xx >= x0) & (xx < x0 + w) & (yy >= y0) & (yy < y0 + h)
        else:
            m = ((xx - x0) / w) ** 2 + ((yy - y0) / h) ** 2 < 1
        img[m] = img[m] * 0.3 + c * 0.7
    for _ in range(r.integers(5, 12)):                        # lines (furniture edges, cables)
        x0, y0, x1, y1 = r.uniform(0, 1, 4)
        t = np.linspace(0, 1, size * 2)
        px = np.clip(((x0 + (x1 - x0) * t) * size).astype(int), 0, size - 1)
        py = np.clip(((y0 + (y1 - y0) * t) * size).astype(int), 0, size - 1)
        img[py, px] = r.uniform(0, 1, 3)
    img = (img + np.roll(img, 1, 0) + np.roll(img, 1, 1) + np.roll(np.roll(img, 1, 0), 1, 1)) / 4
    return np.clip(img, 0, 1).astype(np.float32)


@numba.njit(cache=True, nogil=True)
def _sample_background(bg, box, res, out):
    """Bilinear sample of the room image under the crop box into out (CROP, CROP, 3)."""
    S = bg.shape[0]
    n = out.shape[0]
    for v in range(n):
        y = (box[1] + (v + 0.5) * box[2] / n) / res[1] * S - 0.5
        y = min(max(y, 0.0), S - 1.001)
        y0 = int(y)
        fy = y - y0
        for u in range(n):
            x = (box[0] + (u + 0.5) * box[2] / n) / res[0] * S - 0.5
            x = min(max(x, 0.0), S - 1.001)
            x0 = int(x)
            fx = x - x0
            for c in range(3):
                out[v, u, c] = ((bg[y0, x0, c] * (1 - fx) + bg[y0, x0 + 1, c] * fx) * (1 - fy)
                                + (bg[y0 + 1, x0, c] * (1 - fx) + bg[y0 + 1, x0 + 1, c] * fx) * fy)


@numba.njit(cache=True, nogil=True)
def _draw(img, zbuf, prims, colours, stripes, light, face):
    """Draw capsule impostors. prims (P, 10): x0 y0 z0 x1 y1 z1 r0px r1px rmm material;
    material 5 = head sphere (front skin, back hair by ``face`` (3,) direction)."""
    n = img.shape[0]
    for q in range(prims.shape[0]):
        x0, y0, z0, x1, y1, z1, r0, r1, rmm, mat = prims[q]
        m = int(mat)
        rmax = max(r0, r1)
        ua = max(0, int(min(x0, x1) - rmax - 1))
        ub = min(n, int(max(x0, x1) + rmax + 2))
        va = max(0, int(min(y0, y1) - rmax - 1))
        vb = min(n, int(max(y0, y1) + rmax + 2))
        dx = x1 - x0
        dy = y1 - y0
        L2 = dx * dx + dy * dy
        for v in range(va, vb):
            for u in range(ua, ub):
                px = u + 0.5
                py = v + 0.5
                t = 0.0
                if L2 > 1e-9:
                    t = ((px - x0) * dx + (py - y0) * dy) / L2
                    t = min(max(t, 0.0), 1.0)
                cx = x0 + t * dx
                cy = y0 + t * dy
                r = r0 + t * (r1 - r0)
                ex = px - cx
                ey = py - cy
                d = np.sqrt(ex * ex + ey * ey)
                if d >= r or r <= 0:
                    continue
                s = d / r
                nz = np.sqrt(1.0 - s * s)
                depth = z0 + t * (z1 - z0) - rmm * nz
                if depth >= zbuf[v, u]:
                    continue
                zbuf[v, u] = depth
                nx = 0.0
                ny = 0.0
                if d > 1e-9:
                    nx = ex / d * s
                    ny = ey / d * s
                # normal (nx, ny, -nz) in camera axes; light points from surface to light
                lam = max(0.0, nx * light[0] + ny * light[1] - nz * light[2])
                shade = light[3] + light[4] * lam
                if m == 5:
                    facing = nx * face[0] + ny * face[1] - nz * face[2]
                    if facing > 0.25:
                        col = colours[2]
                        if facing > 0.88:
                            shade *= 0.75         # nose and mouth: a darker patch on the face
                    else:
                        col = colours[4]
                else:
                    col = colours[m]
                    if m == 0:
                        shade *= 1.0 - stripes[1] * (0.5 + 0.5 * np.sin(6.2832 * stripes[0] * t))
                for c in range(3):
                    img[v, u, c] = col[c] * shade


def _prims(joints_cam, px, box, cam, scale, size=CROP):
    """Primitive table (P, 10) for one pose: joints in camera mm, px their crop pixels."""
    k = size / box[2]
    f = cam.f.mean() * k
    rows = []

    def cap(a_xyz, b_xyz, a_px, b_px, r_mm, mat):
        rows.append([a_px[0], a_px[1], a_xyz[2], b_px[0], b_px[1], b_xyz[2],
                     r_mm * f / a_xyz[2], r_mm * f / b_xyz[2], r_mm, mat])

    for a, b, r, mat in _BODY:
        cap(joints_cam[a], joints_cam[b], px[a], px[b], r * scale, mat)
    # head: sphere between the nose and the head top, facing the nose
    centre = joints_cam[10] * 0.55 + joints_cam[9] * 0.45
    cpx = px[10] * 0.55 + px[9] * 0.45
    cap(centre, centre, cpx, cpx, HEAD_RADIUS * scale, 5)
    for w in (13, 16):                                  # hands
        cap(joints_cam[w], joints_cam[w], px[w], px[w], 45 * scale, 2)
    up = joints_cam[8] - joints_cam[0]
    right = joints_cam[1] - joints_cam[4]
    fwd = np.cross(up, right)
    fwd /= max(np.linalg.norm(fwd), 1e-9)
    for ank in (3, 6):                                  # feet, pointing forward
        toe = joints_cam[ank] + fwd * 150 * scale + np.array([0, 0, 0.0])
        tpx = (C.project(toe[None], cam)[0] - box[:2]) * k
        cap(joints_cam[ank], toe, px[ank], tpx, 42 * scale, 3)
    face = centre - joints_cam[9]
    face = -face / max(np.linalg.norm(face), 1e-9)
    return np.array(rows, np.float64), face


def render(joints_cam, cam, bg, look, light, noise, rng, scale=1.0, box=None, size=CROP):
    """One crop: joints (17, 3) camera mm -> (uint8 (128,128,3), joints2d (17,2) crop px, box (3,)).

    bg: the room image of this camera (``background``); look: ``appearance``; light: (5,)
    direction (3, unit, towards the light, camera axes) + ambient + diffuse; noise: pixel
    noise sigma in [0, 1] units; scale: body thickness scale of the subject. ``box``
    (x0, y0, side) image px and ``size`` override the crop: ``box=(0, 0, 1002), size=1002``
    renders a whole camera frame (the Human3.6M video fixtures of the tests).
    """
    j2d = C.project(joints_cam, cam)
    box = C.crop_box(j2d, joints_cam, cam) if box is None else np.asarray(box, np.float64)
    px = (j2d - box[:2]) * (size / box[2])
    img = np.empty((size, size, 3), np.float64)
    _sample_background(bg, box, np.array(cam.res, np.float64), img)
    zbuf = np.full((size, size), np.inf)
    prims, face = _prims(joints_cam, px, box, cam, scale, size)
    colours, stripes = look
    _draw(img, zbuf, prims, colours.astype(np.float64), stripes.astype(np.float64), light, face)
    img += rng.normal(0, noise, img.shape)
    return np.clip(img * 255 + 0.5, 0, 255).astype(np.uint8), px.astype(np.float32), box


def random_light(rng):
    """(5,) light: unit direction from the front hemisphere (camera axes), ambient, diffuse."""
    d = np.array([rng.uniform(-0.8, 0.8), rng.uniform(-0.9, 0.3), rng.uniform(0.4, 1.0)])
    d /= np.linalg.norm(d)
    return np.array([d[0], d[1], d[2], rng.uniform(0.3, 0.55), rng.uniform(0.45, 0.8)])
