"""Extra pooling ops on cypool's kernels: global, adaptive, spatial pyramid,
unpooling, fractional, depthwise (channel) and power-average (LP) pooling, with
their gradients.

No op here has a loop of its own.  Each one describes its windows per spatial axis
(``first[o]``, ``count[o]``: the taps of output ``o`` are ``first[o] + t``) and
runs the core back ends over them: ``run_pool`` / ``run_argmax`` forward,
``run_max_pool_grad`` / ``run_avg_pool_grad`` / ``run_scatter_add`` backward.  So
every op takes the dtypes, layouts, NaN policy (a NaN wins a max; ties go to the
first maximum in row-major window order), ``out=`` buffers and ``num_threads=`` of
the core ops.  What is done here in NumPy is elementwise only (powers, the
divisions PyTorch does after summing, gathers).
"""
import functools
import math
import numbers

import numpy as np

from cypool._buffers import OutputBuffer, split_pair_out
from cypool._geometry import (
    _as_int, _as_int_list, as_input_array, check_bool, check_out, check_rank, check_shape,
    compute_dtype, geometry_from_windows, parse_data_format, parse_index_dtype,
    parse_pool_args, parse_shape, spatial_sizes,
)
from cypool._threads import _check_threads
from cypool.gradients import (
    as_index_array, index_rows, run_avg_pool_grad, run_gather, run_max_pool_grad,
    run_scatter_add,
)
from cypool.pooling import run_argmax, run_pool

__all__ = [
    "global_max_pool", "global_avg_pool", "global_max_pool_grad", "global_avg_pool_grad",
    "adaptive_max_pool", "adaptive_avg_pool", "adaptive_max_pool_grad",
    "adaptive_avg_pool_grad",
    "spatial_pyramid_pool", "spatial_pyramid_pool_grad",
    "max_unpool", "max_unpool_grad",
    "fractional_max_pool", "fractional_avg_pool", "fractional_max_pool_grad",
    "fractional_avg_pool_grad",
    "depthwise_max_pool", "depthwise_max_pool_grad",
    "lp_pool", "lp_pool_grad",
]


# --------------------------------------------------------------------------- helpers

def _input(value, name, kind, data_format, ranks=(3, 4, 5)):
    """(array, n_spatial, channels_first) of a validated pooling input."""
    x = as_input_array(value, name, kind)
    check_rank(x.shape, ranks, name)
    n_spatial = x.ndim - 2
    return x, n_spatial, parse_data_format(data_format, n_spatial)


def _spatial(shape, channels_first):
    return tuple(shape[2:]) if channels_first else tuple(shape[1:-1])


def _channels(shape, channels_first):
    return shape[1] if channels_first else shape[-1]


def _pooling_kind(pooling_type):
    if pooling_type not in ("MAX", "AVG"):
        raise ValueError(f"pooling_type must be 'MAX' or 'AVG', got {pooling_type!r}")
    return "max" if pooling_type == "MAX" else "avg"


def _grad_array(grad, dtype, shape, kind, name="grad", expected_from="the pooled output's shape"):
    """``grad`` as an array of ``dtype`` (None: any dtype ``kind`` takes) and ``shape``."""
    arr = as_input_array(grad, name, kind)
    if dtype is not None and arr.dtype != dtype:
        if not isinstance(grad, np.ndarray) and np.can_cast(arr.dtype, dtype, "same_kind"):
            arr = arr.astype(dtype)  # a list or tensor of Python numbers
        else:
            raise TypeError(f"{name} must have the input's dtype {dtype}, got {arr.dtype}")
    if shape is not None:
        check_shape(arr, shape, name, expected_from)
    return arr


def _check_out(out, shape, dtype, inputs=(), name="out"):
    """A caller's buffer for results computed elsewhere and copied in."""
    if out is None:
        return None
    check_out(out, shape, np.dtype(dtype), name)
    for arr in inputs:
        if isinstance(arr, np.ndarray) and np.shares_memory(out, arr):
            raise ValueError(f"{name} must not share memory with the inputs")
    return out


def _deliver(result, out, dtype):
    """``result`` (possibly in a wider compute dtype) as ``dtype``, in ``out`` if given."""
    if out is None:
        return result if result.dtype == dtype else result.astype(dtype)
    if result is not out:
        np.copyto(out, result, casting="unsafe")
    return out


def _windows_geometry(shape, n_spatial, channels_first, firsts, counts, unit_divisors=False):
    divisors = [np.ones(len(c), dtype=np.int64) for c in counts] if unit_divisors else None
    return geometry_from_windows(shape, n_spatial, channels_first, firsts, counts,
                                 (1,) * n_spatial, divisors)


def _divide_by_counts(s, counts, channels_first):
    """``s /= count`` one spatial axis after the other (d, then h, then w), in place:
    PyTorch's ``sum / kd / kh / kw``."""
    first_axis = 2 if channels_first else 1
    for axis, count in enumerate(counts):
        shape = [1] * s.ndim
        shape[first_axis + axis] = -1
        np.divide(s, count.astype(s.dtype).reshape(shape), out=s)
    return s


def _sequential_avg(x, geom, counts, channels_first, out, num_threads):
    """Window sums (the kernel with unit divisors), then PyTorch's per-axis divisions.

    Half precision sums and divides in float32 and rounds once.
    """
    work = compute_dtype(x.dtype)
    if work == x.dtype:
        s = run_pool("avg", x, geom, out, num_threads)
        return _divide_by_counts(s, counts, channels_first)
    _check_out(out, geom.output_shape, x.dtype, (x,))
    s = run_pool("avg", x.astype(work), geom, None, num_threads)
    return _deliver(_divide_by_counts(s, counts, channels_first), out, x.dtype)


def _sequential_avg_grad(shape, grad, geom, counts, channels_first, out, num_threads):
    """Gradient of `_sequential_avg`: ``grad / kd / kh / kw`` spread over each window,
    outputs added in row-major order (PyTorch's loop order)."""
    work = compute_dtype(grad.dtype)
    scaled = _divide_by_counts(grad.astype(work, copy=True), counts, channels_first)
    if work == grad.dtype:
        return run_avg_pool_grad(shape, scaled, geom, out, num_threads)
    _check_out(out, shape, grad.dtype, (grad,))
    return _deliver(run_avg_pool_grad(shape, scaled, geom, None, num_threads), out,
                    grad.dtype)


# ------------------------------------------------------------------- global pooling

@functools.lru_cache(maxsize=256)
def _global_geometry(shape, n_spatial, channels_first):
    sizes = _spatial(shape, channels_first)
    return _windows_geometry(shape, n_spatial, channels_first, [[0]] * n_spatial,
                             [[n] for n in sizes])


