"""Argument normalisation and window geometry, shared by every pooling op.

This is the one place where tf.nn's argument forms (ksize/strides as an int or a
sequence of length 1, N or N+2; SAME/VALID/explicit padding; data formats) are
checked and turned into plain per-axis numbers.  Kernels receive the result and
assume it is valid.

Every spatial axis is described by two int64 arrays over its outputs:
``first[o]``, the first in-bounds input index of output ``o``'s window, and
``count[o]``, how many in-bounds taps it has; taps are ``first[o] + d*t`` for
``t < count[o]`` with the axis' dilation ``d``.  Adaptive and fractional pooling
build the same arrays from their own bins.
"""

import functools
import numbers
import operator
from dataclasses import dataclass

import numpy as np

CHANNELS_LAST = {1: "NWC", 2: "NHWC", 3: "NDHWC"}
CHANNELS_FIRST = {1: "NCW", 2: "NCHW", 3: "NCDHW"}
_FORMAT_RANK = {fmt: n for n, fmt in CHANNELS_LAST.items()}
_FORMAT_RANK.update({fmt: n for n, fmt in CHANNELS_FIRST.items()})

# Dtypes every max-type op takes, and the subset average-type ops take.
MAX_DTYPES = tuple(np.dtype(t) for t in (
    np.float16, np.float32, np.float64, np.int8, np.uint8, np.int16,
    np.uint16, np.int32, np.uint32, np.int64, np.uint64))
AVG_DTYPES = tuple(np.dtype(t) for t in (np.float16, np.float32, np.float64))
INDEX_DTYPES = (np.dtype(np.int32), np.dtype(np.int64))


@functools.lru_cache(maxsize=None)
def _bfloat16():
    try:  # optional dependency
        import ml_dtypes
    except ImportError:
        return None
    return np.dtype(ml_dtypes.bfloat16)


def _dtype_names(dtypes):
    return ", ".join(d.name for d in dtypes)


def as_input_array(value, name, kind):
    """Return ``value`` as an ndarray of a dtype ``kind`` ('max' or 'avg') accepts."""
    try:
        arr = np.asarray(value)
    except Exception as exc:  # e.g. ragged lists
        raise TypeError(f"{name} must be array-like, got {type(value).__name__}: {exc}") from None
    allowed = MAX_DTYPES if kind == "max" else AVG_DTYPES
    bf16 = _bfloat16()
    if arr.dtype in allowed or (bf16 is not None and arr.dtype == bf16):
        return arr
    extra = ", bfloat16" if bf16 is not None else ""
    op = "max pooling" if kind == "max" else "average pooling"
    raise TypeError(f"{name} has dtype {arr.dtype}, which {op} does not support; "
                    f"expected one of {_dtype_names(allowed)}{extra}")


def compute_dtype(dtype):
    """The dtype kernels compute in: half-precision floats are widened to float32."""
    bf16 = _bfloat16()
    # (bf16 may be None, and NumPy's dtype == None is dtype == float64)
    if dtype.kind == "f" and dtype.itemsize == 2 or (bf16 is not None and dtype == bf16):
        return np.dtype(np.float32)
    return dtype


def _index(value, name, must):
    """``value`` as an int (bools refused); else a TypeError: ``name`` must ``must``."""
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must {must}, got {value!r}")
    try:
        return operator.index(value)
    except TypeError:
        raise TypeError(f"{name} must {must}, got {value!r} "
                        f"({type(value).__name__})") from None


