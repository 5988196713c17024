"""The 17-joint Human3.6M skeleton: joints, parents, bones, forward and inverse kinematics.

Joint order (legacy_notes/h36m.md): pelvis, Rhip, Rknee, Rankle, Lhip, Lknee, Lankle, spine,
thorax, nose, head, Lshoulder, Lelbow, Lwrist, Rshoulder, Relbow, Rwrist.

Kinematics convention (as BVH): every joint j has a local rotation L_j (3x3); global
rotations compose down the tree, R_j = R_parent(j) @ L_j, and a joint's position is its
parent's plus the parent's global rotation applied to the joint's rest offset:
p_j = p_parent(j) + R_parent(j) @ o_j. The root's global rotation is L_0 and its position
the root translation. So L_j turns the bones *below* joint j.

Body frame of the rest pose: +z up, +y the direction the body faces, +x the body's right
(a right-handed frame). Units: mm.
"""
import numpy as np

JOINTS = ("pelvis", "Rhip", "Rknee", "Rankle", "Lhip", "Lknee", "Lankle", "spine", "thorax",
          "nose", "head", "Lshoulder", "Lelbow", "Lwrist", "Rshoulder", "Relbow", "Rwrist")
N_JOINTS = len(JOINTS)
PARENTS = np.array([-1, 0, 1, 2, 0, 4, 5, 0, 7, 8, 9, 8, 11, 12, 8, 14, 15])
LEFT = (4, 5, 6, 11, 12, 13)
RIGHT = (1, 2, 3, 14, 15, 16)
#: index of each joint's mirror image (left <-> right)
MIRROR = np.array([0, 4, 5, 6, 1, 2, 3, 7, 8, 9, 10, 14, 15, 16, 11, 12, 13])
BONES = tuple((int(PARENTS[j]), j) for j in range(1, N_JOINTS))
CHILDREN = tuple(tuple(int(c) for c in np.flatnonzero(PARENTS == j)) for j in range(N_JOINTS))

#: rest offsets (mm) of an average Human3.6M subject in the body frame (bone lengths from
#: the mean of the Human3.6M training subjects, rounded).
REST_OFFSETS = np.array([
    [0, 0, 0],            # pelvis
    [132, 0, 0],          # Rhip
    [0, 0, -445],         # Rknee
    [0, 0, -450],         # Rankle
    [-132, 0, 0],         # Lhip
    [0, 0, -445],         # Lknee
    [0, 0, -450],         # Lankle
    [0, 0, 233],          # spine
    [0, 0, 257],          # thorax
    [0, 60, 105],         # nose
    [0, -45, 106],        # head (top)
    [-150, 0, -10],       # Lshoulder
    [0, 0, -280],         # Lelbow
    [0, 0, -250],         # Lwrist
    [150, 0, -10],        # Rshoulder
    [0, 0, -280],         # Relbow
    [0, 0, -250],         # Rwrist
], dtype=np.float64)


def _check(x, last=(N_JOINTS, 3), name="positions"):
    x = np.asarray(x, dtype=np.float64)
    if x.shape[-2:] != last:
        raise ValueError(f"{name} must end in shape {last}, got {x.shape}")
    return x


def bone_lengths(positions):
    """(..., 17, 3) -> (..., 16) length of each bone (child j = 1..16 to its parent), mm."""
    p = _check(positions)
    return np.linalg.norm(p[..., 1:, :] - p[..., PARENTS[1:], :], axis=-1)


def offsets_from_lengths(lengths, template=REST_OFFSETS):
    """Rest offsets (17, 3) with the template's directions and the given (16,) bone lengths."""
    lengths = np.asarray(lengths, dtype=np.float64)
    d = template[1:] / np.linalg.norm(template[1:], axis=1, keepdims=True)
    return np.vstack([np.zeros(3), d * lengths[:, None]])