def _global_shape(shape, n_spatial, channels_first, keepdims):
    batch, channels = shape[0], _channels(shape, channels_first)
    if not keepdims:
        return (batch, channels)
    if channels_first:
        return (batch, channels) + (1,) * n_spatial
    return (batch,) + (1,) * n_spatial + (channels,)


def _global_pool(kind, input, data_format, keepdims, out, num_threads):
    x, n, cf = _input(input, "input", kind, data_format)
    keepdims = check_bool(keepdims, "keepdims")
    geom = _global_geometry(x.shape, n, cf)
    shape = _global_shape(x.shape, n, cf, keepdims)
    if out is not None:
        check_out(out, shape, x.dtype)
        run_pool(kind, x, geom, out.reshape(geom.output_shape), num_threads)
        return out
    return run_pool(kind, x, geom, None, num_threads).reshape(shape)


def _global_grad(grad, dtype, shape, n, cf, geom, kind):
    arr = _grad_array(grad, dtype, None, kind)
    flat = _global_shape(shape, n, cf, False)
    kept = _global_shape(shape, n, cf, True)
    if arr.shape not in (flat, kept):
        raise ValueError(f"grad must have shape {flat} (or {kept} with keepdims), the "
                         f"pooled output's shape, got {arr.shape}")
    return arr.reshape(geom.output_shape)


_GLOBAL_DOC = """Global {title} pooling: the {what} over all spatial axes, as Keras'
``Global{keras}Pooling1D/2D/3D``.

Parameters
----------
input : array_like
    Rank 3, 4 or 5 (1-D, 2-D or 3-D).{dtypes}
data_format : str, optional
    'NWC'/'NCW', 'NHWC'/'NCHW', 'NDHWC'/'NCDHW' by rank; None is channels-last.
keepdims : bool
    False: shape ``(batch, channels)``. True: the spatial axes are kept with size 1.
out, num_threads : keyword-only
    As for `max_pool`.
{notes}
Examples
--------
>>> import numpy as np, cypool
>>> x = np.arange(12, dtype=np.float32).reshape(1, 2, 3, 2)   # NHWC
>>> cypool.global_{name}_pool(x)
{example}
"""


def global_max_pool(input, data_format=None, keepdims=False, *, out=None, num_threads=None):
    return _global_pool("max", input, data_format, keepdims, out, num_threads)


def global_avg_pool(input, data_format=None, keepdims=False, *, out=None, num_threads=None):
    return _global_pool("avg", input, data_format, keepdims, out, num_threads)


global_max_pool.__doc__ = _GLOBAL_DOC.format(
    title="max", what="maximum", keras="Max", name="max",
    dtypes=" Every dtype `max_pool` takes.", notes="",
    example="array([[10., 11.]], dtype=float32)")
global_avg_pool.__doc__ = _GLOBAL_DOC.format(
    title="average", what="mean", keras="Average", name="avg",
    dtypes=" float16/32/64 (bfloat16 with ml_dtypes).",
    notes="""
Notes
-----
The sum runs in the input dtype in row-major spatial order (float16 in float32)
and is divided once by the cell count, like `avg_pool` with one window covering
the input.  ``tf.reduce_mean`` (what Keras uses) sums in another order, so float32
results agree with Keras to rounding (a few ulp), not bit for bit.  An empty
spatial axis gives NaN (max: -inf), as ``tf.reduce_mean`` / ``tf.reduce_max``.
""",
    example="array([[5., 6.]], dtype=float32)")


def global_max_pool_grad(input, grad, data_format=None, *, out=None, num_threads=None):
    """Gradient of `global_max_pool` with respect to ``input``.

    ``grad`` has the pooled shape, ``(batch, channels)`` or the ``keepdims`` shape.
    Each ``grad[b, c]`` goes to the first maximum (row-major) of its plane.

    Examples
    --------
    >>> import numpy as np, cypool
    >>> x = np.array([[[1.], [3.], [3.]]])          # NWC
    >>> cypool.global_max_pool_grad(x, [[2.0]]).ravel()
    array([0., 2., 0.])
    """
    x, n, cf = _input(input, "input", "max", data_format)
    geom = _global_geometry(x.shape, n, cf)
    g = _global_grad(grad, x.dtype, x.shape, n, cf, geom, "max")
    return run_max_pool_grad(x, g, geom, out, num_threads)


def global_avg_pool_grad(input_shape, grad, data_format=None, *, out=None, num_threads=None):
    """Gradient of `global_avg_pool`: ``grad[b, c] * (1/cells)`` in every cell.

    ``input_shape`` is the input's full shape; ``grad`` has the pooled shape,
    ``(batch, channels)`` or the ``keepdims`` shape, and sets the result's dtype.

    Examples
    --------
    >>> import numpy as np, cypool
    >>> cypool.global_avg_pool_grad([1, 4, 1], np.array([[2.0]])).ravel()
    array([0.5, 0.5, 0.5, 0.5])
    """
    shape = parse_shape(input_shape, "input_shape")
    n = len(shape) - 2
    cf = parse_data_format(data_format, n)
    geom = _global_geometry(shape, n, cf)
    g = _global_grad(grad, None, shape, n, cf, geom, "avg")
    return run_avg_pool_grad(shape, g, geom, out, num_threads)


# ----------------------------------------------------------------- adaptive pooling

def _output_size(output_size, spatial, name="output_size"):
    """PyTorch's output_size: an int, or one entry per spatial axis (None keeps the
    input's size)."""
    n = len(spatial)
    if output_size is None:
        raise TypeError(f"{name} is required, got None")
    if hasattr(output_size, "numpy") and not isinstance(output_size, np.ndarray):
        output_size = output_size.numpy()
    if isinstance(output_size, np.ndarray):
        output_size = output_size.tolist()
    if isinstance(output_size, (numbers.Integral, np.integer)) or isinstance(output_size, bool):
        items = [output_size] * n
    elif isinstance(output_size, (str, bytes)):
        raise TypeError(f"{name} must be an int or a sequence of ints, got {output_size!r}")
    else:
        try:
            items = list(output_size)
        except TypeError:
            raise TypeError(f"{name} must be an int or a sequence of ints, got "
                            f"{type(output_size).__name__}") from None
        if len(items) == 1:
            items = items * n
        elif len(items) != n:
            raise ValueError(f"{name} must be an int or a sequence of {n} entries (one per "
                             f"spatial dimension), got {output_size!r}")
    sizes = []
    for value, size in zip(items, spatial):
        if value is None:
            sizes.append(size)
            continue
        value = _as_int(value, name)
        if value < 0:
            raise ValueError(f"{name} entries must be >= 0, got {output_size!r}")
        sizes.append(value)
    return tuple(sizes)


def _adaptive_bins(n, out):
    """PyTorch's bins: [floor(i*n/out), ceil((i+1)*n/out)) for i < out."""
    i = np.arange(out, dtype=np.int64)
    start = (i * n) // out
    end = ((i + 1) * n + out - 1) // out
    return start, end - start


