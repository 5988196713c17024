"""Human3.6M naming: the 17 joints, the 15 actions and their spellings, cameras, file names."""
import re

from structnet.geometry.protocol import ACTIONS, CAMERA_IDS, FPS, SUBJECTS, TEST_SUBJECTS, TRAIN_SUBJECTS  # noqa: F401

# 32-joint indices of the 17 joints the paper uses (legacy_notes/h36m.md), in the project's order
JOINTS_17 = (0, 1, 2, 3, 6, 7, 8, 12, 13, 14, 15, 17, 18, 19, 25, 26, 27)
# official action ids (metadata.xml <actionnames>, 1 = all): 2..16
OFFICIAL_ACTIONS = ("Directions", "Discussion", "Eating", "Greeting", "Phoning", "Posing", "Purchases",
                    "Sitting", "SittingDown", "Smoking", "TakingPhoto", "Waiting", "Walking", "WalkingDog",
                    "WalkTogether")
# the spellings found in file names and codebases -> the project's action names (motion.ACTIONS)
_ALIASES = {"takingphoto": "Photo", "photo": "Photo", "walkingdog": "WalkDog", "walkdog": "WalkDog",
            "walktogether": "WalkTogether", "walkingtogether": "WalkTogether"}
_CANON = {a.lower(): a for a in ACTIONS}
# known faults of the release that papers skip: (subject, file stem)
KNOWN_CORRUPT_VIDEOS = {("S11", "Directions.54138969"): "corrupt video (skipped by the papers, and here)"}

_STEM = re.compile(r"^(?P<action>[A-Za-z]+)(?: (?P<n>\d+))?(?:\.(?P<camera>\d{8}))?$")


def canonical_action(name):
    """'TakingPhoto', 'walkingdog', 'Walking' ... -> the project's action name, or None."""
    key = re.sub(r"[^a-z]", "", str(name).lower())
    return _ALIASES.get(key) or _CANON.get(key)


def action_from_id(action_id):
    """Official action id 2..16 -> the project's action name."""
    i = int(action_id) - 2
    if not 0 <= i < len(OFFICIAL_ACTIONS):
        raise ValueError(f"action id {action_id}: expected 2..16")
    return canonical_action(OFFICIAL_ACTIONS[i])


def parse_stem(stem):
    """'Directions 1.54138969' -> (action, number or 0, camera id or None); None when the
    name is not a sequence of the 15 actions (e.g. '_ALL 1.54138969')."""
    m = _STEM.match(stem)
    if not m:
        return None
    action = canonical_action(m["action"])
    if action is None:
        return None
    return action, int(m["n"] or 0), m["camera"]


def parse_actions(spec):
    """'Walking,TakingPhoto' (any spelling) or '' / 'all' -> tuple of action names."""
    if not spec or spec == "all":
        return tuple(ACTIONS)
    out = []
    for a in (x.strip() for x in spec.split(",")):
        if not a:
            continue
        c = canonical_action(a)
        if c is None:
            raise ValueError(f"unknown action {a!r}; choose from {', '.join(ACTIONS)}")
        out.append(c)
    return tuple(a for a in ACTIONS if a in out)


def subject_number(subject):
    return int(str(subject).lstrip("S"))
