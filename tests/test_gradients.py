"""Gradients: max_pool_grad, avg_pool_grad, max_pool_grad_with_argmax.

Against the slow NumPy reference (every rank, layout, padding kind, dilation and
dtype), against finite differences, for determinism across thread counts, and for
their errors and edge cases. Agreement with TensorFlow (raw ops and GradientTape) is
checked in test_golden.py / test_tf_live.py through tf_compare's cases.
"""
import sys
import tracemalloc

import numpy as np
import pytest
from hypothesis import example, given, strategies as st

import cypool
import reference as R
from conftest import cases, kernel_builds, make_values, use_kernel_build, with_half_specials


def _forward_or_none(c):
    try:
        return cypool.max_pool(c.x, *c.api_args(), dilations=list(c.dilations))
    except ValueError:
        return None


def _grad_like(y, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(y.shape) * 4).astype(y.dtype)


# ------------------------------------------------------------- vs the reference

@given(cases(dtypes=(np.float32, np.float64, np.float16, np.int32, np.uint8)))
def test_max_pool_grad_matches_reference(c):
    y = _forward_or_none(c)
    if y is None:
        return
    g = _grad_like(y) if y.dtype.kind == "f" else np.ones_like(y)
    got = cypool.max_pool_grad(c.x, y, g, *c.api_args(), dilations=list(c.dilations))
    want = R.ref_max_pool_grad(c.x, g, c.ksize, c.strides, c.padding, c.data_format,
                               c.dilations)
    assert got.dtype == c.x.dtype and got.shape == c.x.shape
    np.testing.assert_array_equal(got, want)


@given(cases(dtypes=(np.float32, np.float64, np.int16)), st.sampled_from([2, 3]))
def test_threaded_max_pool_grad_matches_reference(c, threads):
    """Small problems threaded (the serial cut-off lowered): planes of batches 1-3
    split into row runs among 2 or 3 threads wherever _row_chunks allows."""
    y = _forward_or_none(c)
    if y is None:
        return
    g = _grad_like(y) if y.dtype.kind == "f" else np.ones_like(y)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("cypool._threads.SERIAL_WORK", 0)
        got = cypool.max_pool_grad(c.x, y, g, *c.api_args(), dilations=list(c.dilations),
                                   num_threads=threads)
    want = R.ref_max_pool_grad(c.x, g, c.ksize, c.strides, c.padding, c.data_format,
                               c.dilations)
    np.testing.assert_array_equal(got, want)


@given(cases(dtypes=(np.float32, np.float64, np.float16)))
def test_avg_pool_grad_matches_reference(c):
    y = _forward_or_none(c)
    if y is None:
        return
    g = _grad_like(y)
    got = cypool.avg_pool_grad(c.x.shape, g, *c.api_args(), dilations=list(c.dilations))
    want = R.ref_avg_pool_grad(c.x.shape, g, c.ksize, c.strides, c.padding,
                               c.data_format, c.dilations)
    assert got.dtype == g.dtype and got.shape == c.x.shape
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16])
@pytest.mark.parametrize("channels", [33, 67])
@pytest.mark.parametrize("k, s, pad", [(3, 2, "SAME"), (3, 1, "VALID")])
def test_many_channel_gradients_match_reference(dtype, channels, k, s, pad, output_streaming):
    """Many channels take the vector paths (blocks of four vectors, single vectors,
    a scalar tail): the sums keep the reference's order bit for bit."""
    rng = np.random.default_rng(channels)
    x = (rng.standard_normal((1, 5, 6, channels)) * 8).round().astype(dtype)  # ties
    y = cypool.max_pool2d(x, k, s, pad)
    g = _grad_like(y)
    np.testing.assert_array_equal(cypool.max_pool_grad(x, y, g, k, s, pad),
                                  R.ref_max_pool_grad(x, g, k, s, pad, "NHWC"))
    np.testing.assert_array_equal(cypool.avg_pool_grad(x.shape, g, k, s, pad),
                                  R.ref_avg_pool_grad(x.shape, g, k, s, pad, "NHWC"))


@pytest.mark.parametrize("variant", kernel_builds())
@given(st.integers(1, 15), st.integers(1, 90), st.integers(1, 5), st.integers(1, 4),
       st.integers(1, 40), st.sampled_from(["SAME", "VALID"]),
       st.sampled_from([np.float32, np.float64]), st.sampled_from(["NHWC", "NCHW"]),
       st.booleans(), st.integers(0, 2**32 - 1), st.integers(1, 9), st.integers(1, 4),
       st.integers(1, 3))
@example(1, 90, 2, 1, 40, "VALID", np.float32, "NHWC", False, 1, 3, 2, 1)  # pixel 40's
@example(1, 90, 2, 1, 40, "VALID", np.float64, "NCHW", True, 2, 3, 2, 1)   # first source
def test_few_channel_avg_gradients_along_the_row_match_reference(  # jumps 39 back
        variant, channels, width, k, s, d, pad, dtype, fmt, stream, seed, height, kh, sh):
    """Rows of few channels (under 64 bytes a pixel, or channels-first planes) are
    gathered along the whole row, a vector of lanes at a time, four blocks at once,
    each adding every covering output row (pair) and output along W (slot) in a
    register (AVX-512: a two-vector permute; AVX2: permutes, float64 a masked gather;
    else lane by lane), in every kernel build; blocks that repeat with a period of up
    to four blocks hold their indices in registers, and each thread keeps the scaled
    grad rows (an entry per pair) for the next rows: long rows over many blocks and a
    partial last block, every stride, dilations that spread a block's sources past
    two vectors (its lanes then go one by one), windows and strides along H that
    share grad rows between dx rows and across examples, streamed or not; sums of
    mixed magnitudes catch any change of order."""
    rng = np.random.default_rng(seed)
    shape = (2, height, width, channels) if fmt == "NHWC" else (2, channels, height, width)
    ksize, strides, dilations = [kh, k], [sh, s], [1, d]
    try:
        y = cypool.avg_pool(np.zeros(shape, dtype), ksize, strides, pad, fmt,
                            dilations=dilations)
    except ValueError:  # a window larger than the input
        return
    g = (rng.standard_normal(y.shape) * 10.0 ** rng.integers(-4, 5, y.shape)).astype(dtype)
    if g.size:
        g.flat[rng.integers(0, g.size, 3)] = -0.0
    with pytest.MonkeyPatch.context() as mp:
        use_kernel_build(mp, variant)
        mp.setattr("cypool._buffers.STREAM_BYTES", 0 if stream else 1 << 62)
        got = cypool.avg_pool_grad(shape, g, ksize, strides, pad, fmt, dilations=dilations)
    want = R.ref_avg_pool_grad(shape, g, ksize, strides, pad, fmt, dilations)
    np.testing.assert_array_equal(got, want)
    assert np.array_equal(np.signbit(got), np.signbit(want))