@functools.lru_cache(maxsize=256)
def _adaptive_geometry(shape, n_spatial, channels_first, sizes, unit_divisors):
    spatial = _spatial(shape, channels_first)
    for axis, (n, out) in enumerate(zip(spatial, sizes)):
        if n == 0 and out > 0:
            raise ValueError(f"input has an empty spatial dimension (shape {shape}, spatial "
                             f"axis {axis}): adaptive pooling to a non-zero output_size "
                             f"needs at least one cell")
    bins = [_adaptive_bins(n, out) for n, out in zip(spatial, sizes)]
    firsts = [b[0] for b in bins]
    counts = [b[1] for b in bins]
    geom = _windows_geometry(shape, n_spatial, channels_first, firsts, counts, unit_divisors)
    return geom, tuple(geom.count[3 - n_spatial:])


def adaptive_max_pool(input, output_size, data_format=None, return_indices=False, *,
                      output_dtype=np.int64, include_batch_in_index=False, out=None,
                      num_threads=None):
    """Adaptive max pooling to a fixed output size, as PyTorch's
    ``adaptive_max_pool1d/2d/3d``.

    Output ``i`` along an axis of size ``n`` pools the bin
    ``[floor(i*n/out), ceil((i+1)*n/out))``.

    Parameters
    ----------
    input : array_like
        Rank 3, 4 or 5, any dtype `max_pool` takes.
    output_size : int or sequence
        One size for all spatial axes, or one per axis (None keeps that axis' size).
    data_format : str, optional
        Channels-last (default) or channels-first ('NCW', 'NCHW', 'NCDHW': PyTorch's).
    return_indices : bool
        Also return the argmax, as `max_pool_with_argmax` does: the flat index into
        ``input[b]`` in the input's own C order (``include_batch_in_index=True``:
        into ``input``), ``output_dtype`` int64 or int32.  PyTorch's per-plane index
        is ``index % prod(spatial)`` for channels-first input and ``index // C`` for
        channels-last.  Usable by `max_unpool`.
    out : ndarray or (values, indices) tuple, keyword-only
    num_threads : int, keyword-only

    Notes
    -----
    Ties go to the first maximum in row-major order, as in PyTorch; a NaN wins and
    the first NaN is reported (PyTorch reports the last).  An empty spatial axis with
    a non-zero ``output_size`` raises ValueError, as in PyTorch.

    Examples
    --------
    >>> import numpy as np, cypool
    >>> x = np.arange(10, dtype=np.float32).reshape(1, 10, 1)   # NWC
    >>> cypool.adaptive_max_pool(x, 3)[0, :, 0]
    array([3., 6., 9.], dtype=float32)
    """
    x, n, cf = _input(input, "input", "max", data_format)
    sizes = _output_size(output_size, _spatial(x.shape, cf))
    return_indices = check_bool(return_indices, "return_indices")
    geom, _ = _adaptive_geometry(x.shape, n, cf, sizes, False)
    if not return_indices:
        return run_pool("max", x, geom, out, num_threads)
    index_dtype = parse_index_dtype(output_dtype)
    include_batch_in_index = check_bool(include_batch_in_index, "include_batch_in_index")
    out_values, out_index = split_pair_out(out, "indices")
    return run_argmax(x, geom, index_dtype, include_batch_in_index, out_values, out_index,
                      num_threads)


def adaptive_avg_pool(input, output_size, data_format=None, *, out=None, num_threads=None):
    """Adaptive average pooling, as PyTorch's ``adaptive_avg_pool1d/2d/3d``.

    Bins as `adaptive_max_pool`.  Each bin is summed in row-major order in the
    input dtype (float16: float32) and divided by its size one axis after the other,
    ``sum / kd / kh / kw``, which is PyTorch's CPU arithmetic: float32/float64
    results equal PyTorch's bit for bit, except when every output size is 1, which
    PyTorch computes as ``input.mean()`` (another summation order: equal to
    rounding).  Unlike `avg_pool` (one division by the cell count, TF's rule).

    Examples
    --------
    >>> import numpy as np, cypool
    >>> x = np.arange(10, dtype=np.float32).reshape(1, 1, 10)   # NCW
    >>> cypool.adaptive_avg_pool(x, 3, data_format="NCW")[0, 0]
    array([1.5, 4.5, 7.5], dtype=float32)
    """
    x, n, cf = _input(input, "input", "avg", data_format)
    sizes = _output_size(output_size, _spatial(x.shape, cf))
    geom, counts = _adaptive_geometry(x.shape, n, cf, sizes, True)
    return _sequential_avg(x, geom, counts, cf, out, num_threads)


def adaptive_max_pool_grad(input, grad, output_size, data_format=None, *, out=None,
                           num_threads=None):
    """Gradient of `adaptive_max_pool`: each ``grad[o]`` is added to its bin's first
    maximum (PyTorch's autograd result for finite input)."""
    x, n, cf = _input(input, "input", "max", data_format)
    sizes = _output_size(output_size, _spatial(x.shape, cf))
    geom, _ = _adaptive_geometry(x.shape, n, cf, sizes, False)
    g = _grad_array(grad, x.dtype, geom.output_shape, "max")
    return run_max_pool_grad(x, g, geom, out, num_threads)


def adaptive_avg_pool_grad(input_shape, grad, output_size, data_format=None, *, out=None,
                           num_threads=None):
    """Gradient of `adaptive_avg_pool`; shape ``input_shape``, ``grad``'s dtype.

    Every cell of a bin gets ``grad[o] / kd / kh / kw`` added, outputs in row-major
    order: PyTorch's backward arithmetic (bit for bit for float32/float64).
    """
    shape = parse_shape(input_shape, "input_shape")
    n = len(shape) - 2
    cf = parse_data_format(data_format, n)
    sizes = _output_size(output_size, _spatial(shape, cf))
    geom, counts = _adaptive_geometry(shape, n, cf, sizes, True)
    g = _grad_array(grad, None, geom.output_shape, "avg")
    return _sequential_avg_grad(shape, g, geom, counts, cf, out, num_threads)


# ------------------------------------------------------------ spatial pyramid pooling

def _levels(levels):
    items = _as_int_list(levels, "levels")
    if not items:
        raise ValueError("levels must hold at least one level, got an empty sequence")
    if any(level < 1 for level in items):
        raise ValueError(f"levels must be >= 1, got {items}")
    return tuple(items)


