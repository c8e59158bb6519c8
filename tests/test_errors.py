"""SPEC's Errors section (forward ops): each bad call raises ValueError / TypeError
naming the offending argument. Messages are matched on the argument name only."""
import numpy as np
import pytest

import cypool

X4 = np.zeros((2, 6, 6, 3), dtype=np.float32)        # NHWC
X4CF = np.zeros((2, 3, 6, 6), dtype=np.float32)      # NCHW
X3 = np.zeros((2, 6, 3), dtype=np.float32)           # NWC
X5 = np.zeros((1, 4, 4, 4, 2), dtype=np.float32)     # NDHWC


def _max(**kw):
    args = dict(input=X4, ksize=2, strides=2, padding="VALID")
    args.update(kw)
    return cypool.max_pool(**args)


def _ops_with_ksize_strides():
    """f(x, ksize, strides, padding, data_format, **kw) for every forward op."""
    return {
        "max_pool": lambda x, k, s, p, f=None, **kw: cypool.max_pool(x, k, s, p, f, **kw),
        "avg_pool": lambda x, k, s, p, f=None, **kw: cypool.avg_pool(x, k, s, p, f, **kw),
        "max_pool2d": lambda x, k, s, p, f="NHWC", **kw: cypool.max_pool2d(x, k, s, p, f, **kw),
        "avg_pool2d": lambda x, k, s, p, f="NHWC", **kw: cypool.avg_pool2d(x, k, s, p, f, **kw),
        "argmax": lambda x, k, s, p, f="NHWC", **kw: cypool.max_pool_with_argmax(
            x, k, s, p, f, **kw),
    }


OPS = _ops_with_ksize_strides()
OP_NAMES = sorted(OPS)


# ------------------------------------------------------------------ ksize / strides

BAD_WINDOW_VALUES = [
    ("zero-int", 0), ("negative-int", -1), ("zero-entry", [2, 0]), ("negative-entry", [-2, 2]),
    ("zero-len1", [0]), ("wrong-length-3", [2, 2, 2]), ("wrong-length-5", [1, 2, 2, 1, 1]),
    ("empty", []), ("full-zero", [1, 0, 2, 1]),
]


@pytest.mark.parametrize("op", OP_NAMES)
@pytest.mark.parametrize("label,value", BAD_WINDOW_VALUES, ids=[b[0] for b in BAD_WINDOW_VALUES])
def test_bad_ksize(op, label, value):
    with pytest.raises(ValueError, match="ksize"):
        OPS[op](X4, value, 1, "VALID")


@pytest.mark.parametrize("op", OP_NAMES)
@pytest.mark.parametrize("label,value", BAD_WINDOW_VALUES, ids=[b[0] for b in BAD_WINDOW_VALUES])
def test_bad_strides(op, label, value):
    with pytest.raises(ValueError, match="strides"):
        OPS[op](X4, 2, value, "VALID")


@pytest.mark.parametrize("op", OP_NAMES)
def test_non_1_batch_entry(op):
    with pytest.raises(ValueError, match="ksize"):
        OPS[op](X4, [2, 2, 2, 1], 1, "VALID")
    with pytest.raises(ValueError, match="strides"):
        OPS[op](X4, 2, [2, 1, 1, 1], "VALID")
    with pytest.raises(ValueError, match="ksize"):  # channels-first: batch is still first
        OPS[op](X4CF, [2, 1, 2, 2], 1, "VALID", "NCHW")


@pytest.mark.parametrize("op", OP_NAMES)
def test_non_1_channel_entry(op):
    # ksize / strides > 1 in the channel slot with spatial windows > 1 (not depthwise)
    with pytest.raises(ValueError, match="ksize"):
        OPS[op](X4, [1, 2, 2, 2], [1, 1, 1, 1], "VALID")
    with pytest.raises(ValueError, match="strides"):
        OPS[op](X4, [1, 2, 2, 1], [1, 1, 1, 2], "VALID")   # TF ignores this; cypool refuses
    with pytest.raises(ValueError, match="ksize"):
        OPS[op](X4CF, [1, 2, 2, 2], 1, "VALID", "NCHW")
    with pytest.raises(ValueError, match="strides"):
        OPS[op](X4CF, 2, [1, 3, 1, 1], "VALID", "NCHW")


@pytest.mark.parametrize("op", OP_NAMES)
def test_non_integer_ksize_is_rejected(op):
    with pytest.raises((TypeError, ValueError), match="ksize"):
        OPS[op](X4, 2.5, 1, "VALID")
    with pytest.raises((TypeError, ValueError), match="ksize"):
        OPS[op](X4, "2", 1, "VALID")
    with pytest.raises((TypeError, ValueError), match="strides"):
        OPS[op](X4, 2, [1.5, 1], "VALID")