@given(st.integers(1, 15), st.integers(1, 90), st.integers(1, 5), st.integers(1, 4),
       st.integers(1, 3), st.sampled_from(["SAME", "VALID"]),
       st.sampled_from([np.float32, np.float64]), st.sampled_from(["NHWC", "NCHW"]),
       st.integers(0, 2**32 - 1))
def test_few_channel_argmax_along_the_row_matches_reference(
        channels, width, k, s, d, pad, dtype, fmt, seed):
    """Argmax rows of few channels find every pixel's window argmax along the whole
    row at once and keep every stride-th (the max gradient; max_pool_with_argmax but
    for 1-4 float channels at stride 2, which find only their outputs' windows): long
    rows, ties (small integers), NaN and both zeros."""
    rng = np.random.default_rng(seed)
    shape = (1, 3, width, channels) if fmt == "NHWC" else (1, channels, 3, width)
    x = rng.integers(-3, 4, shape).astype(dtype)
    x[rng.random(shape) < 0.02] = np.nan
    x[x == 0] = np.where(rng.random(int((x == 0).sum())) < 0.5, -0.0, 0.0)
    ksize, strides, dilations = [2, k], [1, s], [1, d]
    try:
        y = cypool.max_pool(x, ksize, strides, pad, fmt, dilations=dilations)
    except ValueError:  # a window larger than the input
        return
    g = _grad_like(y, seed % 1000)
    got = cypool.max_pool_grad(x, y, g, ksize, strides, pad, fmt, dilations=dilations)
    want = R.ref_max_pool_grad(x, g, ksize, strides, pad, fmt, dilations)
    np.testing.assert_array_equal(got, want)
    if fmt == "NHWC" and d == 1:
        out, index = cypool.max_pool_with_argmax(x, ksize, strides, pad)
        want_out, want_index = R.ref_max_pool_with_argmax(x, ksize, strides, pad)
        np.testing.assert_array_equal(out, want_out)
        np.testing.assert_array_equal(index, want_index)


@pytest.mark.parametrize("variant", kernel_builds())
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.uint8, np.int32],
                         ids=lambda d: np.dtype(d).name)
def test_few_channel_argmax_spans_in_every_build(monkeypatch, variant, dtype):
    """Argmax and max gradients of rows of few channels at W strides 1 and 2: every
    pixel's window's winning tap found a vector at a time (max_pool_with_argmax of 1-4
    float channels at stride 2 finds its outputs' only); max_pool_with_argmax takes
    its outputs' values and indices from theirs, the gradient's dx rows add the grads
    they won, taps right to left (output order), border windows one by one around the
    span.  Every build (vector widths differ), rows around whole vectors (each pass's
    overlapping last vector), ties and NaN (first maximum), grads of mixed magnitudes
    (a different order of adds changes the sums), rows split between 2 threads (each
    adds into its own rows only) and a 3-D window."""
    use_kernel_build(monkeypatch, variant)
    monkeypatch.setattr("cypool._threads.SERIAL_WORK", 0)
    rng = np.random.default_rng(5)
    for channels, width in ((1, 67), (2, 40), (3, 31), (3, 49), (4, 17), (5, 26), (3, 2)):
        x = make_values(rng, (2, 7, width, channels), dtype, "small")
        if x.dtype.kind == "f":
            x.reshape(-1)[rng.integers(0, x.size, size=3)] = np.nan
        for k, s, pad in ((3, 2, "SAME"), (2, 2, "VALID"), (3, 1, "SAME"), (4, 1, "VALID"),
                          (1, 2, "SAME"), ([3, 5], [2, 1], "SAME")):
            try:
                y = cypool.max_pool(x, k, s, pad)
            except ValueError:  # a window wider than the row
                continue
            g = np.ones_like(y)
            if x.dtype.kind == "f":
                g = (rng.standard_normal(y.shape) * 10.0 ** rng.integers(-4, 5, y.shape)
                     ).astype(dtype)
            want = R.ref_max_pool_grad(x, g, [k] * 2 if np.ndim(k) == 0 else k,
                                       [s] * 2 if np.ndim(s) == 0 else s, pad, "NHWC")
            for threads in (1, 2):
                got = cypool.max_pool_grad(x, y, g, k, s, pad, num_threads=threads)
                np.testing.assert_array_equal(got, want)
            for got, want in zip(cypool.max_pool_with_argmax(x, k, s, pad),
                                 R.ref_max_pool_with_argmax(x, k, s, pad)):
                np.testing.assert_array_equal(got, want)
    x3 = make_values(rng, (1, 4, 5, 33, 3), dtype, "small")
    y3 = cypool.max_pool3d(x3, [2, 3, 3], [1, 2, 2], "SAME")
    g3 = (np.arange(y3.size) % 7 + 1).astype(dtype).reshape(y3.shape)
    for threads in (1, 2):
        np.testing.assert_array_equal(
            cypool.max_pool_grad(x3, y3, g3, [2, 3, 3], [1, 2, 2], "SAME",
                                 num_threads=threads),
            R.ref_max_pool_grad(x3, g3, [2, 3, 3], [1, 2, 2], "SAME", "NDHWC"))


def _assert_argmax_as_reference(x, k, s, pad, include_batch=False, out=None):
    """max_pool_with_argmax's indices, values and the values' signs (both zeros) are
    the NumPy reference's (written into ``out`` when given)."""
    got = cypool.max_pool_with_argmax(x, k, s, pad, include_batch_in_index=include_batch,
                                      out=out)
    want = R.ref_max_pool_with_argmax(x, k, s, pad, include_batch_in_index=include_batch)
    np.testing.assert_array_equal(got[1], want[1])
    np.testing.assert_array_equal(got[0], want[0])
    assert np.array_equal(np.signbit(got[0]), np.signbit(want[0]))


def _stride2_rows(rng, dtype, rows, widths):
    """Inputs of 1-4 and 8 channels, 2 examples of ``rows`` rows of each width (and
    131, 158, 267: many blocks), with small values (ties), two NaN and both zeros."""
    for channels in (1, 2, 3, 4, 8):
        for width in [*widths, 131, 158, 267]:
            x = make_values(rng, (2, rows, width, channels), dtype, "small")
            x.reshape(-1)[rng.integers(0, x.size, size=2)] = np.nan
            zeros = x == 0
            x[zeros] = np.where(rng.random(int(zeros.sum())) < 0.5, -0.0, 0.0)
            yield x


