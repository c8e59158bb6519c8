"""SPEC's NaN / infinity policy, ties, and empty dilated windows."""
import numpy as np
import pytest
from hypothesis import given

import cypool
import reference as R
from conftest import cases, fmt_for, full_shape

FLOATS = [np.float16, np.float32, np.float64]
INTS = [np.int8, np.uint8, np.int16, np.uint16, np.int32, np.uint32, np.int64, np.uint64]
fid = lambda d: np.dtype(d).name  # noqa: E731


def _row(values, dtype):
    return np.array(values, dtype=dtype).reshape(1, len(values), 1)


# ------------------------------------------------------------------ NaN

@pytest.mark.parametrize("dtype", FLOATS, ids=fid)
def test_window_with_nan_gives_nan(dtype):
    nan = np.nan
    x = _row([1.0, nan, 3.0, 2.0, 5.0, 4.0, nan, nan], dtype)
    got = cypool.max_pool1d(x, 2, 2, "VALID")[0, :, 0]
    # windows: [1, nan] [3, 2] [5, 4] [nan, nan]
    np.testing.assert_array_equal(got, np.array([nan, 3, 5, nan], dtype))
    out, arg = cypool.max_pool_with_argmax(x, 2, 2, "VALID", data_format="NWC")
    np.testing.assert_array_equal(out[0, :, 0], got)
    np.testing.assert_array_equal(arg[0, :, 0], [1, 2, 4, 6])


@pytest.mark.parametrize("dtype", FLOATS, ids=fid)
def test_nan_after_larger_value_still_wins(dtype):
    """A larger value before the NaN does not hide it; argmax points at the NaN."""
    x = _row([9.0, np.nan, 1.0], dtype)
    out, arg = cypool.max_pool_with_argmax(x, 3, 3, "VALID", data_format="NWC")
    assert np.isnan(out[0, 0, 0])
    assert arg[0, 0, 0] == 1
    assert np.isnan(cypool.max_pool1d(x, 3, 3, "VALID")[0, 0, 0])


@pytest.mark.parametrize("dtype", FLOATS, ids=fid)
def test_first_nan_wins_row_major(dtype):
    """Two NaNs in a 2-D window: argmax is the first in row-major (h, w) order."""
    x = np.zeros((1, 3, 3, 1), dtype=dtype)
    x[0, 1, 0, 0] = np.nan      # flat 3
    x[0, 0, 2, 0] = np.nan      # flat 2 -> first in row-major order
    x[0, 2, 2, 0] = 100.0
    out, arg = cypool.max_pool_with_argmax(x, 3, 3, "VALID")
    assert np.isnan(out[0, 0, 0, 0])
    assert arg[0, 0, 0, 0] == 2
    # 3-D: first NaN in (d, h, w) order; the NaN in the later depth slice loses
    y = np.zeros((1, 2, 2, 2, 1), dtype=dtype)
    y[0, 1, 0, 0, 0] = np.nan   # flat 4
    y[0, 0, 1, 1, 0] = np.nan   # flat 3
    y[0, 0, 0, 0, 0] = 7.0
    out, arg = cypool.max_pool_with_argmax(y, 2, 2, "VALID", data_format="NDHWC")
    assert np.isnan(out.item())
    assert arg.item() == 3


@pytest.mark.parametrize("dtype", FLOATS, ids=fid)
def test_nan_in_channels_first_and_multichannel(dtype):
    x = np.arange(2 * 3 * 4 * 4, dtype=dtype).reshape(2, 3, 4, 4)  # NCHW, no ties
    x[1, 2, 2, 3] = np.nan
    x[0, 0, 1, 1] = np.nan
    out, arg = cypool.max_pool_with_argmax(x, 2, 2, "VALID", data_format="NCHW")
    exp_out, exp_arg = R.ref_max_pool_with_argmax(x, 2, 2, "VALID", "NCHW")
    np.testing.assert_array_equal(out, exp_out)
    np.testing.assert_array_equal(arg, exp_arg)
    assert np.isnan(out[1, 2, 1, 1]) and np.isnan(out[0, 0, 0, 0])
    assert np.isnan(out).sum() == 2
    assert arg[1, 2, 1, 1] == (2 * 4 + 2) * 4 + 3
    np.testing.assert_array_equal(cypool.max_pool(x, 2, 2, "VALID", data_format="NCHW"),
                                  exp_out)


@pytest.mark.parametrize("dtype", FLOATS, ids=fid)
def test_avg_with_nan_or_inf(dtype):
    x = _row([1.0, np.nan, np.inf, 1.0, np.inf, -np.inf], dtype)
    got = cypool.avg_pool1d(x, 2, 2, "VALID")[0, :, 0]
    assert np.isnan(got[0])
    assert got[1] == np.inf
    assert np.isnan(got[2])  # inf + -inf