def forward_kinematics(local_rot, offsets, root_pos=None):
    """Joint positions from local rotations.

    local_rot (..., 17, 3, 3); offsets (17, 3) or (..., 17, 3) rest offsets (mm);
    root_pos (..., 3) or None (origin). Returns (..., 17, 3) positions, mm.
    """
    L = np.asarray(local_rot, dtype=np.float64)
    if L.shape[-3:] != (N_JOINTS, 3, 3):
        raise ValueError(f"local rotations must end in (17, 3, 3), got {L.shape}")
    off = np.broadcast_to(np.asarray(offsets, dtype=np.float64), L.shape[:-3] + (N_JOINTS, 3))
    R = np.empty_like(L)
    P = np.empty(L.shape[:-3] + (N_JOINTS, 3))
    R[..., 0, :, :] = L[..., 0, :, :]
    P[..., 0, :] = 0 if root_pos is None else root_pos
    for j in range(1, N_JOINTS):
        p = PARENTS[j]
        R[..., j, :, :] = R[..., p, :, :] @ L[..., j, :, :]
        P[..., j, :] = P[..., p, :] + np.einsum("...ab,...b->...a", R[..., p, :, :], off[..., j, :])
    return P


def _kabsch(src, dst):
    """Rotation R minimising sum ||R src_i - dst_i||^2; src, dst (..., n, 3)."""
    H = np.einsum("...ia,...ib->...ab", src, dst)
    U, _, Vt = np.linalg.svd(H)
    d = np.sign(np.linalg.det(np.swapaxes(Vt, -1, -2) @ np.swapaxes(U, -1, -2)))
    D = np.zeros(H.shape)
    D[..., 0, 0] = 1
    D[..., 1, 1] = 1
    D[..., 2, 2] = d
    return np.swapaxes(Vt, -1, -2) @ D @ np.swapaxes(U, -1, -2)


def _align(a, b):
    """Smallest rotation taking direction a to direction b; a, b (..., 3)."""
    a = a / np.linalg.norm(a, axis=-1, keepdims=True)
    b = b / np.linalg.norm(b, axis=-1, keepdims=True)
    v = np.cross(a, b)
    c = np.sum(a * b, axis=-1)
    K = np.zeros(a.shape[:-1] + (3, 3))
    K[..., 0, 1], K[..., 0, 2], K[..., 1, 2] = -v[..., 2], v[..., 1], -v[..., 0]
    K[..., 1, 0], K[..., 2, 0], K[..., 2, 1] = v[..., 2], -v[..., 1], v[..., 0]
    f = 1.0 / np.maximum(1.0 + c, 1e-9)
    R = np.eye(3) + K + (K @ K) * f[..., None, None]
    # opposite directions: rotate by pi about any axis orthogonal to a
    opp = c < -1 + 1e-9
    if np.any(opp):
        ax = np.cross(a[opp], np.array([1.0, 0, 0]))
        bad = np.linalg.norm(ax, axis=-1) < 1e-6
        ax[bad] = np.cross(a[opp][bad], np.array([0, 1.0, 0]))
        ax /= np.linalg.norm(ax, axis=-1, keepdims=True)
        R[opp] = 2 * ax[..., :, None] * ax[..., None, :] - np.eye(3)
    return R