def check_bool(value, name):
    """``value`` as a bool; a TypeError naming ``name`` for anything but a bool."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be a bool, got {value!r}")
    return bool(value)


def check_int(value, name, minimum, expected):
    """``value`` as an int >= ``minimum``; else a TypeError or ValueError naming
    ``name`` and saying what was ``expected``."""
    value = _index(value, name, f"be {expected}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return value


def _as_int(value, name):
    return _index(value, name, "contain integers")


def _as_int_list(value, name):
    if isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_)):
        return [int(value)]
    if hasattr(value, "numpy") and not isinstance(value, np.ndarray):  # tf.Tensor
        value = value.numpy()
    if isinstance(value, np.ndarray):
        value = value.tolist()
        if not isinstance(value, list):
            value = [value]
    if isinstance(value, (str, bytes)):
        raise TypeError(f"{name} must be an int or a sequence of ints, got {value!r}")
    try:
        items = list(value)
    except TypeError:
        raise TypeError(f"{name} must be an int or a sequence of ints, got "
                        f"{type(value).__name__}") from None
    return [_as_int(v, name) for v in items]


def parse_data_format(data_format, n_spatial, name="data_format"):
    """Return True for channels-first, False for channels-last."""
    if data_format is None:
        return False
    if isinstance(data_format, bytes):
        data_format = data_format.decode()
    if not isinstance(data_format, str):
        raise TypeError(f"{name} must be a string, got {type(data_format).__name__}")
    if data_format not in _FORMAT_RANK:
        raise ValueError(f"{name} must be one of {', '.join(sorted(_FORMAT_RANK))}, "
                         f"got {data_format!r}")
    if _FORMAT_RANK[data_format] != n_spatial:
        raise ValueError(f"{name} {data_format!r} does not fit an input of rank "
                         f"{n_spatial + 2}; expected {CHANNELS_LAST[n_spatial]!r} or "
                         f"{CHANNELS_FIRST[n_spatial]!r}")
    return data_format == CHANNELS_FIRST[n_spatial]


def spatial_sizes(value, n_spatial, channels_first, name, allow_full=True, default=None):
    """Normalise a tf.nn ksize/strides/dilations argument to N spatial ints >= 1.

    Accepts an int or a sequence of length 1, N, or (``allow_full``) N+2 whose batch and
    channel entries must be 1.
    """
    if value is None:
        if default is None:
            raise TypeError(f"{name} is required, got None")
        return (default,) * n_spatial
    items = _as_int_list(value, name)
    full = n_spatial + 2
    if len(items) == 1:
        items = items * n_spatial
    elif len(items) == full and allow_full and full != n_spatial:
        batch = items[0]
        chan = items[1] if channels_first else items[-1]
        spatial = items[2:] if channels_first else items[1:-1]
        if batch != 1:
            raise ValueError(f"{name} must be 1 in the batch dimension (pooling over the "
                             f"batch is not supported), got {name}={items}")
        if chan != 1:
            raise ValueError(f"{name} must be 1 in the channel dimension (depthwise pooling "
                             f"is not supported), got {name}={items}")
        items = spatial
    elif len(items) != n_spatial:
        lengths = f"1 or {n_spatial}" + (f" or {full}" if allow_full else "")
        raise ValueError(f"{name} must be an int or a sequence of length {lengths} for "
                         f"{n_spatial}-D pooling, got length {len(items)}: {items}")
    for v in items:
        if v < 1:
            raise ValueError(f"{name} entries must be >= 1, got {name}={list(items)}")
    return tuple(items)


def parse_padding(padding, n_spatial, channels_first, ksize):
    """Return 'SAME', 'VALID', or a tuple of N spatial (before, after) pairs."""
    if isinstance(padding, bytes):
        padding = padding.decode()
    if isinstance(padding, str):
        if padding in ("SAME", "VALID"):
            return padding
        raise ValueError(f"padding must be 'SAME', 'VALID' or a list of [before, after] "
                         f"pairs, got {padding!r}")
    if hasattr(padding, "numpy") and not isinstance(padding, np.ndarray):
        padding = padding.numpy()
    if isinstance(padding, np.ndarray):
        padding = padding.tolist()
    full = n_spatial + 2
    try:
        pairs = [list(p) for p in padding]
    except TypeError:
        raise TypeError(f"padding must be 'SAME', 'VALID' or a list of {full} "
                        f"[before, after] pairs, got {padding!r}") from None
    if len(pairs) != full or any(len(p) != 2 for p in pairs):
        raise ValueError(f"explicit padding must be a list of {full} [before, after] pairs "
                         f"(one per dimension of the input), got {padding!r}")
    pairs = [(_as_int(a, "padding"), _as_int(b, "padding")) for a, b in pairs]
    chan = 1 if channels_first else full - 1
    if pairs[0] != (0, 0) or pairs[chan] != (0, 0):
        raise ValueError(f"explicit padding must be [0, 0] for the batch and channel "
                         f"dimensions, got padding={pairs}")
    spatial = pairs[2:] if channels_first else pairs[1:-1]
    for (before, after), k in zip(spatial, ksize):
        if before < 0 or after < 0:
            raise ValueError(f"explicit padding must be >= 0, got padding={pairs}")
        if before >= k or after >= k:
            raise ValueError(f"explicit padding must be smaller than the window size "
                             f"ksize={list(ksize)} in each dimension, got padding={pairs}")
    return tuple(spatial)


def output_size_and_pad(n, k, s, d, padding):
    """tf's GetWindowedOutputSize for one axis: (out, pad_before)."""
    k_eff = (k - 1) * d + 1
    if padding == "SAME":
        out = -(-n // s)
        total = max((out - 1) * s + k_eff - n, 0)
        return out, total // 2
    before, after = (0, 0) if padding == "VALID" else padding
    numer = n + before + after - k_eff + s
    if numer >= 0:
        return numer // s, before
    if -numer < s:  # C truncation of a small negative quotient gives 0
        return 0, before
    raise ValueError(f"computed output size would be negative: input size {n}, "
                     f"padding ({before}, {after}), effective window {k_eff} "
                     f"(ksize {k}, dilation {d}), stride {s}")


def window_bounds(n, out, k, s, d, pad_before):
    """Per-output first in-bounds tap and in-bounds tap count along one axis."""
    start = np.arange(out, dtype=np.int64) * s - pad_before
    # first tap index z_lo >= 0 with start + d*z_lo >= 0; last z_hi <= k-1 with start + d*z_hi <= n-1
    z_lo = np.maximum(-(start // d), 0)  # ceil(-start/d) for start < 0
    z_hi = np.minimum(np.floor_divide(n - 1 - start, d), k - 1)
    count = np.maximum(z_hi - z_lo + 1, 0)
    first = start + d * z_lo
    return first, count


@dataclass(frozen=True, eq=False)
class PoolGeometry:
    """Everything a kernel needs about a pooling call, in canonical 5-D form.

    The input is viewed as ``(planes, D, H, W, C)``: channels-last inputs keep their
    batch as planes and their channels as C; channels-first inputs become
    ``(batch*channels, D, H, W, 1)``, a free reshape of a C-ordered array.
    Missing spatial axes (1-D, 2-D) are size-1 axes with a single one-tap window.
    """
    n_spatial: int
    channels_first: bool
    input_shape: tuple
    output_shape: tuple
    canonical_input: tuple
    canonical_output: tuple
    first: tuple     # 3 int64 arrays (d, h, w)
    count: tuple     # 3 int64 arrays
    divisor: tuple   # 3 int64 arrays: an average divides by their product
    dilation: tuple  # 3 ints
    channels: int    # true channel count (for channels-first argmax indices)
    w_span: tuple    # (lo, hi, stride): W outputs with full, evenly spaced windows

    @property
    def empty(self):
        return 0 in self.canonical_output

    @functools.cached_property
    def cover(self):
        """Per axis (d, h, w): the outputs whose windows tap each input index, as CSR
        ``(offsets, outputs)``, outputs ascending (gradient gathers)."""
        result = []
        for axis in range(3):
            n = self.canonical_input[axis + 1]
            first, count = self.first[axis], self.count[axis]
            outputs = np.repeat(np.arange(len(count), dtype=np.int64), count)
            taps = np.arange(outputs.size, dtype=np.int64) - np.repeat(
                np.cumsum(count) - count, count)
            inputs = first[outputs] + taps * self.dilation[axis]
            order = np.lexsort((outputs, inputs))
            offsets = np.zeros(n + 1, dtype=np.int64)
            np.cumsum(np.bincount(inputs, minlength=n), out=offsets[1:])
            result.append((offsets, np.ascontiguousarray(outputs[order])))
        return tuple(result)

    @functools.cached_property
    def work(self):
        """Element visits of a kernel call, to decide whether threads pay off."""
        taps = 1
        for count in self.count:
            taps *= max(int(count.max(initial=0)), 1)
        return int(np.prod(self.canonical_output)) * taps + int(np.prod(self.canonical_input))


def interior_span(first, count, divisor):
    """(lo, hi, stride) of the outputs whose windows are all full and evenly spaced.

    Kernels run those outputs tap-major and branch-free (vectorised); the rest
    (borders, irregular bins) go through the per-cell path.  Returns (0, 0, 0)
    when there is no such run.
    """
    if count.size == 0 or count.max() == 0:
        return (0, 0, 0)
    full = np.flatnonzero(count == count.max())
    lo, hi = int(full[0]), int(full[-1]) + 1
    if hi - lo != full.size:
        return (0, 0, 0)
    steps = np.diff(first[lo:hi])
    if steps.size and (steps != steps[0]).any():
        return (0, 0, 0)
    if (divisor[lo:hi] != divisor[lo]).any():
        return (0, 0, 0)
    return (lo, hi, int(steps[0]) if steps.size else 1)


def geometry_from_windows(input_shape, n_spatial, channels_first, firsts, counts,
                          dilations, divisors=None):
    """A PoolGeometry from per-spatial-axis window arrays (first, count).

    Ops with their own bins (adaptive, fractional, global pooling) build their
    windows and call this; ``divisors`` default to the in-bounds counts.
    """
    input_shape = tuple(int(v) for v in input_shape)
    batch = input_shape[0]
    if channels_first:
        channels, spatial = input_shape[1], input_shape[2:]
    else:
        channels, spatial = input_shape[-1], input_shape[1:-1]
    firsts = [np.array(f, dtype=np.int64) for f in firsts]  # own copies: frozen below
    counts = [np.array(c, dtype=np.int64) for c in counts]
    divisors = counts if divisors is None else [np.array(d, dtype=np.int64) for d in divisors]
    out_spatial = tuple(len(f) for f in firsts)
    lead = 3 - n_spatial
    zero, one = np.zeros(1, dtype=np.int64), np.ones(1, dtype=np.int64)
    firsts = tuple([zero] * lead + firsts)
    counts = tuple([one] * lead + counts)
    divisors = tuple([one] * lead + list(divisors))
    for arr in firsts + counts + divisors:  # shared through the cache: never written
        arr.flags.writeable = False
    dils = (1,) * lead + tuple(int(d) for d in dilations)
    in3 = (1,) * lead + tuple(spatial)
    out3 = (1,) * lead + out_spatial
    if channels_first:
        output_shape = (batch, channels) + out_spatial
        canon_in = (batch * channels,) + in3 + (1,)
        canon_out = (batch * channels,) + out3 + (1,)
    else:
        output_shape = (batch,) + out_spatial + (channels,)
        canon_in = (batch,) + in3 + (channels,)
        canon_out = (batch,) + out3 + (channels,)
    return PoolGeometry(n_spatial, channels_first, input_shape, output_shape, canon_in,
                        canon_out, firsts, counts, divisors, dils, channels,
                        interior_span(firsts[2], counts[2], divisors[2]))


def ceil_mode_output_size(n, k, s, d, before, after):
    """PyTorch's ceil_mode rule: round up, but the last window must start inside the
    input or the left padding."""
    k_eff = (k - 1) * d + 1
    out = (n + before + after - k_eff + s - 1) // s + 1  # floor division, as PyTorch
    if out > 0 and (out - 1) * s >= n + before:
        out -= 1
    if out < 0:
        raise ValueError(f"computed output size would be negative: input size {n}, "
                         f"padding ({before}, {after}), effective window {k_eff}, "
                         f"stride {s}, ceil_mode=True")
    return out


@functools.lru_cache(maxsize=512)  # repeated calls (pipelines, training) skip this work
def make_geometry(input_shape, n_spatial, channels_first, ksize, strides, padding,
                  dilations, ceil_mode=False, count_include_pad=False,
                  divisor_override=None):
    spatial = (input_shape[2:] if channels_first else input_shape[1:-1])
    firsts, counts, divisors = [], [], []
    for axis, n in enumerate(spatial):
        k, s, d = ksize[axis], strides[axis], dilations[axis]
        pad = padding if isinstance(padding, str) else padding[axis]
        out, pad_before = output_size_and_pad(n, k, s, d, pad)
        if pad == "SAME":
            pad_after = max((out - 1) * s + (k - 1) * d + 1 - n, 0) - pad_before
        else:
            pad_after = 0 if pad == "VALID" else pad[1]
            if ceil_mode:  # SAME already rounds up
                out = ceil_mode_output_size(n, k, s, d, pad_before, pad_after)
        first, count = window_bounds(n, out, k, s, d, pad_before)
        divisor = count
        if count_include_pad:  # PyTorch: padded cells count, cells past the padding not
            start = np.arange(out, dtype=np.int64) * s - pad_before
            end = np.minimum(start + (k - 1) * d + 1, n + pad_after)
            divisor = -(-(end - start) // d)
        firsts.append(first)
        counts.append(count)
        divisors.append(divisor)
    if divisor_override is not None:  # one divisor for every window
        divisors = [np.full(len(c), divisor_override if axis == 0 else 1, dtype=np.int64)
                    for axis, c in enumerate(counts)]
    return geometry_from_windows(input_shape, n_spatial, channels_first, firsts, counts,
                                 dilations, divisors)


def check_rank(shape, allowed, name="input"):
    if len(shape) not in allowed:
        want = " or ".join(str(r) for r in allowed)
        raise ValueError(f"{name} must have rank {want} (batch, spatial dims, channels), "
                         f"got rank {len(shape)} with shape {tuple(shape)}")


_PLAIN_TYPES = frozenset((int, bool, str, type(None)))
_PARSED = {}  # call -> PoolGeometry; valid calls only (errors raise every time)
_PARSED_MAX = 512


def parse_pool_args(shape, *args, **kwargs):
    """Validate a pooling call on an input of ``shape`` and return its PoolGeometry
    (see _parse_pool_args for the arguments).

    Calls whose arguments are all ints, bools, strings or None (``max_pool(x, 2, 2,
    'VALID')``) are looked up first, keyed with each argument's type (1 and True
    stay apart): repeated calls (pipelines, training loops) skip normalising them, a
    quarter of a small input's call.  Others (sequences, NumPy scalars, tensors) are
    parsed every time.
    """
    values = args + tuple(kwargs.values())
    types = tuple(map(type, values))
    if not _PLAIN_TYPES.issuperset(types):
        return _parse_pool_args(shape, *args, **kwargs)
    key = (shape, tuple(kwargs), values, types)
    geom = _PARSED.get(key)
    if geom is None:
        geom = _parse_pool_args(shape, *args, **kwargs)
        if len(_PARSED) >= _PARSED_MAX:
            _PARSED.clear()
        _PARSED[key] = geom
    return geom


def _parse_pool_args(shape, ksize, strides, padding, data_format, dilations, n_spatial=None,
                     full_length=True, strides_default=None, name="input", ksize_name="ksize",
                     ceil_mode=False,
                     count_include_pad=False, divisor_override=None):
    """Validate a pooling call on an input of ``shape`` and return its PoolGeometry.

    ``n_spatial`` fixes the rank (max_pool2d etc.); otherwise it follows the input rank.
    """
    if n_spatial is None:
        check_rank(shape, (3, 4, 5), name)
        n_spatial = len(shape) - 2
    else:
        check_rank(shape, (n_spatial + 2,), name)
    channels_first = parse_data_format(data_format, n_spatial)
    ksize = spatial_sizes(ksize, n_spatial, channels_first, ksize_name, full_length)
    strides = spatial_sizes(strides, n_spatial, channels_first, "strides", full_length,
                            default=strides_default)
    dilations = spatial_sizes(dilations, n_spatial, channels_first, "dilations",
                              full_length, default=1)
    padding = parse_padding(padding, n_spatial, channels_first, ksize)
    ceil_mode = check_bool(ceil_mode, "ceil_mode")
    count_include_pad = check_bool(count_include_pad, "count_include_pad")
    if divisor_override is not None:
        divisor_override = _as_int(divisor_override, "divisor_override")
        if divisor_override < 1:
            raise ValueError(f"divisor_override must be >= 1, got {divisor_override}")
    return make_geometry(tuple(int(v) for v in shape), n_spatial, channels_first, ksize,
                         strides, padding, dilations, bool(ceil_mode),
                         bool(count_include_pad), divisor_override)


def parse_index_dtype(output_dtype):
    if hasattr(output_dtype, "as_numpy_dtype"):  # tf.DType
        output_dtype = output_dtype.as_numpy_dtype
    try:
        dtype = np.dtype(output_dtype)
    except TypeError:
        dtype = None
    if dtype not in INDEX_DTYPES:
        raise TypeError(f"output_dtype must be int32 or int64, got {output_dtype!r}")
    return dtype


def check_shape(value, shape, name, expected_from):
    """``value`` (an ndarray) must have ``shape``, the shape ``expected_from`` implies."""
    if value.shape != tuple(shape):
        raise ValueError(f"{name} must have shape {tuple(shape)} ({expected_from}), "
                         f"got {value.shape}")


def parse_shape(value, name):
    """A rank 3..5 shape given as a sequence of non-negative ints (or a 1-D tensor)."""
    dims = _as_int_list(value, name)
    check_rank(dims, (3, 4, 5), name)
    if any(v < 0 for v in dims):
        raise ValueError(f"{name} entries must be >= 0, got {dims}")
    return tuple(dims)


def check_out(out, shape, dtype, name="out"):
    """Validate a caller's output buffer: exact shape and dtype, C-contiguous, writeable."""
    if not isinstance(out, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray, got {type(out).__name__}")
    if out.dtype != dtype:
        raise TypeError(f"{name} must have dtype {dtype}, got {out.dtype}")
    if out.shape != tuple(shape):
        raise ValueError(f"{name} must have shape {tuple(shape)}, got {out.shape}")
    if not out.flags.c_contiguous:
        raise ValueError(f"{name} must be C-contiguous")
    if not out.flags.writeable:
        raise ValueError(f"{name} must be writeable")
    return out
