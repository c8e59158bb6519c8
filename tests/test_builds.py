"""The compiled variants: OpenMP and the baseline/AVX2/AVX-512 kernel builds agree bit
for bit."""
import numpy as np
import pytest

import cypool
from cypool import _kernels

from conftest import kernel_builds, use_kernel_build

VARIANTS = kernel_builds()


def _results(monkeypatch, variant, x, fmt, window):
    use_kernel_build(monkeypatch, variant)
    y = cypool.max_pool(x, *window, data_format=fmt)
    grad = np.linspace(-1, 1, y.size).reshape(y.shape).astype(x.dtype)
    out = [y, cypool.max_pool_grad(x, y, grad, *window, data_format=fmt)]
    if x.dtype.kind == "f":
        values, argmax = cypool.max_pool_with_argmax(x, *window, data_format=fmt)
        out += [values, argmax,
                cypool.max_pool_grad_with_argmax(x, grad, argmax, *window, data_format=fmt),
                cypool.max_unpool_grad(x, argmax),
                cypool.avg_pool(x, *window, data_format=fmt),
                cypool.avg_pool(x, 3, 1, "SAME", data_format=fmt, count_include_pad=True),
                cypool.avg_pool_grad(x.shape, grad, *window, data_format=fmt)]
    return out


def _input(shape, dtype):
    rng = np.random.default_rng(7)
    x = (rng.standard_normal(shape) * 50).astype(dtype)
    if x.dtype.kind == "f":  # ties of signed zeros and NaN, which the kernels order
        flat = x.reshape(-1)
        flat[rng.integers(0, flat.size, flat.size // 7)] = 0.0
        flat[rng.integers(0, flat.size, flat.size // 7)] = -0.0
        flat[rng.integers(0, flat.size, flat.size // 50)] = np.nan
    return x


@pytest.mark.parametrize("variant", VARIANTS[1:])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.uint8, np.int16])
@pytest.mark.parametrize("shape, fmt", [((2, 17, 19, 3), "NHWC"), ((2, 13, 11, 40), "NHWC"),
                                        ((2, 7, 9, 131), "NHWC"), ((2, 5, 13, 12), "NCHW"),
                                        ((2, 13, 70, 1), "NHWC"), ((1, 6, 41, 2), "NHWC"),
                                        # cells of half a vector, one, two (by vector
                                        # width and dtype), a block of them a call
                                        ((1, 7, 29, 4), "NHWC"), ((2, 11, 23, 8), "NHWC"),
                                        ((2, 9, 15, 16), "NHWC")])
@pytest.mark.parametrize("window", [(3, 2, "SAME"), (2, 2, "VALID"), (5, 1, "SAME")])
def test_builds_agree_with_baseline(monkeypatch, variant, dtype, shape, fmt, window):
    x = _input(shape, dtype)
    baseline = _results(monkeypatch, "baseline", x, fmt, window)
    other = _results(monkeypatch, variant, x, fmt, window)
    for a, b in zip(baseline, other):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a.view(f"u{a.itemsize}"), b.view(f"u{b.itemsize}"))


def test_kernel_isa_is_reported():
    assert _kernels.ISA in VARIANTS


@pytest.mark.parametrize("requested, allowed", [("baseline", ["baseline"]),
                                                ("avx2", ["avx2", "baseline"]),
                                                ("avx512", VARIANTS)])
def test_cypool_isa_caps_the_build(monkeypatch, requested, allowed):
    monkeypatch.setenv("CYPOOL_ISA", requested)
    isa, forward, _ = _kernels._load()
    assert isa in allowed
    assert forward.__name__.endswith("_forward" if isa == "baseline" else f"_{isa}")


@pytest.mark.parametrize("variant", VARIANTS)
def test_half_conversions_match_numpy(monkeypatch, variant):
    """float16 input and output go through cypool's own widening and rounding kernels
    (NumPy's casts made float16 pooling 27x its floor). Every float16 widens, and a
    spread of float32 patterns rounds, bit for bit as NumPy's astype in every build:
    NaN payloads (signalling ones kept so), subnormals, ties to even, overflow to inf.
    (An exhaustive run over all 2**32 float32 patterns matched once, 2026-11-26.)"""
    forward, _ = use_kernel_build(monkeypatch, variant)
    half = np.arange(1 << 16, dtype=np.uint32).astype(np.uint16)
    widened = np.empty(half.size, np.float32)
    forward.convert_half(half, widened, True, 2)
    want = half.view(np.float16).astype(np.float32)
    np.testing.assert_array_equal(widened.view(np.uint32), want.view(np.uint32))
    rng = np.random.default_rng(0)
    edges = np.array([0, 0x33000000, 0x38000000, 0x387FC000, 0x477FE000, 0x477FF000,
                      0x47800000, 0x7F800000, 0x7FC00000], np.int64)
    near = (edges[:, None] + np.arange(-4096, 4097)).ravel()
    near = near[(near >= 0) & (near < 1 << 31)]
    bits = np.concatenate([rng.integers(0, 1 << 32, 1 << 20, dtype=np.uint64), near,
                           near | 1 << 31]).astype(np.uint32)
    narrowed = np.empty(bits.size, np.uint16)
    forward.convert_half(narrowed, bits.view(np.float32), False, 2)
    with np.errstate(all="ignore"):
        want = bits.view(np.float32).astype(np.float16).view(np.uint16)
    np.testing.assert_array_equal(narrowed, want)
