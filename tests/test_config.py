"""config.py: the presets hold the paper's values where they should, overrides are typed and
checked, and the gpu preset is the quick recipe with more pre-training."""
import dataclasses

import pytest

from structnet.config import PRESETS, QUICK_RECIPE, Config, get_preset, paper
from structnet.errors import UserError


def test_paper_values():
    c = paper()
    assert (c.batch_size, c.n_candidates, c.k_most_violated, c.epochs) == (128, 2000, 10, 200)
    assert (c.lam, c.alpha, c.keep_prob, c.eps_w, c.eps_b) == (1.0, 1e-4, 0.25, 5e-4, 2e-3)
    assert (c.step_min_exp, c.step_max_exp, c.input_scale, c.crop_jitter) == (-7, 2, 1.0, 8)
    assert c.pretrain_keep_prob == 0.25          # DconvMP-HML's dropout (graph_def_0012)


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_preset_is_valid(name):
    c = get_preset(name)
    assert c.preset == name and c.validated() is c


def test_gpu_is_the_quick_recipe_with_more_epochs():
    """More pre-training; StructNet's two epochs, after which it overfits without dropout."""
    q, g = get_preset("quick"), get_preset("gpu")
    assert all(getattr(g, k) == v for k, v in QUICK_RECIPE.items())
    assert g.pretrain_epochs > q.pretrain_epochs and g.epochs == q.epochs == 2
    diff = {f.name for f in dataclasses.fields(Config) if getattr(g, f.name) != getattr(q, f.name)}
    assert diff <= {"preset", "epochs", "pretrain_epochs", "ckpt_every", "curve_every", "pretrain_curve_every"}


def test_overrides_typed_and_checked():
    c = paper().override(["lam=0", "pose_embedding=raw", "init_fc_from_pretrain=yes", "n_candidates=30"])
    assert c.lam == 0.0 and c.embedding_size == 51 and c.init_fc_from_pretrain is True
    for bad, msg in (("lam=x", "wants float"), ("nope=1", "unknown config field"), ("keep_prob=0", "must be in"),
                     ("k_most_violated=3000", "must be <= n_candidates"), ("lam", "not key=value"),
                     ("mode=GPU", "mode must be one of"), ("lam=nan", "finite float"),
                     ("crop_min=9", "crop_min .9. must be <= crop_jitter")):
        with pytest.raises(UserError, match=msg):
            paper().override([bad])
    with pytest.raises(UserError, match="unknown preset 'fast'"):
        get_preset("fast")
    with pytest.raises(UserError, match="unknown config field"):
        Config.from_dict({"preset": "paper", "warp": 9})