@given(c=cases(dtypes=(np.float16, np.float32, np.float64), allow_empty=False))
def test_nan_inf_property(c):
    """Sprinkle NaN / +-inf into random inputs and compare every op with the reference."""
    x = c.x.copy()
    rng = np.random.default_rng(x.size)
    flat = x.reshape(-1)
    for special in (np.nan, np.inf, -np.inf):
        idx = rng.integers(0, flat.size, size=max(1, flat.size // 8))
        flat[idx] = special
    args = c.ref_args()
    try:
        exp_max = R.ref_max_pool(x, **args)
    except ValueError:
        return
    kw = dict(data_format=c.data_format, dilations=list(c.dilations))
    ks, ss = list(c.ksize), list(c.strides)
    np.testing.assert_array_equal(cypool.max_pool(x, ks, ss, c.api_padding, **kw), exp_max)
    np.testing.assert_array_equal(cypool.avg_pool(x, ks, ss, c.api_padding, **kw),
                                  R.ref_avg_pool(x, **args))
    out, arg = cypool.max_pool_with_argmax(x, ks, ss, c.api_padding, **kw)
    exp_out, exp_arg = R.ref_max_pool_with_argmax(x, **args)
    np.testing.assert_array_equal(out, exp_out)
    np.testing.assert_array_equal(arg, exp_arg)


# ------------------------------------------------------------------ infinities

@pytest.mark.parametrize("dtype", FLOATS, ids=fid)
def test_neg_inf_stays_neg_inf(dtype):
    x = np.full((1, 4, 4, 2), -np.inf, dtype=dtype)
    for pad in ("SAME", "VALID"):
        got = cypool.max_pool(x, 2, 2, pad)
        assert (got == -np.inf).all()
        out, arg = cypool.max_pool_with_argmax(x, 2, 2, pad)
        assert (out == -np.inf).all()
        np.testing.assert_array_equal(arg, R.ref_max_pool_with_argmax(x, 2, 2, pad)[1])
        assert (arg >= 0).all()
    for n in (1, 3):
        fmt = fmt_for(n, False)
        y = np.full(full_shape(1, (3,) * n, 1, fmt), -np.inf, dtype=dtype)
        assert (cypool.max_pool(y, 2, 1, "SAME", data_format=fmt) == -np.inf).all()


@pytest.mark.parametrize("dtype", FLOATS, ids=fid)
def test_pos_inf_and_mixed(dtype):
    x = _row([-np.inf, 1.0, np.inf, -np.inf, -np.inf, -3.0], dtype)
    out, arg = cypool.max_pool_with_argmax(x, 2, 2, "VALID", data_format="NWC")
    np.testing.assert_array_equal(out[0, :, 0], np.array([1.0, np.inf, -3.0], dtype))
    np.testing.assert_array_equal(arg[0, :, 0], [1, 2, 5])


# ------------------------------------------------------------------ ties

@pytest.mark.parametrize("dtype", FLOATS + INTS, ids=fid)
def test_ties_go_to_first_max_row_major(dtype):
    x = np.zeros((1, 4, 4, 1), dtype=dtype)
    x[0, 1, 1, 0] = 5
    x[0, 0, 1, 0] = 5     # first in row-major within window (0, 0): flat 1
    x[0, 1, 0, 0] = 5
    x[0, 2, 3, 0] = 4
    x[0, 3, 2, 0] = 4     # window (1, 1): row-major first is (2, 3) -> flat 11
    out, arg = cypool.max_pool_with_argmax(x, 2, 2, "VALID")
    np.testing.assert_array_equal(out[0, :, :, 0], np.array([[5, 0], [0, 4]], dtype))
    np.testing.assert_array_equal(arg[0, :, :, 0], [[1, 2], [8, 11]])


def test_ties_signed_zero():
    """-0.0 == +0.0: the first one stays (strictly-greater rule)."""
    x = _row([-0.0, 0.0, 0.0, -0.0], np.float32)
    out, arg = cypool.max_pool_with_argmax(x, 2, 2, "VALID", data_format="NWC")
    np.testing.assert_array_equal(arg[0, :, 0], [0, 2])
    assert np.signbit(out[0, 0, 0]) and not np.signbit(out[0, 1, 0])
    got = cypool.max_pool1d(x, 2, 2, "VALID")
    assert np.signbit(got[0, 0, 0]) and not np.signbit(got[0, 1, 0])


# ------------------------------------------------------------------ empty dilated windows

@pytest.mark.parametrize("dtype", FLOATS + INTS, ids=fid)
def test_empty_dilated_window_max_and_argmax(dtype):
    """n=1, k=2, d=3, SAME: k_eff=4, pad_before=1; cells -1 and 2 are both outside."""
    x = _row([7], dtype)
    expected = -np.inf if np.dtype(dtype).kind == "f" else np.iinfo(dtype).min
    got = cypool.max_pool1d(x, 2, 1, "SAME", dilations=[3])
    assert got.shape == (1, 1, 1) and got.dtype == np.dtype(dtype)
    assert got[0, 0, 0] == expected
    got = cypool.pool(x, [2], "MAX", padding="SAME", dilations=[3])
    assert got[0, 0, 0] == expected
    for ib in (False, True):
        for od in (np.int32, np.int64):
            out, arg = cypool.max_pool_with_argmax(
                x, 2, 1, "SAME", data_format="NWC", dilations=[3], output_dtype=od,
                include_batch_in_index=ib)
            assert out[0, 0, 0] == expected
            assert arg[0, 0, 0] == -1
            assert arg.dtype == np.dtype(od)


@pytest.mark.parametrize("dtype", FLOATS, ids=fid)
def test_empty_dilated_window_avg_is_nan(dtype):
    x = _row([7], dtype)
    got = cypool.avg_pool1d(x, 2, 1, "SAME", dilations=[3])
    assert got.shape == (1, 1, 1) and got.dtype == np.dtype(dtype)
    assert np.isnan(got[0, 0, 0])
    assert np.isnan(cypool.pool(x, [2], "AVG", padding="SAME", dilations=[3])[0, 0, 0])


def test_empty_windows_mixed_with_full_ones():
    """2-D and 3-D, channels-first: only the straddling windows are empty."""
    rng = np.random.default_rng(1)
    for fmt, shape in (("NCHW", (2, 3, 2, 5)), ("NCDHW", (1, 2, 2, 4, 3))):
        n = len(fmt) - 2
        x = rng.standard_normal(shape).astype(np.float32)
        d = (3,) + (1,) * (n - 1)
        k = (2,) * n
        exp = R.ref_max_pool_with_argmax(x, k, 1, "SAME", fmt, False, d)
        out, arg = cypool.max_pool_with_argmax(x, list(k), 1, "SAME", data_format=fmt,
                                               dilations=list(d))
        np.testing.assert_array_equal(out, exp[0])
        np.testing.assert_array_equal(arg, exp[1])
        assert (arg == -1).any() and (arg >= 0).any()
        np.testing.assert_array_equal(
            cypool.avg_pool(x, list(k), 1, "SAME", data_format=fmt, dilations=list(d)),
            R.ref_avg_pool(x, k, 1, "SAME", fmt, d))
        np.testing.assert_array_equal(
            cypool.max_pool(x, list(k), 1, "SAME", data_format=fmt, dilations=list(d)),
            exp[0])


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=fid)
@pytest.mark.parametrize("shape, k, s", [
    ((2, 7, 9, 1), 3, 2),     # one channel, stride 2: column maxima first
    ((2, 7, 9, 3), 2, 2),     # few channels at stride 2: column maxima first
    ((2, 7, 10, 4), 3, 2),    # the same with the right border's clipped window
    ((2, 7, 9, 2), 3, 3),     # few channels: rows reduced, running maxima
    ((2, 21, 9, 1), 3, 2),    # runs of output rows in one call (SAME's top border alone)
    ((1, 20, 12, 3), 2, 2),   # ... and a run of 10 rows with no border
    ((1, 6, 6, 40), 5, 1),    # many channels, large window: rows reduced, then per cell
    ((1, 14, 6, 40), 5, 1),   # stride 1 along H: four output rows reduced at once
    ((2, 11, 7, 40), 3, 1),   # ... two at once
    ((2, 5, 6, 40), 3, 2),    # many channels: per cell in window order
    ((1, 4, 5, 6, 2), 2, 1),  # 3-D
])
def test_signed_zero_maxima_follow_row_major_order(dtype, shape, k, s, output_streaming):
    """Windows whose maximum is zero with both signs present keep the row-major first
    zero, as TF's 2-D kernels do, whatever path reduces the window (reducing rows first
    would keep the first zero column by column)."""
    rng = np.random.default_rng(len(shape) * 10 + shape[-1])
    x = -rng.integers(1, 5, size=shape).astype(dtype)
    flat = x.reshape(-1)
    flat[rng.random(flat.size) < 0.3] = -0.0
    flat[rng.random(flat.size) < 0.3] = 0.0
    fmt = "NHWC" if len(shape) == 4 else "NDHWC"
    got = cypool.max_pool(x, k, s, "SAME", data_format=fmt)
    want = R.ref_max_pool(x, k, s, "SAME", fmt)
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(np.signbit(got), np.signbit(want))
    assert np.signbit(want).any() and (want == 0).any() and not np.signbit(want[want == 0]).all()
