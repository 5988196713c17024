"""The native kernels (native.c): every shape the register blocks meet, against the direct
definition and the im2col fallback; thread count; the fallback where no compiler works."""
import os
import subprocess
import sys

import numpy as np
import pytest

from structnet.engine.ops import conv, native, pool
from tests.engine.ops.test_conv import ref_corr, ref_grads

pytestmark = pytest.mark.skipif(not native.available(), reason="no C compiler: native kernels not built")

# (C, N, H, W, O, k): O below, at and above a 32-channel block; rows shorter than a 6-pixel
# block, a multiple of 5, of 6, neither; N not a multiple of the 4-image chunk; k = 1
SHAPES = [(3, 5, 13, 11, 7, 3), (2, 3, 6, 4, 40, 2), (5, 9, 9, 30, 33, 5), (1, 1, 3, 3, 1, 3),
          (3, 2, 20, 20, 32, 9), (4, 6, 12, 24, 64, 5), (2, 4, 5, 7, 3, 1)]


@pytest.mark.parametrize("shape", SHAPES)
def test_conv_kernels_match_definition(shape):
    C, N, H, W, O, k = shape
    rng = np.random.default_rng(sum(shape))
    x = rng.standard_normal((C, N, H, W)).astype(np.float32)
    w = rng.standard_normal((O, C, k, k)).astype(np.float32)
    z = native.corr2d_fwd(x, w)
    np.testing.assert_allclose(z, ref_corr(x, w), rtol=1e-4, atol=1e-4)
    gz = rng.standard_normal(z.shape).astype(np.float32)
    gx_r, gw_r = ref_grads(x, w, gz.astype(np.float64))
    np.testing.assert_allclose(native.corr2d_grad_w(x, gz), gw_r, rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(native.corr2d_grad_x(w, gz), gx_r, rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(conv.im2col_fwd(x, w), z, rtol=1e-5, atol=1e-4)


def test_same_numbers_whatever_the_thread_count(monkeypatch):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((6, 11, 16, 16)).astype(np.float32)
    w = rng.standard_normal((40, 6, 5, 5)).astype(np.float32)
    gz = rng.standard_normal((40, 11, 12, 12)).astype(np.float32)
    runs = []
    for threads in ("1", "3", "8"):
        monkeypatch.setenv("STRUCTNET_THREADS", threads)
        runs.append((native.corr2d_fwd(x, w), native.corr2d_grad_w(x, gz), native.corr2d_grad_x(w, gz),
                     native.maxpool_fwd(x), native.maxpool_grad(x, x[:, :, :8, :8].copy())))
    for other in runs[1:]:
        for a, b in zip(runs[0], other):
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("width", ["4", "5", "6", "10", "11", "12", "13"])
def test_every_block_width(monkeypatch, width):
    monkeypatch.setenv("STRUCTNET_PB", width)
    rng = np.random.default_rng(4)
    x = rng.standard_normal((3, 2, 14, 27)).astype(np.float32)
    w = rng.standard_normal((5, 3, 4, 4)).astype(np.float32)
    np.testing.assert_allclose(native.corr2d_fwd(x, w), ref_corr(x, w), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("shape", [(2, 3, 7, 9), (1, 2, 3, 3), (3, 2, 10, 5), (4, 17, 8, 8), (1, 1, 104, 104)])
def test_pool_kernels_match_numba_bit_for_bit(shape):
    rng = np.random.default_rng(5)
    x = rng.standard_normal(shape).astype(np.float32)
    x[0, 0, :3, :3] = 1.0                                  # ties: the first maximum takes the gradient
    x[..., -1, :] = np.round(x[..., -1, :])                # more ties at the clipped edge
    z = pool.numba_maxpool_fwd(x)
    gz = rng.standard_normal(z.shape).astype(np.float32)
    np.testing.assert_array_equal(native.maxpool_fwd(x), z)
    np.testing.assert_array_equal(native.maxpool_grad(x, gz), pool.numba_maxpool_grad(x, gz))


def test_mismatched_shapes_raise():
    x = np.zeros((2, 1, 8, 8), np.float32)
    with pytest.raises(ValueError):
        native.corr2d_fwd(x, np.zeros((3, 4, 3, 3), np.float32))
    with pytest.raises(ValueError):
        native.maxpool_grad(x, np.zeros((2, 1, 3, 4), np.float32))
    with pytest.raises(ValueError):
        native.maxpool_fwd(np.zeros((1, 1, 2, 5), np.float32))


def test_library_cached_by_source_compiler_and_cpu(tmp_path, monkeypatch):
    monkeypatch.setenv("STRUCTNET_CACHE", str(tmp_path))
    cc = native._compiler()
    a = native.build(cc)
    mtime = a.stat().st_mtime_ns
    assert native.build(cc) == a and a.stat().st_mtime_ns == mtime      # built once
    assert a.parent == tmp_path and [p.name for p in tmp_path.iterdir()] == [a.name]   # no temporaries


def _kernels_in_child(env):
    code = ("import warnings; warnings.simplefilter('always');"
            "from structnet.engine.ops import conv, pool, native;"
            "print(conv.kernel_name(), pool.kernels()[2], native.available())")
    r = subprocess.run([sys.executable, "-c", code], env={**os.environ, **env}, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return r.stdout.split(), r.stderr


@pytest.mark.parametrize("env", [{"STRUCTNET_NATIVE": "0"}, {"CC": "false"}])
def test_falls_back_to_im2col_without_a_compiler(tmp_path, env):
    out, err = _kernels_in_child({**env, "STRUCTNET_CACHE": str(tmp_path)})
    assert out == ["im2col", "numba", "False"]
    if "CC" in env:
        assert "native convolution kernels unavailable" in err and "im2col" in err


def _cpu_has(flag):
    try:
        with open("/proc/cpuinfo") as f:
            return any(line.startswith("flags") and f" {flag}" in line for line in f)
    except OSError:
        return False


def _kernels(lib, x, w, gz):
    """Forward, input gradient and weight gradient of ``lib`` (a built native.c) via ctypes."""
    import ctypes
    i64, ptr = ctypes.c_int64, (lambda a: a.ctypes.data_as(ctypes.c_void_p))
    C, N, H, W = x.shape
    O, _, k, _ = w.shape
    Ho, Wo = H - k + 1, W - k + 1
    z = np.empty((O, N, Ho, Wo), np.float32)
    gx = np.empty_like(x)
    gw = np.empty_like(w)
    assert lib.structnet_corr_fwd(ptr(x), ptr(w), ptr(z), *map(i64, (C, N, H, W, O, k))) == 0
    assert lib.structnet_corr_grad_x(ptr(w), ptr(gz), ptr(gx), *map(i64, (O, C, k, N, Ho, Wo))) == 0
    assert lib.structnet_corr_grad_w(ptr(x), ptr(gz), ptr(gw), *map(i64, (C, N, H, W, O, Ho, Wo))) == 0
    return z, gx, gw


@pytest.mark.skipif(not _cpu_has("avx512f"), reason="the CPU has no AVX-512: only the 256-bit kernels run here")
@pytest.mark.parametrize("shape", SHAPES + [(3, 2, 112, 112, 32, 9), (32, 2, 52, 52, 64, 5), (64, 3, 24, 24, 64, 5),
                                            (2, 1, 3, 40, 45, 3)])
def test_512_and_256_bit_kernels_give_identical_results(shape):
    """The AVX-512 build (16 floats a vector, 10-13 pixels or 12 taps a block) sums every
    output in the order of the 256-bit build: identical results, on the layers' own widths
    (conv1 104, conv2 48 and its input gradient 52, conv3 20) and the odd shapes."""
    import ctypes
    cc = native._compiler()
    libs = {wd: ctypes.CDLL(str(native.build(cc, wd))) for wd in ("8", "16")}
    assert {wd: lib.structnet_vector_width() for wd, lib in libs.items()} == {"8": 8, "16": 16}
    C, N, H, W, O, k = shape
    rng = np.random.default_rng(sum(shape))
    x = rng.standard_normal((C, N, H, W)).astype(np.float32)
    w = rng.standard_normal((O, C, k, k)).astype(np.float32)
    gz = rng.standard_normal((O, N, H - k + 1, W - k + 1)).astype(np.float32)
    a, b = _kernels(libs["8"], x, w, gz), _kernels(libs["16"], x, w, gz)
    for name, u, v in zip(("forward", "input gradient", "weight gradient"), a, b):
        np.testing.assert_array_equal(u, v, err_msg=name)
    np.testing.assert_allclose(a[0], ref_corr(x, w), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("shape", [(3, 2, 112, 112, 32, 9), (32, 2, 52, 52, 64, 5), (64, 3, 24, 24, 64, 5),
                                   (2, 1, 3, 40, 45, 3), (5, 2, 9, 9, 20, 3)])
def test_16_and_32_channel_blocks_give_identical_results(shape):
    """AVX2's build (16 output channels a register block, its 16 registers) and AVX-512's
    block (32 channels) sum every output in the same order: identical results, on the
    layers' own shapes and on channel counts that fill no block (20 = 16 + 4)."""
    import ctypes
    cc = native._compiler()
    libs = {ob: ctypes.CDLL(str(native.build(cc, "8", ob))) for ob in (16, 32)}
    assert {ob: lib.structnet_block_channels() for ob, lib in libs.items()} == {16: 16, 32: 32}
    C, N, H, W, O, k = shape
    rng = np.random.default_rng(sum(shape))
    x = rng.standard_normal((C, N, H, W)).astype(np.float32)
    w = rng.standard_normal((O, C, k, k)).astype(np.float32)
    gz = rng.standard_normal((O, N, H - k + 1, W - k + 1)).astype(np.float32)
    a, b = _kernels(libs[16], x, w, gz), _kernels(libs[32], x, w, gz)
    for name, u, v in zip(("forward", "input gradient", "weight gradient"), a, b):
        np.testing.assert_array_equal(u, v, err_msg=name)
    np.testing.assert_allclose(a[0], ref_corr(x, w), rtol=1e-4, atol=1e-4)


def test_the_loaded_kernels_block_by_the_cpus_registers():
    assert native.block_channels() == (32 if _cpu_has("avx512vl") else 16)


def test_the_loaded_kernels_use_the_cpus_width():
    assert native.vector_width() == (16 if _cpu_has("avx512f") and not os.environ.get("STRUCTNET_VECTOR_WIDTH") else
                                   int(os.environ.get("STRUCTNET_VECTOR_WIDTH") or 8))
