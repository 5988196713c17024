"""io.py: one way to write a file (atomic: a failed write leaves the old one), the one
parameter file format, and the checks of output paths before any work."""
import os

import numpy as np
import pytest

from structnet import io
from structnet.errors import UserError


def test_a_failed_write_leaves_the_old_file(tmp_path):
    p = tmp_path / "r.json"
    io.write_json(p, {"a": 1})

    def bad(tmp):
        open(tmp, "w").write("half")
        raise OSError("disk full")
    with pytest.raises(OSError, match="disk full"):
        io.atomic_write(p, bad)
    assert io.read_json(p)["a"] == 1 and os.listdir(tmp_path) == ["r.json"]


def test_parameter_file_round_trip_and_checks(tmp_path):
    p = tmp_path / "m.h5"
    params = {"h1/W": np.arange(6, dtype=np.float32).reshape(2, 3), "h1/b": np.zeros(3, np.float32)}
    io.save_params(p, params, {"kind": "StructNet", "seed": 3}, {"working_set": np.arange(4)})
    got, state, arrays = io.load_params(p, "model")
    assert state == {"kind": "StructNet", "seed": 3} and set(got) == set(params)
    np.testing.assert_array_equal(got["h1/W"], params["h1/W"])
    np.testing.assert_array_equal(arrays["working_set"], np.arange(4))
    (tmp_path / "junk.h5").write_bytes(b"junk")
    with pytest.raises(UserError, match="junk.h5"):
        io.load_params(tmp_path / "junk.h5", "model")


def test_output_paths_checked_before_work(tmp_path):
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(UserError, match="--out"):
        io.out_dir(str(f), "--out")                    # a file where a directory goes
    with pytest.raises(UserError, match="--out"):
        io.out_file(str(tmp_path / "no" / "such" / "x.json"), "--out")
    with pytest.raises(UserError, match="--n"):
        io.at_least(0, 1, "--n")
    assert io.out_dir(str(tmp_path / "new"), "--out")
