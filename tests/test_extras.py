"""cypool.extras: global, adaptive, spatial pyramid, unpooling, fractional, depthwise
and LP pooling with their gradients.

Checked against a plain NumPy reference (exact: row-major sums, first maximum),
against PyTorch / TensorFlow where they have the op (those parts skip with a
reason when the library is missing), and gradients by finite differences (float64).
"""
import itertools
import math
import os

import numpy as np
import pytest

import cypool
from cypool import extras as X

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
try:
    import torch
    import torch.nn.functional as F
except ImportError:  # pragma: no cover - depends on the environment
    torch = None
try:
    import tensorflow as tf
except ImportError:  # pragma: no cover
    tf = None

needs_torch = pytest.mark.skipif(torch is None, reason="PyTorch not installed: torch "
                                 "comparison skipped (pip install torch)")
needs_tf = pytest.mark.skipif(tf is None, reason="TensorFlow not installed: TF comparison "
                              "skipped (pip install '.[tf]')")

CL = {1: "NWC", 2: "NHWC", 3: "NDHWC"}
CF = {1: "NCW", 2: "NCHW", 3: "NCDHW"}
MAX_DTYPES = [np.float16, np.float32, np.float64, np.int8, np.uint8, np.int16, np.uint16,
              np.int32, np.uint32, np.int64, np.uint64]
AVG_DTYPES = [np.float16, np.float32, np.float64]
SPATIAL = {1: (9,), 2: (7, 6), 3: (5, 4, 6)}


# ------------------------------------------------------------------ NumPy reference

def values(rng, shape, dtype, ties=False):
    """Random values; ``ties``: few distinct values (ties everywhere), else distinct."""
    dtype = np.dtype(dtype)
    size = int(np.prod(shape))
    if ties:
        v = rng.integers(0, 4, size=size)
    else:
        v = rng.permutation(size) - size // 3
        if dtype.kind == "f":
            v = v + rng.random(size) * 0.5
    if dtype.kind == "u":
        v = v - v.min()
    if dtype.itemsize == 1 and dtype.kind in "iu":
        v = (v % 100) if dtype.kind == "u" else (v % 100) - 50
    return v.reshape(shape).astype(dtype)


def to_cl(x, cf):
    return np.moveaxis(x, 1, -1) if cf else x


def from_cl(y, cf):
    return np.moveaxis(y, -1, 1) if cf else y


def ref_pool(x, cf, windows, op):
    """Pool over per-axis windows [(starts, counts), ...] with a Python loop over cells.

    op: 'max' (value of the first maximum), 'argmax' (flat index into x[b] in x's own
    layout), 'sum' (row-major sequential sum in the compute dtype), 'avg'
    (sum / product of counts), 'torch_avg' (sum / kd / kh / kw).
    """
    xl = to_cl(np.asarray(x), cf)
    acc = np.float32 if xl.dtype == np.float16 else xl.dtype.type
    spatial = xl.shape[1:-1]
    outs = [len(s) for s, _ in windows]
    batch, chans = xl.shape[0], xl.shape[-1]
    dtype = np.int64 if op == "argmax" else xl.dtype
    result = np.zeros((batch, *outs, chans), dtype=dtype)
    layout_index = np.arange(np.asarray(x)[0:1].size).reshape(np.asarray(x)[0:1].shape)
    layout_index = to_cl(layout_index, cf)[0]
    for o in itertools.product(*[range(m) for m in outs]):
        cells = list(itertools.product(*[range(windows[a][0][o[a]],
                                               windows[a][0][o[a]] + windows[a][1][o[a]])
                                         for a in range(len(outs))]))
        stack = np.stack([xl[(slice(None), *cell, slice(None))] for cell in cells], axis=1)
        if op in ("max", "argmax"):
            pick = np.argmax(stack, axis=1)  # first maximum
            if op == "max":
                result[(slice(None), *o, slice(None))] = np.take_along_axis(
                    stack, pick[:, None], axis=1)[:, 0]
            else:
                idx = np.array([layout_index[(*cell, slice(None))] for cell in cells])
                result[(slice(None), *o, slice(None))] = idx[pick, np.arange(chans)]
            continue
        s = np.zeros((batch, chans), dtype=acc)
        for i in range(len(cells)):
            s = (s + stack[:, i].astype(acc)).astype(acc)
        counts = [windows[a][1][o[a]] for a in range(len(outs))]
        if op == "avg":
            s = (s / acc(np.prod(counts))).astype(acc)
        elif op == "torch_avg":
            for k in counts:
                s = (s / acc(k)).astype(acc)
        result[(slice(None), *o, slice(None))] = s.astype(dtype)
    return from_cl(result, cf)


