"""Layouts: channels-first vs channels-last, strided / Fortran inputs, no mutation,
empty inputs, and out= buffers."""
import numpy as np
import pytest
from hypothesis import given, strategies as st

import cypool
import reference as R
from conftest import cases, explicit_padding, fmt_for, full_shape

RANKS = [1, 2, 3]


def _to_cf(x):
    return np.ascontiguousarray(np.moveaxis(x, -1, 1))


def _to_cl(y):
    return np.moveaxis(y, 1, -1)


def _forward_ops(n):
    """name -> f(x, ksize, strides, padding, data_format, dilations) -> output(s)."""
    return {
        "max_pool": lambda x, k, s, p, f, d: cypool.max_pool(x, k, s, p, f, dilations=d),
        "avg_pool": lambda x, k, s, p, f, d: cypool.avg_pool(x, k, s, p, f, dilations=d),
        f"max_pool{n}d": lambda x, k, s, p, f, d: getattr(cypool, f"max_pool{n}d")(
            x, k, s, p, f, dilations=d),
        f"avg_pool{n}d": lambda x, k, s, p, f, d: getattr(cypool, f"avg_pool{n}d")(
            x, k, s, p, f, dilations=d),
        "pool_MAX": lambda x, k, s, p, f, d: cypool.pool(x, k, "MAX", s, p, f, d),
        "pool_AVG": lambda x, k, s, p, f, d: cypool.pool(x, k, "AVG", s, p, f, d),
        "argmax": lambda x, k, s, p, f, d: cypool.max_pool_with_argmax(
            x, k, s, p, data_format=f, dilations=d)[0],
    }


# ------------------------------------------------------------------ channels-first

@pytest.mark.parametrize("n", RANKS)
@given(data=st.data())
def test_channels_first_is_transposed_channels_last(n, data):
    c = data.draw(cases(n_spatial=n, channels_first=False, dtypes=(np.float32, np.float64)))
    x_cl = c.x
    x_cf = _to_cf(x_cl)
    f_cl, f_cf = fmt_for(n, False), fmt_for(n, True)
    k, s, d = list(c.ksize), list(c.strides), list(c.dilations)
    pad_cl = c.api_padding
    pad_cf = c.padding if isinstance(c.padding, str) else explicit_padding(c.padding, f_cf)
    try:
        R.output_shape(x_cl.shape, c.ksize, c.strides, c.padding, f_cl, c.dilations)
    except ValueError:
        return
    for name, op in _forward_ops(n).items():
        a = op(x_cl, k, s, pad_cl, f_cl, d)
        b = op(x_cf, k, s, pad_cf, f_cf, d)
        assert b.flags.c_contiguous, name
        np.testing.assert_array_equal(_to_cl(b), a, err_msg=name)


@pytest.mark.parametrize("n", RANKS)
@pytest.mark.parametrize("include_batch_in_index", [False, True])
@given(data=st.data())
def test_channels_first_argmax_indexes_own_layout(n, include_batch_in_index, data):
    c = data.draw(cases(n_spatial=n, channels_first=True,
                        dtypes=(np.float32, np.int32, np.uint8), allow_empty=False))
    try:
        exp_out, exp_arg = R.ref_max_pool_with_argmax(
            c.x, include_batch_in_index=include_batch_in_index, **c.ref_args())
    except ValueError:
        return
    out, arg = cypool.max_pool_with_argmax(
        c.x, list(c.ksize), list(c.strides), c.api_padding, data_format=c.data_format,
        include_batch_in_index=include_batch_in_index, dilations=list(c.dilations))
    np.testing.assert_array_equal(out, exp_out)
    np.testing.assert_array_equal(arg, exp_arg)
    # every valid index points at its output's value in the channels-first array itself
    for idx in np.ndindex(*out.shape):
        a = arg[idx]
        if a < 0:
            continue
        cell = c.x.flat[a] if include_batch_in_index else c.x[idx[0]].flat[a]
        v = out[idx]
        assert cell == v or (np.isnan(cell) and np.isnan(v)), (idx, a)
        if include_batch_in_index:
            assert a // int(np.prod(c.x.shape[1:])) == idx[0]
        # the channel of the picked cell is the output's channel
        coord = np.unravel_index(a, c.x.shape if include_batch_in_index else c.x.shape[1:])
        assert coord[1 if include_batch_in_index else 0] == idx[1]


