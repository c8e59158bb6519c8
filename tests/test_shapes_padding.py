"""Forward ops vs the slow reference on random shapes, paddings, strides, dilations.

Every comparison is exact (SPEC: max is exact, avg float32/float64 is bit-exact with
row-major accumulation, argmax is exact).
"""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import cypool
import reference as R
from conftest import cases, explicit_padding, fmt_for, full_form, full_shape

DTYPES_MAX = (np.float32, np.float64, np.int16, np.uint8)
DTYPES_AVG = (np.float32, np.float64)


def _ref_or_error(fn, *args, **kwargs):
    """The reference's result, or the ValueError it raises (VALID output negative)."""
    try:
        return fn(*args, **kwargs), None
    except ValueError as exc:
        return None, exc


def _check_same(expected, err, call):
    if err is not None:
        with pytest.raises(ValueError, match=r"negative|output size|padding|ksize"):
            call()
        return None
    got = call()
    assert isinstance(got, np.ndarray)
    assert got.dtype == expected.dtype
    assert got.shape == expected.shape
    np.testing.assert_array_equal(got, expected)
    return got


def _arg_form(draw, values, data_format, allow_int=True):
    """Draw one accepted spelling of a spatial ksize/strides tuple."""
    forms = ["N", "N+2"]
    if len(set(values)) == 1:
        forms += ["len1"] + (["int"] if allow_int else [])
    form = draw(st.sampled_from(forms))
    if form == "int":
        return int(values[0])
    if form == "len1":
        return [int(values[0])]
    if form == "N":
        return list(values) if draw(st.booleans()) else tuple(values)
    return full_form(values, data_format)


# --------------------------------------------------------------------- max_pool / avg_pool

@given(c=cases(dtypes=DTYPES_MAX), data=st.data())
def test_max_pool_matches_reference(c, data):
    expected, err = _ref_or_error(R.ref_max_pool, c.x, **c.ref_args())
    ks = _arg_form(data.draw, c.ksize, c.data_format)
    ss = _arg_form(data.draw, c.strides, c.data_format)
    _check_same(expected, err, lambda: cypool.max_pool(
        c.x, ks, ss, c.api_padding, data_format=c.data_format, dilations=list(c.dilations)))


@given(c=cases(dtypes=DTYPES_AVG), data=st.data())
def test_avg_pool_matches_reference(c, data):
    expected, err = _ref_or_error(R.ref_avg_pool, c.x, **c.ref_args())
    ks = _arg_form(data.draw, c.ksize, c.data_format)
    ss = _arg_form(data.draw, c.strides, c.data_format)
    _check_same(expected, err, lambda: cypool.avg_pool(
        c.x, ks, ss, c.api_padding, data_format=c.data_format, dilations=list(c.dilations)))


@given(c=cases(dtypes=DTYPES_MAX, allow_dilation=False, channels_first=False))
def test_max_pool_default_format_is_channels_last(c):
    """data_format=None means channels-last; no dilations keyword at all."""
    expected, err = _ref_or_error(R.ref_max_pool, c.x, **c.ref_args())
    _check_same(expected, err, lambda: cypool.max_pool(
        c.x, list(c.ksize), list(c.strides), c.api_padding))


# --------------------------------------------------------------------- rank-specific ops

@pytest.mark.parametrize("n", [1, 2, 3])
@pytest.mark.parametrize("kind", ["max", "avg"])
@given(data=st.data())
def test_rank_specific_ops(n, kind, data):
    c = data.draw(cases(n_spatial=n, dtypes=DTYPES_MAX if kind == "max" else DTYPES_AVG))
    op = getattr(cypool, f"{kind}_pool{n}d")
    ref = R.ref_max_pool if kind == "max" else R.ref_avg_pool
    expected, err = _ref_or_error(ref, c.x, **c.ref_args())
    ks = _arg_form(data.draw, c.ksize, c.data_format)
    ss = _arg_form(data.draw, c.strides, c.data_format)
    _check_same(expected, err, lambda: op(
        c.x, ks, ss, c.api_padding, data_format=c.data_format, dilations=list(c.dilations)))


@pytest.mark.parametrize("n", [1, 2, 3])
@pytest.mark.parametrize("kind", ["max", "avg"])
def test_rank_specific_default_format(n, kind):
    """max_pool1d/2d/3d default to NWC/NHWC/NDHWC."""
    rng = np.random.default_rng(n)
    x = rng.standard_normal(full_shape(2, (5,) * n, 3, fmt_for(n, False))).astype(np.float32)
    op = getattr(cypool, f"{kind}_pool{n}d")
    expected = R.ref_pool(x, (2,) * n, (2,) * n, "SAME", fmt_for(n, False), kind.upper())
    np.testing.assert_array_equal(op(x, 2, 2, "SAME"), expected)


