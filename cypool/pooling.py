"""Forward pooling with tf.nn's API: max, average, generic ``pool`` and argmax.

Every public function is a thin wrapper: validate and normalise the arguments
(cypool._geometry), allocate the output, call a kernel (cypool._pool_forward).
"""
import math

import numpy as np

from cypool import _kernels
from cypool._buffers import (
    OutputBuffer, canonical_input, half_bits, new_array, split_pair_out, streams,
)
from cypool._geometry import (
    as_input_array, check_bool, check_rank, parse_index_dtype, parse_pool_args, spatial_sizes,
    _as_int_list,
)
from cypool._threads import effective_threads

__all__ = [
    "max_pool", "avg_pool", "max_pool1d", "max_pool2d", "max_pool3d", "avg_pool1d",
    "avg_pool2d", "avg_pool3d", "pool", "max_pool_with_argmax",
]


def _forward_call(x, half, values, geom, num_threads):
    """(kernel, its input, its trailing arguments: threads and scratch): for float16 in
    and out (``half``, and ``values`` took them) pool_forward_half, which widens the
    input rows each thread pools into a float32 row buffer of its own, and the input's
    bits; else pool_forward and the canonical input."""
    threads = effective_threads(num_threads, geom.work)
    if values.half_bits:
        x_bits, rows = half
        buffers = new_array((threads, rows * math.prod(x_bits.shape[3:])), np.float32)
        return _kernels.forward.pool_forward_half, x_bits, (threads, buffers)
    return (_kernels.forward.pool_forward,
            canonical_input(x, geom.canonical_input, num_threads), (threads,))


def run_pool(kind, x, geom, out=None, num_threads=None):
    """Max ('max') or average ('avg') pooling of a validated input over ``geom``'s windows.

    The shared back end of every forward op, including those with their own bins
    (cypool.extras): allocate the output, run the kernel.
    """
    mode = _kernels.forward.MAX if kind == "max" else _kernels.forward.AVG
    half = half_bits(x, geom, mode)
    buf = OutputBuffer(out, geom.output_shape, x.dtype, geom.canonical_output, (x,),
                       half_bits=half is not None)
    if not geom.empty:
        kernel, x_kernel, tail = _forward_call(x, half, buf, geom, num_threads)
        kernel(mode, x_kernel, buf.kernel, None, None, geom.first, geom.count, geom.divisor,
               geom.dilation, geom.w_span, 1, streams(x, buf.kernel), *tail)
    return buf.finish(num_threads)


def _depthwise_k(x, ksize, strides, padding, data_format):
    """TF's depthwise max pooling (ksize and strides [1, 1, 1, k]): k, else None."""
    if isinstance(ksize, (int, np.integer)) or not hasattr(ksize, "__len__"):
        return None
    if len(ksize) != x.ndim or not 3 <= x.ndim <= 5:
        return None
    from cypool.extras import depthwise_pool_window  # extras builds on this module
    return depthwise_pool_window(x.shape, ksize, strides, padding, data_format)


def _pool(kind, input, ksize, strides, padding, data_format, dilations, out,
          num_threads, n_spatial=None, **torch_options):
    x = as_input_array(input, "input", kind)
    if kind == "max" and dilations is None and not any(torch_options.values()):
        k = _depthwise_k(x, ksize, strides, padding, data_format)
        if k is not None:
            from cypool.extras import depthwise_max_pool
            return depthwise_max_pool(x, k, data_format, out=out, num_threads=num_threads)
    geom = parse_pool_args(x.shape, ksize, strides, padding, data_format, dilations, n_spatial,
                           **torch_options)
    return run_pool(kind, x, geom, out, num_threads)