@pytest.mark.parametrize("variant", kernel_builds())
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=lambda d: np.dtype(d).name)
def test_stride2_argmax_takes_only_the_outputs_windows(monkeypatch, variant, dtype):
    """max_pool_with_argmax of 1-4 or 8 float channels at W stride 2 finds only its
    outputs' windows, each tap of a vector of output lanes taken with one shuffle:
    rows from under two vectors (left to every pixel's winners) to many blocks, so
    that every block's place in the row, runs of four blocks at a time and the last
    blocks (read from further back, stored lane by lane) are hit; windows of 2 and 3
    pixels and SAME's clipped last; ties, NaN and both zeros (the first maximum in
    window order); flat indices with and without the batch, in every build (vector
    widths differ: 8 channels are one output a vector in the 32-byte builds)."""
    use_kernel_build(monkeypatch, variant)
    for x in _stride2_rows(np.random.default_rng(17), dtype, 5, range(2, 75, 3)):
        width = x.shape[2]
        for k, pad in ((3, "SAME"), (2, "VALID"), ([2, 3], "VALID")):
            _assert_argmax_as_reference(x, k, 2, pad, include_batch=width % 2 == 0)


@pytest.mark.parametrize("variant", kernel_builds())
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=lambda d: np.dtype(d).name)
def test_stride2_max_gradient_adds_only_the_outputs_windows(monkeypatch, variant, dtype):
    """The max gradient of 1-4 or 8 float channels at W stride 2 and windows 2 or 3
    pixels wide finds only its outputs' winners and adds each dx lane's windows as
    terms shuffled from the output lanes, periods of vectors at a time and the last
    lanes by masked loads and stores: rows from a few pixels to many periods (every
    place of the last lanes), SAME's clipped last window, window heights 1-3; ties,
    NaN and both zeros in x (the first maximum), grads of mixed magnitudes (each dx
    element's adds in output order, or the sums differ), rows split between 2
    threads, in every build (the AVX-512 build's path, the others' winners of every
    pixel)."""
    use_kernel_build(monkeypatch, variant)
    monkeypatch.setattr("cypool._threads.SERIAL_WORK", 0)
    rng = np.random.default_rng(23)
    for x in _stride2_rows(rng, dtype, 6, range(3, 75, 4)):
        for k, pad in ((3, "SAME"), (2, "VALID"), ([2, 3], "VALID"), ([1, 2], "SAME")):
            y = cypool.max_pool(x, k, 2, pad)
            g = (rng.standard_normal(y.shape) * 10.0 ** rng.integers(-4, 5, y.shape)
                 ).astype(dtype)
            want = R.ref_max_pool_grad(x, g, [k] * 2 if np.ndim(k) == 0 else k, [2, 2],
                                       pad, "NHWC")
            for threads in (1, 2):
                got = cypool.max_pool_grad(x, y, g, k, 2, pad, num_threads=threads)
                np.testing.assert_array_equal(got, want)
                assert np.array_equal(np.signbit(got), np.signbit(want))


@pytest.mark.parametrize("variant", kernel_builds())
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=lambda d: np.dtype(d).name)
def test_argmax_cells_last_lanes_overlap(monkeypatch, variant, dtype):
    """The argmax cell helper's last lanes past whole vectors are one more vector,
    overlapping the lanes before (the same values and indices written twice): cells
    of many channels and stride-1 rows of few (one cell along the row), lane counts
    on and off a vector's multiple, ties, NaN and both zeros, in every build."""
    use_kernel_build(monkeypatch, variant)
    rng = np.random.default_rng(29)
    for channels in (1, 2, 3, 5, 17, 20, 33):
        for width in (3, 7, 12, 21):
            x = make_values(rng, (2, 4, width, channels), dtype, "small")
            x.reshape(-1)[rng.integers(0, x.size, size=3)] = np.nan
            zeros = x == 0
            x[zeros] = np.where(rng.random(int(zeros.sum())) < 0.5, -0.0, 0.0)
            for k, s, pad in ((3, 1, "SAME"), (2, 1, "VALID"), (3, 2, "SAME")):
                _assert_argmax_as_reference(x, k, s, pad)


def _at_page_end(x):
    """A copy of ``x`` whose last byte ends a page, the next page unreadable: a read
    past x's end faults (Linux: mprotect)."""
    import ctypes
    import mmap
    if not sys.platform.startswith("linux"):
        pytest.skip("the guard page needs Linux's mprotect")
    page = mmap.PAGESIZE
    pages = -(-x.nbytes // page) + 1
    memory = np.frombuffer(mmap.mmap(-1, pages * page), np.uint8)
    libc = ctypes.CDLL(None, use_errno=True)
    guard = ctypes.c_void_p(memory.ctypes.data + (pages - 1) * page)
    assert libc.mprotect(guard, ctypes.c_size_t(page), 0) == 0  # PROT_NONE
    start = (pages - 1) * page - x.nbytes
    copy = memory[start:start + x.nbytes].view(x.dtype).reshape(x.shape)
    copy[...] = x
    return copy


@pytest.mark.parametrize("variant", kernel_builds())
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=lambda d: np.dtype(d).name)
def test_argmax_short_cells_stay_in_bounds(monkeypatch, variant, dtype):
    """A cell under one vector (the border windows of few channels, every window of
    5-15 float channels) is read and written through masked lanes: the input ends at
    an unreadable page (its last window reads its last pixel), the outputs are views
    followed by sentinels that must stay, and values and indices are the reference's
    (ties, NaN, both zeros), in every build."""
    use_kernel_build(monkeypatch, variant)
    rng = np.random.default_rng(31)
    for channels in (1, 2, 3, 5, 7, 8, 9, 15):
        for width in (3, 5, 9):
            x = make_values(rng, (2, 4, width, channels), dtype, "small")
            x.reshape(-1)[rng.integers(0, x.size, size=3)] = np.nan
            zeros = x == 0
            x[zeros] = np.where(rng.random(int(zeros.sum())) < 0.5, -0.0, 0.0)
            x = _at_page_end(x)
            for k, s, pad in ((3, 1, "SAME"), (2, 1, "SAME"), (3, 2, "SAME")):
                shape = cypool.max_pool(x, k, s, pad).shape
                size = int(np.prod(shape))
                values = np.full(size + 64, 7, dtype)
                index = np.full(size + 64, -7, np.int64)
                _assert_argmax_as_reference(x, k, s, pad, out=(values[:size].reshape(shape),
                                                               index[:size].reshape(shape)))
                assert (values[size:] == 7).all() and (index[size:] == -7).all()


@pytest.mark.parametrize("variant", kernel_builds())
@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.int64],
                         ids=lambda d: np.dtype(d).name)
