"""Writers of Human3.6M's file formats: the test fixtures and the extraction benchmark,
built from the synthetic world.

Each writer produces the exact on-disk format a user has: a CDF with the ``Pose``
variable (written with cdflib, one record of N x 96 as the release), an mp4 (PyAV, the
library the extractor reads with), a MATLAB v7.3 mask file (HDF5 with the 512-byte MAT
header, a cell array ``Masks`` of object references to transposed uint8 masks, written
with h5py), ``metadata.xml`` (``<w0>`` and the ``<mapping>`` table), h36m-fetch's
``annot.h5`` and JPEG frames, and VideoPose3D's npz. The truth (poses, boxes, frames)
is returned so tests can compare.
"""
import os
import time
import xml.etree.ElementTree as ET

import h5py
import numpy as np
from PIL import Image

from structnet.geometry import camera as C
from structnet.data.synthetic import motion as M
from structnet.data.synthetic import render as R
from structnet.data.h36m import names
from structnet.data.h36m.metadata import matrix_to_euler

# the other 15 of the 32 joints: copies of a kept joint (as the release's duplicate joints)
_FILL = {4: 3, 5: 3, 9: 8, 10: 8, 11: 0, 16: 8, 20: 19, 21: 19, 22: 19, 23: 19, 24: 8, 28: 27, 29: 27, 30: 27,
         31: 27}


def to32(p17):
    """(N, 17, 3) -> (N, 32, 3) with the 17 at their release indices."""
    out = np.zeros(p17.shape[:1] + (32,) + p17.shape[2:], p17.dtype)
    out[:, list(names.JOINTS_17)] = p17
    for i, src in _FILL.items():
        out[:, i] = out[:, names.JOINTS_17.index(src)]
    return out


def write_cdf(path, poses32):
    """``Pose`` as the release stores it: one record of (N, 96) float32."""
    from cdflib.cdfwrite import CDF
    os.makedirs(os.path.dirname(path), exist_ok=True)
    n = len(poses32)
    f = CDF(str(path), cdf_spec={"Majority": "Row_major"}, delete=True)
    f.write_var({"Variable": "Pose", "Data_Type": CDF.CDF_FLOAT, "Num_Elements": 1, "Rec_Vary": True,
                 "Dim_Sizes": [n, 96]}, var_data=np.asarray(poses32, np.float32).reshape(1, n, 96))
    f.close()


def write_mp4(path, frames, fps=50, crf=12, bitrate=None, faststart=False):
    """uint8 (H, W, 3) frames (an array or any iterable) -> H.264 mp4 (yuv420p) with PyAV, at
    constant quality ``crf`` or, given ``bitrate`` (bit/s), at that average bitrate.
    ``faststart``: the index before the data, so that a truncated file still decodes its start."""
    import av
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with av.open(str(path), "w", options={"movflags": "faststart"} if faststart else {}) as out:
        s = None
        for fr in frames:
            if s is None:
                s = out.add_stream("libx264", rate=fps)
                s.height, s.width = fr.shape[:2]
                s.pix_fmt = "yuv420p"
                s.options = {"preset": "veryfast"} if bitrate else {"crf": str(crf), "preset": "veryfast"}
                if bitrate:
                    s.bit_rate = int(bitrate)
            for p in s.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(fr), format="rgb24")):
                out.mux(p)
        for p in s.encode():
            out.mux(p)