_POOL_DOC = """{title}

Same arguments and result as ``tf.nn.{tf_name}``, for NumPy arrays.

Parameters
----------
input : array_like
    {rank_doc}, laid out as ``data_format`` says.
ksize, strides : int or sequence of int
    Window size and stride: an int, or a sequence of length 1, N (spatial dims)
    or N+2 (with 1 for the batch and channel entries, in ``data_format`` order).
padding : {{'SAME', 'VALID'}} or list of pairs
    TF's padding rule, or explicit ``[before, after]`` pairs for every dimension
    (zero for batch and channels), each smaller than the window.
data_format : str, optional
    {formats}. Channels-first layouts are computed natively.
name : ignored
    Accepted for compatibility with tf.nn.
dilations : int or sequence of int, keyword-only
    Window dilation (cells ``start + d*z``); any stride and padding.
ceil_mode : bool, keyword-only
    PyTorch's rule for VALID/explicit padding: round the output size up, as long as
    the last window starts inside the input or the left padding.{avg_keywords}
out : ndarray, keyword-only
    C-contiguous buffer of the output's shape and dtype to write into.
num_threads : int, keyword-only
    Threads for this call (default: ``cypool.get_num_threads()``).

Returns
-------
ndarray
    The pooled array, of the input's dtype.
{notes}
Examples
--------
>>> import numpy as np, cypool
>>> x = np.arange(16, dtype=np.float32).reshape(1, 4, 4, 1)
>>> cypool.{name}(x, 2, 2, "VALID")[0, :, :, 0]
{example}
"""

_AVG_KEYWORDS = """
count_include_pad : bool, keyword-only
    PyTorch's option: padding cells count in the divisor (cells past the padding
    never do). Default False, TF's rule.
divisor_override : int, keyword-only
    PyTorch's option: divide every window's sum by this instead."""

_AVG_NOTES = """
Notes
-----
Only in-bounds cells are averaged (padding is never counted). float32/float64 sum
in the input dtype in window row-major order, as TF does; float16 sums in float32.
"""


def max_pool(input, ksize, strides, padding, data_format=None, name=None, *,
             dilations=None, ceil_mode=False, out=None, num_threads=None):
    return _pool("max", input, ksize, strides, padding, data_format, dilations, out,
                 num_threads, ceil_mode=ceil_mode)


def avg_pool(input, ksize, strides, padding, data_format=None, name=None, *,
             dilations=None, ceil_mode=False, count_include_pad=False,
             divisor_override=None, out=None, num_threads=None):
    return _pool("avg", input, ksize, strides, padding, data_format, dilations, out,
                 num_threads, ceil_mode=ceil_mode, count_include_pad=count_include_pad,
                 divisor_override=divisor_override)


def max_pool1d(input, ksize, strides, padding, data_format="NWC", name=None, *,
               dilations=None, ceil_mode=False, out=None, num_threads=None):
    return _pool("max", input, ksize, strides, padding, data_format, dilations, out,
                 num_threads, n_spatial=1, ceil_mode=ceil_mode)


def max_pool2d(input, ksize, strides, padding, data_format="NHWC", name=None, *,
               dilations=None, ceil_mode=False, out=None, num_threads=None):
    return _pool("max", input, ksize, strides, padding, data_format, dilations, out,
                 num_threads, n_spatial=2, ceil_mode=ceil_mode)


def max_pool3d(input, ksize, strides, padding, data_format="NDHWC", name=None, *,
               dilations=None, ceil_mode=False, out=None, num_threads=None):
    return _pool("max", input, ksize, strides, padding, data_format, dilations, out,
                 num_threads, n_spatial=3, ceil_mode=ceil_mode)


def avg_pool1d(input, ksize, strides, padding, data_format="NWC", name=None, *,
               dilations=None, ceil_mode=False, count_include_pad=False,
               divisor_override=None, out=None, num_threads=None):
    return _pool("avg", input, ksize, strides, padding, data_format, dilations, out,
                 num_threads, n_spatial=1, ceil_mode=ceil_mode, count_include_pad=count_include_pad,
                 divisor_override=divisor_override)


def avg_pool2d(input, ksize, strides, padding, data_format="NHWC", name=None, *,
               dilations=None, ceil_mode=False, count_include_pad=False,
               divisor_override=None, out=None, num_threads=None):
    return _pool("avg", input, ksize, strides, padding, data_format, dilations, out,
                 num_threads, n_spatial=2, ceil_mode=ceil_mode, count_include_pad=count_include_pad,
                 divisor_override=divisor_override)