def test_span_argmax_indexes_from_winning_ordinals(monkeypatch, variant, dtype):
    """An argmax row of 1-4 channels takes its flat indices a vector at a time from
    every lane's winning ordinal (looked up in the taps' offsets, held in vectors of
    at most 16) and its values from the indices: strides 1 and 2, rows of one block to
    many (the last lanes left to the scalar loop), 4 to 16 taps and 20 (over the
    table: the scalar loop), many ties (the first maximum), with and without the
    batch in the index, in every build (4 or 8 indices a vector).  Five channels take
    the scalar loop throughout."""
    use_kernel_build(monkeypatch, variant)
    rng = np.random.default_rng(23)
    for channels in (1, 2, 3, 4, 5):
        for width in range(5, 60, 6):
            x = make_values(rng, (2, 6, width, channels), dtype, "small")
            for k, s, pad in ((3, 2, "SAME"), (2, 2, "VALID"), (3, 1, "SAME"),
                              ([4, 4], 1, "VALID"), ([4, 5], [1, 2], "VALID")):
                _assert_argmax_as_reference(x, k, s, pad, include_batch=width % 4 == 1)


@given(cases(dtypes=(np.float32, np.float64, np.int16)), st.booleans())
def test_max_pool_grad_with_argmax_matches_reference(c, include_batch):
    try:
        y, argmax = cypool.max_pool_with_argmax(
            c.x, *c.api_args(), include_batch_in_index=include_batch,
            dilations=list(c.dilations))
    except ValueError:
        return
    g = _grad_like(y) if y.dtype.kind == "f" else np.ones_like(y)
    got = cypool.max_pool_grad_with_argmax(
        c.x, g, argmax, list(c.ksize), list(c.strides), c.api_padding, include_batch,
        data_format=c.data_format, dilations=list(c.dilations))
    want = R.ref_max_pool_grad_with_argmax(c.x.shape, g, argmax, include_batch)
    np.testing.assert_array_equal(got, want)
    # the same as max_pool_grad: both route to the first maximum
    np.testing.assert_array_equal(
        got, cypool.max_pool_grad(c.x, y, g, *c.api_args(), dilations=list(c.dilations)))


@pytest.mark.parametrize("index_dtype", [np.int32, np.int64])
@pytest.mark.parametrize("include_batch", [False, True])
def test_max_pool_grad_with_argmax_zeroes_and_scatters_rows(monkeypatch, index_dtype,
                                                            include_batch):
    """The scatter zeroes dx itself (out= prefilled with NaN), per example in parallel
    (or, where indices with the batch cross examples, as one row), at 1-3 threads."""
    from cypool.gradients import index_rows
    monkeypatch.setattr("cypool._threads.SERIAL_WORK", 0)
    rng = np.random.default_rng(4)
    x = rng.integers(-2, 3, size=(3, 17, 23, 5)).astype(np.float32)  # ties
    y, argmax = cypool.max_pool_with_argmax(x, 3, 2, "SAME", output_dtype=index_dtype,
                                            include_batch_in_index=include_batch)
    g = rng.standard_normal(y.shape).astype(np.float32)
    crossing = argmax.copy()  # example 1 sends one gradient into example 0
    crossing[1, 0, 0, 0] = 7 if include_batch else crossing[1, 0, 0, 0]
    hidden = argmax.copy()  # the same, hidden behind an empty window's -1
    hidden[2, 1, 1, 1] = -1
    hidden[2, 0, 0, 0] = 5
    for index, rows in ((argmax, 3), (crossing, 1 if include_batch else 3),
                        (hidden, 1 if include_batch else 3)):
        got_rows, step = index_rows(index, x.shape, include_batch, "argmax", "input", 2)
        assert got_rows.shape[0] == rows
        assert step == (x[0].size if include_batch and rows == 3 else 0)
        want = R.ref_max_pool_grad_with_argmax(x.shape, g, index, include_batch)
        for threads in (1, 2, 3):
            out = np.full_like(x, np.nan)
            got = cypool.max_pool_grad_with_argmax(x, g, index, 3, 2, "SAME", include_batch,
                                                   out=out, num_threads=threads)
            assert got.tobytes() == want.tobytes(), threads


def test_max_pool_grad_with_argmax_zeroes_ahead_of_far_jumps():
    """Indices in any order, jumping past the kernel's zeroing block (16 KB) and
    leaving the rest of the example untouched: every cell is still written once, by
    one task (an example cut into pieces where examples are fewer than threads)."""
    x = np.zeros((2, 60, 60, 8), np.float32)  # 28800 cells an example
    y = cypool.max_pool(x, 3, 2, "SAME")
    index = np.full(y.shape, -1, np.int64)
    g = np.arange(1, y.size + 1, dtype=np.float32).reshape(y.shape)
    for b in range(2):
        index[b, 0, 0, :4] = [5, 20000, 20001, 3]  # a far jump, then back
        index[b, 0, 1, 0] = 20000  # a second add to the same cell
    _assert_scatters_as_reference(x, g, index)


def _assert_scatters_as_reference(x, g, index, half_pieces=None):
    """max_pool_grad_with_argmax (3x3/2 SAME) of x's two examples and of the first
    alone (fewer examples than threads: each cut into dx pieces), at 1-3 threads, into
    an out= full of NaN: the reference's bits; with ``half_pieces``, float16 too, its
    sums in pieces of that many floats: the float32 scatter of its grads, rounded."""
    for batch in (2, 1):
        xb, gb, ib = x[:batch], g[:batch], index[:batch]
        want = R.ref_max_pool_grad_with_argmax(xb.shape, gb, ib)
        want_half = cypool.max_pool_grad_with_argmax(
            xb, gb.astype(np.float16).astype(np.float32), ib, 3, 2, "SAME").astype(np.float16)
        for threads in (1, 2, 3):
            out = np.full_like(xb, np.nan)
            got = cypool.max_pool_grad_with_argmax(xb, gb, ib, 3, 2, "SAME", out=out,
                                                   num_threads=threads)
            assert got.tobytes() == want.tobytes(), (batch, threads)
            if half_pieces is None:
                continue
            with pytest.MonkeyPatch.context() as mp:
                mp.setattr("cypool.gradients.HALF_SUM_FLOATS", half_pieces)
                half = cypool.max_pool_grad_with_argmax(
                    xb.astype(np.float16), gb.astype(np.float16), ib, 3, 2, "SAME",
                    num_threads=threads)
            assert half.tobytes() == want_half.tobytes(), (batch, threads)


@pytest.mark.parametrize("index_dtype", [np.int32, np.int64])
def test_max_pool_grad_with_argmax_scatters_blocks_of_any_indices(monkeypatch, index_dtype):
    """The scatter's blocks of outputs (each zeroing dx up to its greatest index first,
    its indices loaded and asked for ahead of their adds) over an example of many
    blocks: an argmax's indices with a quarter replaced by any index or -1, so that
    blocks jump far ahead and back; float32 against the reference, float16 (its sums
    cut into pieces of 1000 floats) against float32 rounded, at 1-3 threads, where
    examples are fewer than threads too."""
    monkeypatch.setattr("cypool._threads.SERIAL_WORK", 0)
    rng = np.random.default_rng(11)
    x = rng.standard_normal((2, 40, 40, 16)).astype(np.float32)  # 25600 cells an example
    y, index = cypool.max_pool_with_argmax(x, 3, 2, "SAME", output_dtype=index_dtype)
    wild = rng.random(index.shape) < 0.25
    index[wild] = rng.integers(-1, x[0].size, size=int(wild.sum()))
    g = rng.standard_normal(y.shape).astype(np.float32)
    _assert_scatters_as_reference(x, g, index, half_pieces=1000)