# --------------------------------------------------------------------- pool()

@pytest.mark.parametrize("pooling_type", ["MAX", "AVG"])
@given(data=st.data())
def test_pool_matches_reference(pooling_type, data):
    c = data.draw(cases(dtypes=DTYPES_MAX if pooling_type == "MAX" else DTYPES_AVG))
    expected, err = _ref_or_error(R.ref_pool, c.x, pooling_type=pooling_type, **c.ref_args())
    strides = list(c.strides)
    dilations = list(c.dilations)
    _check_same(expected, err, lambda: cypool.pool(
        c.x, list(c.ksize), pooling_type, strides=strides, padding=c.api_padding,
        data_format=c.data_format, dilations=dilations))


@pytest.mark.parametrize("pooling_type", ["MAX", "AVG"])
@given(c=cases(allow_dilation=False))
def test_pool_defaults(pooling_type, c):
    """strides=None means ones, padding defaults to VALID, dilations default to ones."""
    shape = c.x.shape
    args = dict(c.ref_args(), strides=(1,) * c.n_spatial, padding="VALID")
    expected, err = _ref_or_error(R.ref_pool, c.x, pooling_type=pooling_type, **args)
    _check_same(expected, err, lambda: cypool.pool(
        c.x, list(c.ksize), pooling_type, data_format=c.data_format))
    assert c.x.shape == shape


def test_pool_strides_none_and_omitted_agree():
    x = np.random.default_rng(3).standard_normal((2, 7, 6, 3)).astype(np.float32)
    a = cypool.pool(x, [3, 2], "MAX", strides=None, padding="SAME")
    b = cypool.pool(x, [3, 2], "MAX", padding="SAME")
    c = cypool.pool(x, [3, 2], "MAX", strides=[1, 1], padding="SAME")
    np.testing.assert_array_equal(a, R.ref_max_pool(x, (3, 2), (1, 1), "SAME", "NHWC"))
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, c)


# --------------------------------------------------------------------- max_pool_with_argmax

@pytest.mark.parametrize("include_batch_in_index", [False, True])
@pytest.mark.parametrize("output_dtype", [np.int32, np.int64])
@given(data=st.data())
def test_max_pool_with_argmax_matches_reference(include_batch_in_index, output_dtype, data):
    c = data.draw(cases(dtypes=DTYPES_MAX))
    res, err = _ref_or_error(R.ref_max_pool_with_argmax, c.x,
                             include_batch_in_index=include_batch_in_index, **c.ref_args())
    ks = _arg_form(data.draw, c.ksize, c.data_format)
    ss = _arg_form(data.draw, c.strides, c.data_format)

    def call():
        return cypool.max_pool_with_argmax(
            c.x, ks, ss, c.api_padding, data_format=c.data_format, output_dtype=output_dtype,
            include_batch_in_index=include_batch_in_index, dilations=list(c.dilations))

    if err is not None:
        with pytest.raises(ValueError, match=r"negative|output size|padding|ksize"):
            call()
        return
    out, arg = call()
    exp_out, exp_arg = res
    assert out.dtype == c.x.dtype and out.shape == exp_out.shape
    assert arg.dtype == np.dtype(output_dtype) and arg.shape == exp_arg.shape
    np.testing.assert_array_equal(out, exp_out)
    np.testing.assert_array_equal(arg, exp_arg)


def test_argmax_default_format_is_nhwc():
    x = np.random.default_rng(5).integers(0, 5, size=(2, 5, 4, 3)).astype(np.float32)
    out, arg = cypool.max_pool_with_argmax(x, 2, 2, "SAME")
    exp_out, exp_arg = R.ref_max_pool_with_argmax(x, (2, 2), (2, 2), "SAME", "NHWC")
    assert arg.dtype == np.int64
    np.testing.assert_array_equal(out, exp_out)
    np.testing.assert_array_equal(arg, exp_arg)


def test_argmax_nhwc_formula():
    """SPEC's formula: (h*W + w)*C + c, and ((b*H + h)*W + w)*C + c with the batch."""
    B, H, W, C = 2, 4, 6, 3
    x = np.random.default_rng(7).permutation(B * H * W * C).reshape(B, H, W, C).astype(np.float64)
    out, arg = cypool.max_pool_with_argmax(x, [1, 2, 3, 1], [1, 2, 3, 1], "VALID")
    _, arg_b = cypool.max_pool_with_argmax(x, [2, 3], [2, 3], "VALID", include_batch_in_index=True)
    for b, i, j, c in np.ndindex(*out.shape):
        win = x[b, 2 * i:2 * i + 2, 3 * j:3 * j + 3, c]
        h, w = np.unravel_index(np.argmax(win), win.shape)
        h, w = 2 * i + h, 3 * j + w
        assert out[b, i, j, c] == x[b, h, w, c]
        assert arg[b, i, j, c] == (h * W + w) * C + c
        assert arg_b[b, i, j, c] == ((b * H + h) * W + w) * C + c