@pytest.mark.parametrize("op", OP_NAMES)
def test_repeated_calls_are_validated_every_time(op):
    """Calls of plain Python arguments find their geometry in a table after the first
    time; a value equal to a valid one but of another type (True for 1, 2.0 for 2) or
    a bad value right after a good call must still raise, and a good call after a
    bad one still give the result."""
    good = OPS[op](X4, 1, 1, "VALID")
    for _ in range(2):
        with pytest.raises(TypeError, match="ksize"):
            OPS[op](X4, True, 1, "VALID")
        with pytest.raises(TypeError, match="strides"):
            OPS[op](X4, 1, 1.0, "VALID")
        with pytest.raises(ValueError, match="padding"):
            OPS[op](X4, 1, 1, "valid")
        with pytest.raises(ValueError, match="ksize"):
            OPS[op](X4, 0, 1, "VALID")
        again = OPS[op](X4, 1, 1, "VALID")
        for a, b in zip(*(r if isinstance(r, tuple) else (r,) for r in (good, again))):
            np.testing.assert_array_equal(a, b)
    for k, s, pad, size in ((2, 2, "VALID", 3), (2, 2, "SAME", 3), (3, 2, "VALID", 2)):
        out = OPS[op](X4, k, s, pad)
        assert (out[0] if isinstance(out, tuple) else out).shape[1:3] == (size, size)


@pytest.mark.parametrize("label,value", [
    ("zero", [1, 0]), ("negative", [-1, 1]), ("wrong-length", [1, 1, 1]), ("empty", []),
])
def test_bad_dilations(label, value):
    with pytest.raises(ValueError, match="dilations"):
        cypool.max_pool(X4, 2, 1, "VALID", dilations=value)
    with pytest.raises(ValueError, match="dilations"):
        cypool.avg_pool(X4, 2, 1, "VALID", dilations=value)
    with pytest.raises(ValueError, match="dilations"):
        cypool.pool(X4, [2, 2], "MAX", dilations=value)
    with pytest.raises(ValueError, match="dilations"):
        cypool.max_pool_with_argmax(X4, 2, 1, "VALID", dilations=value)


# ------------------------------------------------------------------ pool() arguments

@pytest.mark.parametrize("label,value", [("zero", [2, 0]), ("negative", [-2, 2])])
def test_pool_bad_window_shape(label, value):
    with pytest.raises(ValueError, match="window_shape"):
        cypool.pool(X4, value, "MAX")


@pytest.mark.parametrize("label,value", [
    ("zero", [1, 0]), ("negative", [-1, 1]), ("too-long", [1, 1, 1]),
])
def test_pool_bad_strides(label, value):
    with pytest.raises(ValueError, match="strides"):
        cypool.pool(X4, [2, 2], "MAX", strides=value)


@pytest.mark.parametrize("value", ["max", "avg", "Max", "MIN", "", "SUM", None, 1])
def test_pool_bad_pooling_type(value):
    with pytest.raises((ValueError, TypeError), match="pooling_type"):
        cypool.pool(X4, [2, 2], value)


def test_pool_rank_not_n_plus_2():
    with pytest.raises(ValueError, match="input|window_shape"):
        cypool.pool(X4, [2], "MAX")          # rank 4 input, N=1 window
    with pytest.raises(ValueError, match="input|window_shape"):
        cypool.pool(X3, [2, 2], "AVG")       # rank 3 input, N=2 window
    with pytest.raises(ValueError, match="input|window_shape"):
        cypool.pool(X4, [2, 2, 2], "MAX")
    with pytest.raises(ValueError, match="input|window_shape"):
        cypool.pool(X4, [1, 2, 2, 1], "MAX")   # full form is not accepted by pool()
    with pytest.raises(ValueError, match="input|window_shape"):
        cypool.pool(np.zeros((1, 2, 2, 2, 2, 1), np.float32), [1, 1, 1, 1], "MAX")  # rank 6


# ------------------------------------------------------------------ padding

@pytest.mark.parametrize("op", OP_NAMES)
@pytest.mark.parametrize("value", ["same", "valid", "Same", "FULL", "", "EXPLICIT", 0, None])
def test_unknown_padding(op, value):
    with pytest.raises((ValueError, TypeError), match="padding"):
        OPS[op](X4, 2, 1, value)


