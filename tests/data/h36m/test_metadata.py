import numpy as np
import pytest

from structnet.data.synthetic import h36m_fixtures as fixtures
from structnet.geometry import camera as C
from structnet.errors import UserError
from structnet.data.h36m.metadata import Metadata, euler_to_matrix, matrix_to_euler


def test_euler_round_trip():
    rng = np.random.default_rng(0)
    for _ in range(20):
        a, b, c = rng.uniform(-3, 3), rng.uniform(-1.5, 1.5), rng.uniform(-3, 3)
        R = euler_to_matrix(a, b, c)
        assert np.allclose(R @ R.T, np.eye(3))
        assert np.allclose(euler_to_matrix(*matrix_to_euler(R)), R)


def test_w0_cameras_match_the_calibration(tmp_path):
    path = tmp_path / "metadata.xml"
    fixtures.write_metadata(str(path), {(2, 1): {"S1": "Directions 1"}, (2, 2): {"S1": "Directions"}})
    md = Metadata(path)
    for s in ("S1", "S9", "S11"):
        for ci in range(4):
            a, b = md.camera(s, ci), C.get_camera(s, ci)
            assert np.allclose(a.R, b.R, atol=1e-8) and np.allclose(a.t, b.t)
            assert np.allclose(a.params(), b.params())
            # the convention: X_cam = R_w2c (X - centre); a world point projects the same
            X = b.t + b.R @ np.array([100.0, -50.0, 4000.0])
            assert np.allclose(C.project(C.world_to_camera(X, a), a), C.project(C.world_to_camera(X, b), b))
    assert md.stems == {("S1", "Directions", 1): "Directions 1", ("S1", "Directions", 2): "Directions"}


def test_bad_metadata_files_are_one_line_errors(tmp_path):
    with pytest.raises(UserError, match="no such file"):
        Metadata(tmp_path / "missing.xml")
    p = tmp_path / "bad.xml"
    p.write_text("<h36m><w0>[1 2 3]</w0></h36m>")
    with pytest.raises(UserError, match="holds 3 numbers"):
        Metadata(p)
    p.write_text("<h36m><w0>[1 2")
    with pytest.raises(UserError, match="not readable as XML"):
        Metadata(p)
    p.write_text("<h36m></h36m>")
    with pytest.raises(UserError, match="no <w0>"):
        Metadata(p)