def inverse_kinematics(positions, offsets):
    """Local rotations (..., 17, 3, 3) that place ``offsets`` on ``positions`` (..., 17, 3).

    Joints with several children (pelvis, thorax) get the best rigid fit of their child
    bones (Kabsch); joints with one child the smallest rotation aligning the bone
    (twist about a bone is not observable from positions and is set to zero); leaf
    joints the identity. With the same bone lengths, ``forward_kinematics`` of the result
    gives back ``positions`` (root-relative) up to rounding.
    """
    P = _check(positions)
    off = np.asarray(offsets, dtype=np.float64)
    shape = P.shape[:-2]
    G = np.empty(shape + (N_JOINTS, 3, 3))
    L = np.empty_like(G)
    for j in range(N_JOINTS):
        kids = CHILDREN[j]
        parent_R = np.broadcast_to(np.eye(3), shape + (3, 3)) if j == 0 else G[..., PARENTS[j], :, :]
        if not kids:
            G[..., j, :, :] = parent_R
        elif len(kids) == 1:
            # the parent's frame turned by the bone's swing (no twist)
            src = np.einsum("...ab,b->...a", parent_R, off[kids[0]])
            G[..., j, :, :] = _align(src, P[..., kids[0], :] - P[..., j, :]) @ parent_R
        else:
            src = np.broadcast_to(off[list(kids)], shape + (len(kids), 3))
            dst = P[..., list(kids), :] - P[..., j:j + 1, :]
            G[..., j, :, :] = _kabsch(src, dst)
        L[..., j, :, :] = np.swapaxes(parent_R, -1, -2) @ G[..., j, :, :] if j else G[..., j, :, :]
    return L


def rotation(axis, angle):
    """Rotation matrices about 'x', 'y' or 'z' by ``angle`` radians (any shape) -> (..., 3, 3)."""
    a = np.asarray(angle, dtype=np.float64)
    c, s = np.cos(a), np.sin(a)
    one, zero = np.ones_like(a), np.zeros_like(a)
    if axis == "x":
        m = [[one, zero, zero], [zero, c, -s], [zero, s, c]]
    elif axis == "y":
        m = [[c, zero, s], [zero, one, zero], [-s, zero, c]]
    elif axis == "z":
        m = [[c, -s, zero], [s, c, zero], [zero, zero, one]]
    else:
        raise ValueError(f"axis must be x, y or z, got {axis!r}")
    return np.moveaxis(np.array(m), (0, 1), (-2, -1))


def axis_angle_to_matrix(v):
    """Rodrigues: (..., 3) rotation vectors (radians) -> (..., 3, 3)."""
    v = np.asarray(v, dtype=np.float64)
    th = np.linalg.norm(v, axis=-1)
    k = v / np.maximum(th, 1e-12)[..., None]
    K = np.zeros(v.shape[:-1] + (3, 3))
    K[..., 0, 1], K[..., 0, 2], K[..., 1, 2] = -k[..., 2], k[..., 1], -k[..., 0]
    K[..., 1, 0], K[..., 2, 0], K[..., 2, 1] = k[..., 2], -k[..., 1], k[..., 0]
    s, c = np.sin(th)[..., None, None], np.cos(th)[..., None, None]
    return np.eye(3) + s * K + (1 - c) * (K @ K)


def matrix_to_axis_angle(R):
    """(..., 3, 3) rotations -> (..., 3) rotation vectors (radians)."""
    R = np.asarray(R, dtype=np.float64)
    c = np.clip((np.trace(R, axis1=-2, axis2=-1) - 1) / 2, -1, 1)
    th = np.arccos(c)
    w = np.stack([R[..., 2, 1] - R[..., 1, 2], R[..., 0, 2] - R[..., 2, 0], R[..., 1, 0] - R[..., 0, 1]], -1)
    s = np.sin(th)
    small = s < 1e-6
    out = w * (th / np.where(small, 1, 2 * s))[..., None]
    out[small & (th < 1)] = 0.5 * w[small & (th < 1)]
    # angle near pi: axis from the symmetric part
    near_pi = small & (th >= 1)
    if np.any(near_pi):
        B = (R[near_pi] + np.eye(3)) / 2
        ax = np.sqrt(np.clip(np.diagonal(B, axis1=-2, axis2=-1), 0, None))
        i = np.argmax(ax, axis=-1)
        col = B[np.arange(len(i)), :, i]
        ax = col / np.linalg.norm(col, axis=-1, keepdims=True)
        out[near_pi] = ax * th[near_pi][:, None]
    return out