def avg_pool3d(input, ksize, strides, padding, data_format="NDHWC", name=None, *,
               dilations=None, ceil_mode=False, count_include_pad=False,
               divisor_override=None, out=None, num_threads=None):
    return _pool("avg", input, ksize, strides, padding, data_format, dilations, out,
                 num_threads, n_spatial=3, ceil_mode=ceil_mode, count_include_pad=count_include_pad,
                 divisor_override=divisor_override)


_MAX_EXAMPLE = "array([[ 5.,  7.],\n       [13., 15.]], dtype=float32)"
_AVG_EXAMPLE = "array([[ 2.5,  4.5],\n       [10.5, 12.5]], dtype=float32)"
for _fn, _kind, _n in [(max_pool, "max", None), (avg_pool, "avg", None),
                       (max_pool1d, "max", 1), (max_pool2d, "max", 2),
                       (max_pool3d, "max", 3), (avg_pool1d, "avg", 1),
                       (avg_pool2d, "avg", 2), (avg_pool3d, "avg", 3)]:
    _rank = "Rank 3, 4 or 5 (1-D, 2-D or 3-D pooling)" if _n is None else f"Rank {_n + 2}"
    _fmts = ("'NWC'/'NCW', 'NHWC'/'NCHW' or 'NDHWC'/'NCDHW' by rank; None is channels-last"
             if _n is None else {1: "'NWC' or 'NCW'", 2: "'NHWC' or 'NCHW'",
                                 3: "'NDHWC' or 'NCDHW'"}[_n])
    _fn.__doc__ = _POOL_DOC.format(
        title=f"{'Max' if _kind == 'max' else 'Average'} pooling"
              + ("" if _n is None else f" over {_n} spatial dimension{'s' * (_n > 1)}") + ".",
        tf_name=_fn.__name__, rank_doc=_rank,
        avg_keywords=_AVG_KEYWORDS if _kind == "avg" else "", formats=_fmts,
        name=_fn.__name__,
        notes=_AVG_NOTES if _kind == "avg" else "",
        example=_MAX_EXAMPLE if _kind == "max" else _AVG_EXAMPLE)
    if _n not in (None, 2):  # the example input is 2-D
        _fn.__doc__ = _fn.__doc__.split("Examples\n")[0]


def pool(input, window_shape, pooling_type, strides=None, padding="VALID",
         data_format=None, dilations=None, name=None, *, ceil_mode=False,
         count_include_pad=False, divisor_override=None, out=None, num_threads=None):
    """N-D max or average pooling, as ``tf.nn.pool``.

    Parameters
    ----------
    input : array_like
        Rank N+2 array, N = ``len(window_shape)``.
    window_shape : sequence of N ints
    pooling_type : {'MAX', 'AVG'}
    strides, dilations : sequence of N ints, optional
        Default all ones. Unlike TF, strides > 1 together with dilations > 1, SAME
        with dilations and strides larger than the window are all supported.
    padding : {'SAME', 'VALID'} or list of N+2 [before, after] pairs
    data_format : str, optional
        Channels-last ('N...C', the default) or channels-first ('NC...').
    ceil_mode, count_include_pad, divisor_override, out, num_threads : keyword-only
        As for `avg_pool` (``ceil_mode`` also for 'MAX').

    Examples
    --------
    >>> import numpy as np, cypool
    >>> x = np.arange(8.0).reshape(1, 8, 1)
    >>> cypool.pool(x, [2], "MAX", strides=[2], dilations=[1])[0, :, 0]
    array([1., 3., 5., 7.])
    """
    if pooling_type not in ("MAX", "AVG"):
        raise ValueError(f"pooling_type must be 'MAX' or 'AVG', got {pooling_type!r}")
    kind = "max" if pooling_type == "MAX" else "avg"
    if kind == "max" and (count_include_pad or divisor_override is not None):
        raise ValueError("count_include_pad and divisor_override apply to pooling_type "
                         "'AVG' only")
    x = as_input_array(input, "input", kind)
    if isinstance(window_shape, (int, np.integer)):
        raise TypeError(f"window_shape must be a sequence of N ints, got {window_shape!r}")
    n_spatial = len(_as_int_list(window_shape, "window_shape"))
    if not 1 <= n_spatial <= 3:
        raise ValueError(f"window_shape must have 1, 2 or 3 entries, got {window_shape!r}")
    check_rank(x.shape, (n_spatial + 2,))
    for value, arg in ((window_shape, "window_shape"), (strides, "strides"),
                       (dilations, "dilations")):
        if value is not None and len(_as_int_list(value, arg)) != n_spatial:
            raise ValueError(f"{arg} must have {n_spatial} entries (len(window_shape)), "
                             f"got {value!r}")
    geom = parse_pool_args(x.shape, window_shape, strides, padding, data_format, dilations,
                           n_spatial, full_length=False, strides_default=1,
                           ksize_name="window_shape", ceil_mode=ceil_mode,
                           count_include_pad=count_include_pad,
                           divisor_override=divisor_override)
    return run_pool(kind, x, geom, out, num_threads)