# ------------------------------------------------------------------ memory layouts

def _layout_variants(x):
    """(label, array) views of the same values with different memory layouts."""
    big = np.zeros(tuple(2 * s + 1 for s in x.shape), dtype=x.dtype)
    strided = big[tuple(slice(1, None, 2) for _ in x.shape)]
    strided[...] = x
    rev = np.ascontiguousarray(x[..., ::-1])[..., ::-1]  # negative last-axis stride
    return [
        ("C", np.ascontiguousarray(x)),
        ("F", np.asfortranarray(x)),
        ("strided", strided),
        ("negative", rev),
        ("transposed-view", np.moveaxis(np.ascontiguousarray(np.moveaxis(x, 0, -1)), -1, 0)),
    ]


@pytest.mark.parametrize("fmt", ["NWC", "NCW", "NHWC", "NCHW", "NDHWC", "NCDHW"])
def test_noncontiguous_and_fortran_inputs(fmt):
    n = len(fmt) - 2
    rng = np.random.default_rng(len(fmt))
    x = rng.standard_normal(full_shape(2, (5,) * n, 3, fmt)).astype(np.float32)
    x[(0,) * x.ndim] = np.nan
    k, s = [3] * n, [2] * n
    pad = explicit_padding([(1, 2)] * n, fmt)
    ref_pad = [(1, 2)] * n
    exp_max = R.ref_max_pool(x, k, s, ref_pad, fmt)
    exp_avg = R.ref_avg_pool(x, k, s, "SAME", fmt)
    exp_arg = R.ref_max_pool_with_argmax(x, k, s, "VALID", fmt, True)
    for label, v in _layout_variants(x):
        np.testing.assert_array_equal(v, x)
        before = v.copy()
        np.testing.assert_array_equal(cypool.max_pool(v, k, s, pad, fmt), exp_max,
                                      err_msg=label)
        np.testing.assert_array_equal(cypool.avg_pool(v, k, s, "SAME", fmt), exp_avg,
                                      err_msg=label)
        np.testing.assert_array_equal(cypool.pool(v, k, "AVG", s, "SAME", fmt), exp_avg,
                                      err_msg=label)
        out, arg = cypool.max_pool_with_argmax(v, k, s, "VALID", fmt,
                                               include_batch_in_index=True)
        np.testing.assert_array_equal(out, exp_arg[0], err_msg=label)
        np.testing.assert_array_equal(arg, exp_arg[1], err_msg=label)
        np.testing.assert_array_equal(v, before, err_msg=f"{label}: input modified")


def test_readonly_and_broadcast_inputs():
    x = np.random.default_rng(0).standard_normal((1, 4, 4, 2)).astype(np.float64)
    ro = x.copy()
    ro.flags.writeable = False
    np.testing.assert_array_equal(cypool.max_pool(ro, 2, 2, "VALID"),
                                  R.ref_max_pool(x, 2, 2, "VALID", "NHWC"))
    row = np.arange(4, dtype=np.float32)
    bc = np.broadcast_to(row.reshape(1, 1, 4, 1), (2, 3, 4, 1))  # zero strides
    np.testing.assert_array_equal(
        cypool.avg_pool(bc, 2, 1, "SAME"), R.ref_avg_pool(np.array(bc), 2, 1, "SAME", "NHWC"))


@given(c=cases(dtypes=(np.float16, np.float32, np.int16, np.uint64)))
def test_inputs_never_modified(c):
    x = c.x
    keep = x.copy()
    try:
        R.output_shape(x.shape, c.ksize, c.strides, c.padding, c.data_format, c.dilations)
    except ValueError:
        return
    kw = dict(data_format=c.data_format, dilations=list(c.dilations))
    k, s = list(c.ksize), list(c.strides)
    cypool.max_pool(x, k, s, c.api_padding, **kw)
    cypool.max_pool_with_argmax(x, k, s, c.api_padding, include_batch_in_index=True, **kw)
    if x.dtype.kind == "f":
        cypool.avg_pool(x, k, s, c.api_padding, **kw)
    np.testing.assert_array_equal(x, keep)