# ------------------------------------------------------------- finite differences

def _finite_difference(f, x, g, eps=1e-6):
    """d/dx sum(f(x) * g) by central differences, cell by cell."""
    dx = np.zeros_like(x)
    for i in np.ndindex(*x.shape):
        old = x[i]
        x[i] = old + eps
        plus = np.sum(f(x) * g)
        x[i] = old - eps
        minus = np.sum(f(x) * g)
        x[i] = old
        dx[i] = (plus - minus) / (2 * eps)
    return dx


@pytest.mark.parametrize("shape, fmt, k, s, pad, dil", [
    ((2, 9, 3), "NWC", 3, 2, "SAME", 1),
    ((1, 7, 6, 2), "NHWC", [2, 3], [2, 1], "VALID", [1, 2]),
    ((1, 2, 6, 5), "NCHW", 3, 1, [[0, 0], [0, 0], [1, 2], [2, 1]], 1),
    ((1, 4, 3, 5, 1), "NDHWC", 2, [1, 2, 1], "SAME", [2, 1, 1]),
])
@pytest.mark.parametrize("kind", ["max", "avg"])
def test_gradients_equal_finite_differences(shape, fmt, k, s, pad, dil, kind):
    rng = np.random.default_rng(3)
    x = rng.permutation(int(np.prod(shape))).reshape(shape).astype(np.float64) / 7
    fwd = cypool.max_pool if kind == "max" else cypool.avg_pool
    y = fwd(x, k, s, pad, fmt, dilations=dil)
    g = rng.standard_normal(y.shape)
    if kind == "max":
        got = cypool.max_pool_grad(x, y, g, k, s, pad, fmt, dilations=dil)
    else:
        got = cypool.avg_pool_grad(x.shape, g, k, s, pad, fmt, dilations=dil)
    want = _finite_difference(lambda v: fwd(v, k, s, pad, fmt, dilations=dil), x, g)
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)


# ------------------------------------------------------------- determinism

@pytest.mark.parametrize("shape, fmt", [((1, 48, 40, 16), "NHWC"),  # one plane
                                        ((4, 40, 33, 3), "NHWC"),
                                        ((2, 8, 40, 33), "NCHW"),
                                        ((2, 10, 12, 14, 4), "NDHWC")])
def test_gradients_do_not_depend_on_thread_count(shape, fmt):
    rng = np.random.default_rng(5)
    x = rng.integers(-3, 4, size=shape).astype(np.float32)  # many ties
    k, s = 3, 1  # overlapping windows: cells get several contributions
    y = cypool.max_pool(x, k, s, "SAME", fmt)
    g = rng.standard_normal(y.shape).astype(np.float32)
    for fn in (lambda n: cypool.max_pool_grad(x, y, g, k, s, "SAME", fmt, num_threads=n),
               lambda n: cypool.avg_pool_grad(x.shape, g, k, s, "SAME", fmt, num_threads=n)):
        one, two = fn(1), fn(2)
        assert one.tobytes() == two.tobytes()


# Where planes do not divide among the threads, a plane's output rows split into
# runs along D (or H for 2-D inputs); a run owns its input rows and windows that
# overlap two runs' rows are visited by both, each adding only into its own rows.
# Each case's split is checked to be taken, and the result against the reference
# at 1-3 threads: in float32 (cells of 16 or more channels take the per-cell
# path, fewer the row path), float64 and int32.
SPLIT_CASES = [
    ((1, 20, 19, 16), "NHWC", 2, 2, "VALID", 1, 2),
    ((1, 21, 17, 8), "NHWC", 3, 3, "SAME", 1, 2),   # SAME's clipped border windows
    ((3, 22, 9, 5), "NHWC", 2, 3, "VALID", 1, 2),   # rows no window takes: zeroed
    ((1, 23, 9, 4), "NHWC", 2, 3, "SAME", 1, 2),
    ((1, 26, 7, 8), "NHWC", 2, 5, "VALID", 2, 2),   # dilated taps, rows in between
    ((1, 1, 30, 31), "NCHW", 2, 2, "SAME", 1, 2),
    ((1, 10, 12, 14, 4), "NDHWC", 2, 2, "VALID", 1, 1),  # split along D
    ((1, 3, 9, 8, 7), "NCDHW", 3, 3, "SAME", 1, 1),  # 3 planes: 6 runs
    # overlapping windows: the runs share the rows between them
    ((1, 20, 20, 8), "NHWC", 3, 2, "SAME", 1, 2),
    ((1, 21, 17, 16), "NHWC", 3, 2, "SAME", 1, 2),
    ((1, 19, 11, 32), "NHWC", 5, 1, "SAME", 1, 2),  # border windows start alike
    ((1, 18, 9, 4), "NHWC", 3, 2, "VALID", 2, 2),   # dilated: a run's rows interleave
    ((1, 24, 7, 20), "NHWC", 4, 3, [[0, 0], [2, 1], [1, 1], [0, 0]], 1, 2),
    ((1, 9, 10, 12, 16), "NDHWC", 3, 2, "SAME", 1, 1),
    ((3, 1, 9, 8, 7), "NCDHW", 3, 1, "VALID", 1, 1),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32])
@pytest.mark.parametrize("shape, fmt, k, s, pad, dil, axis", SPLIT_CASES)
def test_max_gradient_splits_planes_into_row_runs(monkeypatch, shape, fmt, k, s, pad, dil,
                                                  axis, dtype):
    from cypool.gradients import _row_chunks
    from cypool._geometry import parse_pool_args
    monkeypatch.setattr("cypool._threads.SERIAL_WORK", 0)  # small inputs threaded too
    rng = np.random.default_rng(11)
    x = rng.integers(-2, 3, size=shape).astype(dtype)  # ties within windows
    n = len(fmt) - 2
    geom = parse_pool_args(x.shape, k, s, pad, fmt, [dil] * n)
    assert _row_chunks(geom, 2)[0] == axis
    y = cypool.max_pool(x, k, s, pad, fmt, dilations=[dil] * n)
    g = (rng.standard_normal(y.shape) * 100).astype(dtype)
    ref_pad = pad if isinstance(pad, str) else pad[1:-1]  # the reference's: spatial only
    want = R.ref_max_pool_grad(x, g, k, s, ref_pad, fmt, [dil] * n)
    for threads in (1, 2, 3):
        out = np.full_like(x, -7)  # every cell must be written, gaps zeroed
        got = cypool.max_pool_grad(x, y, g, k, s, pad, fmt, dilations=[dil] * n,
                                   num_threads=threads, out=out)
        assert got.tobytes() == want.tobytes(), threads


