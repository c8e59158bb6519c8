"""Pooling gradients with the signatures of TF's MaxPoolGrad, AvgPoolGrad and
MaxPoolGradWithArgmax (SPEC.md, Gradients), in every rank and layout.
"""
import math

import numpy as np

from cypool import _kernels
from cypool._buffers import (
    HALF_BUFFER_BYTES, OutputBuffer, canonical_input, half_grad_rows, is_native_half,
    new_array, streams,
)
from cypool._geometry import (
    as_input_array, check_bool, check_shape, parse_pool_args, parse_shape,
)
from cypool._threads import effective_threads

__all__ = ["max_pool_grad", "avg_pool_grad", "max_pool_grad_with_argmax"]


def _as_grad(grad, dtype, shape, kind):
    """``grad`` as an array of ``dtype`` and the forward output's ``shape``."""
    arr = as_input_array(grad, "grad", kind)
    if arr.dtype != dtype:
        if not isinstance(grad, np.ndarray) and np.can_cast(arr.dtype, dtype, "same_kind"):
            arr = arr.astype(dtype)  # a list or tensor of Python floats
        else:
            raise TypeError(f"grad must have the input's dtype {dtype}, got {arr.dtype}")
    check_shape(arr, shape, "grad", "the pooled output's shape")
    return arr