def spatial_pyramid_pool(input, levels=(1, 2, 4), pooling_type="MAX", data_format=None, *,
                         out=None, num_threads=None):
    """Spatial pyramid pooling (He et al., 2014): a fixed-length vector per example
    from an input of any spatial size.

    For each level ``l`` the input is pooled adaptively (`adaptive_max_pool` /
    `adaptive_avg_pool`) to ``l`` bins per spatial axis, the result is flattened
    per example **in channels-last order** whatever ``data_format`` is, and the
    levels are concatenated in the order given.  In 2-D, level ``l`` contributes
    entries ``offset + (i*l + j)*C + c`` for bin row ``i``, bin column ``j`` and
    channel ``c``, where ``offset`` is ``C * sum(m*m)`` over the earlier levels
    ``m``; 1-D and 3-D alike (``(d*l + i)*l + j``).  So channels-first and
    channels-last inputs holding the same data give the same vector.

    Parameters
    ----------
    input : array_like
        Rank 3, 4 or 5; every spatial size >= 1 (smaller than ``l`` is fine: bins
        then overlap).
    levels : int or sequence of int >= 1
    pooling_type : {'MAX', 'AVG'}
    data_format : str, optional

    Returns
    -------
    ndarray of shape ``(batch, C * sum(l**N for l in levels))``, the input's dtype.

    Examples
    --------
    >>> import numpy as np, cypool
    >>> x = np.arange(16, dtype=np.float32).reshape(1, 4, 4, 1)
    >>> cypool.spatial_pyramid_pool(x, levels=(1, 2))
    array([[15.,  5.,  7., 13., 15.]], dtype=float32)
    """
    kind = _pooling_kind(pooling_type)
    x, n, cf = _input(input, "input", kind, data_format)
    levels = _levels(levels)
    batch, channels = x.shape[0], _channels(x.shape, cf)
    widths = [channels * level ** n for level in levels]
    out = _check_out(out, (batch, sum(widths)), x.dtype, (x,))
    parts = []
    for level, width in zip(levels, widths):
        sizes = (level,) * n
        if kind == "max":
            geom, _ = _adaptive_geometry(x.shape, n, cf, sizes, False)
            pooled = run_pool("max", x, geom, None, num_threads)
        else:
            geom, counts = _adaptive_geometry(x.shape, n, cf, sizes, True)
            pooled = _sequential_avg(x, geom, counts, cf, None, num_threads)
        if cf:
            pooled = np.moveaxis(pooled, 1, -1)
        parts.append(pooled.reshape(batch, width))
    result = out if out is not None else np.empty((batch, sum(widths)), dtype=x.dtype)
    return np.concatenate(parts, axis=1, out=result)


def spatial_pyramid_pool_grad(input, grad, levels=(1, 2, 4), pooling_type="MAX",
                              data_format=None, *, out=None, num_threads=None):
    """Gradient of `spatial_pyramid_pool` with respect to ``input``.

    The sum over levels (in level order) of each level's adaptive pooling gradient;
    ``grad`` has shape ``(batch, C * sum(l**N))``.  For 'AVG' only the input's shape
    and dtype are used.  float16 accumulates in float32 and rounds once.
    """
    kind = _pooling_kind(pooling_type)
    x, n, cf = _input(input, "input", kind, data_format)
    levels = _levels(levels)
    batch, channels = x.shape[0], _channels(x.shape, cf)
    widths = [channels * level ** n for level in levels]
    g = _grad_array(grad, x.dtype, (batch, sum(widths)), kind,
                    expected_from="batch, C * sum(l**N) for the levels")
    _check_out(out, x.shape, x.dtype, (x, g))
    work = compute_dtype(x.dtype)
    xw, gw = x.astype(work, copy=False), g.astype(work, copy=False)
    total, offset = None, 0
    for level, width in zip(levels, widths):
        part = gw[:, offset:offset + width].reshape((batch,) + (level,) * n + (channels,))
        offset += width
        if cf:
            part = np.moveaxis(part, -1, 1)
        part = np.ascontiguousarray(part)
        sizes = (level,) * n
        if kind == "max":
            geom, _ = _adaptive_geometry(x.shape, n, cf, sizes, False)
            dx = run_max_pool_grad(xw, part, geom, None, num_threads)
        else:
            geom, counts = _adaptive_geometry(x.shape, n, cf, sizes, True)
            dx = _sequential_avg_grad(x.shape, part, geom, counts, cf, None, num_threads)
        if total is None:
            total = dx
        else:
            total += dx
    return _deliver(total, out, x.dtype)


# ----------------------------------------------------------------------- unpooling

def max_unpool(values, argmax, output_shape, include_batch_in_index=False, data_format=None,
               *, out=None, num_threads=None):
    """Inverse of `max_pool_with_argmax`: scatter ``values`` to their argmax positions.

    Returns zeros of ``output_shape`` with ``result[b].flat[argmax[...]] +=
    values[...]`` (``result.flat[...]`` with ``include_batch_in_index``), so
    positions chosen by several outputs (overlapping windows) get the sum.  This is
    ``max_pool_grad_with_argmax`` with ``values`` as the gradient.

    Parameters
    ----------
    values : array_like
        The pooled values, rank 3, 4 or 5, any dtype `max_pool` takes.
    argmax : array_like of int32 or int64
        ``values``' shape: indices as `max_pool_with_argmax` (or
        `adaptive_max_pool` with ``return_indices``) returns them.  -1 entries are
        skipped; any other index outside the output raises ValueError.
    output_shape : sequence of int
        The unpooled (original input) shape; same rank, batch and channel count as
        ``values``.
    include_batch_in_index : bool
    data_format : str, optional
        Where the channel axis is (for the shape checks); the indices are flat.

    Examples
    --------
    >>> import numpy as np, cypool
    >>> x = np.array([[[[1.], [3.]], [[4.], [2.]]]], dtype=np.float32)
    >>> v, i = cypool.max_pool_with_argmax(x, 2, 2, "VALID")
    >>> cypool.max_unpool(v, i, x.shape)[0, :, :, 0]
    array([[0., 0.],
           [4., 0.]], dtype=float32)
    """
    v = as_input_array(values, "values", "max")
    check_rank(v.shape, (3, 4, 5), "values")
    index = as_index_array(argmax)
    check_shape(index, v.shape, "argmax", "the shape of values")
    shape = parse_shape(output_shape, "output_shape")
    if len(shape) != v.ndim:
        raise ValueError(f"output_shape must have the rank of values ({v.ndim}), got "
                         f"{shape}")
    cf = parse_data_format(data_format, v.ndim - 2)
    if shape[0] != v.shape[0] or _channels(shape, cf) != _channels(v.shape, cf):
        raise ValueError(f"output_shape {shape} must have the batch size and channel count "
                         f"of values {v.shape} (data_format {data_format!r})")
    include_batch_in_index = check_bool(include_batch_in_index, "include_batch_in_index")
    rows, row_step = index_rows(index, shape, include_batch_in_index, "argmax", "output",
                                num_threads)
    dx = OutputBuffer(out, shape, v.dtype, shape, (v, index), half_bits=True)
    if rows is None or dx.kernel.size == 0:
        dx.kernel[...] = 0
        return dx.finish()
    return run_scatter_add(v, rows, row_step, dx, num_threads)