# ------------------------------------------------------------------ empty inputs

EMPTY_CASES = [
    # (label, batch, spatial, channels)
    ("zero-batch", 0, 4, 3),
    ("zero-channel", 2, 4, 0),
    ("zero-spatial", 2, 0, 3),
    ("all-zero", 0, 0, 0),
]


@pytest.mark.parametrize("fmt", ["NWC", "NCW", "NHWC", "NCHW", "NDHWC", "NCDHW"])
@pytest.mark.parametrize("label,batch,sp,ch", EMPTY_CASES, ids=[c[0] for c in EMPTY_CASES])
@pytest.mark.parametrize("dtype", [np.float32, np.float16, np.int64])
def test_empty_inputs_give_empty_outputs(fmt, label, batch, sp, ch, dtype):
    n = len(fmt) - 2
    spatial = (sp,) + (3,) * (n - 1)
    x = np.zeros(full_shape(batch, spatial, ch, fmt), dtype=dtype)
    for pad, k, s in (("SAME", 2, 2), ("VALID", 1, 1), ("SAME", 3, 1)):
        expected_shape = R.output_shape(x.shape, k, s, pad, fmt)
        assert 0 in expected_shape
        outs = [
            cypool.max_pool(x, k, s, pad, fmt),
            getattr(cypool, f"max_pool{n}d")(x, k, s, pad, fmt),
            cypool.pool(x, [k] * n, "MAX", [s] * n, pad, fmt),
        ]
        if np.dtype(dtype).kind == "f":
            outs += [
                cypool.avg_pool(x, k, s, pad, fmt),
                getattr(cypool, f"avg_pool{n}d")(x, k, s, pad, fmt),
                cypool.pool(x, [k] * n, "AVG", [s] * n, pad, fmt),
            ]
        for out in outs:
            assert out.shape == expected_shape
            assert out.dtype == np.dtype(dtype)
        for ib in (False, True):
            for od in (np.int32, np.int64):
                out, arg = cypool.max_pool_with_argmax(
                    x, k, s, pad, data_format=fmt, output_dtype=od, include_batch_in_index=ib)
                assert out.shape == expected_shape and out.dtype == np.dtype(dtype)
                assert arg.shape == expected_shape and arg.dtype == np.dtype(od)


def test_empty_output_from_nonempty_input():
    """VALID n=3, k=4, s=1: k_eff - n = 1 < 2*s, so the output is empty, not an error."""
    x = np.ones((2, 3, 3, 1), dtype=np.float32)
    assert cypool.max_pool(x, 4, 1, "VALID").shape == (2, 0, 0, 1)
    assert cypool.avg_pool(x, [4, 1], 1, "VALID").shape == (2, 0, 3, 1)
    out, arg = cypool.max_pool_with_argmax(x, 4, 1, "VALID")
    assert out.shape == arg.shape == (2, 0, 0, 1)


# ------------------------------------------------------------------ out= buffers

@pytest.mark.parametrize("fmt", ["NWC", "NCHW", "NDHWC", "NCDHW"])
def test_out_buffers_receive_result(fmt):
    n = len(fmt) - 2
    x = np.random.default_rng(9).standard_normal(full_shape(2, (5,) * n, 3, fmt))
    x = x.astype(np.float32)
    shape = R.output_shape(x.shape, 2, 2, "SAME", fmt)
    exp_max = R.ref_max_pool(x, 2, 2, "SAME", fmt)
    exp_avg = R.ref_avg_pool(x, 2, 2, "SAME", fmt)
    for fn, exp in ((cypool.max_pool, exp_max), (cypool.avg_pool, exp_avg)):
        buf = np.full(shape, 123.0, dtype=np.float32)
        got = fn(x, 2, 2, "SAME", fmt, out=buf)
        assert got is buf
        np.testing.assert_array_equal(buf, exp)
    buf = np.full(shape, 123.0, dtype=np.float32)
    got = cypool.pool(x, [2] * n, "MAX", [2] * n, "SAME", fmt, out=buf)
    assert got is buf
    np.testing.assert_array_equal(buf, exp_max)
    ob = np.empty(shape, dtype=np.float32)
    ab = np.empty(shape, dtype=np.int32)
    got = cypool.max_pool_with_argmax(x, 2, 2, "SAME", fmt, output_dtype=np.int32,
                                      out=(ob, ab))
    assert got[0] is ob and got[1] is ab
    exp = R.ref_max_pool_with_argmax(x, 2, 2, "SAME", fmt)
    np.testing.assert_array_equal(ob, exp[0])
    np.testing.assert_array_equal(ab, exp[1])


