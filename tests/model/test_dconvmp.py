"""model/dconvmp.py: DconvMP-HML's parameters (the convolutions StructNet shares), its output
starting at the mean pose, and its model file."""
import numpy as np
import pytest

from structnet.config import quick
from structnet.errors import UserError
from structnet.model.dconvmp import DconvMP
from structnet.model.network import CONV_NAMES, StructNet


def test_shapes_mean_pose_start_and_round_trip(tmp_path):
    cfg = quick()
    mean = np.linspace(-0.2, 0.2, 51).astype(np.float32)
    net = DconvMP(cfg, 0, mean_target=mean)
    sn = StructNet(cfg, 0)
    for name in CONV_NAMES:                                   # the convolutions StructNet takes
        assert net.params[f"{name}/W"].get_value().shape == sn.params[f"{name}/W"].get_value().shape
    x = np.zeros((2, 3, 112, 112), np.float32)    # every feature 0: the output is r3's biases alone
    pred = net.predict(x)
    assert pred.shape == (2, 51)
    np.testing.assert_allclose(pred, np.broadcast_to(mean, (2, 51)), rtol=1e-5, atol=1e-6)   # r3 at its prior
    net.save(tmp_path / "m.h5")
    back = DconvMP.load(tmp_path / "m.h5", cfg)
    for k, v in net.values().items():
        np.testing.assert_array_equal(back.params[k].get_value(), v)
    with pytest.raises(UserError, match="parameters do not match"):
        back.set_values({"r1/W": np.zeros((2, 2), np.float32)}, "x.h5")


def test_detection_output_init_std():
    """init_std_det: d3's weights at that std (0: sqrt(1 / fan-in)), nothing else changed."""
    from structnet.model.dconvmp import init_dconvmp
    a = init_dconvmp(quick(), 0)
    b = init_dconvmp(quick().override(["init_std_det=0.001"]), 0)
    n_in = a["d3/W"].shape[0]
    assert abs(a["d3/W"].std() - np.sqrt(1 / n_in)) < 0.05 * np.sqrt(1 / n_in)
    assert abs(b["d3/W"].std() - 0.001) < 5e-5
    assert all(np.array_equal(a[k], b[k]) for k in a if k != "d3/W")