def write_mask_mat(path, boxes, res):
    """MATLAB v7.3 ``Masks``: per frame a (H, W) uint8 mask, 1 inside the box (x0, y0, w, h)."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    W, H = res
    with h5py.File(path, "w", userblock_size=512) as f:
        refs = f.create_group("#refs#")
        ref_ds = f.create_dataset("Masks", (len(boxes), 1), dtype=h5py.ref_dtype)
        ref_ds.attrs["MATLAB_class"] = np.bytes_("cell")
        for i, (x0, y0, w, h) in enumerate(boxes):
            m = np.zeros((H, W), np.uint8)
            if w > 0 and h > 0:
                m[int(y0):int(y0 + h), int(x0):int(x0 + w)] = 1
            d = refs.create_dataset(f"m{i}", data=m.T)           # MATLAB stores column-major
            d.attrs["MATLAB_class"] = np.bytes_("logical")
            d.attrs["MATLAB_int_decode"] = np.int32(1)
            ref_ds[i, 0] = d.ref
    header = (f"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: {time.strftime('%a %b %d %H:%M:%S %Y')} "
              "HDF5 schema 1.00 .").encode().ljust(116) + b"\0" * 8 + b"\x00\x02IM"
    with open(path, "r+b") as f:
        f.write(header.ljust(512, b"\0"))


def write_metadata(path, stems=None):
    """metadata.xml with ``<w0>`` from the bundled calibration and a ``<mapping>`` table."""
    w0 = np.zeros(300)
    for ci in range(4):
        cam = C.get_camera("S1", ci)
        w0[264 + ci * 9:264 + ci * 9 + 9] = cam.params()
        for s in range(1, 12):
            if f"S{s}" not in C.SUBJECTS:
                continue
            cam = C.get_camera(f"S{s}", ci)
            w0[6 * (ci * 11 + s - 1):][:6] = [*matrix_to_euler(cam.R.T), *cam.t]
    root = ET.Element("h36m")
    mapping = ET.SubElement(root, "mapping")
    subjects = [f"S{i}" for i in range(1, 12)]
    head = ET.SubElement(mapping, "tr")
    for t in ["", ""] + subjects:
        ET.SubElement(head, "td").text = t
    for (aid, sub), per_subject in sorted((stems or {}).items()):
        tr = ET.SubElement(mapping, "tr")
        for t in [str(aid), str(sub)] + [per_subject.get(s, "") for s in subjects]:
            ET.SubElement(tr, "td").text = t
    names_el = ET.SubElement(root, "actionnames")
    for a in ["_ALL"] + list(names.OFFICIAL_ACTIONS):
        ET.SubElement(names_el, "item").text = a
    cams = ET.SubElement(ET.SubElement(root, "dbcameras"), "index2id")
    for c in names.CAMERA_IDS:
        ET.SubElement(cams, "item").text = c
    ET.SubElement(root, "w0").text = "[" + " ".join(f"{v:.10g}" for v in w0) + "]"
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    ET.ElementTree(root).write(path)


def render_frames(subject, action, cam_index, n, seed=0):
    """Synthetic truth: camera-frame poses (n,17,3) mm and full frames uint8 (n,H,W,3)."""
    world = M.generate_sequence(subject, action, 1, n / 50 + 0.1, seed)[:n]
    cam = C.get_camera(subject, cam_index)
    bg, look = R.background(subject, cam_index, seed), R.appearance(subject, seed)
    rng = np.random.default_rng(seed)
    light = R.random_light(rng)
    W, H = cam.res
    side = max(W, H)
    poses = np.stack([C.world_to_camera(w, cam) for w in world])
    frames = np.stack([R.render(p, cam, bg, look, light, 0.0, rng, box=(0, 0, side), size=side)[0][:H, :W]
                       for p in poses])
    return poses, frames, cam


def person_boxes(poses, cam, pad=30):
    """The masks' boxes (x0, y0, w, h), whole px: the projected joints' extent plus ``pad`` px."""
    out = []
    for p in poses:
        j = C.project(p, cam)
        lo, hi = np.floor(j.min(0)) - pad, np.ceil(j.max(0)) + pad
        out.append([lo[0], lo[1], hi[0] - lo[0], hi[1] - lo[1]])
    return np.array(out)


def official_sequence(root, subject, stem, action, cam_index, n, video_frames=None, mask=True, seed=0):
    """Write one sequence of the official layout; returns its truth dict."""
    nv = n if video_frames is None else video_frames
    poses, frames, cam = render_frames(subject, action, cam_index, max(n, nv), seed)
    poses, video = poses[:n], frames[:nv]
    frames = frames[:n]
    cid = names.CAMERA_IDS[cam_index]
    s = os.path.join(root, subject)
    write_cdf(os.path.join(s, "MyPoseFeatures", "D3_Positions_mono", f"{stem}.{cid}.cdf"), to32(poses.astype(np.float32)))
    write_mp4(os.path.join(s, "Videos", f"{stem}.{cid}.mp4"), video)
    boxes = person_boxes(poses, cam)
    if mask:
        write_mask_mat(os.path.join(s, "MySegmentsMat", "ground_truth_bb", f"{stem}.{cid}.mat"), boxes, cam.res)
    return {"poses": poses, "frames": frames, "boxes": boxes, "cam": cam, "n_video": nv}


def official_tree(root):
    """A small official release tree with the known faults; returns {unit key: truth}."""
    truth = {}
    truth["S1.Walking.54138969"] = official_sequence(root, "S1", "Walking", "Walking", 0, 6)
    truth["S1.Walking 1.58860488"] = official_sequence(root, "S1", "Walking 1", "Walking", 2, 6, video_frames=4)
    truth["S1.Eating.55011271"] = official_sequence(root, "S1", "Eating", "Eating", 1, 3, mask=False)
    truth["S9.Walking.54138969"] = official_sequence(root, "S9", "Walking", "Walking", 0, 4, video_frames=5)
    # an unreadable CDF
    bad = os.path.join(root, "S1", "MyPoseFeatures", "D3_Positions_mono", "Eating 1.54138969.cdf")
    with open(bad, "wb") as f:
        f.write(b"\x00not a cdf" * 10)
    # the release's "_ALL" files are not sequences
    write_cdf(os.path.join(root, "S1", "MyPoseFeatures", "D3_Positions_mono", "_ALL.54138969.cdf"),
              to32(truth["S1.Walking.54138969"]["poses"].astype(np.float32)))
    # S11's corrupt Directions video (known) and another corrupt video (not known)
    for stem, cam, action in (("Directions", 0, "Directions"), ("Phoning", 3, "Phoning")):
        official_sequence(root, "S11", stem, action, cam, 3)
        with open(os.path.join(root, "S11", "Videos", f"{stem}.{names.CAMERA_IDS[cam]}.mp4"), "wb") as f:
            f.write(b"\x00\x00\x00\x18ftypmp42" + os.urandom(2000))
    # the sequence table: S1's "Walking 1" is subaction 1 and "Walking" subaction 2
    write_metadata(os.path.join(root, "metadata.xml"),
                   {(14, 1): {"S1": "Walking 1", "S9": "Walking"}, (14, 2): {"S1": "Walking", "S9": "Walking 1"}})
    return truth


def fetch_tree(root):
    """A small h36m-fetch tree (every 2nd frame kept, one JPEG missing); returns truth per unit."""
    truth = {}
    for subject, seq, action, aid, cams, n in (("S1", "Walking-1", "Walking", 14, (0, 2), 5),
                                               ("S9", "Directions-2", "Directions", 2, (1,), 3)):
        d = os.path.join(root, "processed", subject, seq)
        cols = {k: [] for k in ("pose/2d", "pose/3d", "pose/3d-univ", "frame", "camera", "subject", "action",
                                "subaction")}
        intr = {}
        for ci in cams:
            poses, frames, cam = render_frames(subject, action, ci, n)
            keep = np.arange(0, n, 2)                            # h36m-fetch keeps a subset of frames
            cid = names.CAMERA_IDS[ci]
            j2 = np.stack([C.project(p, cam) for p in poses])
            for i in keep:
                os.makedirs(os.path.join(d, "imageSequence", cid), exist_ok=True)
                Image.fromarray(frames[i]).save(os.path.join(d, "imageSequence", cid, f"img_{i + 1:06d}.jpg"),
                                                quality=95)
            p32 = to32(poses[keep].astype(np.float32))
            cols["pose/3d"].append(p32)
            cols["pose/3d-univ"].append(p32)
            cols["pose/2d"].append(to32(j2[keep].astype(np.float32)))
            cols["frame"].append(keep + 1)
            cols["camera"].append(np.full(len(keep), int(cid)))
            cols["subject"].append(np.full(len(keep), names.subject_number(subject)))
            cols["action"].append(np.full(len(keep), aid))
            cols["subaction"].append(np.full(len(keep), int(seq[-1])))
            intr[cid] = np.concatenate([cam.f, cam.c])
            truth[f"{subject}.{seq}.{cid}"] = {"poses": poses[keep], "frames": frames[keep], "joints2d": j2[keep],
                                                "cam": cam, "frame": keep}
        with h5py.File(os.path.join(d, "annot.h5"), "w") as f:
            for k, v in cols.items():
                f.create_dataset(k, data=np.concatenate(v))
            for cid, v in intr.items():
                f.create_dataset(f"intrinsics/{cid}", data=v)
    # one frame image lost
    os.remove(os.path.join(root, "processed", "S1", "Walking-1", "imageSequence", "58860488", "img_000003.jpg"))
    return truth


def write_videopose3d_npz(path, seconds=0.2):
    """data_3d_h36m.npz: positions_3d[subject][sequence] = (N, 32, 3) world metres."""
    pos = {}
    for s in ("S1", "S5", "S9"):
        pos[s] = {}
        for seq, action, sub in (("Walking", "Walking", 1), ("Walking 1", "Walking", 2),
                                 ("TakingPhoto", "Photo", 1), ("_ALL", "Walking", 1)):
            world = M.generate_sequence(s, action, sub, seconds, 0)
            pos[s][seq] = to32(world.astype(np.float32)) / 1000.0
    np.savez_compressed(path, positions_3d=pos)
    return pos
