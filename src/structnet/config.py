"""One configuration dataclass: the paper's values (``paper``) and a fast preset (``quick``).

Every field is documented where it is declared; sources are the paper
(Sec. 5.3) and the authors' code (``legacy_notes/original-code.md``).
``Config.override(["key=value", ...])`` applies command-line overrides with type checks.
"""
import dataclasses
import json
from dataclasses import dataclass, fields

from structnet.errors import UserError

POSE_EMBEDDINGS = ("raw", "random1", "1layer", "2layer")  # Table 3 rows


# field: (low, high, low excluded); high None = unbounded. Checked by Config.validated.
RANGES = {
    "seed": (0, 2 ** 32 - 1, False), "keep_prob": (0, 1, True), "pretrain_keep_prob": (0, 1, True), "embed_dim": (1, None, False),
    "init_std_conv1": (0, None, True), "init_std_image": (0, None, True), "init_std_pose": (0, None, True), "init_std_det": (0, None, False),
    "lam": (0, None, False), "alpha": (0, None, False), "batch_size": (1, None, False),
    "n_candidates": (1, None, False), "k_most_violated": (0, None, False), "eval_chunk": (1, None, False),
    "epochs": (1, None, False), "eps_w": (0, None, True), "eps_b": (0, None, True),
    "step_min_exp": (-30, 30, False), "step_max_exp": (-30, 30, False), "step_per_decade": (1, 10, False), "pca_noise": (0, None, False),
    "input_scale": (0, None, True), "crop_jitter": (0, 16, False), "crop_min": (0, 16, False), "curve_every": (0, None, False),
    "pretrain_curve_every": (0, None, False), "curve_images": (1, None, False), "pretrain_epochs": (1, None, False),
    "pretrain_batch_size": (1, None, False), "pretrain_lr": (0, None, True), "pretrain_momentum": (0, 0.9999, False),
    "pretrain_warmup": (0, None, False), "pretrain_clip": (0, None, False), "det_weight": (0, None, False), "pretrain_alpha": (0, None, False),
    "det_grid": (1, None, False), "ckpt_every": (1, None, False), "max_batches": (0, None, False),
}