def max_unpool_grad(grad, argmax, include_batch_in_index=False, *, out=None,
                    num_threads=None):
    """Gradient of `max_unpool` with respect to ``values``: a gather.

    ``result[...] = grad[b].flat[argmax[...]]`` (``grad.flat[...]`` with
    ``include_batch_in_index``), 0 where ``argmax`` is -1; shape of ``argmax``, dtype
    of ``grad``.

    Examples
    --------
    >>> import numpy as np, cypool
    >>> g = np.arange(4.0).reshape(1, 2, 2, 1)
    >>> cypool.max_unpool_grad(g, np.array([[[[2]]]])).ravel()
    array([2.])
    """
    g = as_input_array(grad, "grad", "max")
    check_rank(g.shape, (3, 4, 5), "grad")
    index = as_index_array(argmax)
    if index.ndim != g.ndim or (index.shape[0] != g.shape[0]):
        raise ValueError(f"argmax must have grad's rank and batch size (grad {g.shape}), "
                         f"got shape {index.shape}")
    include_batch_in_index = check_bool(include_batch_in_index, "include_batch_in_index")
    if num_threads is not None:
        _check_threads(num_threads, "num_threads")
    rows, row_step = index_rows(index, g.shape, include_batch_in_index, "argmax", "output",
                                num_threads)
    result = OutputBuffer(out, index.shape, g.dtype, index.shape, (g, index),
                          half_bits=True)
    if rows is None:
        return result.finish()
    if g.size == 0:  # every index is -1
        result.kernel[...] = 0
        return result.finish()
    return run_gather(g, rows, row_step, result, num_threads)


# --------------------------------------------------------------- fractional pooling

def _pooling_ratio(pooling_ratio, channels_first):
    """(r_h, r_w) from a number or a sequence of length 1, 2 or 4 (layout order)."""
    if hasattr(pooling_ratio, "numpy") and not isinstance(pooling_ratio, np.ndarray):
        pooling_ratio = pooling_ratio.numpy()
    if isinstance(pooling_ratio, np.ndarray):
        pooling_ratio = pooling_ratio.tolist()
    if isinstance(pooling_ratio, (bool, np.bool_, str, bytes)):
        raise TypeError(f"pooling_ratio must be a number or a sequence of numbers, got "
                        f"{pooling_ratio!r}")
    if isinstance(pooling_ratio, numbers.Real):
        items = [pooling_ratio]
    else:
        try:
            items = list(pooling_ratio)
        except TypeError:
            raise TypeError(f"pooling_ratio must be a number or a sequence of numbers, got "
                            f"{type(pooling_ratio).__name__}") from None
    for v in items:
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Real):
            raise TypeError(f"pooling_ratio must contain numbers, got {pooling_ratio!r}")
    items = [float(v) for v in items]
    if len(items) == 1:
        items = items * 2
    elif len(items) == 4:
        outer = (items[0], items[1]) if channels_first else (items[0], items[3])
        if outer != (1.0, 1.0):
            raise ValueError(f"pooling_ratio must be 1 in the batch and channel entries "
                             f"(fractional pooling is spatial), got {pooling_ratio!r}")
        items = items[2:] if channels_first else items[1:3]
    elif len(items) != 2:
        raise ValueError(f"pooling_ratio must be a number or a sequence of length 1, 2 or "
                         f"4, got length {len(items)}: {pooling_ratio!r}")
    for v in items:
        if not v >= 1.0 or math.isinf(v):
            raise ValueError(f"pooling_ratio entries must be finite and >= 1, got "
                             f"{pooling_ratio!r}")
    return tuple(items)


def _fractional_size(n, ratio, axis):
    if n < ratio:
        raise ValueError(f"pooling_ratio {ratio} is larger than the input's {axis} size {n}")
    return int(math.floor(n / ratio))


def _rng(seed):
    """TF's seed rule: 0 (or None) draws fresh entropy, any other int is a seed."""
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None:
        return np.random.default_rng()
    seed = _as_int(seed, "seed")
    return np.random.default_rng(None if seed == 0 else seed % (1 << 64))


def _generate_sequence(n, out, rng, pseudo_random):
    """TF's GeneratePoolingSequence rule, on NumPy's generator: ``out`` intervals of
    ``k = n // out`` or ``k + 1`` cells covering ``[0, n)``; returns the cumulative
    sequence (``out + 1`` entries from 0 to n)."""
    k = n // out
    if pseudo_random:
        alpha = n / out
        u_max1 = (k + 2) / alpha - 1
        u_max2 = (n + 1 - k) / alpha - (out - 1)
        u = rng.random() * min(u_max1, u_max2)
        cum = np.empty(out + 1, dtype=np.int64)
        cum[0], cum[out] = 1, n + 1
        for i in range(1, out):
            cum[i] = int(math.ceil(alpha * (i + u)))
        diff = np.diff(cum)
    else:
        diff = np.full(out, k, dtype=np.int64)
        diff[:n % out] += 1
        rng.shuffle(diff)
    return np.concatenate([[0], np.cumsum(diff)]).astype(np.int64)


def _given_sequence(seq, name, n, out):
    """A caller's pooling sequence: ``out + 1`` strictly increasing ints from >= 0,
    every window starting inside the input (the last entry may pass ``n``: windows
    are clipped)."""
    if hasattr(seq, "numpy") and not isinstance(seq, np.ndarray):
        seq = seq.numpy()
    if isinstance(seq, (str, bytes)):
        raise TypeError(f"{name} must be a sequence of ints, got {seq!r}")
    try:
        arr = np.asarray(seq)
    except Exception as exc:
        raise TypeError(f"{name} must be a sequence of ints: {exc}") from None
    if arr.dtype.kind not in "iu":
        raise TypeError(f"{name} must hold integers, got dtype {arr.dtype}")
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {arr.shape}")
    if arr.size != out + 1:
        raise ValueError(f"{name} must have {out + 1} entries (output size {out} + 1), "
                         f"got {arr.size}")
    arr = arr.astype(np.int64)
    if arr[0] < 0 or (np.diff(arr) <= 0).any() or arr[-2] >= n:
        raise ValueError(f"{name} must be strictly increasing from >= 0 with every window "
                         f"starting inside the input (entries before the last < {n}), got "
                         f"{arr.tolist()}")
    return arr


def _fractional_geometry(shape, channels_first, rows, cols, overlapping, unit_divisors=False):
    firsts, counts = [], []
    for seq, n in zip((rows, cols), _spatial(shape, channels_first)):
        start = seq[:-1]
        end = np.minimum(seq[1:] if overlapping else seq[1:] - 1, n - 1)
        firsts.append(start)
        counts.append(end - start + 1)
    geom = _windows_geometry(shape, 2, channels_first, firsts, counts, unit_divisors)
    return geom, (counts[0], counts[1])


