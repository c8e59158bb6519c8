"""dtype coverage: every SPEC dtype for max/argmax, floats for avg, extremes, rejects."""
import tracemalloc

import numpy as np
import pytest
from hypothesis import given, strategies as st

import cypool
import reference as R
from conftest import (
    cases, fmt_for, full_shape, kernel_builds, make_values, use_kernel_build, with_half_specials,
)

MAX_DTYPES = [np.float16, np.float32, np.float64, np.int8, np.uint8, np.int16, np.uint16,
              np.int32, np.uint32, np.int64, np.uint64]
AVG_DTYPES = [np.float16, np.float32, np.float64]
INT_DTYPES = [d for d in MAX_DTYPES if np.dtype(d).kind in "iu"]


def _x(dtype, n, cf=False, style="wide", seed=0, spatial=5, batch=2, channels=3):
    fmt = fmt_for(n, cf)
    rng = np.random.default_rng(seed)
    return make_values(rng, full_shape(batch, (spatial,) * n, channels, fmt), dtype, style), fmt


@pytest.mark.parametrize("dtype", MAX_DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("n", [1, 2, 3])
@pytest.mark.parametrize("cf", [False, True], ids=["last", "first"])
def test_max_every_dtype_every_rank(dtype, n, cf):
    for style, pad in (("wide", "SAME"), ("small", "VALID"), ("small", [(1, 0)] * n)):
        x, fmt = _x(dtype, n, cf, style)
        api_pad = pad if isinstance(pad, str) else (
            [[0, 0], [0, 0]] + [[1, 0]] * n if cf else [[0, 0]] + [[1, 0]] * n + [[0, 0]])
        got = cypool.max_pool(x, 2, [2] + [1] * (n - 1), api_pad, data_format=fmt)
        expected = R.ref_max_pool(x, 2, (2,) + (1,) * (n - 1), pad, fmt)
        assert got.dtype == np.dtype(dtype)
        np.testing.assert_array_equal(got, expected)
        op = getattr(cypool, f"max_pool{n}d")
        np.testing.assert_array_equal(op(x, 2, [2] + [1] * (n - 1), api_pad, fmt), expected)
        got = cypool.pool(x, [2] * n, "MAX", [2] + [1] * (n - 1), api_pad, fmt)
        assert got.dtype == np.dtype(dtype)
        np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("dtype", MAX_DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("n", [1, 2, 3])
@pytest.mark.parametrize("output_dtype", [np.int32, np.int64])
def test_argmax_every_dtype_every_rank(dtype, n, output_dtype):
    for cf in (False, True):
        for style in ("wide", "small"):
            x, fmt = _x(dtype, n, cf, style, seed=n)
            for ib in (False, True):
                out, arg = cypool.max_pool_with_argmax(
                    x, 3, 2, "SAME", data_format=fmt, output_dtype=output_dtype,
                    include_batch_in_index=ib)
                exp_out, exp_arg = R.ref_max_pool_with_argmax(x, 3, 2, "SAME", fmt, ib)
                assert out.dtype == np.dtype(dtype)
                assert arg.dtype == np.dtype(output_dtype)
                np.testing.assert_array_equal(out, exp_out)
                np.testing.assert_array_equal(arg, exp_arg)


@pytest.mark.parametrize("dtype", AVG_DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("n", [1, 2, 3])
@pytest.mark.parametrize("cf", [False, True], ids=["last", "first"])
def test_avg_float_dtypes_every_rank(dtype, n, cf):
    x, fmt = _x(dtype, n, cf, "wide", seed=3)
    for pad in ("SAME", "VALID"):
        got = cypool.avg_pool(x, 3, 2, pad, data_format=fmt)
        expected = R.ref_avg_pool(x, 3, 2, pad, fmt)
        assert got.dtype == np.dtype(dtype)
        np.testing.assert_array_equal(got, expected)
        got = getattr(cypool, f"avg_pool{n}d")(x, 3, 2, pad, fmt)
        np.testing.assert_array_equal(got, expected)
        got = cypool.pool(x, [3] * n, "AVG", [2] * n, pad, fmt)
        assert got.dtype == np.dtype(dtype)
        np.testing.assert_array_equal(got, expected)


@given(c=cases(dtypes=MAX_DTYPES, allow_empty=False))
def test_max_random_dtypes_property(c):
    try:
        exp_out, exp_arg = R.ref_max_pool_with_argmax(c.x, **c.ref_args())
    except ValueError:
        return  # VALID output size negative: covered in test_shapes_padding/test_errors
    got = cypool.max_pool(c.x, list(c.ksize), list(c.strides), c.api_padding,
                          data_format=c.data_format, dilations=list(c.dilations))
    assert got.dtype == c.x.dtype
    np.testing.assert_array_equal(got, exp_out)
    out, arg = cypool.max_pool_with_argmax(
        c.x, list(c.ksize), list(c.strides), c.api_padding, data_format=c.data_format,
        dilations=list(c.dilations))
    np.testing.assert_array_equal(out, exp_out)
    np.testing.assert_array_equal(arg, exp_arg)


# ------------------------------------------------------------------ integer extremes

@pytest.mark.parametrize("dtype", INT_DTYPES, ids=lambda d: np.dtype(d).name)
def test_integer_extremes(dtype):
    info = np.iinfo(dtype)
    lo, hi = info.min, info.max
    x = np.array([[lo, lo, hi, lo],
                  [lo, lo, lo, hi - 1],
                  [hi, hi, lo + 1, lo],
                  [lo, lo, lo, lo]], dtype=dtype).reshape(1, 4, 4, 1)
    got = cypool.max_pool2d(x, 2, 2, "VALID")
    np.testing.assert_array_equal(got[0, :, :, 0], np.array([[lo, hi], [hi, lo + 1]], dtype))
    out, arg = cypool.max_pool_with_argmax(x, 2, 2, "VALID")
    np.testing.assert_array_equal(out, got)
    # the window of all-minimum values picks its first cell, never -1
    np.testing.assert_array_equal(arg[0, :, :, 0], [[0, 2], [8, 10]])
    # all-minimum input everywhere, SAME padding: the padding never wins
    xm = np.full((1, 3, 3, 2), lo, dtype=dtype)
    out, arg = cypool.max_pool_with_argmax(xm, 2, 2, "SAME")
    assert (out == lo).all()
    np.testing.assert_array_equal(out, R.ref_max_pool(xm, 2, 2, "SAME", "NHWC"))
    np.testing.assert_array_equal(arg, R.ref_max_pool_with_argmax(xm, 2, 2, "SAME")[1])
    assert (arg >= 0).all()
    # all-maximum
    xM = np.full((1, 3, 3, 1), hi, dtype=dtype)
    np.testing.assert_array_equal(cypool.max_pool(xM, 3, 1, "SAME"), xM)


@pytest.mark.parametrize("dtype", AVG_DTYPES, ids=lambda d: np.dtype(d).name)
def test_float_extremes(dtype):
    fi = np.finfo(dtype)
    x = np.array([fi.min, fi.max, fi.tiny, -fi.tiny], dtype=dtype).reshape(1, 4, 1)
    np.testing.assert_array_equal(cypool.max_pool1d(x, 2, 2, "VALID")[0, :, 0],
                                  np.array([fi.max, fi.tiny], dtype))
    # fi.max + fi.max overflows to inf in every accumulator dtype except float16's float32
    y = np.array([fi.max, fi.max], dtype=dtype).reshape(1, 2, 1)
    got = cypool.avg_pool1d(y, 2, 2, "VALID")[0, 0, 0]
    if dtype == np.float16:
        assert got == fi.max
    else:
        assert got == np.inf
    np.testing.assert_array_equal(cypool.avg_pool1d(y, 2, 2, "VALID"),
                                  R.ref_avg_pool(y, 2, 2, "VALID", "NWC"))


@pytest.mark.parametrize("hide_ml_dtypes", [False, True])
def test_float64_average_sums_in_float64_with_or_without_ml_dtypes(monkeypatch, hide_ml_dtypes):
    """float64 is computed as float64 whether or not ml_dtypes (bfloat16) is installed:
    without it, NumPy's ``dtype == None`` is ``dtype == float64``, and a comparison
    with the missing bfloat16 once sent float64 averages through float32."""
    from cypool import _geometry
    if hide_ml_dtypes:  # as where it is not installed
        monkeypatch.setattr(_geometry, "_bfloat16", lambda: None)
    x = np.array([1.0, 1e-10, 3.0, 1e-10] * 8).reshape(1, 32, 1)
    got = cypool.avg_pool(x, 2, 2, "VALID", "NWC")
    assert got.dtype == np.float64
    np.testing.assert_array_equal(got[0, :2, 0], [(1.0 + 1e-10) / 2, (3.0 + 1e-10) / 2])
    assert _geometry.compute_dtype(np.dtype(np.float64)) == np.float64
    assert _geometry.compute_dtype(np.dtype(np.float16)) == np.float32


# ------------------------------------------------------------------ float16 average

def test_float16_avg_accumulates_in_float32():
    """SPEC: an 8x8 window of 1050.0 gives 1050.0 (TF's half accumulator gives inf)."""
    x = np.full((1, 8, 8, 1), 1050.0, dtype=np.float16)
    got = cypool.avg_pool2d(x, 8, 8, "VALID")
    assert got.dtype == np.float16
    assert got.shape == (1, 1, 1, 1)
    assert got[0, 0, 0, 0] == np.float16(1050.0)
    got = cypool.pool(x, [8, 8], "AVG", padding="VALID")
    assert got[0, 0, 0, 0] == np.float16(1050.0)
    x3 = np.full((1, 4, 4, 4, 1), 60000.0, dtype=np.float16)
    assert cypool.avg_pool3d(x3, 4, 4, "VALID")[0, 0, 0, 0, 0] == np.float16(60000.0)


@given(c=cases(dtypes=(np.float16,)))
def test_float16_avg_matches_float32_then_round(c):
    try:
        expected = R.ref_avg_pool(c.x, **c.ref_args())
    except ValueError:
        return
    got = cypool.avg_pool(c.x, list(c.ksize), list(c.strides), c.api_padding,
                          data_format=c.data_format, dilations=list(c.dilations))
    assert got.dtype == np.float16
    np.testing.assert_array_equal(got, expected)


@given(c=cases(dtypes=(np.float16,), allow_empty=False), threads=st.sampled_from([1, 2, 3]),
       whole=st.booleans(), strided=st.booleans(), tight=st.booleans())
def test_float16_rows_widened_by_their_threads(c, threads, whole, strided, tight):
    """C-contiguous float16 goes to the kernel as it is: each thread widens the input
    rows its row groups read into its own float32 row buffer as it reaches them (from
    any row group on: a plane's rows are split among threads), the rows still needed
    moving to the buffer's start when it fills (``tight``: a buffer of just the most
    rows a group reads, so that they move at almost every group), and rounds each row
    block (buffers over HALF_BUFFER_BYTES, and strided inputs, take whole float32
    copies): the bits of max, average and argmax are those of pooling the float32 cast
    and rounding once, at any thread count, with NaN payloads (signalling too),
    subnormals, infinities and signed zeros among the inputs."""
    rng = np.random.default_rng(c.x.size)
    x = with_half_specials(c.x, rng)
    args, kw = c.api_args(), dict(dilations=list(c.dilations))
    try:
        want_max = cypool.max_pool(x.astype(np.float32), *args, **kw)
    except ValueError:
        return
    want_avg = cypool.avg_pool(x.astype(np.float32), *args, **kw)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("cypool._buffers.HALF_BUFFER_BYTES", 0 if whole else 8 << 20)
        mp.setattr("cypool._buffers.HALF_RING_BYTES", 0 if tight else 2 << 20)
        mp.setattr("cypool._threads.SERIAL_WORK", 0)
        given = np.stack([x, x], -1)[..., 0] if strided else x
        got_max = cypool.max_pool(given, *args, num_threads=threads, **kw)
        got_avg = cypool.avg_pool(given, *args, num_threads=threads,
                                  out=np.empty_like(want_avg, np.float16), **kw)
        if c.data_format == "NHWC" and c.dilations == (1, 1):
            values, index = cypool.max_pool_with_argmax(given, *args[:3],
                                                        num_threads=threads)
            want_values, want_index = cypool.max_pool_with_argmax(x.astype(np.float32),
                                                                  *args[:3])
            np.testing.assert_array_equal(values.view(np.uint16),
                                          want_values.astype(np.float16).view(np.uint16))
            np.testing.assert_array_equal(index, want_index)
    np.testing.assert_array_equal(got_max.view(np.uint16),
                                  want_max.astype(np.float16).view(np.uint16))
    np.testing.assert_array_equal(got_avg.view(np.uint16),
                                  want_avg.astype(np.float16).view(np.uint16))


def test_float16_large_plane_widens_a_row_buffer_a_thread():
    """A float16 plane far past HALF_BUFFER_BYTES as float32 (a 1200x1200 RGB image:
    17 MB) still widens into a row buffer a thread, not into whole float32 copies of
    the input and output: the bits of pooling the float32 cast and rounding once, at
    one and two threads (the plane's rows split between them), with the call's traced
    peak under half the input's float32 size (whole copies took more than all of it)."""
    x = np.random.default_rng(5).standard_normal((1, 1200, 1200, 3), dtype=np.float32)
    x = x.astype(np.float16)
    want = cypool.max_pool(x.astype(np.float32), 3, 2, "SAME").astype(np.float16)
    for threads in (1, 2):
        tracemalloc.start()
        try:
            got = cypool.max_pool(x, 3, 2, "SAME", num_threads=threads)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        np.testing.assert_array_equal(got.view(np.uint16), want.view(np.uint16))
        assert peak < x.size * 4 // 2, peak


def test_float16_avg_rounds_once():
    """2048 + 1 + ... rounded per step in half stays 2048; float32 sums 2053, then /6."""
    x = np.array([2048, 1, 1, 1, 1, 1], dtype=np.float16).reshape(1, 6, 1)
    got = cypool.avg_pool1d(x, 6, 6, "VALID")[0, 0, 0]
    assert got == np.float16(np.float32(2053) / np.float32(6))


# ------------------------------------------------------------------ rejected dtypes

AVG_OPS = [
    lambda x: cypool.avg_pool(x, 2, 1, "VALID"),
    lambda x: cypool.avg_pool2d(x, 2, 1, "VALID"),
    lambda x: cypool.pool(x, [2, 2], "AVG"),
]
ALL_OPS = AVG_OPS + [
    lambda x: cypool.max_pool(x, 2, 1, "VALID"),
    lambda x: cypool.max_pool2d(x, 2, 1, "VALID"),
    lambda x: cypool.pool(x, [2, 2], "MAX"),
    lambda x: cypool.max_pool_with_argmax(x, 2, 1, "VALID"),
]


@pytest.mark.parametrize("dtype", INT_DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("op", range(len(AVG_OPS)))
def test_avg_rejects_integers_naming_supported_dtypes(dtype, op):
    x = np.ones((1, 3, 3, 1), dtype=dtype)
    with pytest.raises(TypeError, match=r"float"):
        AVG_OPS[op](x)
    with pytest.raises(TypeError, match=np.dtype(dtype).name):
        AVG_OPS[op](x)


@pytest.mark.parametrize("dtype", [np.bool_, np.complex64, np.complex128, object, "U3"],
                         ids=["bool", "complex64", "complex128", "object", "str"])
@pytest.mark.parametrize("op", range(len(ALL_OPS)))
def test_unsupported_dtypes_raise_type_error(dtype, op):
    x = np.ones((1, 3, 3, 1), dtype=dtype) if dtype != "U3" else np.full((1, 3, 3, 1), "a")
    with pytest.raises(TypeError):
        ALL_OPS[op](x)


# ------------------------------------------------------------------ array-likes

def test_list_input():
    data = [[[[1.0], [5.0], [2.0]], [[4.0], [3.0], [0.0]]]]  # (1, 2, 3, 1)
    x = np.array(data)
    got = cypool.max_pool(data, 2, 1, "VALID")
    assert isinstance(got, np.ndarray)
    assert got.dtype == x.dtype == np.float64
    np.testing.assert_array_equal(got, R.ref_max_pool(x, 2, 1, "VALID", "NHWC"))
    np.testing.assert_array_equal(cypool.avg_pool(data, 2, 1, "SAME"),
                                  R.ref_avg_pool(x, 2, 1, "SAME", "NHWC"))
    out, arg = cypool.max_pool_with_argmax(data, 2, 1, "VALID")
    np.testing.assert_array_equal(arg, R.ref_max_pool_with_argmax(x, 2, 1, "VALID")[1])
    # integer lists follow NumPy's conversion (int64) and work for max
    ints = [[[3], [1], [4], [1], [5]]]
    got = cypool.max_pool1d(ints, 2, 2, "VALID")
    assert got.dtype == np.asarray(ints).dtype
    np.testing.assert_array_equal(got[0, :, 0], [3, 4])


def test_tf_tensor_input():
    tf = pytest.importorskip("tensorflow", reason="tensorflow not installed")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 6, 5, 3)).astype(np.float32)
    t = tf.constant(x)
    for fn, ref in ((cypool.max_pool, R.ref_max_pool), (cypool.avg_pool, R.ref_avg_pool)):
        got = fn(t, 3, 2, "SAME")
        assert isinstance(got, np.ndarray)
        assert got.dtype == np.float32
        np.testing.assert_array_equal(got, ref(x, 3, 2, "SAME", "NHWC"))
    out, arg = cypool.max_pool_with_argmax(t, 2, 2, "VALID")
    assert isinstance(out, np.ndarray) and isinstance(arg, np.ndarray)
    exp = R.ref_max_pool_with_argmax(x, 2, 2, "VALID")
    np.testing.assert_array_equal(out, exp[0])
    np.testing.assert_array_equal(arg, exp[1])
    got = cypool.pool(tf.constant(x.astype(np.float16)), [2, 2], "AVG", padding="SAME")
    assert got.dtype == np.float16
    np.testing.assert_array_equal(got, R.ref_avg_pool(x.astype(np.float16), 2, 1, "SAME",
                                                      "NHWC"))
    gi = cypool.max_pool(tf.constant(x.astype(np.int32)), 2, 2, "VALID")
    assert gi.dtype == np.int32


# ------------------------------------------------------------------ many channels
# From 64 bytes of channels a max or average runs cell by cell with the channels in
# vector registers (blocks of four vectors, single vectors, then a scalar tail), and
# large max windows reduce rows first: each path must keep the ties, NaN and sum order,
# with outputs written through the cache or streamed (see conftest.output_streaming).

@pytest.mark.parametrize("dtype", MAX_DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("channels", [16, 33, 67, 131])
def test_many_channels_keep_semantics(dtype, channels, output_streaming):
    rng = np.random.default_rng(channels)
    x = make_values(rng, (1, 5, 6, channels), dtype, "small")  # many ties
    if x.dtype.kind == "f":
        flat = x.reshape(-1)
        for special in (np.nan, -np.inf, np.inf, -0.0):
            flat[rng.integers(0, flat.size, size=flat.size // 40)] = special
    for k, s, pad in ((3, 2, "SAME"), (5, 1, "SAME")):
        exp_out, exp_arg = R.ref_max_pool_with_argmax(x, k, s, pad, "NHWC")
        np.testing.assert_array_equal(cypool.max_pool2d(x, k, s, pad), exp_out)
        out, arg = cypool.max_pool_with_argmax(x, k, s, pad)
        np.testing.assert_array_equal(out, exp_out)
        np.testing.assert_array_equal(arg, exp_arg)
        if x.dtype.kind == "f":
            np.testing.assert_array_equal(cypool.avg_pool2d(x, k, s, pad),
                                          R.ref_avg_pool(x, k, s, pad, "NHWC"))


@pytest.mark.parametrize("dtype", MAX_DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("channels, stride", [(1, 2), (1, 3), (2, 2), (3, 2), (4, 2), (2, 3)])
def test_few_channel_strided_rows(dtype, channels, stride, output_streaming):
    """Strided rows of few channels: 1-4 channels at stride 2 over 2 or 3 adjacent
    pixels (channels-first planes, grayscale, RGB) go in vector blocks of column
    maxima with an overlapping last block, the right border's clipped window
    included; the others take running maxima along the row.  Row widths around every vector length,
    with ties, NaN and dilation, for max and argmax."""
    rng = np.random.default_rng(5)
    for width in (9, 16, 17, 18, 19, 33, 34, 35, 66, 67, 68, 69, 130, 131):
        x = make_values(rng, (1, 3, width, channels), dtype, "small")
        if x.dtype.kind == "f":
            x.reshape(-1)[rng.integers(0, x.size, size=2)] = np.nan
        for kh, k, d in ((1, 2, 1), (2, 3, 1), (1, 3, 2), (3, 5, 1)):
            for pad in ("SAME", "VALID"):
                if pad == "VALID" and (k - 1) * d + 1 > width:
                    continue
                args = ([kh, k], [1, stride], pad)
                exp_out, exp_arg = R.ref_max_pool_with_argmax(x, *args, "NHWC",
                                                              dilations=[1, d])
                got = cypool.max_pool2d(x, *args, dilations=[1, d])
                np.testing.assert_array_equal(got, exp_out)
                out, arg = cypool.max_pool_with_argmax(x, *args, dilations=[1, d])
                np.testing.assert_array_equal(out, exp_out)
                np.testing.assert_array_equal(arg, exp_arg)


@pytest.mark.parametrize("variant", kernel_builds())
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32, np.uint8],
                         ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("channels", [3, 8])
def test_three_and_eight_channel_stride2_rows_in_every_build(monkeypatch, variant, dtype,
                                                             channels):
    """Three channels at stride 2 (RGB) go in blocks of three output vectors, each
    tap's lanes shuffled from up to three vectors (4- and 8-byte lanes): the max's
    from column maxima, the average's from each row in turn; then the whole-pixel
    blocks finish the row.  The max of 8 channels of up to 4 bytes goes in blocks of
    whole pixels (one or more a vector; float64's cell by cell).  Every build (their
    vectors differ in width), rows of 0-3 blocks and a remainder, 2 and 3 taps, the
    right border's clipped window, NaN, -0.0 and ties against the reference."""
    use_kernel_build(monkeypatch, variant)
    rng = np.random.default_rng(11)
    for width in (17, 47, 48, 49, 50, 63, 95, 96, 97, 98, 99, 130, 193, 196):
        x = make_values(rng, (2, 3, width, channels), dtype, "small")
        if x.dtype.kind == "f":
            flat = x.reshape(-1)
            flat[rng.integers(0, flat.size, size=flat.size // 8)] = -0.0
            flat[rng.integers(0, flat.size, size=3)] = np.nan
        for kh, k in ((2, 2), (3, 3), (1, 3)):
            for pad in ("SAME", "VALID"):
                want = R.ref_max_pool(x, [kh, k], 2, pad, "NHWC")
                got = cypool.max_pool2d(x, [kh, k], 2, pad)
                np.testing.assert_array_equal(got, want)
                np.testing.assert_array_equal(np.signbit(got), np.signbit(want))
                if x.dtype.kind == "f":
                    np.testing.assert_array_equal(cypool.avg_pool2d(x, [kh, k], 2, pad),
                                                  R.ref_avg_pool(x, [kh, k], 2, pad, "NHWC"))