@pytest.mark.parametrize("channels", [1, 3, 16, 67])
def test_out_buffers_at_any_alignment(channels, output_streaming):
    """out= arrays that start off a 16-byte boundary, as non-temporal stores need one:
    every row head and tail (and every vector of a per-cell row) still lands."""
    rng = np.random.default_rng(channels)
    x = rng.standard_normal((2, 9, 11, channels)).astype(np.float32)
    shape = R.output_shape(x.shape, 3, 2, "SAME", "NHWC")
    size = int(np.prod(shape))
    exp_max, exp_arg = R.ref_max_pool_with_argmax(x, 3, 2, "SAME", "NHWC")
    exp_avg = R.ref_avg_pool(x, 3, 2, "SAME", "NHWC")
    for offset in range(4):
        store = np.full(size + 8, 7.0, np.float32)
        buf = store[offset:offset + size].reshape(shape)
        np.testing.assert_array_equal(cypool.max_pool(x, 3, 2, "SAME", out=buf), exp_max)
        np.testing.assert_array_equal(cypool.avg_pool(x, 3, 2, "SAME", out=buf), exp_avg)
        assert (store[:offset] == 7).all() and (store[offset + size:] == 7).all()
        index_store = np.full(size + 4, -7, np.int64)
        index = index_store[offset % 2:offset % 2 + size].reshape(shape)
        out, arg = cypool.max_pool_with_argmax(x, 3, 2, "SAME", out=(buf, index))
        np.testing.assert_array_equal(out, exp_max)
        np.testing.assert_array_equal(arg, exp_arg)
        assert (index_store[:offset % 2] == -7).all()
        assert (index_store[offset % 2 + size:] == -7).all()


def test_large_outputs_stream():
    """Outputs past STREAM_BYTES (inputs included) take the non-temporal stores."""
    from cypool._buffers import STREAM_BYTES, streams
    small = np.empty(1 << 20, np.uint8)
    assert not streams(small, small)
    big = np.empty(STREAM_BYTES // 2, np.uint8)
    assert streams(big, big)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.uint8, np.int16])
@pytest.mark.parametrize("window", [(3, 2, "SAME"), (5, 1, "SAME"), (2, 2, "VALID")])
def test_inputs_at_any_alignment(dtype, window, output_streaming):
    """Inputs that start anywhere in a cache line: the per-cell vectors then start with
    one unaligned vector and go on from where the loads align (overlapping it), and the
    rows reduced first land in aligned scratch."""
    rng = np.random.default_rng(3)
    itemsize = np.dtype(dtype).itemsize
    shape = (2, 7, 9, 200 // itemsize + 3)  # a few vectors and a tail per cell
    data = (rng.standard_normal(shape) * 40).astype(dtype)
    exp = R.ref_max_pool(data, *window, "NHWC")
    for offset in range(0, 64, itemsize):
        store = np.zeros(data.nbytes + 128, np.uint8)
        start = (-store.ctypes.data) % 64 + offset
        x = store[start:start + data.nbytes].view(dtype).reshape(shape)
        x[...] = data
        np.testing.assert_array_equal(cypool.max_pool(x, *window), exp)
        np.testing.assert_array_equal(
            cypool.max_pool_with_argmax(x, *window)[0], exp)