@dataclass
class Config:
    preset: str = "paper"
    seed: int = 0
    mode: str = ""                      # NUMBA | C | CVM | JAX; "" = $STRUCTNET_MODE, else NUMBA (structnet.engine.backend)

    # network (legacy_notes/original-code.md, "Network")
    keep_prob: float = 0.25             # dropout on concat(h1, h2): "75% dropout"
    pose_embedding: str = "2layer"      # raw | random1 | 1layer | 2layer (Table 3)
    embed_dim: int = 1024               # f_I / f_J size (51 for the raw pose embedding)
    init_std_conv1: float = 5e-5
    init_std_image: float = 1e-3        # conv2, conv3, h1-h4, g7
    init_std_det: float = 0.0           # DconvMP-HML's detection output d3 (0: sqrt(1 / fan-in))
    init_std_pose: float = 0.1          # h5, h6

    # cost, Eq. (12)
    lam: float = 1.0                    # weight of the auxiliary pose regression (0 = StructNet*)
    alpha: float = 1e-4                 # weight decay on the FC weight matrices

    # max-margin training, Algorithm 1 and Sec. 5.3
    batch_size: int = 128
    n_candidates: int = 2000            # C
    k_most_violated: int = 10           # K
    eval_chunk: int = 128               # images per compiled call at inference
    epochs: int = 200                   # StructNet training epochs (legacy_notes/original-code.md)
    eps_w: float = 5e-4                 # per-parameter step factors of the line search
    eps_b: float = 2e-3
    step_min_exp: int = -7              # line search over 10^-7 .. 10^2 (Sec. 5.3)
    step_max_exp: int = 2
    step_per_decade: int = 1            # steps per decade of that grid (the paper: 1)
    pca_noise: float = 0.1              # std of the PCA colour-noise coefficients (AlexNet)
    # input (legacy_notes/original-code.md, "Input images"): (pixel - mean RGB) * input_scale; the authors
    # fed raw pixels (scale 1); random crop offsets crop_min..crop_jitter (the authors': 0..8),
    # the centre offset (8) at test
    input_scale: float = 1.0
    crop_jitter: int = 8
    crop_min: int = 0
    init_fc_from_pretrain: bool = False  # StructNet's h2, h3, g7 start from DconvMP-HML's r1, r2, r3

    # learning curves: held-out MPJPE on the first `curve_images` test images (centre crops)
    # every `curve_every` batches (0 = off); see structnet.train.curves
    curve_every: int = 25               # StructNet training batches between points
    pretrain_curve_every: int = 200     # pre-training batches between points
    curve_images: int = 512

    # pre-training: DconvMP-HML (Li and Chan, ACCV 2014; legacy_notes/original-code.md)
    pretrain_epochs: int = 50
    pretrain_batch_size: int = 128
    pretrain_optimizer: str = "sgd"     # sgd (momentum; the ACCV paper's) | adam
    pretrain_lr: float = 0.01           # peak learning rate
    pretrain_momentum: float = 0.9      # SGD momentum, or Adam's beta1
    pretrain_warmup: int = 0            # batches of linear warm-up from 0 to pretrain_lr
    pretrain_decay: str = "none"        # none | cosine (to pretrain_lr / 10 at the last batch)
    pretrain_clip: float = 0.0          # rescale the gradient to this global L2 norm when above it (0: off)
    pretrain_keep_prob: float = 0.25    # dropout on the two heads' first layers (graph_def_0012: keep 0.25)
    det_weight: float = 0.5             # weight of the detection cost (regression: 0.5)
    det_reduce: str = "mean"            # mean over the 17 x grid^2 windows | sum over them (per image)
    pretrain_alpha: float = 1e-4        # weight decay on its FC weights
    det_grid: int = 10                  # detection windows per side (17 x 10 x 10 outputs)

    # running
    data_dir: str = "data/synthetic-quick"
    ckpt_every: int = 25                # batches between checkpoints
    max_batches: int = 0                # per epoch; 0 = the whole training set (tests use a few)


    def to_json(self):
        return json.dumps(dataclasses.asdict(self), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, d):
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise UserError(f"unknown config field(s): {', '.join(sorted(unknown))}")
        return cls(**d).validated()

    def validated(self):
        """Every field checked: its type, finiteness and range (a one-line UserError)."""
        import math
        for f in fields(self):
            v, typ = getattr(self, f.name), f.type if isinstance(f.type, str) else f.type.__name__
            ok = {"int": lambda x: isinstance(x, int) and not isinstance(x, bool),
                  "float": lambda x: isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x),
                  "bool": lambda x: isinstance(x, bool), "str": lambda x: isinstance(x, str),
                  "dict": lambda x: isinstance(x, dict)}[typ](v)
            if not ok:
                raise UserError(f"config field {f.name!r} wants a {'finite ' if typ == 'float' else ''}{typ}, got {v!r}")
        for name, (low, high, low_open) in RANGES.items():
            v = getattr(self, name)
            if v < low or (low_open and v == low) or (high is not None and v > high):
                span = f"{'(' if low_open else '['}{low}, {high if high is not None else 'inf'}]"
                raise UserError(f"config field {name!r} must be in {span}, got {v}")
        if self.pose_embedding not in POSE_EMBEDDINGS:
            raise UserError(f"pose_embedding must be one of {', '.join(POSE_EMBEDDINGS)},"
                            f" got {self.pose_embedding!r}")
        if self.crop_min > self.crop_jitter:
            raise UserError(f"crop_min ({self.crop_min}) must be <= crop_jitter ({self.crop_jitter})")
        if self.step_min_exp > self.step_max_exp:
            raise UserError("step_min_exp must be <= step_max_exp")
        if self.k_most_violated > self.n_candidates:
            raise UserError(f"k_most_violated ({self.k_most_violated}) must be <= n_candidates ({self.n_candidates})")
        if self.mode and self.mode.strip().upper() not in ("NUMBA", "C", "CVM", "JAX"):
            raise UserError(f"mode must be one of NUMBA, C, CVM, JAX (or empty for $STRUCTNET_MODE), got {self.mode!r}")
        choices = {"pretrain_optimizer": ("sgd", "adam"), "pretrain_decay": ("none", "cosine"),
                   "det_reduce": ("mean", "sum")}
        for name, ok in choices.items():
            if getattr(self, name) not in ok:
                raise UserError(f"{name} must be one of {', '.join(ok)}, got {getattr(self, name)!r}")
        return self

    @property
    def embedding_size(self):
        """Size of the joint embedding: 51 when the pose enters raw (Table 3, first row)."""
        return 51 if self.pose_embedding == "raw" else self.embed_dim

    def override(self, items):
        """Apply ``key=value`` strings; values are parsed as the field's type."""
        types = {f.name: f.type for f in fields(self)}
        new = dataclasses.asdict(self)
        for item in items:
            if "=" not in item:
                raise UserError(f"override {item!r} is not key=value")
            key, value = item.split("=", 1)
            key = key.strip()
            if key not in types:
                raise UserError(f"unknown config field {key!r}")
            new[key] = _parse(key, types[key], value)
        return Config(**new).validated()