# --------------------------------------------------------------------- argument forms

FORMS = ["int", "len1", "lenN", "lenN+2", "tuple"]


@pytest.mark.parametrize("data_format", ["NWC", "NCW", "NHWC", "NCHW", "NDHWC", "NCDHW"])
@pytest.mark.parametrize("form", FORMS)
def test_argument_forms(data_format, form):
    n = len(data_format) - 2
    rng = np.random.default_rng(11)
    x = rng.standard_normal(full_shape(2, (5,) * n, 3, data_format)).astype(np.float32)
    k, s = 3, 2
    spell = {
        "int": lambda v: v,
        "len1": lambda v: [v],
        "lenN": lambda v: [v] * n,
        "lenN+2": lambda v: full_form([v] * n, data_format),
        "tuple": lambda v: tuple(full_form([v] * n, data_format)),
    }[form]
    for pad in ("SAME", "VALID"):
        exp_max = R.ref_max_pool(x, (k,) * n, (s,) * n, pad, data_format)
        exp_avg = R.ref_avg_pool(x, (k,) * n, (s,) * n, pad, data_format)
        np.testing.assert_array_equal(
            cypool.max_pool(x, spell(k), spell(s), pad, data_format=data_format), exp_max)
        np.testing.assert_array_equal(
            cypool.avg_pool(x, spell(k), spell(s), pad, data_format=data_format), exp_avg)
        op = getattr(cypool, f"max_pool{n}d")
        np.testing.assert_array_equal(op(x, spell(k), spell(s), pad, data_format), exp_max)
        op = getattr(cypool, f"avg_pool{n}d")
        np.testing.assert_array_equal(op(x, spell(k), spell(s), pad, data_format), exp_avg)
        out, arg = cypool.max_pool_with_argmax(x, spell(k), spell(s), pad,
                                               data_format=data_format)
        exp_out, exp_arg = R.ref_max_pool_with_argmax(x, (k,) * n, (s,) * n, pad, data_format)
        np.testing.assert_array_equal(out, exp_out)
        np.testing.assert_array_equal(arg, exp_arg)


def test_mixed_ksize_strides_in_full_form_channels_first():
    """Full-form entries are in data_format order: NCHW puts H, W last."""
    x = np.random.default_rng(2).standard_normal((1, 2, 7, 9)).astype(np.float32)
    got = cypool.max_pool(x, [1, 1, 2, 3], [1, 1, 1, 2], "VALID", data_format="NCHW")
    np.testing.assert_array_equal(got, R.ref_max_pool(x, (2, 3), (1, 2), "VALID", "NCHW"))
    assert got.shape == (1, 2, 6, 4)


def test_numpy_integer_arguments():
    x = np.random.default_rng(4).standard_normal((1, 6, 6, 2)).astype(np.float32)
    got = cypool.max_pool(x, np.int64(2), np.array([2, 2]), "VALID")
    np.testing.assert_array_equal(got, R.ref_max_pool(x, (2, 2), (2, 2), "VALID", "NHWC"))


def test_bytes_padding_accepted():
    x = np.random.default_rng(6).standard_normal((1, 5, 5, 2)).astype(np.float32)
    for pad in ("SAME", "VALID"):
        np.testing.assert_array_equal(
            cypool.max_pool(x, 2, 2, pad.encode()), R.ref_max_pool(x, 2, 2, pad, "NHWC"))


def test_name_is_accepted_and_ignored():
    x = np.random.default_rng(8).standard_normal((1, 4, 4, 1)).astype(np.float32)
    expected = R.ref_max_pool(x, 2, 2, "VALID", "NHWC")
    np.testing.assert_array_equal(cypool.max_pool(x, 2, 2, "VALID", None, "foo"), expected)
    np.testing.assert_array_equal(cypool.max_pool2d(x, 2, 2, "VALID", "NHWC", "foo"), expected)
    np.testing.assert_array_equal(
        cypool.pool(x, [2, 2], "MAX", [2, 2], "VALID", None, None, "foo"), expected)
    out, _ = cypool.max_pool_with_argmax(x, 2, 2, "VALID", "NHWC", np.int64, False, "foo")
    np.testing.assert_array_equal(out, expected)


# --------------------------------------------------------------------- output-size rules