# Windows of 25 or more taps (max_pool_with_argmax: 9) at stride 1 along H (float32,
# channels a multiple of a vector's lanes) find their argmax rows first: each row's first maximum along W kept
# in a ring of rows shared by the output rows, then the first among the rows; the
# gradient adds each lane's gradient at its own tap (AVX-512: mask registers and a
# scatter; other builds: lane masks and lane by lane), max_pool_with_argmax stores
# the values and flat indices. Ties, NaNs and -0.0 must route as the reference's
# row-major first maximum (first NaN), at borders, W strides and padding, in every
# kernel build.
RING_CASES = [
    ((2, 13, 11, 16), "NHWC", 5, 1, "SAME"),
    ((2, 12, 14, 32), "NHWC", 5, 1, "VALID"),
    ((1, 17, 9, 48), "NHWC", [7, 5], [1, 2], "SAME"),    # W at stride 2
    ((2, 10, 12, 16), "NHWC", 5, 1, [[0, 0], [4, 1], [2, 3], [0, 0]]),
    ((2, 1, 9, 10, 16), "NDHWC", [1, 5, 6], 1, "SAME"),  # one depth row a window
    ((1, 23, 8, 16), "NHWC", 9, 1, "SAME"),              # 9 rows a window
    ((2, 9, 10, 32), "NHWC", 3, 1, "SAME"),              # argmax only: 9 taps
    ((1, 7, 9, 80), "NHWC", 3, 1, "VALID"),              # 4 vectors a block, then 1
]


@pytest.mark.parametrize("variant", kernel_builds())
@pytest.mark.parametrize("shape, fmt, k, s, pad", RING_CASES)
def test_max_gradient_rows_first_matches_reference(monkeypatch, variant, shape, fmt, k, s,
                                                   pad):
    use_kernel_build(monkeypatch, variant)
    monkeypatch.setattr("cypool._threads.SERIAL_WORK", 0)  # batch 1 splits rows too
    rng = np.random.default_rng(5)
    x = rng.integers(-2, 3, size=shape).astype(np.float32)  # ties within windows
    mark = rng.random(shape)
    x[mark < 0.03] = np.nan
    x[(mark >= 0.03) & (mark < 0.1)] = -0.0
    y = cypool.max_pool(x, k, s, pad, fmt)
    g = (rng.standard_normal(y.shape) * 100).astype(np.float32)
    ref_pad = pad if isinstance(pad, str) else pad[1:-1]
    want = R.ref_max_pool_grad(x, g, k, s, ref_pad, fmt)
    for threads in (1, 2, 3):
        out = np.full_like(x, -7)
        got = cypool.max_pool_grad(x, y, g, k, s, pad, fmt, num_threads=threads, out=out)
        assert got.tobytes() == want.tobytes(), threads
    # the same rows first for max_pool_with_argmax: values (NaN payloads, -0.0) and
    # indices, per example and with the batch, int64 and int32
    for batch_index in (False, True):
        want_values, want_index = R.ref_max_pool_with_argmax(
            x, k, s, ref_pad, fmt, include_batch_in_index=batch_index)
        for threads, index_dtype in ((1, np.int64), (2, np.int32), (3, np.int64)):
            values, index = cypool.max_pool_with_argmax(
                x, k, s, pad, fmt, output_dtype=index_dtype,
                include_batch_in_index=batch_index, num_threads=threads)
            assert values.tobytes() == want_values.tobytes(), threads
            assert index.dtype == index_dtype
            np.testing.assert_array_equal(index, want_index)


def test_max_gradient_keeps_planes_whole_where_rows_cannot_split():
    from cypool.gradients import _row_chunks
    from cypool._geometry import parse_pool_args
    def chunks(shape, k, s, pad, fmt):
        return _row_chunks(parse_pool_args(shape, k, s, pad, fmt, None), 2)
    assert chunks((1, 20, 20, 8), 3, 2, "SAME", "NHWC") == (2, 2)
    assert chunks((4, 20, 20, 8), 2, 2, "VALID", "NHWC") == (0, 1)  # 2 planes a thread
    assert chunks((4, 20, 20, 8), 3, 2, "SAME", "NHWC") == (0, 1)
    # a 3-D input with one output depth: H rows of different depths interleave
    assert chunks((1, 2, 20, 20, 8), 2, 2, "VALID", "NDHWC") == (0, 1)
    assert chunks((1, 40, 6), 4, 4, "VALID", "NWC") == (0, 1)  # 1-D: one row a plane


# ------------------------------------------------------------- edge cases

def test_empty_forward_output_gives_zero_gradient():
    x = np.arange(6, dtype=np.float32).reshape(1, 3, 2)
    y = cypool.max_pool(x, 4, 1, "VALID")
    assert y.shape == (1, 0, 2)
    np.testing.assert_array_equal(cypool.max_pool_grad(x, y, y, 4, 1, "VALID"), 0)
    np.testing.assert_array_equal(cypool.avg_pool_grad(x.shape, y, 4, 1, "VALID"), 0)


def test_empty_input_gives_empty_gradient():
    x = np.zeros((0, 4, 4, 2), np.float32)
    y = cypool.max_pool(x, 2, 2, "VALID")
    assert cypool.max_pool_grad(x, y, y, 2, 2, "VALID").shape == x.shape
    assert cypool.avg_pool_grad(x.shape, y, 2, 2, "VALID").shape == x.shape


def test_empty_dilated_windows_get_no_gradient():
    x = np.array([[[2.0]]], np.float32)  # n=1, k=2, d=3, SAME: the window misses
    y, argmax = cypool.max_pool_with_argmax(x, 2, 1, "SAME", "NWC", dilations=3)
    assert argmax.ravel().tolist() == [-1]
    g = np.ones_like(y)
    assert cypool.max_pool_grad(x, y, g, 2, 1, "SAME", dilations=3).ravel().tolist() == [0]
    assert cypool.max_pool_grad_with_argmax(x, g, argmax, 2, 1, "SAME",
                                            data_format="NWC", dilations=3).ravel() == 0
    assert cypool.avg_pool_grad(x.shape, g, 2, 1, "SAME", dilations=3).ravel() == 0