def _parse(key, typ, value):
    typ = typ if isinstance(typ, str) else typ.__name__
    try:
        if typ == "int":
            return int(value)
        if typ == "float":
            return float(value)
        if typ == "bool":
            if value.lower() in ("1", "true", "yes"):
                return True
            if value.lower() in ("0", "false", "no"):
                return False
            raise ValueError(value)
        if typ in ("tuple", "dict", "list"):
            out = json.loads(value)
            if typ == "dict" and not isinstance(out, dict):
                raise ValueError(value)
            return out
        return value
    except ValueError:
        raise UserError(f"config field {key!r} wants {typ}, got {value!r}") from None


def paper():
    """The paper's values (Sec. 5.3, legacy_notes/original-code.md), and the two smallest
    changes that make its SGD pre-training learn on the quick world (deviations.md 22): the
    detection output started at its prior (init_std_det 1e-3, as the regression's) and the
    gradient clipped to a global norm of 1. As written, it fell to the mean pose within 100
    batches of 128 and stayed there (legacy_notes/training.md)."""
    return Config(preset="paper", init_std_det=1e-3, pretrain_clip=1.0).validated()


QUICK_RECIPE = dict(
    # input: raw pixels / 64 (unit variance for He init and Adam; deviations.md 17)
    input_scale=1 / 64,
    # pre-training recipe chosen by the sweep (bench/results/pretrain_sweep.json, deviations.md 18)
    pretrain_batch_size=32, pretrain_optimizer="adam", pretrain_lr=2e-3, pretrain_warmup=100,
    pretrain_decay="cosine", det_reduce="mean",
    # no dropout in either phase: on this budget the network underfits, and dropout cost 17 mm of
    # held-out error at 1,000 pre-training batches; a head pre-trained without it and trained
    # with the paper's keep 0.25 fell apart (deviations.md 23)
    pretrain_keep_prob=1.0, keep_prob=1.0,
    # StructNet: image head from DconvMP-HML's regression head (deviations.md 19)
    init_fc_from_pretrain=True,
)


def quick():
    """A small preset for the default synthetic dataset (24,000 training images) whose
    `make all` fits in 45 minutes on a 2-core CPU: the measured pre-training recipe
    (QUICK_RECIPE) and epoch counts chosen from the learning curves: pre-training 4 epochs
    of 750 batches of 32 (0.33 s a batch, 18.5 min; held-out 94.7 -> 73.9 mm from batch
    1,000 to 3,000, still falling), StructNet training 2 epochs of 187 batches of 128 (1.23 s
    a batch, 8.1 min). Measured 2026-11-27 (2-core EPYC, NUMBA; `make budget` for what more
    of each buys)."""
    return Config(preset="quick", epochs=2, pretrain_epochs=4, ckpt_every=50, **QUICK_RECIPE).validated()


def gpu():
    """The quick recipe with what one GPU affords, for ``make all PRESET=gpu
    STRUCTNET_MODE=JAX``: three times the pre-training (12 epochs of 750 batches of 32; the
    quick run's held-out error still fell at its 4th epoch) and quick's StructNet training
    (2 epochs of 187 batches of 128: without dropout a third epoch overfits, the training
    images' alignment 8.9% -> 26.6% within 30 mm while the test set's Max went 78.9 -> 82.2
    mm; legacy_notes/training.md, 2026-11-28), points of the learning curves as often in
    epochs. Sized for a 5-minute ``make all`` on one H100 from the step times of
    ``legacy_notes/gpu.md``, not yet measured on one (no GPU was lent when it was made)."""
    return Config(preset="gpu", epochs=2, pretrain_epochs=12, ckpt_every=100, pretrain_curve_every=750,
                  **QUICK_RECIPE).validated()


PRESETS = {"paper": paper, "quick": quick, "gpu": gpu}


def get_preset(name):
    if name not in PRESETS:
        raise UserError(f"unknown preset {name!r}: choose one of {', '.join(PRESETS)}")
    return PRESETS[name]()
