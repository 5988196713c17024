import os
import warnings

import pytest

warnings.filterwarnings("ignore", message=".*BLAS.*")

#: a folder of real BVH motion capture (Bandai Namco's research set) the BVH tests read when
#: it is there: .ci/run names it; a user may name their own copy
BVH_VAR = "STRUCTNET_TEST_BVH_DIR"


@pytest.fixture(scope="session")
def bandai_dir():
    d = os.environ.get(BVH_VAR, "")
    if not os.path.isdir(d):
        pytest.skip(f"${BVH_VAR} names no folder of the Bandai Namco BVH set (.ci/run sets it where the set is)")
    return d


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory):
    """The 'tiny' synthetic dataset (120 train, 30 test images), built once per session."""
    from structnet.data.synthetic.build import build, get_data_preset
    d = tmp_path_factory.mktemp("tiny-data")
    cfg = get_data_preset("tiny", workers=1)
    build(cfg, d / "train.h5", "train", progress=False)
    build(cfg, d / "test.h5", "test", progress=False)
    return d


def paper_size_batch(seed, n=4, n_cand=30):
    """(images (n,3,112,112), poses y (n,51), candidates (n_cand,51), margins (n,n_cand)):
    random inputs at the paper's sizes, for one step of the network."""
    import numpy as np
    from structnet.geometry.poses import mpjpe_matrix
    rng = np.random.default_rng(seed)
    x = rng.random((n, 3, 112, 112), dtype=np.float32)
    y = (rng.random((n, 51)) * 0.6 - 0.3).astype(np.float32)
    cand = (rng.random((n_cand, 51)) * 0.6 - 0.3).astype(np.float32)
    return x, y, cand, mpjpe_matrix(y, cand)


def tiny_config(data_dir, **kw):
    from structnet.config import quick
    over = {"data_dir": str(data_dir), "batch_size": 8, "n_candidates": 30, "k_most_violated": 3,
            "epochs": 1, "pretrain_epochs": 1, "max_batches": 4, "ckpt_every": 1,
            "pretrain_batch_size": 8, "curve_every": 0}
    over.update(kw)
    return quick().override([f"{k}={v}" for k, v in over.items()])


@pytest.fixture(scope="session")
def official_root(tmp_path_factory):
    """A small Human3.6M official-release tree written in the release's formats, and its truth."""
    from structnet.data.synthetic import h36m_fixtures as fixtures
    root = tmp_path_factory.mktemp("h36m-official")
    return root, fixtures.official_tree(str(root))


@pytest.fixture(scope="session")
def fetch_root(tmp_path_factory):
    """A small h36m-fetch tree (annot.h5 + JPEG frames), and its truth."""
    from structnet.data.synthetic import h36m_fixtures as fixtures
    root = tmp_path_factory.mktemp("h36m-fetch")
    return root, fixtures.fetch_tree(str(root))


@pytest.fixture(autouse=True)
def _no_interrupt_left():
    """A test that sends itself SIGINT leaves ``structnet.interrupt``'s flag set: clear it."""
    yield
    from structnet import interrupt
    interrupt._INTERRUPTED.clear()


@pytest.fixture(scope="session")
def tiny_model(tiny_data, tmp_path_factory):
    """A StructNet of the tiny world (random initial weights, the training set's input mean)
    saved as RUN/model.h5, and that run evaluated by ``run_eval`` (EVAL/topk.npz)."""
    import numpy as np
    from structnet.data.dataset import training_mean
    from structnet.evaluate.evaluate import run_eval
    from structnet.model.network import StructNet
    root = tmp_path_factory.mktemp("tiny-model")
    run = root / "train"
    run.mkdir()
    net = StructNet(tiny_config(tiny_data), seed=3)
    net.input_mean = training_mean(str(tiny_data))
    net.save(str(run / "model.h5"))
    run_eval(str(run), str(tiny_data), str(root / "eval"), avg=(20,))
    topk = np.load(root / "eval" / "topk.npz")
    return {"model": str(run / "model.h5"), "eval": str(root / "eval"), "idx": topk["idx"], "net": net}
