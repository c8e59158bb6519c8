"""The compiled variants: OpenMP and the AVX2/baseline kernel builds agree bit for bit."""
import importlib

import numpy as np
import pytest

import cypool
from cypool import _kernels

VARIANTS = ["baseline", "avx2"]


def _modules(variant):
    suffix = "" if variant == "baseline" else "_avx2"
    try:
        forward = importlib.import_module(f"cypool._pool_forward{suffix}")
        backward = importlib.import_module(f"cypool._pool_backward{suffix}")
    except ImportError:
        pytest.skip(f"the {variant} kernel build is not compiled on this platform")
    return forward, backward


def _results(monkeypatch, variant, x, fmt):
    forward, backward = _modules(variant)
    if variant == "avx2" and _kernels.ISA != "avx2":
        pytest.skip("this CPU has no AVX2: the AVX2 build cannot run here")
    monkeypatch.setattr(_kernels, "forward", forward)
    monkeypatch.setattr(_kernels, "backward", backward)
    args = (3, 2, "SAME")
    y = cypool.max_pool(x, *args, data_format=fmt)
    grad = np.linspace(-1, 1, y.size).reshape(y.shape).astype(x.dtype)
    out = [y, *cypool.max_pool_with_argmax(x, *args, data_format=fmt),
           cypool.max_pool_grad(x, y, grad, *args, data_format=fmt)]
    if x.dtype.kind == "f":
        out += [cypool.avg_pool(x, *args, data_format=fmt),
                cypool.avg_pool(x, 3, 1, "SAME", data_format=fmt, count_include_pad=True),
                cypool.avg_pool_grad(x.shape, grad, *args, data_format=fmt)]
    return out


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.uint8, np.int16])
@pytest.mark.parametrize("shape, fmt", [((2, 17, 19, 3), "NHWC"), ((2, 9, 11, 40), "NHWC"), ((2, 7, 9, 131), "NHWC"),
                                        ((2, 5, 13, 12), "NCHW")])
def test_avx2_and_baseline_builds_agree(monkeypatch, dtype, shape, fmt):
    rng = np.random.default_rng(7)
    x = (rng.standard_normal(shape) * 50).astype(dtype)
    baseline = _results(monkeypatch, "baseline", x, fmt)
    avx2 = _results(monkeypatch, "avx2", x, fmt)
    for a, b in zip(baseline, avx2):
        np.testing.assert_array_equal(a, b)


def test_kernel_isa_is_reported():
    assert _kernels.ISA in VARIANTS