def test_avg_grad_follows_the_forward_divisor_where_tf_does_not():
    # SPEC: TF's AvgPoolGrad gives dx[0] = 0.75 here; the forward's divisors give 0.8333
    g = np.ones((1, 4, 1), np.float64)
    dx = cypool.avg_pool_grad((1, 4, 1), g, 5, 1, "SAME")
    counts = np.array([3, 4, 4, 3])  # in-bounds cells of each output window
    want = [sum(1 / counts[o] for o in range(4) if abs(o - i) <= 2) for i in range(4)]
    np.testing.assert_allclose(dx.ravel(), want)
    assert abs(dx.ravel()[0] - 0.8333333) < 1e-6


def test_float16_gradients_accumulate_in_float32():
    x = np.zeros((1, 64, 1), np.float16)
    x[0, 0, 0] = 1  # the maximum of every window
    g = np.full((1, 64, 1), 0.0999, np.float16)
    dx = cypool.max_pool_grad(x, cypool.max_pool(x, 64, 1, "SAME"), g, 64, 1, "SAME")
    # SAME pads 31 before: outputs 0..31 have cell 0 in their window (32 adds)
    exact = np.float16(np.float32(np.float16(0.0999)) * 32)
    halves = np.float16(0)
    for _ in range(32):
        halves = np.float16(halves + np.float16(0.0999))
    assert dx[0, 0, 0] == exact and exact != halves


@given(c=cases(dtypes=(np.float16,), allow_empty=False), threads=st.sampled_from([1, 2, 3]),
       whole=st.booleans(), tight=st.booleans())
def test_float16_gradients_widen_rows_a_thread(c, threads, whole, tight):
    """C-contiguous float16 gradients go to the kernels as they are: the max gradient
    widens each window's input rows and grad row into a thread's buffers, adds into
    float32 dx rows and rounds each once no later window reaches it (``tight``: buffers
    of just the most rows a window needs, so that rows move at almost every output
    row; ``whole``: buffers over HALF_BUFFER_BYTES take whole float32 copies), the
    average gradient widens the grad rows each dx row gathers from: the bits of the
    float32 gradients of the widened inputs rounded once, at any thread count, with
    NaN payloads (signalling too), subnormals, infinities and signed zeros."""
    rng = np.random.default_rng(c.x.size)
    x = with_half_specials(c.x, rng)
    args, kw = c.api_args(), dict(dilations=list(c.dilations))
    try:
        y = cypool.max_pool(x.astype(np.float32), *args, **kw)
    except ValueError:
        return
    g = rng.standard_normal(y.shape).astype(np.float16)
    g.reshape(-1)[::7] = np.float16(2) ** -20  # subnormal grads
    want_max = cypool.max_pool_grad(x.astype(np.float32), y, g.astype(np.float32), *args,
                                    **kw).astype(np.float16)
    want_avg = cypool.avg_pool_grad(x.shape, g.astype(np.float32), *args,
                                    **kw).astype(np.float16)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("cypool._buffers.HALF_BUFFER_BYTES", 0 if whole else 8 << 20)
        mp.setattr("cypool._buffers.HALF_RING_BYTES", 0 if tight else 2 << 20)
        mp.setattr("cypool._threads.SERIAL_WORK", 0)
        got_max = cypool.max_pool_grad(x, y, g, *args, num_threads=threads, **kw)
        got_avg = cypool.avg_pool_grad(x.shape, g, *args, num_threads=threads, **kw)
    np.testing.assert_array_equal(got_max.view(np.uint16), want_max.view(np.uint16))
    np.testing.assert_array_equal(got_avg.view(np.uint16), want_avg.view(np.uint16))


def _traced_peak(call, *args, **kwargs):
    """call(*args, **kwargs) and the peak of the memory it allocated (tracemalloc)."""
    tracemalloc.start()
    try:
        return call(*args, **kwargs), tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("shape, k, s", [((8, 128, 128, 16), 3, 2), ((4, 128, 128, 3), 3, 1),
                                         ((2, 32, 64, 64, 16), 2, 2)])
@pytest.mark.parametrize("op", ["max", "avg"])
def test_float16_gradients_keep_no_float32_copies(op, shape, k, s):
    """A float16 gradient widens its rows into a thread's buffers and rounds each dx row
    itself: the bits of the float32 gradient of the widened inputs, rounded once, at
    one and two threads, with the call's traced peak under dx's float16 size plus
    three quarters of its float32 size (a thread's buffers take at most about 2 MB
    each; float32 copies of x, grad and dx took dx's float16 size plus 1.25x
    (average) or 2.25x (max) its float32 size)."""
    rng = np.random.default_rng(6)
    x = rng.standard_normal(shape).astype(np.float16)
    y = cypool.max_pool(x, k, s, "SAME")
    g = rng.standard_normal(y.shape).astype(np.float16)
    if op == "max":
        def grad(arr, grad_arr, **kw):
            return cypool.max_pool_grad(arr, y, grad_arr, k, s, "SAME", **kw)
    else:
        def grad(arr, grad_arr, **kw):
            return cypool.avg_pool_grad(arr.shape, grad_arr, k, s, "SAME", **kw)
    want = grad(x.astype(np.float32), g.astype(np.float32)).astype(np.float16)
    for threads in (1, 2):
        got, peak = _traced_peak(grad, x, g, num_threads=threads)
        np.testing.assert_array_equal(got.view(np.uint16), want.view(np.uint16))
        assert peak < got.nbytes + got.size * 4 * 3 // 4, peak


@given(c=cases(dtypes=(np.float16,), allow_empty=False), threads=st.sampled_from([1, 2, 3]),
       piece=st.sampled_from([1, 7, 64, None]), include_batch=st.booleans())
def test_float16_scatters_sum_pieces_in_float32(c, threads, piece, include_batch):
    """float16 max_pool_grad_with_argmax and max_unpool add a row's grads into a
    thread's float32 sums of a piece of the row (at most HALF_SUM_FLOATS floats;
    ``piece`` cuts every example into many) and round each sum once; max_unpool_grad
    gathers float16 bits: the bits of the float32 ops on the widened grads, rounded
    once, at any thread count, with NaN payloads, infinities and subnormals in grad."""
    rng = np.random.default_rng(c.x.size)
    args, kw = c.api_args(), dict(dilations=list(c.dilations))
    try:
        y, argmax = cypool.max_pool_with_argmax(c.x, *args,
                                                include_batch_in_index=include_batch, **kw)
    except ValueError:
        return
    g = with_half_specials(rng.standard_normal(y.shape).astype(np.float16), rng)
    g32 = g.astype(np.float32)
    want_grad = cypool.max_pool_grad_with_argmax(
        c.x.astype(np.float32), g32, argmax, *args[:3], include_batch,
        data_format=c.data_format, **kw).astype(np.float16)
    want_unpool = cypool.max_unpool(g32, argmax, c.x.shape, include_batch,
                                    c.data_format).astype(np.float16)
    want_gather = cypool.max_unpool_grad(want_unpool.astype(np.float32), argmax,
                                         include_batch).astype(np.float16)
    with pytest.MonkeyPatch.context() as mp:
        if piece is not None:
            mp.setattr("cypool.gradients.HALF_SUM_FLOATS", piece)
        mp.setattr("cypool._threads.SERIAL_WORK", 0)
        got_grad = cypool.max_pool_grad_with_argmax(
            c.x, g, argmax, *args[:3], include_batch, data_format=c.data_format,
            num_threads=threads, **kw)
        got_unpool = cypool.max_unpool(g, argmax, c.x.shape, include_batch, c.data_format,
                                       num_threads=threads)
        got_gather = cypool.max_unpool_grad(want_unpool, argmax, include_batch,
                                            num_threads=threads)
    np.testing.assert_array_equal(got_grad.view(np.uint16), want_grad.view(np.uint16))
    np.testing.assert_array_equal(got_unpool.view(np.uint16), want_unpool.view(np.uint16))
    np.testing.assert_array_equal(got_gather.view(np.uint16), want_gather.view(np.uint16))