def _row_chunks(geom, threads):
    """How the max gradient splits a plane for ``threads``: ``(axis, chunks)``, each
    plane's output rows cut into ``chunks`` runs along D (axis 1) or, for 2-D inputs,
    H (axis 2), where planes do not divide among the threads.  A run owns its input
    rows from its first window's first row, and windows reaching back into them
    from the run before are visited by both runs, each adding only into its own
    rows, so the adds keep their order.  ``(0, 1)``, a task a plane, otherwise; a
    plane's channels are never split (both threads would read all of it)."""
    planes, in_d = geom.canonical_input[0], geom.canonical_input[1]
    axis = 1 if geom.canonical_output[1] > 1 else 2 if in_d == 1 else 0
    if axis == 0:
        return 0, 1
    first, count = geom.first[axis - 1], geom.count[axis - 1]
    chunks = min(threads // math.gcd(planes, threads), len(first))
    if chunks == 1 or count.min() < 1:
        return 0, 1
    last = first + (count - 1) * geom.dilation[axis - 1]
    # the kernel finds the windows reaching back by walking while the last rows do
    if np.any(np.diff(first) < 0) or np.any(np.diff(last) < 0):
        return 0, 1
    return axis, chunks


def max_pool_grad(orig_input, orig_output, grad, ksize, strides, padding,
                  data_format=None, name=None, *, dilations=None, ceil_mode=False,
                  out=None, num_threads=None):
    """Gradient of `max_pool` with respect to its input, as ``tf.raw_ops.MaxPoolGrad``.

    Each ``grad[o]`` is added to the input cell `max_pool_with_argmax` picks for
    output ``o`` (the first maximum in row-major window order); overlapping windows
    accumulate. ``orig_output`` is checked for shape only.

    Examples
    --------
    >>> import numpy as np, cypool
    >>> x = np.array([[[[1.], [3.]], [[3.], [2.]]]], dtype=np.float32)
    >>> cypool.max_pool_grad(x, np.zeros((1, 1, 1, 1), np.float32),
    ...                      np.ones((1, 1, 1, 1), np.float32), 2, 2, "VALID").ravel()
    array([0., 1., 0., 0.], dtype=float32)
    """
    x = as_input_array(orig_input, "orig_input", "max")
    geom = parse_pool_args(x.shape, ksize, strides, padding, data_format, dilations,
                           name="orig_input", ceil_mode=ceil_mode)
    check_shape(np.asarray(orig_output), geom.output_shape, "orig_output",
                "the pooled output's shape")
    grad = _as_grad(grad, x.dtype, geom.output_shape, "max")
    return run_max_pool_grad(x, grad, geom, out, num_threads)


def run_max_pool_grad(x, grad, geom, out=None, num_threads=None):
    """dx of a max pool over ``geom``'s windows (validated x and grad)."""
    empty = geom.empty or not x.size
    half = None if empty else half_grad_rows(x, grad, geom)
    dx = OutputBuffer(out, x.shape, x.dtype, geom.canonical_input, (x, grad),
                      half_bits=half is not None)
    if empty:
        dx.kernel[...] = 0
        return dx.finish(num_threads)
    # the kernel zeroes dx as it goes
    threads = effective_threads(num_threads, geom.work)
    windows = (geom.first, geom.count, geom.divisor, geom.dilation, geom.w_span,
               *_row_chunks(geom, threads))
    if dx.half_bits:  # float16 rows widened and dx rows rounded by the kernel
        settled, x_rows, dx_rows, each = half
        buffers = new_array((threads, each), np.float32)
        _kernels.backward.max_pool_grad_half(
            x.view(np.uint16).reshape(geom.canonical_input),
            grad.view(np.uint16).reshape(geom.canonical_output), dx.kernel, *windows,
            settled, x_rows, dx_rows, buffers, threads)
    else:
        _kernels.backward.max_pool_grad(
            canonical_input(x, geom.canonical_input, num_threads),
            canonical_input(grad, geom.canonical_output, num_threads), dx.kernel, *windows,
            threads)
    return dx.finish(num_threads)


def avg_pool_grad(orig_input_shape, grad, ksize, strides, padding, data_format=None,
                  name=None, *, dilations=None, ceil_mode=False, count_include_pad=False,
                  divisor_override=None, out=None, num_threads=None):
    """Gradient of `avg_pool`, as ``tf.raw_ops.AvgPoolGrad``; returns shape ``orig_input_shape``.

    For each output ``o`` in row-major order, every in-bounds cell of its window gets
    ``grad[o] * T(1/count)`` added, with the forward's own count (padding never
    counts). Unlike TF, ``grad``'s shape is checked.

    Examples
    --------
    >>> import numpy as np, cypool
    >>> cypool.avg_pool_grad([1, 2, 2, 1], np.ones((1, 1, 1, 1), np.float32),
    ...                      2, 2, "VALID").ravel()
    array([0.25, 0.25, 0.25, 0.25], dtype=float32)
    """
    shape = parse_shape(orig_input_shape, "orig_input_shape")
    geom = parse_pool_args(shape, ksize, strides, padding, data_format, dilations,
                           name="orig_input_shape", ceil_mode=ceil_mode,
                           count_include_pad=count_include_pad,
                           divisor_override=divisor_override)
    grad_arr = as_input_array(grad, "grad", "avg")
    check_shape(grad_arr, geom.output_shape, "grad", "the pooled output's shape")
    return run_avg_pool_grad(shape, grad_arr, geom, out, num_threads)


def run_avg_pool_grad(shape, grad_arr, geom, out=None, num_threads=None):
    """dx of an average pool over ``geom``'s windows (validated grad)."""
    dx = OutputBuffer(out, shape, grad_arr.dtype, geom.canonical_input, (grad_arr,),
                      half_bits=is_native_half(grad_arr))
    if geom.empty or not dx.kernel.size:
        dx.kernel[...] = 0
        return dx.finish(num_threads)
    offsets, outputs = zip(*geom.cover)
    threads = effective_threads(num_threads, geom.work)
    if dx.half_bits:  # float16 grad rows widened and dx rows rounded by the kernel
        _kernels.backward.avg_pool_grad_half(
            grad_arr.view(np.uint16).reshape(geom.canonical_output), dx.kernel, offsets,
            outputs, geom.divisor, threads)
    else:
        _kernels.backward.avg_pool_grad(
            canonical_input(grad_arr, geom.canonical_output, num_threads), dx.kernel,
            offsets, outputs, geom.divisor, streams(grad_arr, dx.kernel), threads)
    return dx.finish(num_threads)


def max_pool_grad_with_argmax(input, grad, argmax, ksize, strides, padding,
                              include_batch_in_index=False, name=None, *, data_format=None,
                              dilations=None, ceil_mode=False, out=None, num_threads=None):
    """Gradient of `max_pool_with_argmax`: ``dx.flat[argmax[o]] += grad[o]`` per example.

    With ``include_batch_in_index`` the indices address the whole input. Entries of
    -1 (empty dilated windows) are skipped; any other index outside the input raises
    ValueError (TF aborts the process there).

    Examples
    --------
    >>> import numpy as np, cypool
    >>> x = np.array([[[[1.], [3.]], [[3.], [2.]]]], dtype=np.float32)
    >>> values, argmax = cypool.max_pool_with_argmax(x, 2, 2, "VALID")
    >>> cypool.max_pool_grad_with_argmax(x, np.ones_like(values), argmax, 2, 2,
    ...                                  "VALID").ravel()
    array([0., 1., 0., 0.], dtype=float32)
    """
    x = as_input_array(input, "input", "max")
    geom = parse_pool_args(x.shape, ksize, strides, padding, data_format, dilations,
                           ceil_mode=ceil_mode)
    grad = _as_grad(grad, x.dtype, geom.output_shape, "max")
    index = as_index_array(argmax)
    check_shape(index, geom.output_shape, "argmax", "the pooled output's shape")
    include_batch_in_index = check_bool(include_batch_in_index, "include_batch_in_index")
    rows, row_step = index_rows(index, x.shape, include_batch_in_index, "argmax", "input",
                                num_threads)
    dx = OutputBuffer(out, x.shape, x.dtype, geom.canonical_input, (x, grad, index),
                      half_bits=True)
    if rows is None or x.size == 0:
        dx.kernel[...] = 0
        return dx.finish(num_threads)
    return run_scatter_add(grad, rows, row_step, dx, num_threads)


def as_index_array(argmax, name="argmax"):
    """``argmax`` as an array of int32 or int64 (TypeError otherwise)."""
    try:
        index = np.asarray(argmax)
    except Exception as exc:
        raise TypeError(f"{name} must be array-like, got {type(argmax).__name__}: {exc}") from None
    if index.dtype not in (np.int32, np.int64):
        raise TypeError(f"{name} must have dtype int32 or int64, got {index.dtype}")
    return index


def _row_parts(rows, threads):
    """Pieces to cut each of ``rows`` independent rows into, so that every thread
    gets work."""
    return 1 if rows >= threads else -(-threads // rows)


def index_rows(index, shape, include_batch_in_index, name, what, num_threads=None):
    """Check flat indices into an array of ``shape`` and lay them out for the row
    kernels: ``(rows, row_step)``, or ``(None, 0)`` for no index.

    Each example's indices address that example (with ``include_batch_in_index``,
    the whole array); -1 marks an empty window; any other index out of range raises
    ValueError naming ``name`` and the ``what`` array.  ``rows`` is index as a
    C-contiguous (batch, n) array whose row r, less ``r * row_step``, indexes
    example r; or, where indices with the batch cross examples, one row over all
    of it (row_step 0).  One parallel pass finds the bounds.
    """
    if index.size == 0:
        return None, 0
    batch, total = shape[0], math.prod(shape)
    example = total // batch if batch else 0
    rows = np.ascontiguousarray(index).reshape(batch, -1)
    threads = effective_threads(num_threads, rows.size)
    parts = _row_parts(batch, threads)
    bounds = np.empty((batch * parts, 2), np.int64)
    _kernels.backward.index_bounds(rows, parts, bounds, threads)
    least = bounds[:, 0].reshape(batch, parts).min(axis=1)  # per example
    most = bounds[:, 1].reshape(batch, parts).max(axis=1)
    low, high = int(least.min()), int(most.max())
    limit = total if include_batch_in_index else example
    if low < -1 or high >= limit:
        bad = low if low < -1 else high
        scope = f"the whole {what}" if include_batch_in_index else "one example"
        raise ValueError(f"{name} holds index {bad}, outside [0, {limit}) ({scope} of shape "
                         f"{tuple(shape)}; -1 marks an empty window)")
    if include_batch_in_index:
        start = np.arange(batch, dtype=np.int64) * example
        # an example's least index below its start (or a -1 past the first example,
        # which hides its least valid index) may cross: one row, serial
        if np.any(most >= start + example) or np.any(least[1:] < start[1:]):
            return rows.reshape(1, -1), 0
        return rows, example
    return rows, 0


# A float16 scatter sums a row (an example) in float32, in a buffer of the thread's of
# at most this many floats: longer rows in pieces, each reading all of the row's grad
# and indices.
HALF_SUM_FLOATS = HALF_BUFFER_BYTES // 4


def run_scatter_add(grad, rows, row_step, dx, num_threads=None):
    """dx.flat[index] += grad per row of ``index_rows``' layout (dx need not be zeroed)."""
    dx_rows = dx.kernel.reshape(rows.shape[0], -1)
    threads = effective_threads(num_threads, rows.size + dx_rows.size)
    parts = _row_parts(rows.shape[0], threads)
    if dx.half_bits:  # float16 bits: each thread sums a piece of a row in float32
        parts = max(parts, -(-dx_rows.shape[1] // HALF_SUM_FLOATS))
        chunk = _kernels.backward.HALF_SCATTER_CHUNK
        buffers = new_array((threads, -(-dx_rows.shape[1] // parts) + chunk), np.float32)
        _kernels.backward.scatter_add_rows_half(
            np.ascontiguousarray(grad).view(np.uint16).reshape(rows.shape), rows, dx_rows,
            row_step, parts, buffers, threads)
    else:
        _kernels.backward.scatter_add_rows(canonical_input(grad, rows.shape, num_threads),
                                           rows, dx_rows, row_step, parts, threads)
    return dx.finish(num_threads)


def run_gather(source, rows, row_step, result, num_threads=None):
    """result.flat[i] = source.flat[index[i]] per row of ``index_rows``' layout (0 for -1)."""
    threads = effective_threads(num_threads, 2 * rows.size)
    if result.half_bits:  # float16: a copy of bits, nothing widened
        source = np.ascontiguousarray(source).view(np.uint16)
    else:
        source = canonical_input(source, source.shape, num_threads)
    _kernels.backward.gather_rows(source.reshape(rows.shape[0], -1), rows,
                                  result.kernel.reshape(rows.shape), row_step,
                                  _row_parts(rows.shape[0], threads), threads)
    return result.finish(num_threads)