BAD_EXPLICIT = [
    ("not-pairs", [[0, 0], [1], [1, 1], [0, 0]]),
    ("triples", [[0, 0], [1, 1, 1], [1, 1], [0, 0]]),
    ("flat", [0, 0, 1, 1, 1, 1, 0, 0]),
    ("negative", [[0, 0], [-1, 0], [0, 0], [0, 0]]),
    ("equal-ksize", [[0, 0], [2, 0], [0, 0], [0, 0]]),
    ("above-ksize", [[0, 0], [0, 0], [0, 3], [0, 0]]),
    ("nonzero-batch", [[1, 0], [0, 0], [0, 0], [0, 0]]),
    ("nonzero-channel", [[0, 0], [0, 0], [0, 0], [0, 1]]),
    ("too-short", [[0, 0], [1, 1], [0, 0]]),
    ("too-long", [[0, 0], [1, 1], [1, 1], [0, 0], [0, 0]]),
    ("spatial-only", [[1, 1], [1, 1]]),
    ("non-integer", [[0, 0], [0.5, 0], [0, 0], [0, 0]]),
]


@pytest.mark.parametrize("op", OP_NAMES)
@pytest.mark.parametrize("label,value", BAD_EXPLICIT, ids=[b[0] for b in BAD_EXPLICIT])
def test_malformed_explicit_padding(op, label, value):
    with pytest.raises((ValueError, TypeError), match="padding"):
        OPS[op](X4, 2, 1, value)


def test_explicit_padding_channels_first_order():
    """NCHW: the channel pair is second, so a non-zero second pair is an error."""
    with pytest.raises(ValueError, match="padding"):
        cypool.max_pool(X4CF, 2, 1, [[0, 0], [1, 1], [0, 0], [0, 0]], "NCHW")
    ok = cypool.max_pool(X4CF, 2, 1, [[0, 0], [0, 0], [1, 1], [0, 0]], "NCHW")
    assert ok.shape == (2, 3, 7, 5)


def test_explicit_padding_bound_uses_ksize_not_effective_window():
    """With dilations the limit is still `< ksize` of that dim (SPEC)."""
    with pytest.raises(ValueError, match="padding"):
        cypool.max_pool(X4, 2, 1, [[0, 0], [2, 0], [0, 0], [0, 0]], dilations=[3, 1])


# ------------------------------------------------------------------ data_format and rank

@pytest.mark.parametrize("x,fmt", [
    (X4, "NHCW"), (X4, "NWC"), (X4, "NDHWC"), (X4, "HWCN"), (X4, ""),
    (X3, "NHWC"), (X3, "NCHW"), (X5, "NHWC"), (X5, "NCW"), (X4, "NCDHW"),
])
def test_bad_data_format(x, fmt):
    for fn in (cypool.max_pool, cypool.avg_pool):
        with pytest.raises(ValueError, match="data_format"):
            fn(x, 2, 1, "VALID", data_format=fmt)
    with pytest.raises(ValueError, match="data_format"):
        cypool.max_pool_with_argmax(x, 2, 1, "VALID", data_format=fmt)
    with pytest.raises(ValueError, match="data_format"):
        cypool.pool(x, [1] * (x.ndim - 2), "MAX", data_format=fmt)


def test_data_format_wrong_type():
    with pytest.raises((TypeError, ValueError), match="data_format"):
        cypool.max_pool(X4, 2, 1, "VALID", data_format=4)


def test_rank_specific_op_rejects_format_of_other_rank():
    """A consistent (input, data_format) pair of the wrong rank for the op: either
    argument may be named."""
    with pytest.raises(ValueError, match="input|data_format"):
        cypool.max_pool2d(X3, 2, 1, "VALID", "NWC")
    with pytest.raises(ValueError, match="input|data_format"):
        cypool.avg_pool1d(X4, 2, 1, "VALID", "NHWC")
    with pytest.raises(ValueError, match="input|data_format"):
        cypool.max_pool3d(X4, 2, 1, "VALID", "NHWC")
    # format of the op's rank that does not fit the input: data_format or input
    with pytest.raises(ValueError, match="input|data_format"):
        cypool.max_pool2d(X3, 2, 1, "VALID", "NHWC")
    # format of another rank with an input of the op's rank: the format is wrong
    with pytest.raises(ValueError, match="data_format"):
        cypool.max_pool2d(X4, 2, 1, "VALID", "NWC")
    with pytest.raises(ValueError, match="data_format"):
        cypool.avg_pool3d(X5, 2, 1, "VALID", "NCHW")