@pytest.mark.parametrize("n,k,s,d,pad,expected", [
    # VALID: (n - k_eff)//s + 1, truncation to 0 when k_eff - n < 2*s
    (5, 2, 2, 1, "VALID", 2), (6, 3, 3, 1, "VALID", 2), (3, 4, 1, 1, "VALID", 0),
    (3, 5, 2, 1, "VALID", 0), (4, 2, 1, 3, "VALID", 1), (4, 3, 2, 2, "VALID", 0),
    # SAME: ceil(n / s), whatever k and d
    (5, 3, 2, 1, "SAME", 3), (1, 4, 1, 1, "SAME", 1), (7, 2, 3, 3, "SAME", 3),
    (4, 1, 5, 1, "SAME", 1),
    # explicit (before, after)
    (5, 3, 2, 1, (2, 1), 3), (4, 3, 1, 1, (0, 2), 4), (2, 4, 1, 1, (3, 0), 2),
])
def test_output_size_rules(n, k, s, d, pad, expected):
    x = np.arange(n, dtype=np.float32).reshape(1, n, 1)
    padding = pad if isinstance(pad, str) else explicit_padding([pad], "NWC")
    ref_pad = pad if isinstance(pad, str) else [pad]
    assert R.out_size_and_pad(n, k, s, d, pad)[0] == expected
    got = cypool.max_pool1d(x, k, s, padding, dilations=[d])
    assert got.shape == (1, expected, 1)
    np.testing.assert_array_equal(got, R.ref_max_pool(x, k, s, ref_pad, "NWC", (d,)))
    got = cypool.avg_pool1d(x, k, s, padding, dilations=[d])
    assert got.shape == (1, expected, 1)
    np.testing.assert_array_equal(got, R.ref_avg_pool(x, k, s, ref_pad, "NWC", (d,)))


def test_same_padding_split_and_divisor():
    """SAME n=4, k=5, s=1: pad_before=2, pad_after=2; avg divides by in-bounds count."""
    x = np.array([1.0, 2.0, 4.0, 8.0], dtype=np.float64).reshape(1, 4, 1)
    got = cypool.avg_pool1d(x, 5, 1, "SAME")[0, :, 0]
    expected = [(1 + 2 + 4) / 3, (1 + 2 + 4 + 8) / 4, (1 + 2 + 4 + 8) / 4, (2 + 4 + 8) / 3]
    np.testing.assert_array_equal(got, np.array(expected))
    # SAME n=5, k=2, s=2: total = 1 -> before 0, after 1
    x = np.arange(1, 6, dtype=np.float64).reshape(1, 5, 1)
    np.testing.assert_array_equal(cypool.avg_pool1d(x, 2, 2, "SAME")[0, :, 0], [1.5, 3.5, 5.0])
    np.testing.assert_array_equal(cypool.max_pool1d(-x, 2, 2, "SAME")[0, :, 0], [-1, -3, -5])


def test_explicit_padding_never_enters_values():
    x = -np.arange(1, 7, dtype=np.float32).reshape(1, 6, 1)
    pad = [[0, 0], [2, 1], [0, 0]]
    got_max = cypool.max_pool1d(x, 3, 2, pad)[0, :, 0]
    got_avg = cypool.avg_pool1d(x, 3, 2, pad)[0, :, 0]
    # windows start at -2, 0, 2, 4 -> in-bounds cells [0], [0,1,2], [2,3,4], [4,5]
    np.testing.assert_array_equal(got_max, [-1, -1, -3, -5])
    np.testing.assert_array_equal(got_avg, np.array([-1, -2, -4, -5.5], dtype=np.float32))


def test_dilated_window_cells():
    """A dilated window is start + d*z; SAME with d>1 and strides > window are allowed."""
    x = np.array([5, 1, 7, 2, 9, 3, 4, 8], dtype=np.float64).reshape(1, 8, 1)
    # k=2, d=3, s=1, VALID: windows {i, i+3}
    got = cypool.max_pool1d(x, 2, 1, "VALID", dilations=[3])[0, :, 0]
    np.testing.assert_array_equal(got, [5, 9, 7, 4, 9])
    got = cypool.avg_pool1d(x, 2, 1, "VALID", dilations=[3])[0, :, 0]
    np.testing.assert_array_equal(got, [3.5, 5.0, 5.0, 3.0, 8.5])
    # strides > window with dilations via pool()
    got = cypool.pool(x, [2], "MAX", strides=[3], padding="SAME", dilations=[2])
    np.testing.assert_array_equal(got, R.ref_max_pool(x, 2, 3, "SAME", "NWC", (2,)))


