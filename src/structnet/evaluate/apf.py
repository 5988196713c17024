"""Annealed particle filter (Deutscher and Reid 2005) as StructNet uses it (Sec. 5.2).

APF adjusts the joint angles of a template skeleton -- the test subject's bone lengths
-- to minimise the MPJPE to the StructNet-Avg(A) pose, starting from the joint angles
of one of the top-A poses, and returns the template's joints: a valid pose of that
subject. Each layer perturbs every particle's joint angles with Gaussian noise that
shrinks layer by layer, weights particles by exp(-beta * MPJPE) with beta chosen so
that about half of them survive (the survival rate alpha of Deutscher and Reid: the
effective number of particles over their number), and resamples. The best particle of a
layer survives unperturbed into the next (elitism), so the fit never ends farther from
the target than its start.
"""
import numpy as np

from structnet.geometry import skeleton as S

#: joints whose rotation moves some bone (the leaves' do not)
ACTIVE = np.array([j for j in range(S.N_JOINTS) if S.CHILDREN[j]])


def _fk_rel(aa, offsets):
    """(..., 17, 3) axis-angle -> root-relative joints (..., 17, 3)."""
    return S.forward_kinematics(S.axis_angle_to_matrix(aa), offsets)


def _beta(err, survival, lo=1e-6, hi=1e6, iters=40):
    """beta with effective-sample fraction of exp(-beta err) about ``survival`` (per row)."""
    e = err - err.min(axis=-1, keepdims=True)
    lo = np.full(err.shape[:-1], lo)
    hi = np.full(err.shape[:-1], hi)
    for _ in range(iters):
        mid = np.sqrt(lo * hi)
        w = np.exp(-mid[..., None] * e)
        ess = w.sum(-1) ** 2 / (w ** 2).sum(-1) / err.shape[-1]
        too_sharp = ess < survival
        hi = np.where(too_sharp, mid, hi)
        lo = np.where(too_sharp, lo, mid)
    return np.sqrt(lo * hi)


def fit(target, init, offsets, rng, layers=10, particles=200, sigma0=0.08, decay=0.8, survival=0.5):
    """APF for a batch. target, init (B,17,3) root-relative mm; offsets (17,3) the template.

    Returns (B,17,3) joints of the template (root at the origin) and (B,) final MPJPE to
    the target.
    """
    target = np.asarray(target, np.float64)
    B = len(target)
    aa0 = S.matrix_to_axis_angle(S.inverse_kinematics(init - init[:, :1], offsets))     # (B,17,3)
    x = np.repeat(aa0[:, None], particles, axis=1)                                     # (B,P,17,3)
    sigma = sigma0
    for _ in range(layers):
        noise = np.zeros_like(x)
        noise[:, :, ACTIVE] = rng.normal(0, sigma, (B, particles, len(ACTIVE), 3))
        noise[:, 0] = 0                          # particle 0 is kept as it is (elitism, below)
        x = x + noise
        err = np.linalg.norm(_fk_rel(x, offsets) - target[:, None], axis=-1).mean(-1)   # (B,P)
        beta = _beta(err, survival)
        w = np.exp(-beta[:, None] * (err - err.min(1, keepdims=True)))
        w /= w.sum(1, keepdims=True)
        # systematic resampling
        u = (rng.random((B, 1)) + np.arange(particles)[None]) / particles
        idx = np.minimum((np.cumsum(w, 1)[:, None, :] < u[:, :, None]).sum(-1), particles - 1)
        idx[:, 0] = err.argmin(1)                # the best particle always survives unperturbed
        x = np.take_along_axis(x, idx[:, :, None, None], axis=1)
        sigma *= decay
    err = np.linalg.norm(_fk_rel(x, offsets) - target[:, None], axis=-1).mean(-1)
    best = err.argmin(1)
    xb = x[np.arange(B), best]
    return _fk_rel(xb, offsets), err[np.arange(B), best]


def subject_template(poses_mm):
    """Rest offsets (17,3) with the median bone lengths of a subject's poses (its "T pose")."""
    return S.offsets_from_lengths(np.median(S.bone_lengths(poses_mm), axis=0))