@pytest.mark.parametrize("op", ["grad_with_argmax", "max_unpool", "max_unpool_grad"])
def test_float16_scatters_keep_no_float32_copies(op):
    """A float16 scatter sums an example at a time in a thread's float32 buffer and a
    gather copies bits: the call's traced peak stays under its float16 result plus
    half of its float32 size (the scatters' float32 copies of grad and the result took
    1.25x, the gather's float32 copy of its source 4x)."""
    rng = np.random.default_rng(7)
    x = rng.standard_normal((8, 96, 96, 16)).astype(np.float16)
    y, argmax = cypool.max_pool_with_argmax(x, 3, 2, "SAME")
    g = rng.standard_normal(y.shape).astype(np.float16)
    calls = {
        "grad_with_argmax": lambda a, b, **kw: cypool.max_pool_grad_with_argmax(
            a, b, argmax, 3, 2, "SAME", **kw),
        "max_unpool": lambda a, b, **kw: cypool.max_unpool(b, argmax, x.shape, **kw),
        "max_unpool_grad": lambda a, b, **kw: cypool.max_unpool_grad(a, argmax, **kw),
    }
    call = calls[op]
    want = call(x.astype(np.float32), g.astype(np.float32)).astype(np.float16)
    for threads in (1, 2):
        got, peak = _traced_peak(call, x, g, num_threads=threads)
        np.testing.assert_array_equal(got.view(np.uint16), want.view(np.uint16))
        assert peak < got.nbytes + got.size * 4 // 2, peak


def test_out_buffer_is_filled_and_inputs_untouched():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 6, 6, 3)).astype(np.float32)
    x_copy = x.copy()
    y = cypool.max_pool(x, 3, 2, "SAME")
    g = rng.standard_normal(y.shape).astype(np.float32)
    g_copy = g.copy()
    out = np.full_like(x, 7.0)
    result = cypool.max_pool_grad(x, y, g, 3, 2, "SAME", out=out)
    assert result is out
    np.testing.assert_array_equal(out, cypool.max_pool_grad(x, y, g, 3, 2, "SAME"))
    out2 = np.full_like(x, 7.0)
    assert cypool.avg_pool_grad(x.shape, g, 3, 2, "SAME", out=out2) is out2
    np.testing.assert_array_equal(x, x_copy)
    np.testing.assert_array_equal(g, g_copy)


# ------------------------------------------------------------- errors

X = np.arange(2 * 4 * 4 * 3, dtype=np.float32).reshape(2, 4, 4, 3)
Y = cypool.max_pool(X, 2, 2, "VALID")
VALUES, ARGMAX = cypool.max_pool_with_argmax(X, 2, 2, "VALID")


def test_grad_shape_mismatch_raises():
    with pytest.raises(ValueError, match="grad"):
        cypool.max_pool_grad(X, Y, np.ones((2, 3, 2, 3), np.float32), 2, 2, "VALID")
    with pytest.raises(ValueError, match="grad"):
        cypool.avg_pool_grad(X.shape, np.ones((2, 2, 2, 4), np.float32), 2, 2, "VALID")
    with pytest.raises(ValueError, match="grad"):
        cypool.max_pool_grad_with_argmax(X, np.ones((1, 2, 2, 3), np.float32), ARGMAX,
                                         2, 2, "VALID")


def test_orig_output_shape_mismatch_raises():
    with pytest.raises(ValueError, match="orig_output"):
        cypool.max_pool_grad(X, Y[:, :1], np.ones_like(Y), 2, 2, "VALID")


def test_argmax_errors():
    g = np.ones_like(VALUES)
    with pytest.raises(ValueError, match="argmax"):
        cypool.max_pool_grad_with_argmax(X, g, ARGMAX[:, :1], 2, 2, "VALID")
    with pytest.raises(TypeError, match="argmax"):
        cypool.max_pool_grad_with_argmax(X, g, ARGMAX.astype(np.float32), 2, 2, "VALID")
    for bad in (X[0].size, -2):
        index = ARGMAX.copy()
        index[0, 0, 0, 0] = bad
        with pytest.raises(ValueError, match="argmax"):
            cypool.max_pool_grad_with_argmax(X, g, index, 2, 2, "VALID")
    index = ARGMAX.copy()
    index[0, 0, 0, 0] = X.size  # beyond the whole input
    with pytest.raises(ValueError, match="argmax"):
        cypool.max_pool_grad_with_argmax(X, g, index, 2, 2, "VALID",
                                         include_batch_in_index=True)


def test_dtype_errors():
    with pytest.raises(TypeError, match="grad"):
        cypool.max_pool_grad(X, Y, np.ones(Y.shape, np.float64), 2, 2, "VALID")
    with pytest.raises(TypeError, match="grad"):
        cypool.avg_pool_grad(X.shape, np.ones(Y.shape, np.int32), 2, 2, "VALID")


def test_orig_input_shape_errors():
    with pytest.raises(ValueError, match="orig_input_shape"):
        cypool.avg_pool_grad((4, 4), np.ones((2, 2), np.float32), 2, 2, "VALID")
    with pytest.raises(ValueError, match="orig_input_shape"):
        cypool.avg_pool_grad((1, -4, 4, 1), np.ones((1, 2, 2, 1), np.float32), 2, 2, "VALID")


def test_cross_example_indices_with_batch_in_index():
    # legal but unusual: every index points into example 0 (computed serially)
    x = np.zeros((3, 2, 2, 1), np.float32)
    argmax = np.zeros((3, 1, 1, 1), np.int64)
    g = np.array([1, 2, 3], np.float32).reshape(3, 1, 1, 1)
    dx = cypool.max_pool_grad_with_argmax(x, g, argmax, 2, 2, "VALID",
                                          include_batch_in_index=True)
    assert dx[0, 0, 0, 0] == 6 and dx.sum() == 6