@pytest.mark.parametrize("dtype", DTYPES_MAX)
@pytest.mark.parametrize("k, padding, dilations", [
    ((3, 3), "SAME", 1), ((4, 2), "VALID", 1), ((5, 5), "SAME", 1), ((5, 3), "SAME", (1, 2)),
    ((6, 2), [[2, 3], [1, 0]], 1), ((9, 3), "SAME", 1), ((16, 2), "VALID", 1),
    ((17, 3), "VALID", 1),
])
def test_stride1_windows_of_many_channels(dtype, k, padding, dilations, output_streaming):
    """Max windows of K >= 3 rows at stride 1 along H over many channels (SPPF): K - 1
    output rows at a time share their input rows (each row's maximum a suffix maximum
    and a prefix maximum), with groups cut short at the borders and plane ends, and
    2 threads splitting the groups; NaN must win and ties keep the window's order."""
    rng = np.random.default_rng(k[0] * 10 + k[1])
    shape = (1, 20, 6, 72)  # 72 channels: >= 64 bytes per cell for every dtype
    x = rng.integers(-4, 4, size=shape).astype(dtype)
    if np.dtype(dtype).kind == "f":
        flat = x.reshape(-1)
        flat[rng.random(flat.size) < 0.01] = np.nan
        flat[rng.random(flat.size) < 0.2] = -0.0
    want = R.ref_max_pool(x, k, 1, padding, "NHWC", dilations)
    if isinstance(padding, list):
        padding = [[0, 0], *padding, [0, 0]]
    for threads in (1, 2):
        got = cypool.max_pool(x, k, 1, padding, dilations=dilations, num_threads=threads)
        np.testing.assert_array_equal(got, want)
        np.testing.assert_array_equal(np.signbit(got), np.signbit(want))


@pytest.mark.parametrize("dtype", [np.float32, np.int16])
@pytest.mark.parametrize("k", [3, 4, 5, 7])
@pytest.mark.parametrize("padding_kind", ["same", "top-left", "asymmetric"])
@pytest.mark.parametrize("height, width", [(1, 2), (3, 4), (6, 5), (9, 11)])
def test_stride1_windows_clipped_by_padding(dtype, k, padding_kind, height, width):
    """Stride-1 max windows that padding clips at the borders (SAME's first and last
    K // 2 rows and columns) go K - 1 at a time too, the clipped taps repeating the
    window's first or last one; windows clipped at both ends (inputs smaller than K)
    and empty ones must still come out right."""
    padding = {"same": "SAME", "top-left": [[k - 1, 0], [0, k - 1]],
               "asymmetric": [[1, k - 2], [k - 2, 1]]}[padding_kind]
    rng = np.random.default_rng(k * 100 + height * 10 + width)
    shape = (2, height, width, 40)  # >= 64 bytes per cell
    x = rng.integers(-9, 9, size=shape).astype(dtype)
    if np.dtype(dtype).kind == "f":
        flat = x.reshape(-1)
        flat[rng.random(flat.size) < 0.02] = np.nan
        flat[rng.random(flat.size) < 0.2] = -0.0
    want = R.ref_max_pool(x, k, 1, padding, "NHWC")
    full = padding if isinstance(padding, str) else [[0, 0], *padding, [0, 0]]
    for threads in (1, 2):
        got = cypool.max_pool(x, k, 1, full, num_threads=threads)
        np.testing.assert_array_equal(got, want)
        np.testing.assert_array_equal(np.signbit(got), np.signbit(want))


