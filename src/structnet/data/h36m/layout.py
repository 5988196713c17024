"""Find the sequences of a Human3.6M tree: the official release or the h36m-fetch layout.

A *unit* is one (subject, sequence, camera): the work of one extraction task.

Official release (``layout="official"``)::

    ROOT/S1/MyPoseFeatures/D3_Positions_mono/<Action>[ <n>].<camera>.cdf
    ROOT/S1/Videos/<Action>[ <n>].<camera>.mp4
    ROOT/S1/MySegmentsMat/ground_truth_bb/<Action>[ <n>].<camera>.mat
    ROOT/metadata.xml

h36m-fetch (``layout="fetch"``)::

    ROOT/processed/S1/<Action>-<subaction>/annot.h5            (or ROOT = processed/)
    ROOT/processed/S1/<Action>-<subaction>/imageSequence/<camera>/img_000001.jpg
"""
import glob
import os
from dataclasses import dataclass, field

from structnet.errors import UserError
from structnet.data.h36m import names

OFFICIAL_HINT = "S1/MyPoseFeatures/D3_Positions_mono/*.cdf and S1/Videos/*.mp4 (official release)"
FETCH_HINT = "processed/S1/<Action>-<n>/annot.h5 (h36m-fetch)"


@dataclass
class Unit:
    subject: str
    action: str          # the project's action name
    subaction: int
    camera: int          # 0..3
    stem: str            # official: 'Directions 1.54138969'; fetch: 'Directions-1.54138969'
    pose: str            # CDF (official) or annot.h5 (fetch)
    video: str = ""      # official: mp4; fetch: the imageSequence/<camera> directory
    mask: str = ""       # official: ground_truth_bb .mat
    notes: list = field(default_factory=list)

    @property
    def key(self):
        return f"{self.subject}.{self.stem}"


def _subject_dirs(base):
    out = {}
    for s in names.SUBJECTS:
        d = os.path.join(base, s)
        if os.path.isdir(d):
            out[s] = d
    return out


def detect(root):
    """'official' or 'fetch' for the tree at ``root``; a one-line UserError otherwise."""
    root = os.fspath(root)
    if not os.path.isdir(root):
        raise UserError(f"{root}: no such directory (H36M_ROOT must hold S1/, S5/ ... or processed/)")
    if any(glob.glob(os.path.join(d, "MyPoseFeatures", "D3_Positions_mono", "*.cdf"))
           for d in _subject_dirs(root).values()):
        return "official"
    for base in (os.path.join(root, "processed"), root):
        if any(glob.glob(os.path.join(d, "*", "annot.h5")) for d in _subject_dirs(base).values()):
            return "fetch"
    found = sorted(os.listdir(root))[:6]
    raise UserError(f"{root}: no Human3.6M layout found: expected {OFFICIAL_HINT} or {FETCH_HINT}; "
                    f"found {found}")


def official_units(root, subjects, actions, metadata=None):
    """Units of the official release for ``subjects`` and ``actions``; plus the names skipped."""
    root = os.fspath(root)
    dirs = _subject_dirs(root)
    units, skipped = [], []
    stem_to_sub = {}
    if metadata is not None:
        stem_to_sub = {(s, stem): (a, sub) for (s, a, sub), stem in metadata.stems.items()}
    for s in subjects:
        if s not in dirs:
            continue
        pose_dir = os.path.join(dirs[s], "MyPoseFeatures", "D3_Positions_mono")
        found = []
        for path in sorted(glob.glob(os.path.join(pose_dir, "*.cdf"))):
            stem = os.path.basename(path)[:-4]
            parsed = names.parse_stem(stem)
            if parsed is None or parsed[2] not in names.CAMERA_IDS:
                skipped.append(f"{s}/{stem}")
                continue
            found.append((stem, path) + parsed)
        # subaction: from metadata.xml's table when it has one, else by the number in the name
        seqs = {}
        for stem, path, action, num, cam in found:
            seqs.setdefault(action, set()).add((num, stem.rsplit(".", 1)[0]))
        ranks = {(a, seq): i + 1 for a, v in seqs.items() for i, (_, seq) in enumerate(sorted(v))}
        for stem, path, action, num, cam in found:
            if action not in actions:
                continue
            seq = stem.rsplit(".", 1)[0]
            sub = stem_to_sub.get((s, seq), (action, ranks[(action, seq)]))[1]
            units.append(Unit(s, action, sub, names.CAMERA_IDS.index(cam), stem, path,
                              video=os.path.join(dirs[s], "Videos", stem + ".mp4"),
                              mask=os.path.join(dirs[s], "MySegmentsMat", "ground_truth_bb", stem + ".mat")))
    return units, skipped


def fetch_units(root, subjects, actions):
    """Units of the h36m-fetch layout (one per annot.h5 and camera it holds)."""
    import h5py
    import numpy as np
    root = os.fspath(root)
    base = os.path.join(root, "processed") if os.path.isdir(os.path.join(root, "processed")) else root
    dirs = _subject_dirs(base)
    units, skipped = [], []
    for s in subjects:
        if s not in dirs:
            continue
        for annot in sorted(glob.glob(os.path.join(dirs[s], "*", "annot.h5"))):
            seq = os.path.basename(os.path.dirname(annot))
            name, _, sub = seq.rpartition("-")
            action = names.canonical_action(name)
            if action is None or not sub.isdigit():
                skipped.append(f"{s}/{seq}")
                continue
            if action not in actions:
                continue
            try:
                with h5py.File(annot, "r") as f:
                    cams = np.unique(f["camera"][()])
            except (OSError, KeyError) as e:
                units.append(Unit(s, action, int(sub), -1, f"{seq}.unreadable", annot,
                                  notes=[f"{annot}: unreadable annot.h5 ({e})"]))
                continue
            for cam in cams:
                cid = str(int(cam))
                if cid not in names.CAMERA_IDS:
                    skipped.append(f"{s}/{seq}/camera {cid}")
                    continue
                units.append(Unit(s, action, int(sub), names.CAMERA_IDS.index(cid), f"{seq}.{cid}", annot,
                                  video=os.path.join(os.path.dirname(annot), "imageSequence", cid)))
    return units, skipped
