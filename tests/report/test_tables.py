import json

import numpy as np

from structnet.report import tables


def _method(mean, actions=("Walking", "Eating", "Photo")):
    return {"per_action": {a: [mean + i, 10.0, 100] for i, a in enumerate(actions)}, "all": [mean + 1, 11.0],
            "action_mean": mean + 1, "p_mpjpe": mean / 2, "per_joint": [mean] * 17}


def test_pooled_statistics():
    rng = np.random.default_rng(0)
    a, b = rng.normal(5, 2, 300), rng.normal(9, 1, 100)
    m, s = tables.pooled([[a.mean(), a.std(), 300], [b.mean(), b.std(), 100]])
    allv = np.concatenate([a, b])
    assert abs(m - allv.mean()) < 1e-9 and abs(s - allv.std()) < 1e-9


def test_tables_and_claims(tmp_path):
    res = {"data": "d", "test_images": 300, "pose_set": 1000, "model": "m",
           "methods": {"StructNet-Max": _method(100), "StructNet-Avg(500)": _method(90),
                       "StructNet-Pred": _method(95), "DconvMP-HML": _method(120)},
           "avg_sweep": {"1": 101.0, "500": 91.0, "20": 95.0}}
    (tmp_path / "results.json").write_text(json.dumps(res))
    text = tables.render_tables(str(tmp_path))
    assert ("| StructNet-Max | ours | 100.00 (10.00) | - | 101.00 (10.00) | 102.00 (10.00) | - | - "
            "| 101.00 (10.03) | 101.00 (11.00) |") in text
    assert "| StructNet-Max | paper | 83.64 (27.44)" in text
    assert "| A | 1 | 20 | 500 |" in text                   # sorted by A
    got = {c: held for c, _, held in tables.claims(res, {})}
    assert got["StructNet-Avg(A) beats StructNet-Max"] is True
    assert got["StructNet beats its own Pred head"] is True
    assert got["StructNet beats the DconvMP-HML baseline"] is True
    assert got["lambda = 0 (no auxiliary task, StructNet*) is worse"] is None
    abl = {"2layer": {"methods": {"StructNet-Max": _method(100)}}, "lam0": {"methods": {"StructNet-Max": _method(80)}},
           "1layer": {"methods": {"StructNet-Max": _method(110)}}, "random1": {"methods": {"StructNet-Max": _method(120)}},
           "raw": {"methods": {"StructNet-Max": _method(130)}}}
    got = {c: held for c, _, held in tables.claims(res, abl)}
    assert got["lambda = 0 (no auxiliary task, StructNet*) is worse"] is False
    assert got["2-layer < 1-layer < random 1-layer < raw pose embedding"] is True
    abl["lam0"] = {"methods": {"StructNet-Max": _method(100.4)}}
    abl["1layer"] = {"methods": {"StructNet-Max": _method(119.5)}}
    got = {c: held for c, _, held in tables.claims(res, abl)}
    assert got["lambda = 0 (no auxiliary task, StructNet*) is worse"].startswith("not distinguishable: +0.40 mm")
    assert got["2-layer < 1-layer < random 1-layer < raw pose embedding"] == \
        "yes, but the 1layer-random1 gap is under 1 mm (seed noise)"


def test_reference_rows_and_the_floor_in_words(tmp_path):
    res = {"data": "d", "test_images": 300, "pose_set": 1000, "model": "m",
           "methods": {"StructNet-Max": _method(210), "StructNet-Avg(500)": _method(150),
                       "StructNet-Pred": _method(160), "DconvMP-HML": _method(199)},
           "reference": {"mean training pose (floor)": _method(199), "nearest training pose (oracle)": _method(40)},
           "avg_sweep": {"1": 211.0}}
    (tmp_path / "results.json").write_text(json.dumps(res))
    text = tables.render_tables(str(tmp_path))
    assert "| *mean training pose (floor)* | reference | 199.00 (10.00) |" in text
    assert "| *nearest training pose (oracle)* | reference |" in text
    # floor 200 mm (every action): Max 211 and DconvMP-HML 200 are not below it, said in words
    verdict = tables.floor_verdict(res)
    assert "gives 200.0 mm (the floor" in verdict and "41.0 mm (nearest training pose)" in verdict
    assert "Not better than the floor" in verdict
    assert "StructNet-Max 211.0 mm" in verdict.split("Not better")[1]
    assert "DconvMP-HML 200.0 mm" in verdict.split("Not better")[1]
    assert "StructNet-Avg(500) 151.0 mm (+24%)" in verdict.split("Not better")[0]
    got = {c: held for c, _, held in tables.claims(res, {})}
    assert got["every learned method beats the mean-pose floor"] is False
    assert got["reference: mean training pose (floor)"] == "reference"
    assert "| reference: nearest training pose (oracle) | 41.00 mm | reference |" in text
    # without the reference rows (results of an older eval) the words say so
    del res["reference"]
    assert "no reference rows" in tables.floor_verdict(res)


def test_ablations_alignment_and_what_max_margin_adds(tmp_path):
    """StructNet*-Max from the lam0 ablation in Table 1; Table 3 with the ablations' budget;
    the Sec. 6 alignment and the gain over DconvMP-HML as claims with verdicts."""
    res = {"data": "d", "test_images": 300, "pose_set": 1000, "model": str(tmp_path / "train" / "model.h5"),
           "methods": {"StructNet-Max": _method(100), "StructNet-Avg(500)": _method(95), "StructNet-Avg(20)": _method(94),
                       "StructNet-Pred": _method(97), "DconvMP-HML": _method(99)},
           "avg_sweep": {"1": 101.0},
           "alignment": {"images": 500, "within_30mm": 0.42, "median_mm": 35.5, "mean_mm": 40.0, "curve": {"30": 0.42}}}
    ev = tmp_path / "eval"
    ev.mkdir()
    (ev / "results.json").write_text(json.dumps(res))
    abl = tmp_path / "abl"
    for i, name in enumerate(("2layer", "lam0", "1layer", "random1", "raw")):
        (abl / name / "eval").mkdir(parents=True)
        r = {**res, "model": str(abl / name / "model.h5"),
             "methods": {"StructNet-Max": _method(100 + 5 * i), "StructNet-Avg(20)": _method(90 + 5 * i)}}
        (abl / name / "eval" / "results.json").write_text(json.dumps(r))
        (abl / name / "results.json").write_text(json.dumps({"epochs": 1, "batches_per_epoch": 60, "batch_size": 128}))
    text = tables.render_tables(str(ev), str(abl))
    assert "| StructNet*-Max | ours (ablation lam0) | 105.00 (10.00) |" in text
    assert "every action, 60 batches of 128 each |" in text
    assert "| raw pose (51) | 121.00 (11.00) (111.00) |" in text
    got = {c: (m, held) for c, m, held in tables.claims(res, {})}
    m, held = got["Sec. 6: 97% of the training images' max-score poses lie within 30 mm of their pose"]
    assert held is False and "42.0% within 30 mm (median 35.5 mm, 500 training images)" in m
    m, held = got["max-margin training adds to the pre-trained network: StructNet-Avg(500) 9.0% below DconvMP-HML"]
    assert m.endswith("4.0% below") and held == "partly: 4.0% (the paper: 9.0%)"
    res["methods"]["StructNet-Avg(500)"] = _method(85)
    assert dict((c, h) for c, _, h in tables.claims(res, {}))[
        "max-margin training adds to the pre-trained network: StructNet-Avg(500) 9.0% below DconvMP-HML"] == "yes"