@given(data=st.data())
def test_stride1_max_windows_match_reference(data):
    """Property: stride-1 max windows, grouped K - 1 rows at a time (the row groups, the
    padding-clipped border groups), over >= 64 bytes of channels (the NaN-free cell
    pass) or few channels and channels-first planes (the reduced rows padded with the
    dtype's lowest value, every W window of a group's rows in one helper call, rows
    of several reduce blocks too), equal the reference for any window up to 7 x 7,
    input size, padding (SAME, VALID or explicit, each side below the window), W
    dilation and thread count, NaN and -0.0 included."""
    dtype = data.draw(st.sampled_from([np.float32, np.float64, np.float32, np.int16,
                                       np.uint8]))
    itemsize = np.dtype(dtype).itemsize
    few = data.draw(st.booleans())
    channels = (data.draw(st.integers(1, max(1, 63 // itemsize))) if few
                else 64 // itemsize + data.draw(st.integers(0, 3)))
    fmt = "NCHW" if few and data.draw(st.booleans()) else "NHWC"
    k = [data.draw(st.sampled_from([1, 2, 3, 3, 4, 5, 5, 7])) for _ in range(2)]
    size = [data.draw(st.integers(1, 12)) for _ in range(2)]
    if few and data.draw(st.integers(0, 4)) == 0:  # rows of one to three 4 KB blocks
        size = [min(size[0], 3), data.draw(st.integers(1, 10000 // itemsize)) // (
            channels if fmt == "NHWC" else 1) + 1]
    dilation_w = data.draw(st.sampled_from([1, 1, 1, 2]))
    reach = [k[0], (k[1] - 1) * dilation_w + 1]
    kind = data.draw(st.sampled_from(["SAME", "VALID", "explicit"]))
    if kind == "VALID":
        size = [max(n, r) for n, r in zip(size, reach)]
        padding = "VALID"
    elif kind == "explicit":
        pairs = [[data.draw(st.integers(0, kk - 1)) for _ in range(2)] for kk in k]
        size = [max(n, r - sum(p)) for n, r, p in zip(size, reach, pairs)]
        padding = [[0, 0], *pairs, [0, 0]] if fmt == "NHWC" else [[0, 0], [0, 0], *pairs]
    else:
        padding = "SAME"
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    batch = data.draw(st.integers(1, 2)) if size[1] <= 12 else 1
    shape = (batch, *size, channels) if fmt == "NHWC" else (batch, channels, *size)
    # (all negative at times: padding must never enter a maximum)
    low = -5 if np.dtype(dtype).kind == "u" else data.draw(st.sampled_from([-5, -5, -10]))
    x = rng.integers(low, low + 10, size=shape).astype(dtype)
    if np.dtype(dtype).kind == "f":
        flat = x.reshape(-1)
        flat[rng.random(flat.size) < data.draw(st.sampled_from([0, 0.2]))] = -0.0
        # lone NaNs, which a NaN-blind maximum would lose
        flat[rng.integers(0, flat.size, data.draw(st.sampled_from([0, 1, 1, 3])))] = np.nan
    dilations = (1, dilation_w)
    want = R.ref_max_pool(x, k, 1, padding if kind != "explicit" else pairs, fmt, dilations)
    got = cypool.max_pool(x, k, 1, padding, fmt, dilations=dilations,
                          num_threads=data.draw(st.integers(1, 2)))
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(np.signbit(got), np.signbit(want))


@pytest.mark.parametrize("mode", ["MAX", "AVG", "ARGMAX"])
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])  # (set once)
@given(data=st.data())
def test_spans_of_many_channels_match_reference(mode, output_streaming, data):
    """Property: spans of windows over 32-256 bytes of channels, pooled a block of cells
    a helper call: a pixel apart along W as long runs (up to SPAN_BLOCK bytes a call)
    and, for a max over K >= 3 rows at stride 1, reduced rows of under 128 bytes a
    pixel along the whole row; strided along W as blocks whose cells of one to three
    whole vectors, or of half a vector two to a vector (32 bytes: max and average),
    go four vectors at a time (any number of cells, so every tail).
    Max, average and argmax equal the reference for any window, W stride or dilation,
    padding, H stride, row length (several blocks) and output streaming, NaN and -0.0
    included."""
    dtypes = [np.float32, np.float64] if mode != "MAX" else [np.float32, np.float64,
                                                             np.int16, np.uint8]
    dtype = np.dtype(data.draw(st.sampled_from(dtypes)))
    channels = data.draw(st.sampled_from([32, 32, 64, 128, 192, 256, 64, 96, 160])) // (
        dtype.itemsize) + data.draw(st.sampled_from([0, 0, 0, 1, -1]))
    k = (data.draw(st.integers(1, 5)), data.draw(st.integers(1, 5)))
    strides = (data.draw(st.integers(1, 3)), data.draw(st.sampled_from([1, 1, 2, 2, 3, 4])))
    dilations = (1, data.draw(st.sampled_from([1, 1, 2])) if strides[1] == 1 else 1)
    width = data.draw(st.integers(k[1] * dilations[1], 40 * strides[1]))
    height = data.draw(st.integers(k[0], 7))
    padding = data.draw(st.sampled_from(["SAME", "VALID"]))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    x = rng.integers(-5, 5, size=(1, height, width, channels)).astype(dtype)
    if dtype.kind == "f":
        flat = x.reshape(-1)
        flat[rng.random(flat.size) < data.draw(st.sampled_from([0, 0.2]))] = -0.0
        flat[rng.integers(0, flat.size, data.draw(st.sampled_from([0, 1, 3])))] = np.nan
    if mode == "ARGMAX":
        want = R.ref_max_pool_with_argmax(x, k, strides, padding, "NHWC",
                                          dilations=dilations)
        got = cypool.max_pool_with_argmax(x, k, strides, padding, dilations=dilations)
        np.testing.assert_array_equal(got[1], want[1])
        got, want = got[0], want[0]
    elif mode == "MAX":
        want = R.ref_max_pool(x, k, strides, padding, "NHWC", dilations)
        got = cypool.max_pool(x, k, strides, padding, dilations=dilations)
    else:
        want = R.ref_avg_pool(x, k, strides, padding, "NHWC", dilations)
        got = cypool.avg_pool(x, k, strides, padding, dilations=dilations)
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(np.signbit(got), np.signbit(want))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("k", [3, 5])
def test_stride1_windows_with_a_lone_nan(dtype, k, output_streaming):
    """Grouped stride-1 max rows take one maxps a maximum along the reduced rows while
    every value reduced so far is neither NaN nor -0.0: a lone NaN anywhere (first or
    last pixel, block edges, any row) must still win its windows."""
    rng = np.random.default_rng(k)
    shape = (1, 9, 23, 64)  # rows of 23 * 64 elements span several 4 KB blocks
    clean = rng.standard_normal(shape).astype(dtype)
    spots = [(0, 0), (8, 22), (4, 11), (0, 22), (8, 0)]
    spots += [tuple(rng.integers(0, [9, 23])) for _ in range(5)]
    for h, w in spots:
        x = clean.copy()
        x[0, h, w, rng.integers(0, 64)] = np.nan
        want = R.ref_max_pool(x, k, 1, "SAME", "NHWC")
        got = cypool.max_pool(x, k, 1, "SAME")
        np.testing.assert_array_equal(np.isnan(got), np.isnan(want), err_msg=f"NaN at {h, w}")
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("dtype, width", [(np.float32, 31), (np.float64, 14)])
@pytest.mark.parametrize("k", [(3, 3), (5, 5), (5, 2)])
def test_stride1_windows_across_reduce_blocks(dtype, width, k):
    """Rows of more than one reduce block (4 KB): an output cell is pooled only once
    the block holding its window's last pixel is reduced (blocks end mid-pixel here)."""
    rng = np.random.default_rng(k[0] + width)
    x = rng.standard_normal((1, 9, width, 40)).astype(dtype)
    want = R.ref_max_pool(x, k, 1, "SAME", "NHWC")
    np.testing.assert_array_equal(cypool.max_pool(x, k, 1, "SAME"), want)


@pytest.mark.parametrize("pooling_type", ["MAX", "AVG"])
@given(data=st.data())
def test_few_channel_row_runs_match_reference(pooling_type, data):
    """Property: rows of few channels (channels-first planes, grayscale, RGB, 8
    channels) go up to 16 output rows at a time with the first row's taps shifted
    (pool_row_group's runs); a run must stop where the windows' shape or step changes
    (SAME and explicit borders, dilation, the plane's and the D row's end) and its span
    and border cells must equal the reference bit for bit, NaN and -0.0 included."""
    n = data.draw(st.sampled_from([2, 2, 3]))
    channels_first = data.draw(st.booleans())
    dtype = data.draw(st.sampled_from([np.float32, np.float64]))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    channels = int(rng.choice([1, 1, 2, 3, 4, 8]))
    size = ([int(rng.integers(1, 5))] if n == 3 else []) + [
        int(rng.integers(1, 41)), int(rng.choice([rng.integers(1, 6), rng.integers(1, 41)]))]
    k = [int(rng.integers(1, 5)) for _ in range(n)]
    s = [int(rng.integers(1, 4)) for _ in range(n)]
    d = [int(rng.choice([1, 1, 2])) for _ in range(n)]
    padding = data.draw(st.sampled_from(["SAME", "VALID"]))
    if padding == "VALID":
        size = [max(v, (kk - 1) * dd + 1) for v, kk, dd in zip(size, k, d)]
    shape = ((2, channels, *size) if channels_first else (2, *size, channels))
    x = rng.integers(-4, 4, size=shape).astype(dtype)
    flat = x.reshape(-1)
    flat[rng.random(flat.size) < 0.2] = -0.0
    flat[rng.random(flat.size) < 0.02] = np.nan
    data_format = fmt_for(n, channels_first)
    want = R.ref_pool(x, k, s, padding, data_format, pooling_type, d)
    got = cypool.pool(x, k, pooling_type, s, padding, data_format, d,
                      num_threads=data.draw(st.integers(1, 2)))
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(np.signbit(got), np.signbit(want))


@pytest.mark.parametrize("pooling_type", ["MAX", "AVG"])
@pytest.mark.parametrize("data_format", ["NHWC", "NCHW"])
def test_few_channel_rows_whose_windows_share_a_start(pooling_type, data_format):
    """Dilated SAME windows that padding clips to the same taps (3x3 dilated by 2 over 4
    columns at stride 2: both outputs start at column 1) form a span with step 0, which
    a run along the row cannot take: found by the property above, kept as a case."""
    x = np.arange(2 * 5 * 4, dtype=np.float32).reshape(2, 5, 4, 1) % 7 - 3
    if data_format == "NCHW":
        x = np.ascontiguousarray(np.moveaxis(x, -1, 1))
    want = R.ref_pool(x, (3, 3), (1, 2), "SAME", data_format, pooling_type, (2, 2))
    got = cypool.pool(x, (3, 3), pooling_type, (1, 2), "SAME", data_format, (2, 2))
    np.testing.assert_array_equal(got, want)


@given(data=st.data())
def test_few_channel_stride2_averages_match_reference(data):
    """Property: averages of 1-4 channels at stride 2 along W over 2 or 3 pixels
    (channels-first planes, grayscale, RGB) sum each output's taps from vector
    registers, row by row in window order, in blocks with an overlapping last one and
    the right border's clipped window (own divisor) folded in, several output rows a
    call.  Magnitudes from 1e-3 to 1e6 make any other order of the sums round
    differently; NaN, infinities and -0.0 ride along."""
    channels_first = data.draw(st.booleans())
    dtype = data.draw(st.sampled_from([np.float32, np.float64]))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    channels = 1 if channels_first else int(rng.integers(1, 5))
    kw = data.draw(st.sampled_from([2, 3]))
    kh, sh = int(rng.integers(1, 5)), int(rng.integers(1, 4))
    width = int(rng.choice([rng.integers(kw, 20), rng.integers(kw, 140)]))
    height = int(rng.integers(kh, 12))
    padding = data.draw(st.sampled_from(["SAME", "VALID"]))
    shape = (2, channels, height, width) if channels_first else (2, height, width, channels)
    x = (rng.standard_normal(shape) * 10.0 ** rng.integers(-3, 7, size=shape)).astype(dtype)
    flat = x.reshape(-1)
    flat[rng.random(flat.size) < 0.05] = -0.0
    flat[rng.random(flat.size) < 0.01] = data.draw(st.sampled_from([np.nan, np.inf, -np.inf]))
    data_format = "NCHW" if channels_first else "NHWC"
    want = R.ref_avg_pool(x, [kh, kw], [sh, 2], padding, data_format)
    got = cypool.avg_pool(x, [kh, kw], [sh, 2], padding, data_format,
                          num_threads=data.draw(st.integers(1, 2)))
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(np.signbit(got), np.signbit(want))


@given(data=st.data())
def test_few_channel_stride1_max_row_groups_match_reference(data):
    """Property: max rows of few channels whose windows are K >= 3 rows at stride 1
    (SPPF's 5x5/1 over channels-first planes) go up to K - 1 rows at a time: their
    input rows reduced together, then each reduced row pooled along W (border cells
    one by one, the span vectorised, any W stride and dilation), -0.0 restored where
    the rows' maximum came first.  Windows up to 17 rows (past GROUP_WINDOW), SAME and
    VALID, 2-D and 3-D, integers, NaN and both zeros."""
    channels_first = data.draw(st.booleans())
    n = data.draw(st.sampled_from([2, 2, 3]))
    dtype = data.draw(st.sampled_from([np.float32, np.float64, np.uint8, np.int16]))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    channels = int(rng.choice([1, 1, 2, 3, 4, 8]))
    kh = int(rng.choice([3, 4, 5, 7, int(rng.integers(3, 18))]))
    k = ([int(rng.integers(1, 3))] if n == 3 else []) + [kh, int(rng.integers(1, 8))]
    s = ([1] if n == 3 else []) + [1, int(rng.integers(1, 4))]
    d = ([1] if n == 3 else []) + [1, int(rng.choice([1, 1, 2]))]
    size = ([int(rng.integers(1, 4))] if n == 3 else []) + [
        int(rng.integers(1, 30)), int(rng.integers(1, 70))]
    padding = data.draw(st.sampled_from(["SAME", "VALID"]))
    if padding == "VALID":
        size = [max(v, (kk - 1) * dd + 1) for v, kk, dd in zip(size, k, d)]
    shape = (2, channels, *size) if channels_first else (2, *size, channels)
    x = rng.integers(-4, 4, size=shape).astype(dtype)
    if x.dtype.kind == "f":
        flat = x.reshape(-1)
        flat[rng.random(flat.size) < 0.3] = -0.0
        flat[rng.random(flat.size) < 0.01] = np.nan
    data_format = fmt_for(n, channels_first)
    want = R.ref_max_pool(x, k, s, padding, data_format, d)
    got = cypool.max_pool(x, k, s, padding, data_format, dilations=d,
                          num_threads=data.draw(st.integers(1, 2)))
    np.testing.assert_array_equal(got, want)
    if x.dtype.kind == "f":
        np.testing.assert_array_equal(np.signbit(got), np.signbit(want))


@pytest.mark.parametrize("dtype", [np.float32, np.float16])
def test_few_channel_row_groups_whose_windows_share_a_start(dtype):
    """The same span of step 0 (2 columns, windows of 2 dilated by 2: each output's one
    tap) in rows that max_rows_group takes together (4 rows at stride 1): found by
    the NaN property (float16), kept as a case."""
    x = (np.arange(2 * 4 * 2 * 3) % 7 - 3).astype(dtype).reshape(2, 4, 2, 3)
    want = R.ref_max_pool(x.astype(np.float32), (4, 2), (1, 1), "SAME", "NHWC", (1, 2))
    got = cypool.max_pool(x, (4, 2), (1, 1), "SAME", "NHWC", dilations=(1, 2))
    np.testing.assert_array_equal(got.astype(np.float32), want)