def adaptive_windows(spatial, sizes):
    wins = []
    for n, o in zip(spatial, sizes):
        starts = [i * n // o for i in range(o)]
        ends = [-(-((i + 1) * n) // o) for i in range(o)]
        wins.append((starts, [e - s for s, e in zip(starts, ends)]))
    return wins


def full_shape(batch, spatial, chans, cf):
    return (batch, chans, *spatial) if cf else (batch, *spatial, chans)


def numeric_grad(f, x, g, eps=1e-6):
    """d/dx of sum(f(x) * g) by central differences (float64)."""
    x = np.array(x, dtype=np.float64)
    grad = np.zeros_like(x)
    for i in range(x.size):
        xp, xm = x.copy(), x.copy()
        xp.flat[i] += eps
        xm.flat[i] -= eps
        grad.flat[i] = (np.sum(f(xp) * g) - np.sum(f(xm) * g)) / (2 * eps)
    return grad


def assert_grad_matches_fd(f, grad_fn, x, rng, rtol=1e-6, atol=1e-7):
    y = f(x)
    g = rng.standard_normal(y.shape)
    np.testing.assert_allclose(grad_fn(x, g), numeric_grad(f, x, g), rtol=rtol, atol=atol)


# ------------------------------------------------------------------- global pooling

@pytest.mark.parametrize("n", [1, 2, 3])
@pytest.mark.parametrize("cf", [False, True])
@pytest.mark.parametrize("keepdims", [False, True])
def test_global_pools_equal_reference(n, cf, keepdims):
    rng = np.random.default_rng(n + 10 * cf)
    fmt = (CF if cf else CL)[n]
    for dtype in MAX_DTYPES:
        x = values(rng, full_shape(2, SPATIAL[n], 3, cf), dtype, ties=dtype == np.int8)
        wins = [([0], [m]) for m in SPATIAL[n]]
        y = cypool.extras.global_max_pool(x, fmt, keepdims)
        expect = ref_pool(x, cf, wins, "max")
        assert y.dtype == x.dtype
        np.testing.assert_array_equal(y, expect if keepdims else expect.reshape(2, 3))
        if dtype in AVG_DTYPES:
            y = X.global_avg_pool(x, fmt, keepdims)
            expect = ref_pool(x, cf, wins, "avg")
            np.testing.assert_array_equal(y, expect if keepdims else expect.reshape(2, 3))


@needs_tf
@pytest.mark.parametrize("n", [1, 2, 3])
@pytest.mark.parametrize("cf", [False, True])
def test_global_pools_equal_keras(n, cf):
    keras = tf.keras
    rng = np.random.default_rng(n)
    x = rng.standard_normal(full_shape(3, (6, 5, 7)[:n], 4, cf)).astype(np.float32)
    fmt = "channels_first" if cf else "channels_last"
    for keepdims in (False, True):
        kmax = getattr(keras.layers, f"GlobalMaxPooling{n}D")(data_format=fmt, keepdims=keepdims)
        kavg = getattr(keras.layers, f"GlobalAveragePooling{n}D")(data_format=fmt,
                                                                 keepdims=keepdims)
        ours_fmt = (CF if cf else CL)[n]
        np.testing.assert_array_equal(X.global_max_pool(x, ours_fmt, keepdims),
                                      np.asarray(kmax(x)))
        # reduce_mean sums in another order: equal to rounding only
        np.testing.assert_allclose(X.global_avg_pool(x, ours_fmt, keepdims),
                                   np.asarray(kavg(x)), rtol=2e-6, atol=1e-6)


@needs_tf
def test_global_pool_gradients_equal_tf():
    rng = np.random.default_rng(3)
    x = values(rng, (2, 5, 4, 3), np.float64)
    g = rng.standard_normal((2, 3))
    xt = tf.constant(x)
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(xt)
        ymax = tf.reduce_max(xt, axis=[1, 2])
        yavg = tf.reduce_mean(xt, axis=[1, 2])
    np.testing.assert_array_equal(X.global_max_pool_grad(x, g),
                                  tape.gradient(ymax, xt, output_gradients=g).numpy())
    np.testing.assert_allclose(X.global_avg_pool_grad(x.shape, g),
                               tape.gradient(yavg, xt, output_gradients=g).numpy(),
                               rtol=1e-15)


@pytest.mark.parametrize("n", [1, 2, 3])
@pytest.mark.parametrize("cf", [False, True])
def test_global_pool_gradients_by_finite_differences(n, cf):
    rng = np.random.default_rng(7 * n + cf)
    fmt = (CF if cf else CL)[n]
    x = values(rng, full_shape(2, (4, 3, 2)[:n], 2, cf), np.float64)
    assert_grad_matches_fd(lambda v: X.global_max_pool(v, fmt),
                           lambda v, g: X.global_max_pool_grad(v, g, fmt), x, rng)
    assert_grad_matches_fd(lambda v: X.global_avg_pool(v, fmt, keepdims=True),
                           lambda v, g: X.global_avg_pool_grad(v.shape, g, fmt), x, rng)


def test_global_pool_empty_and_grad_shapes():
    x = np.zeros((2, 0, 3), np.float32)
    assert np.all(np.isneginf(X.global_max_pool(x)))
    assert np.all(np.isnan(X.global_avg_pool(x)))
    assert X.global_max_pool(np.zeros((0, 4, 3), np.float32)).shape == (0, 3)
    x = np.ones((2, 4, 3))
    flat = X.global_avg_pool_grad(x.shape, np.ones((2, 3)))
    kept = X.global_avg_pool_grad(x.shape, np.ones((2, 1, 3)))
    np.testing.assert_array_equal(flat, kept)
    np.testing.assert_array_equal(flat, np.full(x.shape, 0.25))


# ----------------------------------------------------------------- adaptive pooling

ADAPTIVE_CASES = [(1, (9,), (4,)), (1, (5,), (7,)), (2, (7, 6), (3, 4)), (2, (5, 5), (5, 2)),
                  (2, (4, 9), (6, 3)), (3, (5, 4, 6), (2, 3, 4)), (3, (3, 5, 2), (4, 2, 3))]


@pytest.mark.parametrize("n, spatial, sizes", ADAPTIVE_CASES)
@pytest.mark.parametrize("cf", [False, True])
def test_adaptive_pools_equal_reference(n, spatial, sizes, cf):
    rng = np.random.default_rng(len(spatial) + sum(spatial))
    fmt = (CF if cf else CL)[n]
    wins = adaptive_windows(spatial, sizes)
    for dtype in MAX_DTYPES:
        x = values(rng, full_shape(2, spatial, 3, cf), dtype, ties=True)
        v, i = X.adaptive_max_pool(x, sizes, fmt, return_indices=True)
        np.testing.assert_array_equal(v, ref_pool(x, cf, wins, "max"))
        np.testing.assert_array_equal(i, ref_pool(x, cf, wins, "argmax"))
        assert i.dtype == np.int64 and v.dtype == x.dtype
        if dtype in AVG_DTYPES:
            x = values(rng, x.shape, dtype)
            np.testing.assert_array_equal(X.adaptive_avg_pool(x, sizes, fmt),
                                          ref_pool(x, cf, wins, "torch_avg"))


@needs_torch
@pytest.mark.parametrize("n, spatial, sizes", ADAPTIVE_CASES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_adaptive_pools_equal_torch(n, spatial, sizes, dtype):
    rng = np.random.default_rng(sum(sizes))
    for ties in (False, True):
        x = values(rng, (2, 3, *spatial), dtype, ties=ties)  # torch's NC... layout
        xt = torch.from_numpy(x)
        tmax = getattr(F, f"adaptive_max_pool{n}d")
        tv, ti = tmax(xt, sizes, return_indices=True)
        v, i = X.adaptive_max_pool(x, sizes, CF[n], return_indices=True)
        np.testing.assert_array_equal(v, tv.numpy())
        # cypool indexes x[b] (channels included); torch indexes one plane
        np.testing.assert_array_equal(i % int(np.prod(spatial)), ti.numpy())
        # channels-last input, same data: values equal, index // C is torch's
        xl = np.ascontiguousarray(np.moveaxis(x, 1, -1))
        vl, il = X.adaptive_max_pool(xl, sizes, return_indices=True)
        np.testing.assert_array_equal(np.moveaxis(vl, -1, 1), tv.numpy())
        np.testing.assert_array_equal(np.moveaxis(il // 3, -1, 1), ti.numpy())
    x = values(rng, (2, 3, *spatial), dtype)
    tavg = getattr(F, f"adaptive_avg_pool{n}d")(torch.from_numpy(x), sizes).numpy()
    np.testing.assert_array_equal(X.adaptive_avg_pool(x, sizes, CF[n]), tavg)
    xl = np.ascontiguousarray(np.moveaxis(x, 1, -1))
    np.testing.assert_array_equal(np.moveaxis(X.adaptive_avg_pool(xl, sizes), -1, 1), tavg)


@needs_torch
@pytest.mark.parametrize("n", [1, 2, 3])
def test_adaptive_avg_pool_to_one_cell_equals_torch_to_rounding(n):
    # torch computes an all-ones output_size as input.mean(): another summation order
    x = values(np.random.default_rng(n), (2, 3, *(17, 9, 8)[:n]), np.float32)
    expect = getattr(F, f"adaptive_avg_pool{n}d")(torch.from_numpy(x), 1).numpy()
    np.testing.assert_allclose(X.adaptive_avg_pool(x, 1, CF[n]), expect, rtol=1e-6)


@needs_torch
@pytest.mark.parametrize("n, spatial, sizes", ADAPTIVE_CASES)
def test_adaptive_gradients_equal_torch_autograd(n, spatial, sizes):
    rng = np.random.default_rng(5)
    x = values(rng, (2, 3, *spatial), np.float64)
    xt = torch.from_numpy(x).requires_grad_(True)
    ymax = getattr(F, f"adaptive_max_pool{n}d")(xt, sizes)
    g = rng.standard_normal(ymax.shape)
    (dmax,) = torch.autograd.grad(ymax, xt, torch.from_numpy(g))
    np.testing.assert_array_equal(X.adaptive_max_pool_grad(x, g, sizes, CF[n]), dmax.numpy())
    for dtype in (np.float64, np.float32):
        xt = torch.from_numpy(x.astype(dtype)).requires_grad_(True)
        yavg = getattr(F, f"adaptive_avg_pool{n}d")(xt, sizes)
        (davg,) = torch.autograd.grad(yavg, xt, torch.from_numpy(g.astype(dtype)))
        np.testing.assert_array_equal(
            X.adaptive_avg_pool_grad(x.shape, g.astype(dtype), sizes, CF[n]), davg.numpy())


@pytest.mark.parametrize("n, spatial, sizes", ADAPTIVE_CASES[::2])
@pytest.mark.parametrize("cf", [False, True])
def test_adaptive_gradients_by_finite_differences(n, spatial, sizes, cf):
    rng = np.random.default_rng(11)
    fmt = (CF if cf else CL)[n]
    x = values(rng, full_shape(1, spatial, 2, cf), np.float64)
    assert_grad_matches_fd(lambda v: X.adaptive_max_pool(v, sizes, fmt),
                           lambda v, g: X.adaptive_max_pool_grad(v, g, sizes, fmt), x, rng)
    assert_grad_matches_fd(lambda v: X.adaptive_avg_pool(v, sizes, fmt),
                           lambda v, g: X.adaptive_avg_pool_grad(v.shape, g, sizes, fmt),
                           x, rng)


def test_adaptive_output_size_forms():
    x = values(np.random.default_rng(0), (1, 6, 5, 2), np.float32)
    assert X.adaptive_avg_pool(x, (3, None)).shape == (1, 3, 5, 2)
    assert X.adaptive_max_pool(x, [2]).shape == (1, 2, 2, 2)
    assert X.adaptive_max_pool(x, 0).shape == (1, 0, 0, 2)
    np.testing.assert_array_equal(X.adaptive_max_pool(x, (6, 5)), x)  # identity bins
    np.testing.assert_array_equal(X.adaptive_avg_pool(x, (6, 5)), x)
    # half precision sums in float32 and rounds once
    h = (values(np.random.default_rng(1), (1, 9, 1), np.float64) * 100).astype(np.float16)
    wins = adaptive_windows((9,), (2,))
    np.testing.assert_array_equal(X.adaptive_avg_pool(h, 2), ref_pool(h, False, wins, "torch_avg"))


# ---------------------------------------------------------- spatial pyramid pooling

@pytest.mark.parametrize("n", [1, 2, 3])
@pytest.mark.parametrize("pooling_type", ["MAX", "AVG"])
def test_spatial_pyramid_pool_layout_and_order(n, pooling_type):
    rng = np.random.default_rng(n)
    levels = (1, 2, 3)
    for spatial in [(7, 5, 6)[:n], (1, 2, 1)[:n]]:  # any input size, smaller than l too
        x = values(rng, (2, *spatial, 3), np.float32)
        y = X.spatial_pyramid_pool(x, levels, pooling_type)
        assert y.shape == (2, 3 * sum(l ** n for l in levels))
        pool = X.adaptive_max_pool if pooling_type == "MAX" else X.adaptive_avg_pool
        expect = np.concatenate([pool(x, l).reshape(2, -1) for l in levels], axis=1)
        np.testing.assert_array_equal(y, expect)
        # the same data channels-first gives the same (channels-last ordered) vector
        xf = np.ascontiguousarray(np.moveaxis(x, -1, 1))
        np.testing.assert_array_equal(X.spatial_pyramid_pool(xf, levels, pooling_type, CF[n]), y)


def test_spatial_pyramid_pool_documented_order():
    x = values(np.random.default_rng(0), (1, 4, 6, 2), np.float64)
    y = X.spatial_pyramid_pool(x, (1, 2), "MAX")
    assert y[0, 0] == x[0, :, :, 0].max() and y[0, 1] == x[0, :, :, 1].max()
    i, j, c = 1, 0, 1  # level 2 entry offset + (i*l + j)*C + c
    assert y[0, 2 + (i * 2 + j) * 2 + c] == x[0, 2:4, 0:3, c].max()


@pytest.mark.parametrize("pooling_type", ["MAX", "AVG"])
@pytest.mark.parametrize("cf", [False, True])
def test_spatial_pyramid_pool_gradient_by_finite_differences(pooling_type, cf):
    rng = np.random.default_rng(2)
    x = values(rng, full_shape(2, (5, 4), 2, cf), np.float64)
    fmt = "NCHW" if cf else "NHWC"
    assert_grad_matches_fd(
        lambda v: X.spatial_pyramid_pool(v, (1, 2, 3), pooling_type, fmt),
        lambda v, g: X.spatial_pyramid_pool_grad(v, g, (1, 2, 3), pooling_type, fmt), x, rng)


@pytest.mark.parametrize("pooling_type", ["MAX", "AVG"])
def test_spatial_pyramid_pool_dtypes(pooling_type):
    rng = np.random.default_rng(6)
    x = values(rng, (2, 5, 6, 3), np.float16, ties=True)
    g = values(rng, (2, 3 * 14), np.float16)
    # half precision: float32 arithmetic, one rounding at the end
    np.testing.assert_array_equal(
        X.spatial_pyramid_pool_grad(x, g, (1, 2, 3), pooling_type),
        X.spatial_pyramid_pool_grad(x.astype(np.float32), g.astype(np.float32), (1, 2, 3),
                                    pooling_type).astype(np.float16))
    if pooling_type == "MAX":
        for dtype in (np.int32, np.uint8, np.int64):
            xi, gi = x.astype(dtype), g.astype(dtype)
            np.testing.assert_array_equal(X.spatial_pyramid_pool(xi, (1, 2, 3)),
                                          X.spatial_pyramid_pool(x, (1, 2, 3)).astype(dtype))
            np.testing.assert_array_equal(
                X.spatial_pyramid_pool_grad(xi, gi, (1, 2, 3)),
                X.spatial_pyramid_pool_grad(x.astype(np.float64), gi.astype(np.float64),
                                            (1, 2, 3)).astype(dtype))


@needs_torch
def test_spatial_pyramid_pool_gradient_equals_torch_autograd():
    rng = np.random.default_rng(4)
    x = values(rng, (2, 3, 7, 5), np.float64)
    xt = torch.from_numpy(x).requires_grad_(True)
    for pool, kind in ((F.adaptive_max_pool2d, "MAX"), (F.adaptive_avg_pool2d, "AVG")):
        y = torch.cat([pool(xt, l).permute(0, 2, 3, 1).reshape(2, -1) for l in (1, 2, 4)], 1)
        # level 1 is an all-ones adaptive average, which torch computes with mean()
        np.testing.assert_allclose(X.spatial_pyramid_pool(x, (1, 2, 4), kind, "NCHW"),
                                   y.detach().numpy(), rtol=1e-14)
        g = rng.standard_normal(y.shape)
        (dx,) = torch.autograd.grad(y, xt, torch.from_numpy(g))
        np.testing.assert_allclose(X.spatial_pyramid_pool_grad(x, g, (1, 2, 4), kind, "NCHW"),
                                   dx.numpy(), rtol=1e-14, atol=1e-15)


# ----------------------------------------------------------------------- unpooling

def ref_scatter(shape, v, idx, include_batch):
    result = np.zeros(shape, dtype=np.float32 if v.dtype == np.float16 else v.dtype)
    flat = result.reshape(-1) if include_batch else result.reshape(shape[0], -1)
    for b in range(v.shape[0]):
        for vv, ii in zip(v[b].ravel(), idx[b].ravel()):
            if ii >= 0:
                if include_batch:
                    flat[ii] += vv
                else:
                    flat[b, ii] += vv
    return result.astype(v.dtype)


@pytest.mark.parametrize("n", [1, 2, 3])
@pytest.mark.parametrize("cf", [False, True])
@pytest.mark.parametrize("include_batch", [False, True])
def test_max_unpool_inverts_max_pool_with_argmax(n, cf, include_batch):
    rng = np.random.default_rng(n)
    fmt = (CF if cf else CL)[n]
    for dtype in (np.float32, np.float16, np.int32, np.uint8):
        x = values(rng, full_shape(2, (6, 5, 4)[:n], 3, cf), dtype, ties=dtype == np.uint8)
        for k, s in ((2, 2), (3, 1)):  # (3, 1): overlapping windows, duplicates add
            v, i = cypool.max_pool_with_argmax(x, k, s, "SAME", data_format=fmt,
                                               include_batch_in_index=include_batch)
            up = X.max_unpool(v, i, x.shape, include_batch, fmt)
            np.testing.assert_array_equal(up, ref_scatter(x.shape, v, i, include_batch))
            assert up.dtype == x.dtype
            if k == 2:  # non-overlapping: the maxima back in place, zeros elsewhere
                np.testing.assert_array_equal(up[up != 0], x[up != 0])


@needs_torch
def test_max_unpool_equals_torch():
    rng = np.random.default_rng(0)
    x = values(rng, (2, 3, 8, 6), np.float32)
    tv, ti = F.max_pool2d(torch.from_numpy(x), 2, 2, return_indices=True)
    ref = F.max_unpool2d(tv, ti, 2, 2, output_size=x.shape[2:]).numpy()
    v, i = cypool.max_pool_with_argmax(x, 2, 2, "VALID", data_format="NCHW")
    np.testing.assert_array_equal(i % 48, ti.numpy())
    np.testing.assert_array_equal(X.max_unpool(v, i, x.shape, data_format="NCHW"), ref)
    # adaptive indices feed max_unpool too
    v, i = X.adaptive_max_pool(x, (3, 4), "NCHW", return_indices=True)
    tv, ti = F.adaptive_max_pool2d(torch.from_numpy(x), (3, 4), return_indices=True)
    ref = torch.zeros(x.shape).flatten(2).scatter_add_(2, ti.flatten(2), tv.flatten(2))
    np.testing.assert_array_equal(X.max_unpool(v, i, x.shape, data_format="NCHW"),
                                  ref.reshape(x.shape).numpy())


@pytest.mark.parametrize("include_batch", [False, True])
def test_max_unpool_grad_is_the_adjoint_gather(include_batch):
    rng = np.random.default_rng(1)
    x = values(rng, (2, 5, 4, 3), np.float64)
    v, i = cypool.max_pool_with_argmax(x, 3, 1, "SAME", include_batch_in_index=include_batch)
    i[0, 0, 0, 0] = -1  # an empty window: no gradient
    g = rng.standard_normal(x.shape)
    dv = X.max_unpool_grad(g, i, include_batch)
    flat = g.reshape(-1) if include_batch else g.reshape(2, -1)
    for b in range(2):
        for idx in np.ndindex(i.shape[1:]):
            j = i[(b, *idx)]
            expect = 0.0 if j < 0 else (flat[j] if include_batch else flat[b, j])
            assert dv[(b, *idx)] == expect
    # <unpool(v), g> == <v, unpool_grad(g)>: the exact gradient of a linear map
    up = X.max_unpool(v, i, x.shape, include_batch)
    assert math.isclose(np.sum(up * g), np.sum(v * dv), rel_tol=1e-12)
    assert_grad_matches_fd(lambda w: X.max_unpool(w, i, x.shape, include_batch),
                           lambda w, gg: X.max_unpool_grad(gg, i, include_batch), v, rng)


@pytest.mark.parametrize("include_batch", [False, True])
@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.int8])
def test_max_unpool_grad_gathers_any_indices(monkeypatch, include_batch, dtype):
    """Indices in any order, -1s, and (with the batch) indices into other examples,
    gathered in parallel pieces of each example (small inputs threaded too)."""
    monkeypatch.setattr("cypool._threads.SERIAL_WORK", 0)
    rng = np.random.default_rng(8)
    g = (rng.standard_normal((3, 9, 7, 4)) * 20).astype(dtype)
    example = g[0].size
    local = rng.integers(-1, example, size=(3, 5, 4, 4))
    own = np.where(local >= 0, local + np.arange(3)[:, None, None, None] * example, -1)
    crossing = rng.integers(-1, g.size, size=local.shape)
    cases = [own, crossing] if include_batch else [local]
    flat = g.reshape(-1) if include_batch else g.reshape(3, -1)
    for index in (c.astype(np.int32) for c in cases):
        want = np.zeros(index.shape, dtype)
        for idx in np.ndindex(index.shape):
            j = index[idx]
            if j >= 0:
                want[idx] = flat[j] if include_batch else flat[idx[0], j]
        for threads in (1, 2, 3):
            out = np.full(index.shape, 7, dtype)
            got = X.max_unpool_grad(g, index, include_batch, out=out, num_threads=threads)
            assert got is out and got.tobytes() == want.tobytes(), threads


def test_max_unpool_validates_indices():
    v = np.ones((1, 2, 2, 1), np.float32)
    i = np.zeros((1, 2, 2, 1), np.int64)
    with pytest.raises(ValueError, match="argmax"):
        X.max_unpool(v, i + 16, (1, 4, 4, 1))
    with pytest.raises(ValueError, match="argmax"):
        X.max_unpool(v, i - 2, (1, 4, 4, 1))
    with pytest.raises(TypeError, match="argmax"):
        X.max_unpool(v, i.astype(np.float32), (1, 4, 4, 1))
    with pytest.raises(ValueError, match="argmax"):
        X.max_unpool(v, i[:, :1], (1, 4, 4, 1))
    with pytest.raises(ValueError, match="output_shape"):
        X.max_unpool(v, i, (1, 4, 4, 2))
    with pytest.raises(ValueError, match="output_shape"):
        X.max_unpool(v, i, (1, 4, 4))
    with pytest.raises(ValueError, match="argmax"):
        X.max_unpool_grad(np.ones((1, 2, 2, 1)), i + 4)
    with pytest.raises(ValueError, match="argmax"):
        X.max_unpool_grad(np.ones((1, 2, 2, 1)), np.zeros((2, 2, 2, 1), np.int64))
    # include_batch_in_index: indices may address the whole output
    up = X.max_unpool(np.ones((2, 1, 1, 1)), np.array([[[[3]]], [[[3]]]]), (2, 2, 1, 1), True)
    np.testing.assert_array_equal(up.ravel(), [0, 0, 0, 2])


# --------------------------------------------------------------- fractional pooling

def seq_windows(seq, n, overlapping):
    seq = np.asarray(seq)
    end = np.minimum(seq[1:] if overlapping else seq[1:] - 1, n - 1)
    return list(seq[:-1]), list(end - seq[:-1] + 1)


def tf_fractional(kind, x, ratio, pseudo_random, overlapping, seed):
    fn = tf.nn.fractional_max_pool if kind == "max" else tf.nn.fractional_avg_pool
    y, r, c = fn(tf.constant(x), ratio, pseudo_random=pseudo_random, overlapping=overlapping,
                 seed=seed)
    return y.numpy(), r.numpy(), c.numpy()


FRACTIONAL_CASES = [([1, 1.44, 1.73, 1], False, False), ([1, 1.44, 1.73, 1], True, False),
                    ([1, 1.5, 1.5, 1], False, True), ([1, 2.0, 1.25, 1], True, True),
                    ([1, 2.7, 3.3, 1], True, False), ([1, 1.0, 1.0, 1], False, True)]


@needs_tf
@pytest.mark.parametrize("ratio, pseudo_random, overlapping", FRACTIONAL_CASES)
def test_fractional_pools_equal_tf_for_tf_sequences(ratio, pseudo_random, overlapping):
    rng = np.random.default_rng(0)
    for kind, dtypes in (("max", (np.float32, np.float64, np.int32, np.int64)),
                         ("avg", (np.float32, np.float64))):
        for dtype in dtypes:
            x = values(rng, (2, 11, 10, 3), dtype, ties=dtype == np.int32)
            y_tf, r, c = tf_fractional(kind, x, ratio, pseudo_random, overlapping, seed=7)
            fn = X.fractional_max_pool if kind == "max" else X.fractional_avg_pool
            y, r2, c2 = fn(x, ratio, pseudo_random, overlapping, row_pooling_sequence=r,
                           col_pooling_sequence=c)
            np.testing.assert_array_equal(y, y_tf)
            np.testing.assert_array_equal(r2, r)
            np.testing.assert_array_equal(c2, c)
            # channels-first: the same numbers, transposed
            xf = np.ascontiguousarray(x.transpose(0, 3, 1, 2))
            yf = fn(xf, ratio[1:3], pseudo_random, overlapping, row_pooling_sequence=r,
                    col_pooling_sequence=c, data_format="NCHW")[0]
            np.testing.assert_array_equal(yf, y_tf.transpose(0, 3, 1, 2))


@needs_tf
@pytest.mark.parametrize("ratio, pseudo_random, overlapping", FRACTIONAL_CASES)
def test_fractional_gradients_equal_tf(ratio, pseudo_random, overlapping):
    rng = np.random.default_rng(1)
    for dtype in (np.float32, np.float64):
        x = values(rng, (2, 11, 10, 3), dtype, ties=True)  # ties: first max, like TF
        y, r, c = tf_fractional("max", x, ratio, pseudo_random, overlapping, seed=3)
        g = rng.standard_normal(y.shape).astype(dtype)
        expect = tf.raw_ops.FractionalMaxPoolGrad(
            orig_input=x, orig_output=y, out_backprop=g, row_pooling_sequence=r,
            col_pooling_sequence=c, overlapping=overlapping).numpy()
        np.testing.assert_array_equal(
            X.fractional_max_pool_grad(x, y, g, r, c, overlapping), expect)
        expect = tf.raw_ops.FractionalAvgPoolGrad(
            orig_input_tensor_shape=x.shape, out_backprop=g, row_pooling_sequence=r,
            col_pooling_sequence=c, overlapping=overlapping).numpy()
        np.testing.assert_array_equal(
            X.fractional_avg_pool_grad(x.shape, g, r, c, overlapping), expect)


@pytest.mark.parametrize("overlapping", [False, True])
def test_fractional_pools_equal_reference_and_finite_differences(overlapping):
    rng = np.random.default_rng(2)
    x = values(rng, (2, 7, 9, 2), np.float64)
    rows, cols = [0, 2, 3, 5, 7], [0, 1, 3, 4, 6, 7, 9]
    wins = [seq_windows(rows, 7, overlapping), seq_windows(cols, 9, overlapping)]
    kw = dict(row_pooling_sequence=rows, col_pooling_sequence=cols)
    y = X.fractional_max_pool(x, [1, 1.7, 1.5, 1], False, overlapping, **kw)[0]
    np.testing.assert_array_equal(y, ref_pool(x, False, wins, "max"))
    y = X.fractional_avg_pool(x, [1, 1.7, 1.5, 1], False, overlapping, **kw)[0]
    np.testing.assert_array_equal(y, ref_pool(x, False, wins, "avg"))
    # channels-first gives the transposed results
    xf = np.ascontiguousarray(x.transpose(0, 3, 1, 2))
    g = values(rng, (2, 4, 6, 2), np.float64)
    gf = np.ascontiguousarray(g.transpose(0, 3, 1, 2))
    for fn in (X.fractional_max_pool, X.fractional_avg_pool):
        np.testing.assert_array_equal(
            fn(xf, [1.7, 1.5], False, overlapping, **kw, data_format="NCHW")[0],
            fn(x, [1.7, 1.5], False, overlapping, **kw)[0].transpose(0, 3, 1, 2))
    np.testing.assert_array_equal(
        X.fractional_max_pool_grad(xf, gf, gf, rows, cols, overlapping, data_format="NCHW"),
        X.fractional_max_pool_grad(x, g, g, rows, cols, overlapping).transpose(0, 3, 1, 2))
    np.testing.assert_array_equal(
        X.fractional_avg_pool_grad(xf.shape, gf, rows, cols, overlapping, data_format="NCHW"),
        X.fractional_avg_pool_grad(x.shape, g, rows, cols, overlapping).transpose(0, 3, 1, 2))
    x = values(rng, (1, 7, 9, 2), np.float64)
    assert_grad_matches_fd(
        lambda v: X.fractional_max_pool(v, [1, 1.7, 1.5, 1], False, overlapping, **kw)[0],
        lambda v, g: X.fractional_max_pool_grad(v, np.empty(g.shape), g, rows, cols,
                                                overlapping), x, rng)
    assert_grad_matches_fd(
        lambda v: X.fractional_avg_pool(v, [1, 1.7, 1.5, 1], False, overlapping, **kw)[0],
        lambda v, g: X.fractional_avg_pool_grad(v.shape, g, rows, cols, overlapping), x, rng)


@pytest.mark.parametrize("pseudo_random", [False, True])
def test_fractional_generated_sequences_follow_tf_rule(pseudo_random):
    x = np.zeros((1, 37, 23, 1), np.float32)
    for ratio in (1.0, 1.3, 1.5, 1.9, 2.0, 2.3, 3.7, 5.0):
        for seed in range(1, 6):
            _, r, c = X.fractional_max_pool(x, ratio, pseudo_random, seed=seed)
            for seq, n in ((r, 37), (c, 23)):
                out = int(math.floor(n / ratio))
                k = n // out
                assert seq.dtype == np.int64 and len(seq) == out + 1
                assert seq[0] == 0 and seq[-1] == n
                assert set(np.diff(seq)) <= {k, k + 1}
    a = X.fractional_avg_pool(x, 1.5, pseudo_random, seed=5)
    b = X.fractional_avg_pool(x, 1.5, pseudo_random, seed=5)
    for u, v in zip(a, b):  # a non-zero seed is reproducible
        np.testing.assert_array_equal(u, v)
    g = X.fractional_max_pool(x, 1.5, pseudo_random, seed=np.random.default_rng(0))
    assert len(g[1]) == 25


# ----------------------------------------------------------- depthwise max pooling

@needs_tf
@pytest.mark.parametrize("k", [1, 2, 3, 6])
@pytest.mark.parametrize("padding", ["VALID", "SAME"])
def test_depthwise_max_pool_equals_tf(k, padding):
    rng = np.random.default_rng(k)
    for dtype in (np.float32, np.float64, np.float16, np.int32, np.int64, np.uint8, np.int8,
                  np.uint16):
        x = values(rng, (2, 3, 4, 6), dtype, ties=dtype == np.uint8)
        expect = tf.nn.max_pool(tf.constant(x), [1, 1, 1, k], [1, 1, 1, k], padding).numpy()
        y = X.depthwise_max_pool(x, k)
        assert y.dtype == x.dtype
        np.testing.assert_array_equal(y, expect)


@pytest.mark.parametrize("n", [1, 2, 3])
@pytest.mark.parametrize("cf", [False, True])
def test_depthwise_max_pool_and_gradient_equal_reference(n, cf):
    rng = np.random.default_rng(n)
    fmt = (CF if cf else CL)[n]
    for dtype in (np.float32, np.int16, np.float64):
        x = values(rng, full_shape(2, (4, 3, 2)[:n], 6, cf), dtype, ties=True)
        xl = to_cl(x, cf)
        expect = xl.reshape(*xl.shape[:-1], 2, 3).max(-1)
        np.testing.assert_array_equal(X.depthwise_max_pool(x, 3, fmt), from_cl(expect, cf))
        g = values(rng, from_cl(expect, cf).shape, dtype)
        gl = to_cl(g, cf)
        pick = xl.reshape(*xl.shape[:-1], 2, 3).argmax(-1)  # first maximum
        dx = np.zeros(xl.shape[:-1] + (2, 3), dtype)
        np.put_along_axis(dx, pick[..., None], gl[..., None], axis=-1)
        np.testing.assert_array_equal(X.depthwise_max_pool_grad(x, g, 3, fmt),
                                      from_cl(dx.reshape(xl.shape), cf))
    x = values(rng, full_shape(1, (3, 2, 2)[:n], 4, cf), np.float64)
    assert_grad_matches_fd(lambda v: X.depthwise_max_pool(v, 2, fmt),
                           lambda v, g: X.depthwise_max_pool_grad(v, g, 2, fmt), x, rng)


def test_depthwise_pool_window_helper():
    shape = (1, 3, 3, 6)
    assert X.depthwise_pool_window(shape, [1, 1, 1, 3], [1, 1, 1, 3], "SAME") == 3
    assert X.depthwise_pool_window(shape, [1, 2, 2, 1], [1, 1, 1, 1], "SAME") is None
    assert X.depthwise_pool_window(shape, 2, 2, "VALID") is None
    assert X.depthwise_pool_window((1, 6, 3, 3), [1, 2, 1, 1], [1, 2, 1, 1], "VALID",
                                   "NCHW") == 2
    for ksize, strides, match in [([1, 1, 1, 4], [1, 1, 1, 4], "k must divide"),
                                  ([1, 1, 1, 2], [1, 1, 1, 1], "channel stride"),
                                  ([1, 2, 1, 2], [1, 1, 1, 2], "spatial"),
                                  ([1, 1, 1, 2], [1, 2, 1, 2], "spatial strides")]:
        with pytest.raises(ValueError, match=match):
            X.depthwise_pool_window(shape, ksize, strides, "VALID")


# ------------------------------------------------------------------- LP pooling

def ref_lp(x, cf, p, ksize, strides, padding, n):
    """(avg over in-bounds cells of x**p) * prod(ksize), ** (1/p)."""
    geom_x = to_cl(x, cf)
    spatial = geom_x.shape[1:-1]
    wins = []
    for m, k, s in zip(spatial, ksize, strides):
        if padding == "VALID":
            out, before = (m - k) // s + 1, 0
        else:
            out = -(-m // s)
            before = max((out - 1) * s + k - m, 0) // 2
        starts = np.arange(out) * s - before
        ends = np.minimum(starts + k, m)
        starts = np.maximum(starts, 0)
        wins.append((list(starts), list(ends - starts)))
    avg = ref_pool(x ** p, cf, wins, "avg")
    return (avg * np.prod(ksize)) ** (1.0 / p)


@needs_torch
@pytest.mark.parametrize("n", [1, 2, 3])
@pytest.mark.parametrize("p", [1, 2, 3, 1.5, math.inf, -math.inf])
@pytest.mark.parametrize("ceil_mode", [False, True])
def test_lp_pool_equals_torch(n, p, ceil_mode):
    rng = np.random.default_rng(n)
    ksize, strides = (3, 2, 2)[:n], (2, 1, 2)[:n]
    fn = getattr(F, f"lp_pool{n}d")
    for dtype, rtol in ((np.float32, 2e-6), (np.float64, 1e-13)):
        x = values(rng, (2, 3, *(8, 7, 5)[:n]), dtype)
        if p in (1.5, 3):
            x = np.abs(x)  # x**1.5 and odd-p window sums of negatives are NaN in both
        expect = fn(torch.from_numpy(x), p, ksize if n > 1 else ksize[0],
                    strides if n > 1 else strides[0], ceil_mode).numpy()
        y = X.lp_pool(x, p, ksize, strides, "VALID", CF[n], ceil_mode=ceil_mode)
        np.testing.assert_allclose(y, expect, rtol=rtol, atol=0)
        # gradient vs autograd
        xt = torch.from_numpy(x).requires_grad_(True)
        yt = fn(xt, p, ksize if n > 1 else ksize[0], strides if n > 1 else strides[0],
                ceil_mode)
        g = rng.standard_normal(yt.shape).astype(dtype)
        (dx,) = torch.autograd.grad(yt, xt, torch.from_numpy(g))
        ours = X.lp_pool_grad(x, g, p, ksize, strides, "VALID", CF[n], ceil_mode=ceil_mode)
        np.testing.assert_allclose(ours, dx.numpy(), rtol=50 * rtol,
                                   atol=50 * rtol * np.abs(dx.numpy()).max())


@pytest.mark.parametrize("padding", ["VALID", "SAME"])
@pytest.mark.parametrize("cf", [False, True])
def test_lp_pool_reference_and_finite_differences(padding, cf):
    rng = np.random.default_rng(3)
    fmt = "NCHW" if cf else "NHWC"
    x = np.abs(values(rng, full_shape(2, (5, 6), 2, cf), np.float64)) + 0.5
    for p in (2, 1.5, 3):
        np.testing.assert_allclose(X.lp_pool(x, p, (2, 3), (2, 2), padding, fmt),
                                   ref_lp(x, cf, p, (2, 3), (2, 2), padding, 2), rtol=1e-14)
    x = x[:1]
    for p in (2, 3.5, math.inf, -math.inf):
        assert_grad_matches_fd(
            lambda v: X.lp_pool(v, p, (2, 3), (2, 2), padding, fmt),
            lambda v, g: X.lp_pool_grad(v, g, p, (2, 3), (2, 2), padding, fmt), x, rng,
            rtol=1e-5, atol=1e-6)


def test_lp_pool_zero_window_has_zero_gradient():
    x = np.zeros((1, 4, 1))
    x[0, 2, 0] = 2.0
    dx = X.lp_pool_grad(x, np.ones((1, 2, 1)), 2, 2, 2, "VALID")
    np.testing.assert_array_equal(dx.ravel(), [0, 0, 1, 0])
    y = X.lp_pool(x.astype(np.float16), 2, 2)  # strides default to ksize, VALID
    assert y.dtype == np.float16 and y.ravel().tolist() == [0, 2]


# ----------------------------------------------------- out=, num_threads=, dtypes, errors

def _calls():
    rng = np.random.default_rng(0)
    x = values(rng, (2, 6, 6, 4), np.float32)
    rows, cols = [0, 2, 4, 6], [0, 1, 3, 6]
    v, i = cypool.max_pool_with_argmax(x, 2, 2, "VALID")
    return [
        (X.global_max_pool, (x,), {}), (X.global_avg_pool, (x, None, True), {}),
        (X.adaptive_max_pool, (x, 4), {}), (X.adaptive_avg_pool, (x, (4, 3)), {}),
        (X.spatial_pyramid_pool, (x, (1, 2), "AVG"), {}),
        (X.max_unpool, (v, i, x.shape), {}),
        (X.fractional_max_pool, (x, 2), dict(row_pooling_sequence=rows,
                                               col_pooling_sequence=cols)),
        (X.depthwise_max_pool, (x, 2), {}), (X.lp_pool, (x, 2, 2, 1, "SAME"), {}),
        (X.global_max_pool_grad, (x, np.ones((2, 4), np.float32)), {}),
        (X.global_avg_pool_grad, (x.shape, np.ones((2, 4), np.float32)), {}),
        (X.adaptive_max_pool_grad, (x, np.ones((2, 4, 4, 4), np.float32), 4), {}),
        (X.adaptive_avg_pool_grad, (x.shape, np.ones((2, 4, 4, 4), np.float32), 4), {}),
        (X.spatial_pyramid_pool_grad, (x, np.ones((2, 20), np.float32), (1, 2)), {}),
        (X.max_unpool_grad, (x, i), {}),
        (X.fractional_max_pool_grad, (x, np.ones((2, 3, 3, 4)), np.ones((2, 3, 3, 4),
                                      np.float32), rows, cols), {}),
        (X.fractional_avg_pool_grad, (x.shape, np.ones((2, 3, 3, 4), np.float32), rows,
                                      cols), {}),
        (X.depthwise_max_pool_grad, (x, np.ones((2, 6, 6, 2), np.float32), 2), {}),
        (X.lp_pool_grad, (x, np.ones((2, 6, 6, 4), np.float32), 2, 2, 1, "SAME"), {}),
    ]


@pytest.mark.parametrize("fn, args, kwargs", _calls(), ids=lambda v: getattr(v, "__name__", ""))
def test_out_buffers_and_thread_counts(fn, args, kwargs):
    first = lambda r: r[0] if isinstance(r, tuple) else r  # noqa: E731
    expect = first(fn(*args, **kwargs))
    buf = np.full_like(expect, 7)
    got = first(fn(*args, **kwargs, out=buf))
    assert got is buf
    np.testing.assert_array_equal(buf, expect)
    for threads in (1, 2):
        np.testing.assert_array_equal(first(fn(*args, **kwargs, num_threads=threads)), expect)
    with pytest.raises((ValueError, TypeError), match="out"):
        fn(*args, **kwargs, out=np.empty(expect.shape, np.int16))
    with pytest.raises(ValueError, match="num_threads"):
        fn(*args, **kwargs, num_threads=0)


def test_errors_name_the_argument():
    x = np.ones((1, 4, 4, 2), np.float32)
    xi = x.astype(np.int32)
    cases = [
        (TypeError, "input", lambda: X.global_avg_pool(xi)),
        (ValueError, "input", lambda: X.global_max_pool(np.ones((2, 3)))),
        (ValueError, "data_format", lambda: X.global_max_pool(x, "NCW")),
        (TypeError, "keepdims", lambda: X.global_max_pool(x, keepdims=1)),
        (ValueError, "grad", lambda: X.global_max_pool_grad(x, np.ones((1, 3), np.float32))),
        (TypeError, "grad", lambda: X.global_max_pool_grad(x, np.ones((1, 2)))),
        (ValueError, "output_size", lambda: X.adaptive_max_pool(x, (1, 2, 3))),
        (ValueError, "output_size", lambda: X.adaptive_avg_pool(x, -1)),
        (TypeError, "output_size", lambda: X.adaptive_avg_pool(x, 1.5)),
        (TypeError, "output_size", lambda: X.adaptive_avg_pool(x, None)),
        (ValueError, "empty spatial", lambda: X.adaptive_max_pool(np.ones((1, 0, 2)), 2)),
        (TypeError, "return_indices", lambda: X.adaptive_max_pool(x, 2, None, "yes")),
        (TypeError, "output_dtype", lambda: X.adaptive_max_pool(x, 2, None, True,
                                                                output_dtype=np.int16)),
        (TypeError, "input", lambda: X.adaptive_avg_pool(xi, 2)),
        (ValueError, "grad", lambda: X.adaptive_max_pool_grad(x, np.ones((1, 3, 3, 2),
                                                                         np.float32), 2)),
        (ValueError, "input_shape", lambda: X.adaptive_avg_pool_grad((1, 4), x, 2)),
        (ValueError, "levels", lambda: X.spatial_pyramid_pool(x, (1, 0))),
        (ValueError, "levels", lambda: X.spatial_pyramid_pool(x, ())),
        (TypeError, "levels", lambda: X.spatial_pyramid_pool(x, (1.5,))),
        (ValueError, "pooling_type", lambda: X.spatial_pyramid_pool(x, 1, "max")),
        (ValueError, "grad", lambda: X.spatial_pyramid_pool_grad(x, np.ones((1, 9),
                                                                            np.float32), 2)),
        (TypeError, "include_batch_in_index",
         lambda: X.max_unpool(x, x.astype(np.int64), x.shape, 1)),
        (TypeError, "values", lambda: X.max_unpool(x.astype(bool), x.astype(np.int64), x.shape)),
        (ValueError, "pooling_ratio", lambda: X.fractional_max_pool(x, [1, 0.5, 1.5, 1])),
        (ValueError, "pooling_ratio", lambda: X.fractional_max_pool(x, [2, 1.5, 1.5, 1])),
        (ValueError, "pooling_ratio", lambda: X.fractional_max_pool(x, [1, 1.5, 1.5])),
        (TypeError, "pooling_ratio", lambda: X.fractional_max_pool(x, "1.5")),
        (ValueError, "pooling_ratio", lambda: X.fractional_max_pool(x, 5)),
        (ValueError, "value", lambda: X.fractional_max_pool(x[0], 1.5)),
        (TypeError, "value", lambda: X.fractional_avg_pool(xi, 1.5)),
        (TypeError, "pseudo_random", lambda: X.fractional_max_pool(x, 1.5, "no")),
        (TypeError, "seed", lambda: X.fractional_max_pool(x, 1.5, seed=1.5)),
        (ValueError, "row_pooling_sequence",
         lambda: X.fractional_max_pool(x, 1.5, row_pooling_sequence=[0, 2, 3, 4])),
        (ValueError, "row_pooling_sequence",
         lambda: X.fractional_max_pool(x, 2, row_pooling_sequence=[0, 2, 2])),
        (ValueError, "row_pooling_sequence",
         lambda: X.fractional_max_pool(x, 2, row_pooling_sequence=[0, 4, 5])),
        (TypeError, "col_pooling_sequence",
         lambda: X.fractional_max_pool(x, 2, col_pooling_sequence=[0.0, 2.0, 4.0])),
        (ValueError, "orig_output", lambda: X.fractional_max_pool_grad(
            x, np.ones((1, 2, 3, 2)), np.ones((1, 2, 2, 2), np.float32), [0, 2, 4], [0, 2, 4])),
        (ValueError, "out_backprop", lambda: X.fractional_max_pool_grad(
            x, np.ones((1, 2, 2, 2)), np.ones((1, 2, 3, 2), np.float32), [0, 2, 4], [0, 2, 4])),
        (ValueError, "out_backprop", lambda: X.fractional_avg_pool_grad(
            x.shape, np.ones((1, 2, 3, 2), np.float32), [0, 2, 4], [0, 2, 4])),
        (ValueError, "orig_input_tensor_shape", lambda: X.fractional_avg_pool_grad(
            (1, 4, 4), np.ones((1, 2, 2, 2), np.float32), [0, 2, 4], [0, 2, 4])),
        (ValueError, "k must divide", lambda: X.depthwise_max_pool(x, 3)),
        (ValueError, "k", lambda: X.depthwise_max_pool(x, 0)),
        (TypeError, "k", lambda: X.depthwise_max_pool(x, 1.0)),
        (ValueError, "grad", lambda: X.depthwise_max_pool_grad(x, x, 2)),
        (TypeError, "norm_type", lambda: X.lp_pool(x, "2", 2, 2, "VALID")),
        (ValueError, "norm_type", lambda: X.lp_pool(x, 0, 2, 2, "VALID")),
        (ValueError, "ksize", lambda: X.lp_pool(x, 2, 0, 2, "VALID")),
        (ValueError, "padding", lambda: X.lp_pool(x, 2, 2, 2, "valid")),
        (TypeError, "input", lambda: X.lp_pool(xi, 2, 2, 2, "VALID")),
        (ValueError, "grad", lambda: X.lp_pool_grad(x, x, 2, 2, 2, "VALID")),
    ]
    for number, (exc, match, call) in enumerate(cases):
        with pytest.raises(exc, match=match):
            print("case", number, match)
            call()