def _fractional_pool(kind, value, pooling_ratio, pseudo_random, overlapping, seed, rows,
                     cols, data_format, out, num_threads):
    x, _, cf = _input(value, "value", kind, data_format, ranks=(4,))
    ratio_h, ratio_w = _pooling_ratio(pooling_ratio, cf)
    pseudo_random = check_bool(pseudo_random, "pseudo_random")
    overlapping = check_bool(overlapping, "overlapping")
    n_h, n_w = _spatial(x.shape, cf)
    out_h = _fractional_size(n_h, ratio_h, "height")
    out_w = _fractional_size(n_w, ratio_w, "width")
    rng = _rng(seed)
    if rows is None:
        rows = _generate_sequence(n_h, out_h, rng, pseudo_random)
    else:
        rows = _given_sequence(rows, "row_pooling_sequence", n_h, out_h)
    if cols is None:
        cols = _generate_sequence(n_w, out_w, rng, pseudo_random)
    else:
        cols = _given_sequence(cols, "col_pooling_sequence", n_w, out_w)
    geom, _ = _fractional_geometry(x.shape, cf, rows, cols, overlapping)
    return run_pool(kind, x, geom, out, num_threads), rows, cols


_FRACTIONAL_DOC = """Fractional {title} pooling (Graham, 2014), as ``tf.nn.fractional_{name}_pool``.

Parameters
----------
value : array_like
    Rank 4, NHWC (``data_format='NCHW'`` also works); {dtypes}
pooling_ratio : float or sequence of float
    Ratios >= 1 for rows and columns: a number, ``[r_h, r_w]`` or TF's
    ``[1, r_h, r_w, 1]``.  The output has ``floor(H / r_h)`` rows and
    ``floor(W / r_w)`` columns (the input must be at least as large as the ratio).
pseudo_random : bool
    Generate the sequences with the pseudo-random rule (``ceil(alpha*(i + u))``)
    instead of a random permutation of interval sizes.
overlapping : bool
    Windows are ``[seq[i], seq[i+1]]`` (clipped to the input) instead of
    ``[seq[i], seq[i+1])``, so neighbouring windows share a row/column.
seed : int or numpy.random.Generator
    As in TF, 0 (the default) means a fresh random seed each call; any other int
    seeds ``numpy.random.default_rng``.  A Generator is used as is.
row_pooling_sequence, col_pooling_sequence : sequence of int, optional
    Use these window boundaries instead of generating them (``out + 1`` strictly
    increasing entries, e.g. the sequences TF returned); then the result equals
    ``tf.raw_ops.Fractional{tf_name}Pool``'s for the same sequences, bit for bit.
name : ignored
data_format, out, num_threads : keyword-only

Returns
-------
output, row_pooling_sequence, col_pooling_sequence : ndarray
    The pooled array and the int64 sequences used (``out + 1`` entries from 0 to
    the input size when generated).

Notes
-----
TF draws its sequences from its own Philox generator, which cannot be reproduced
from NumPy: with the same seed cypool generates different (equally valid)
sequences.  Generated sequences follow TF's rule: ``out`` intervals of ``k`` or
``k+1`` cells (``k = n // out``) that cover the input, shuffled
(``pseudo_random=False``) or TF's pseudo-random construction.  To reproduce a TF
result, pass TF's sequences.{notes}

Examples
--------
>>> import numpy as np, cypool
>>> x = np.arange(25, dtype=np.float32).reshape(1, 5, 5, 1)
>>> y, rows, cols = cypool.fractional_{name}_pool(
...     x, [1, 2, 2, 1], row_pooling_sequence=[0, 2, 5], col_pooling_sequence=[0, 3, 5])
>>> y[0, :, :, 0]
{example}
"""


def fractional_max_pool(value, pooling_ratio, pseudo_random=False, overlapping=False, seed=0,
                        row_pooling_sequence=None, col_pooling_sequence=None, name=None, *,
                        data_format=None, out=None, num_threads=None):
    return _fractional_pool("max", value, pooling_ratio, pseudo_random, overlapping, seed,
                            row_pooling_sequence, col_pooling_sequence, data_format, out,
                            num_threads)


def fractional_avg_pool(value, pooling_ratio, pseudo_random=False, overlapping=False, seed=0,
                        row_pooling_sequence=None, col_pooling_sequence=None, name=None, *,
                        data_format=None, out=None, num_threads=None):
    return _fractional_pool("avg", value, pooling_ratio, pseudo_random, overlapping, seed,
                            row_pooling_sequence, col_pooling_sequence, data_format, out,
                            num_threads)


def fractional_max_pool_grad(orig_input, orig_output, out_backprop, row_pooling_sequence,
                             col_pooling_sequence, overlapping=False, name=None, *,
                             data_format=None, out=None, num_threads=None):
    """Gradient of `fractional_max_pool`, as ``tf.raw_ops.FractionalMaxPoolGrad``.

    Each ``out_backprop[o]`` is added to the first maximum (row-major) of its window;
    overlapping windows accumulate in output order, as TF does (bit-exact).
    ``orig_output`` is checked for shape only.
    """
    x, _, cf = _input(orig_input, "orig_input", "max", data_format, ranks=(4,))
    overlapping = check_bool(overlapping, "overlapping")
    geom = _fractional_grad_geometry(x.shape, cf, row_pooling_sequence, col_pooling_sequence,
                                     overlapping, False)[0]
    try:
        y_shape = np.shape(orig_output)
    except Exception as exc:
        raise TypeError(f"orig_output must be array-like: {exc}") from None
    if tuple(y_shape) != geom.output_shape:
        raise ValueError(f"orig_output must have shape {geom.output_shape} (from orig_input "
                         f"and the pooling sequences), got {tuple(y_shape)}")
    g = _grad_array(out_backprop, x.dtype, geom.output_shape, "max", "out_backprop",
                    "from orig_input and the pooling sequences")
    return run_max_pool_grad(x, g, geom, out, num_threads)


def _fractional_grad_geometry(shape, cf, rows, cols, overlapping, unit_divisors):
    if rows is None or cols is None:
        raise TypeError("row_pooling_sequence and col_pooling_sequence are required")
    n_h, n_w = _spatial(shape, cf)
    rows = _given_sequence(rows, "row_pooling_sequence", n_h,
                           _sequence_length(rows, "row_pooling_sequence") - 1)
    cols = _given_sequence(cols, "col_pooling_sequence", n_w,
                           _sequence_length(cols, "col_pooling_sequence") - 1)
    return _fractional_geometry(shape, cf, rows, cols, overlapping, unit_divisors)


def _sequence_length(seq, name):
    try:
        length = np.size(seq)
    except Exception:
        raise TypeError(f"{name} must be a sequence of ints, got {type(seq).__name__}") from None
    if length < 2:
        raise ValueError(f"{name} must have at least 2 entries, got {seq!r}")
    return int(length)