@pytest.mark.parametrize("shape", [(), (4,), (2, 4), (1, 2, 2, 2, 2, 1), (1,) * 7])
def test_rank_outside_3_to_5(shape):
    x = np.zeros(shape, dtype=np.float32)
    for fn in (cypool.max_pool, cypool.avg_pool):
        with pytest.raises(ValueError, match="input"):
            fn(x, 1, 1, "VALID")
    with pytest.raises(ValueError, match="input|data_format"):
        cypool.max_pool_with_argmax(x, 1, 1, "VALID")


@pytest.mark.parametrize("n,x", [(1, X4), (2, X3), (2, X5), (3, X4), (1, X5), (3, X3)])
def test_rank_specific_ops_reject_other_ranks(n, x):
    """max_pool2d & co. with their default format and an input of another rank."""
    for kind in ("max", "avg"):
        op = getattr(cypool, f"{kind}_pool{n}d")
        with pytest.raises(ValueError, match="input|data_format"):
            op(x, 1, 1, "VALID")


def test_argmax_default_format_needs_rank_4():
    with pytest.raises(ValueError, match="input|data_format"):
        cypool.max_pool_with_argmax(X3, 2, 1, "VALID")
    with pytest.raises(ValueError, match="input|data_format"):
        cypool.max_pool_with_argmax(X5, 2, 1, "VALID")


# ------------------------------------------------------------------ output size

@pytest.mark.parametrize("op", OP_NAMES)
def test_valid_negative_output_size(op):
    x = np.zeros((1, 1, 6, 1), dtype=np.float32)
    # n=1, k=5, s=1, VALID: k - n = 4 >= 2*s -> error
    with pytest.raises(ValueError, match=r"negative|output size"):
        OPS[op](x, [5, 1], 1, "VALID")
    # n=3, k=4, s=1: k - n = 1 < 2*s -> empty output, no error
    y = np.zeros((1, 3, 6, 1), dtype=np.float32)
    res = OPS[op](y, [4, 1], 1, "VALID")
    res = res[0] if isinstance(res, tuple) else res
    assert res.shape == (1, 0, 6, 1)
    # n=1, k=4, s=2: 3 < 4 -> empty; n=1, k=5, s=2: 4 >= 4 -> error
    res = OPS[op](x, [4, 1], [2, 1], "VALID")
    res = res[0] if isinstance(res, tuple) else res
    assert res.shape == (1, 0, 6, 1)
    with pytest.raises(ValueError, match=r"negative|output size"):
        OPS[op](x, [5, 1], [2, 1], "VALID")


def test_negative_output_size_through_dilation():
    x = np.zeros((1, 3, 1), dtype=np.float32)
    # k=3, d=3: k_eff=7, 7-3=4 >= 2 -> error
    with pytest.raises(ValueError, match=r"negative|output size"):
        cypool.pool(x, [3], "MAX", dilations=[3])
    with pytest.raises(ValueError, match=r"negative|output size"):
        cypool.max_pool1d(x, 3, 1, "VALID", dilations=[3])


# ------------------------------------------------------------------ argmax-specific

@pytest.mark.parametrize("value", [np.int16, np.float32, np.uint32, np.uint64, "int8", np.int8])
def test_bad_output_dtype(value):
    with pytest.raises((TypeError, ValueError), match="output_dtype"):
        cypool.max_pool_with_argmax(X4, 2, 2, "VALID", output_dtype=value)


def test_output_dtype_accepts_int32_int64_spellings():
    for od in (np.int32, np.int64, np.dtype("int32"), np.dtype("int64")):
        _, arg = cypool.max_pool_with_argmax(X4, 2, 2, "VALID", output_dtype=od)
        assert arg.dtype == np.dtype(od)


# ------------------------------------------------------------------ input types

@pytest.mark.parametrize("value", [None, "abc", object(), {"a": 1}])
def test_bad_input_type(value):
    # rank 0 as well as a bad type: either check may fire first, but it names the input
    with pytest.raises((TypeError, ValueError), match="input"):
        cypool.max_pool(value, 1, 1, "VALID")


def test_bad_input_dtype_names_input():
    x = np.full((1, 2, 2, 1), None, dtype=object)
    with pytest.raises(TypeError, match="input"):
        cypool.max_pool(x, 1, 1, "VALID")
    with pytest.raises(TypeError, match="input"):
        cypool.avg_pool(np.ones((1, 2, 2, 1), np.int32), 1, 1, "VALID")


def test_ragged_list_input():
    with pytest.raises((TypeError, ValueError), match="input"):
        cypool.max_pool([[[1.0], [2.0]], [[1.0]]], 1, 1, "VALID")


# ------------------------------------------------------------------ out= buffers

def _good_out(x=X4):
    return np.empty((x.shape[0], 3, 3, x.shape[3]), dtype=x.dtype)