def max_pool_with_argmax(input, ksize, strides, padding, data_format="NHWC",
                         output_dtype=np.int64, include_batch_in_index=False, name=None,
                         *, dilations=None, ceil_mode=False, out=None, num_threads=None):
    """Max pooling and the flat index of each maximum, as ``tf.nn.max_pool_with_argmax``.

    Parameters
    ----------
    input : array_like
        Rank 3, 4 or 5; ``data_format`` must fit the rank (the default 'NHWC' fits
        rank 4 only).
    ksize, strides, padding, dilations : as for `max_pool`.
    output_dtype : {np.int64, np.int32}
    include_batch_in_index : bool
        False: index into ``input[b]``, ``(h*W + w)*C + c`` for NHWC. True: index
        into the whole input, ``((b*H + h)*W + w)*C + c``. Channels-first indices
        follow that array's own C order.
    out : tuple of two ndarrays, keyword-only
        Buffers for the values and the indices.

    Returns
    -------
    output, argmax : ndarray
        Ties go to the first maximum in row-major window order; a NaN wins and the
        first NaN is reported.

    Examples
    --------
    >>> import numpy as np, cypool
    >>> x = np.array([[[[1], [3]], [[3], [2]]]], dtype=np.float32)
    >>> values, argmax = cypool.max_pool_with_argmax(x, 2, 2, "VALID")
    >>> values.ravel(), argmax.ravel()
    (array([3.], dtype=float32), array([1]))
    """
    x = as_input_array(input, "input", "max")
    geom = parse_pool_args(x.shape, ksize, strides, padding, data_format, dilations,
                           ceil_mode=ceil_mode)
    index_dtype = parse_index_dtype(output_dtype)
    include_batch_in_index = check_bool(include_batch_in_index, "include_batch_in_index")
    out_values, out_index = split_pair_out(out, "argmax")
    return run_argmax(x, geom, index_dtype, include_batch_in_index, out_values, out_index,
                      num_threads)


def run_argmax(x, geom, index_dtype, include_batch_in_index, out_values=None,
               out_index=None, num_threads=None):
    """Max pooling with argmax of a validated input over ``geom``'s windows."""
    largest = x.size if include_batch_in_index else x.size // max(x.shape[0], 1)
    if index_dtype == np.int32 and largest > np.iinfo(np.int32).max:
        raise ValueError(f"output_dtype int32 cannot hold indices up to {largest - 1}; "
                         "use int64")
    half = half_bits(x, geom, _kernels.forward.ARGMAX)
    values = OutputBuffer(out_values, geom.output_shape, x.dtype, geom.canonical_output,
                          (x,), name="out[0]", half_bits=half is not None)
    index = OutputBuffer(out_index, geom.output_shape, index_dtype, geom.canonical_output,
                         (x, values.result), name="out[1]")
    if not geom.empty:
        planes = geom.canonical_output[0]
        if include_batch_in_index:
            group = planes
        else:  # per example: channels-first planes of one example share an index space
            group = geom.channels if geom.channels_first else 1
        wide = index_dtype == np.int64  # else the kernel narrows each row to int32
        kernel, x_kernel, tail = _forward_call(x, half, values, geom, num_threads)
        kernel(
            _kernels.forward.ARGMAX, x_kernel, values.kernel,
            index.kernel if wide else None, None if wide else index.kernel, geom.first,
            geom.count, geom.divisor, geom.dilation, geom.w_span, max(group, 1),
            streams(x, values.kernel, index.kernel), *tail)
    return values.finish(num_threads), index.finish(num_threads)