def fractional_avg_pool_grad(orig_input_tensor_shape, out_backprop, row_pooling_sequence,
                             col_pooling_sequence, overlapping=False, name=None, *,
                             data_format=None, out=None, num_threads=None):
    """Gradient of `fractional_avg_pool`, as ``tf.raw_ops.FractionalAvgPoolGrad``.

    Every cell of a window gets ``out_backprop[o] / cells`` added.  TF computes this
    in float64 (the division, then the sum in output order) and rounds once to the
    result dtype; cypool does the same (a float64 kernel run on the pre-divided
    gradient), so the result is bit-exact with TF for float32 and float64.
    """
    shape = parse_shape(orig_input_tensor_shape, "orig_input_tensor_shape")
    check_rank(shape, (4,), "orig_input_tensor_shape")
    cf = parse_data_format(data_format, 2)
    overlapping = check_bool(overlapping, "overlapping")
    geom, (count_h, count_w) = _fractional_grad_geometry(
        shape, cf, row_pooling_sequence, col_pooling_sequence, overlapping, True)
    g = _grad_array(out_backprop, None, geom.output_shape, "avg", "out_backprop",
                    "from orig_input_tensor_shape and the pooling sequences")
    cells = np.multiply.outer(count_h, count_w).astype(np.float64)
    cells = cells[None, None] if cf else cells[None, :, :, None]
    scaled = np.divide(g, cells, dtype=np.float64)
    if g.dtype == np.float64:
        return run_avg_pool_grad(shape, scaled, geom, out, num_threads)
    _check_out(out, shape, g.dtype, (g,))
    return _deliver(run_avg_pool_grad(shape, scaled, geom, None, num_threads), out, g.dtype)


fractional_max_pool.__doc__ = _FRACTIONAL_DOC.format(
    title="max", name="max", tf_name="Max",
    dtypes="every dtype `max_pool` takes (TF: float32/64, int32/64).", notes="",
    example="array([[ 7.,  9.],\n       [22., 24.]], dtype=float32)")
fractional_avg_pool.__doc__ = _FRACTIONAL_DOC.format(
    title="average", name="avg", tf_name="Avg",
    dtypes="float16/32/64 (TF also takes int32/int64 and divides in integers; cypool "
           "raises TypeError for integers, as `avg_pool`).",
    notes="\nThe window sum runs in row-major order in the input dtype and is divided "
          "once by\nthe cell count, as TF.",
    example="array([[ 3.5,  6. ],\n       [16. , 18.5]], dtype=float32)")


# ----------------------------------------------------------- depthwise max pooling

def _depthwise_k(k, channels):
    k = _as_int(k, "k")
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    if channels % k:
        raise ValueError(f"k must divide the channel count: k={k}, channels={channels} "
                         f"(TF's depthwise max pooling requires it)")
    return k