BAD_OUT = {
    "wrong-shape": lambda: np.empty((2, 3, 4, 3), dtype=np.float32),
    "wrong-rank": lambda: np.empty((2, 9, 3), dtype=np.float32),
    "wrong-dtype": lambda: np.empty((2, 3, 3, 3), dtype=np.float64),
    "non-contiguous": lambda: np.empty((2, 3, 6, 3), dtype=np.float32)[:, :, ::2, :],
    "fortran": lambda: np.asfortranarray(np.empty((2, 3, 3, 3), dtype=np.float32)),
    "read-only": lambda: _readonly(np.empty((2, 3, 3, 3), dtype=np.float32)),
    "list": lambda: [[0.0]],
}


def _readonly(a):
    a.flags.writeable = False
    return a


@pytest.mark.parametrize("label", sorted(BAD_OUT))
def test_bad_out_buffer(label):
    for fn in (cypool.max_pool, cypool.avg_pool, cypool.max_pool2d):
        buf = BAD_OUT[label]()
        with pytest.raises((ValueError, TypeError), match="out"):
            fn(X4, 2, 2, "VALID", out=buf)
    with pytest.raises((ValueError, TypeError), match="out"):
        cypool.pool(X4, [2, 2], "MAX", [2, 2], out=BAD_OUT[label]())
    good_arg = np.empty((2, 3, 3, 3), dtype=np.int64)
    with pytest.raises((ValueError, TypeError), match="out"):
        cypool.max_pool_with_argmax(X4, 2, 2, "VALID", out=(BAD_OUT[label](), good_arg))
    good_out = _good_out()
    bad_arg = BAD_OUT[label]()  # float arrays: every entry is also a wrong argmax dtype
    with pytest.raises((ValueError, TypeError), match="out"):
        cypool.max_pool_with_argmax(X4, 2, 2, "VALID", out=(good_out, bad_arg))


def test_bad_argmax_out_dtype_vs_output_dtype():
    out = _good_out()
    with pytest.raises((ValueError, TypeError), match="out"):
        cypool.max_pool_with_argmax(X4, 2, 2, "VALID", output_dtype=np.int64,
                                    out=(out, np.empty((2, 3, 3, 3), dtype=np.int32)))
    with pytest.raises((ValueError, TypeError), match="out"):
        cypool.max_pool_with_argmax(X4, 2, 2, "VALID", output_dtype=np.int32,
                                    out=(out, np.empty((2, 3, 3, 3), dtype=np.int64)))


@pytest.mark.parametrize("value", [
    "single-array", "one-tuple", "three-tuple",
])
def test_argmax_out_must_be_pair(value):
    out = _good_out()
    arg = np.empty((2, 3, 3, 3), dtype=np.int64)
    bad = {"single-array": out, "one-tuple": (out,), "three-tuple": (out, arg, arg)}[value]
    with pytest.raises((ValueError, TypeError), match="out"):
        cypool.max_pool_with_argmax(X4, 2, 2, "VALID", out=bad)


def test_out_buffer_is_not_modified_on_error():
    buf = np.full((2, 3, 3, 3), 7.0, dtype=np.float32)
    with pytest.raises(ValueError, match="ksize"):
        cypool.max_pool(X4, 0, 2, "VALID", out=buf)
    assert (buf == 7.0).all()


def test_out_aliasing_input_is_rejected_or_correct():
    """An out= that overlaps the input must not give garbage: refuse it or compute right."""
    x = np.random.default_rng(0).standard_normal((1, 4, 4, 1)).astype(np.float32)
    expected = cypool.max_pool(x.copy(), 1, 1, "VALID")
    try:
        got = cypool.max_pool(x, 1, 1, "VALID", out=x)
    except ValueError as exc:
        assert "out" in str(exc)
    else:
        np.testing.assert_array_equal(got, expected)


# ------------------------------------------------------------------ thread keyword

@pytest.mark.parametrize("value", [0, -1])
def test_bad_num_threads_value(value):
    with pytest.raises(ValueError, match="num_threads"):
        cypool.max_pool(X4, 2, 2, "VALID", num_threads=value)


@pytest.mark.parametrize("value", [1.5, "2", True])
def test_bad_num_threads_type(value):
    with pytest.raises(TypeError, match="num_threads"):
        cypool.max_pool(X4, 2, 2, "VALID", num_threads=value)


def test_set_num_threads_rejects_bad_values():
    before = cypool.get_num_threads()
    with pytest.raises(ValueError):
        cypool.set_num_threads(0)
    with pytest.raises(TypeError):
        cypool.set_num_threads(1.5)
    assert cypool.get_num_threads() == before