@functools.lru_cache(maxsize=256)
def _depthwise_geometry(shape, channels_first, k):
    """Pooling along C as 1-D pooling of a free reshape: channels-last
    ``(B*spatial, C, 1)``, channels-first ``(B, C, spatial)``, window k, stride k."""
    channels = _channels(shape, channels_first)
    spatial = int(np.prod(_spatial(shape, channels_first), dtype=np.int64))
    if channels_first:
        view = (shape[0], channels, spatial)
        out_shape = (shape[0], channels // k) + tuple(shape[2:])
    else:
        view = (int(np.prod(shape[:-1], dtype=np.int64)), channels, 1)
        out_shape = tuple(shape[:-1]) + (channels // k,)
    m = channels // k
    geom = _windows_geometry(view, 1, False, [np.arange(m, dtype=np.int64) * k],
                             [np.full(m, k, dtype=np.int64)])
    return geom, view, out_shape


def depthwise_max_pool(input, k, data_format=None, *, out=None, num_threads=None):
    """Max pooling across channels in groups of ``k``: TF's
    ``tf.nn.max_pool(input, ksize=[1, 1, 1, k], strides=[1, 1, 1, k], ...)``.

    ``output[..., j] = max(input[..., j*k:(j+1)*k])``; ``k`` must divide the channel
    count.  TF has this for rank 4 NHWC (SAME and VALID give the same result: no
    spatial pooling); cypool for ranks 3-5 and channels-first layouts too (pooling
    along axis 1), and every dtype `max_pool` takes.

    Examples
    --------
    >>> import numpy as np, cypool
    >>> x = np.array([[[[1, 5, 2, 0, 7, 3]]]], dtype=np.int32)   # (1, 1, 1, 6)
    >>> cypool.depthwise_max_pool(x, 2)
    array([[[[5, 2, 7]]]], dtype=int32)
    """
    x, _, cf = _input(input, "input", "max", data_format)
    k = _depthwise_k(k, _channels(x.shape, cf))
    geom, view, out_shape = _depthwise_geometry(x.shape, cf, k)
    if out is not None:
        check_out(out, out_shape, x.dtype)
        run_pool("max", x.reshape(view), geom, out.reshape(geom.output_shape), num_threads)
        return out
    return run_pool("max", x.reshape(view), geom, None, num_threads).reshape(out_shape)


def depthwise_max_pool_grad(input, grad, k, data_format=None, *, out=None, num_threads=None):
    """Gradient of `depthwise_max_pool` (TF has none): each ``grad[..., j]`` goes to the
    first maximum of channels ``j*k .. j*k + k - 1``."""
    x, _, cf = _input(input, "input", "max", data_format)
    k = _depthwise_k(k, _channels(x.shape, cf))
    geom, view, out_shape = _depthwise_geometry(x.shape, cf, k)
    g = _grad_array(grad, x.dtype, out_shape, "max")
    if out is not None:
        check_out(out, x.shape, x.dtype)
        run_max_pool_grad(x.reshape(view), g.reshape(geom.output_shape), geom,
                          out.reshape(view), num_threads)
        return out
    return run_max_pool_grad(x.reshape(view), g.reshape(geom.output_shape), geom, None,
                             num_threads).reshape(x.shape)


def depthwise_pool_window(input_shape, ksize, strides, padding, data_format=None):
    """For `max_pool`'s argument check: ``k`` when ``ksize``/``strides`` (N+2 form) ask
    for TF's depthwise max pooling (channel entry ``k > 1``), else None.

    Raises ValueError for the combinations TF refuses (spatial and channel pooling
    together, channel stride != k, k not dividing C) and for spatial strides != 1,
    which TF silently ignores in this mode.  ``padding`` must be 'SAME', 'VALID' or
    all-zero explicit pairs (both mean no padding here).
    """
    shape = tuple(int(v) for v in input_shape)
    check_rank(shape, (3, 4, 5))
    n = len(shape) - 2
    cf = parse_data_format(data_format, n)
    items = _as_int_list(ksize, "ksize")
    if len(items) != n + 2:
        return None
    chan = 1 if cf else n + 1
    k = items[chan]
    if k == 1:
        return None
    spatial = items[2:] if cf else items[1:-1]
    if items[0] != 1:
        raise ValueError(f"ksize must be 1 in the batch dimension, got ksize={items}")
    if any(v != 1 for v in spatial):
        raise ValueError(f"ksize pools over channels and spatial dimensions at once "
                         f"(ksize={items}); depthwise max pooling needs every spatial "
                         f"entry 1")
    stride_items = _as_int_list(strides, "strides")
    if len(stride_items) != n + 2 or stride_items[chan] != k:
        raise ValueError(f"depthwise max pooling requires the channel stride to equal the "
                         f"channel window k={k}, got strides={stride_items}")
    if stride_items[0] != 1 or any(v != 1 for i, v in enumerate(stride_items)
                                   if i not in (0, chan)):
        raise ValueError(f"depthwise max pooling takes spatial strides of 1 (TF ignores "
                         f"them), got strides={stride_items}")
    if isinstance(padding, bytes):
        padding = padding.decode()
    if isinstance(padding, str):
        no_padding = padding in ("SAME", "VALID")
    else:
        try:
            no_padding = all(tuple(p) == (0, 0) for p in np.asarray(padding).tolist())
        except (TypeError, ValueError):
            no_padding = False
    if not no_padding:
        raise ValueError(f"depthwise max pooling takes padding 'SAME', 'VALID' or zero "
                         f"explicit padding, got {padding!r}")
    return _depthwise_k(k, shape[chan])


# ------------------------------------------------------------------- LP pooling

def _norm_type(norm_type):
    if isinstance(norm_type, (bool, np.bool_)) or not isinstance(norm_type, numbers.Real):
        raise TypeError(f"norm_type must be a real number, got {norm_type!r}")
    p = float(norm_type)
    if p == 0 or math.isnan(p):
        raise ValueError(f"norm_type must be non-zero and not NaN, got {norm_type!r}")
    return p


def _lp_setup(input, norm_type, ksize, strides, padding, data_format, ceil_mode):
    x, n, cf = _input(input, "input", "avg", data_format)
    p = _norm_type(norm_type)
    if strides is None:
        strides = ksize
    geom = parse_pool_args(x.shape, ksize, strides, padding, data_format, None, n,
                           ceil_mode=ceil_mode)
    numel = int(np.prod(spatial_sizes(ksize, n, cf, "ksize")))
    return x, p, geom, numel


def _lp_sum(xw, p, geom, numel, num_threads):
    """PyTorch's ``avg_pool(x**p) * kernel_numel`` in the compute dtype."""
    a = run_pool("avg", xw ** p, geom, None, num_threads)
    return a * a.dtype.type(numel)


def lp_pool(input, norm_type, ksize, strides=None, padding="VALID", data_format=None, *,
            ceil_mode=False, out=None, num_threads=None):
    """Power-average pooling, as PyTorch's ``lp_pool1d/2d/3d`` (``LPPool1d/2d/3d``).

    ``y = (avg_pool(x**p) * prod(ksize)) ** (1/p)``: for a window inside the input
    that is ``(sum x**p) ** (1/p)``.  ``p = inf`` is the max of ``|x|``, ``p = -inf``
    the min of ``|x|``.  PyTorch's arithmetic is followed (average, then times the
    window size), so results agree with it to rounding.

    Parameters
    ----------
    input : array_like
        Rank 3, 4 or 5, float16/32/64.  Channels-first formats are PyTorch's layout.
    norm_type : float
        ``p``, non-zero.  As in PyTorch, a negative window sum (odd ``p``, negative
        inputs) gives NaN unless ``1/p`` is an integer.
    ksize, strides : as for `avg_pool`; ``strides=None`` means ``ksize`` (PyTorch).
    padding : 'VALID' (PyTorch's), 'SAME' or explicit pairs
        With padding, a border window's average covers its in-bounds cells and is
        still multiplied by the full window size (PyTorch's ``ceil_mode`` border
        rule, which ``ceil_mode=True`` reproduces).
    ceil_mode : bool, keyword-only
    out, num_threads : keyword-only

    Examples
    --------
    >>> import numpy as np, cypool
    >>> x = np.array([[[3.], [4.], [1.], [1.]]])          # NWC
    >>> cypool.lp_pool(x, 2, 2, 2, "VALID")[0, :, 0]
    array([5.        , 1.41421356])
    """
    x, p, geom, numel = _lp_setup(input, norm_type, ksize, strides, padding, data_format,
                                  ceil_mode)
    out = _check_out(out, geom.output_shape, x.dtype, (x,))
    xw = x.astype(compute_dtype(x.dtype), copy=False)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        if p == math.inf:
            y = run_pool("max", np.abs(xw), geom, None, num_threads)
        elif p == -math.inf:
            y = -run_pool("max", -np.abs(xw), geom, None, num_threads)
        else:
            y = _lp_sum(xw, p, geom, numel, num_threads) ** (1.0 / p)
    return _deliver(y, out, x.dtype)


def lp_pool_grad(input, grad, norm_type, ksize, strides=None, padding="VALID",
                 data_format=None, *, ceil_mode=False, out=None, num_threads=None):
    """Gradient of `lp_pool` with respect to ``input`` (PyTorch's autograd rule).

    ``dx = x**(p-1) * avg_pool_grad(grad * numel * y / s)`` with ``s`` the window's
    ``avg * numel`` and ``y = s**(1/p)``; windows whose ``s`` is 0 pass no gradient
    (PyTorch's rule).  ``p = +-inf``: the gradient of the max (min) of ``|x|``,
    times ``sign(x)``.
    """
    x, p, geom, numel = _lp_setup(input, norm_type, ksize, strides, padding, data_format,
                                  ceil_mode)
    g = _grad_array(grad, x.dtype, geom.output_shape, "avg")
    _check_out(out, x.shape, x.dtype, (x, g))
    work = compute_dtype(x.dtype)
    xw, gw = x.astype(work, copy=False), g.astype(work, copy=False)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        if p == math.inf:
            dx = run_max_pool_grad(np.abs(xw), gw, geom, None, num_threads) * np.sign(xw)
        elif p == -math.inf:
            dx = run_max_pool_grad(-np.abs(xw), gw, geom, None, num_threads) * np.sign(xw)
        else:
            s = _lp_sum(xw, p, geom, numel, num_threads)
            y = s ** (1.0 / p)
            scale = np.where(s != 0, gw * work.type(numel) * (y / s), work.type(0))
            spread = run_avg_pool_grad(x.shape, scale.astype(work, copy=False), geom, None,
                                       num_threads)
            dx = spread * xw ** (p - 1.0)
    return _deliver(dx.astype(work, copy=False), out, x.dtype)
