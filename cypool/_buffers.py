"""Moving arrays between a caller's layout and the kernels' canonical 5-D view.

Shared by the forward and gradient ops: a C-ordered input reshapes to the canonical
``(planes, D, H, W, C)`` view for free (channels-first included); other inputs are
copied once; half-precision floats are widened to float32 so that they accumulate
in float32 and are rounded once on the way out.
"""
import math
import os
import sys

import numpy as np

from cypool import _kernels, _output_cache
from cypool._geometry import check_int, check_out, compute_dtype
from cypool._threads import effective_threads


# From this many bytes moved (inputs and outputs), a kernel writes its output with
# non-temporal stores: such an output would not stay in a cache of tens of MB anyway,
# and streaming it skips reading every line before it is written.  Measured on SPPF
# (26 MB moved, a 32 MB L3): 16 MB beat 32 MB cold (1.8 -> 1.4 ms) and in a chain of
# three pools each reading the last one's output (5.3 -> 4.4 ms).
STREAM_BYTES = 16 << 20


def streams(*arrays):
    """True when a kernel over ``arrays`` should stream its output (STREAM_BYTES)."""
    return sum(a.nbytes for a in arrays) >= STREAM_BYTES


# Freed outputs kept for reuse, at most this many bytes by default (CYPOOL_OUTPUT_CACHE
# or output_cache() change it): enough for the largest of the benchmark's outputs, a
# max gradient's 100 MB dx and an argmax's 77 MB.
OUTPUT_CACHE_BYTES = 256 << 20


def output_cache(max_bytes=None):
    """The output cache's state, after setting its limit when ``max_bytes`` is given.

    cypool's outputs of 1 MB or more come from a cache of freed blocks: when such an
    output (and every view of it) is gone, its memory waits for a later output it
    fits instead of going back to the OS, which would hand out fresh pages to fault
    in and zero on the next call (for a max gradient's dx or an argmax's indices
    that costs about as much as the pooling).  At most ``max_bytes`` are held, the
    least recently freed dropped first; 0 turns the cache off and frees what it
    holds.  The default, 256 MB, can be set by the CYPOOL_OUTPUT_CACHE environment
    variable (bytes) before import.

    Returns a dict: ``max_bytes`` (the limit), ``bytes`` and ``blocks`` (held now),
    ``reused`` (outputs that got a freed block so far).
    """
    if max_bytes is not None:
        _output_cache.set_limit(_cache_limit(max_bytes, "max_bytes"))
    limit, held, blocks, reused = _output_cache.state()
    return {"max_bytes": limit, "bytes": held, "blocks": blocks, "reused": reused}


def _cache_limit(value, name):
    """A limit in bytes checked, capped at what size_t holds (more is unlimited)."""
    return min(check_int(value, name, 0, "a non-negative int (bytes)"), sys.maxsize)


def _limit_from_environment():
    value = os.environ.get("CYPOOL_OUTPUT_CACHE", "").strip()
    if not value:
        return OUTPUT_CACHE_BYTES
    try:
        return _cache_limit(int(value), "CYPOOL_OUTPUT_CACHE")
    except (TypeError, ValueError) as err:
        raise ValueError(f"CYPOOL_OUTPUT_CACHE must be a number of bytes >= 0, got "
                         f"{value!r}") from err


_output_cache.set_limit(_limit_from_environment())


def new_array(shape, dtype):
    """``np.empty(shape, dtype)``, from the output cache when it is 1 MB or more."""
    dtype = np.dtype(dtype)
    if math.prod(shape) * dtype.itemsize >= _output_cache.MIN_BYTES:
        return _output_cache.empty(shape, dtype)
    return np.empty(shape, dtype=dtype)


def is_native_half(arr):
    """A C-contiguous float16 array that the conversion kernel takes as it is."""
    return arr.dtype == np.float16 and arr.flags.c_contiguous


# A C-contiguous float16 input goes to the forward kernel as it is, each thread
# widening the input rows it pools into a float32 row buffer of its own (in cache)
# and rounding its output a row block at a time (the float32 copies of the whole input
# and output cost 5x the floor), where that buffer takes at most this many bytes
# (windows that overlap along D read whole depth slices) ...
HALF_BUFFER_BYTES = 8 << 20
# ... and about this many where a row group reads fewer, so that the rows still
# needed move to the buffer's start only now and then (_buffer_rows)
HALF_RING_BYTES = 2 << 20


def _buffer_rows(rows, in_rows, row_bytes):
    """How many float32 input rows a thread's float16 row buffer holds, for kernels
    that need ``rows`` at once: those, and where they are few, more (up to
    HALF_RING_BYTES, at most 8 times as many); at most a plane's ``in_rows``."""
    return min(in_rows, max(rows, min(8 * rows, HALF_RING_BYTES // row_bytes)))


def half_bits(arr, geom, mode):
    """For the forward kernel that widens a float16 input a row group at a time (mode
    MAX, AVG or ARGMAX): the input's bits as ``geom``'s canonical input, and how many
    float32 input rows each thread's buffer holds; else None (not C-contiguous float16,
    or a buffer over HALF_BUFFER_BYTES)."""
    if not is_native_half(arr):
        return None
    shape = geom.canonical_input
    row_bytes = max(1, shape[3] * shape[4] * 4)
    rows = _kernels.forward.half_group_rows(
        mode, geom.first, geom.count, geom.divisor, geom.dilation, geom.w_span, shape[2],
        shape[4])
    if rows * row_bytes > HALF_BUFFER_BYTES:
        return None
    return arr.view(np.uint16).reshape(shape), _buffer_rows(rows, shape[1] * shape[2],
                                                            row_bytes)


def half_grad_rows(x, grad, geom):
    """For the max gradient kernel that widens float16 ``x`` and ``grad`` a row at a
    time and rounds dx rows once no later window reaches them: ``(settled, x_rows,
    dx_rows, each)``, for each output row (od, oh) in row-major order the least first
    input row (d * in_h + h) of the non-empty windows from it on, how many input rows
    a thread's x and dx buffers hold (_buffer_rows), and the floats of a thread's
    buffers (x rows, dx rows, a grad row); else None (not both C-contiguous float16,
    or buffers over HALF_BUFFER_BYTES)."""
    if not (is_native_half(x) and is_native_half(grad)):
        return None
    _, in_d, in_h, in_w, channels = geom.canonical_input
    row_bytes = max(1, in_w * channels * 4)
    first, last, empty = [], [], []
    for axis in (0, 1):
        f, n = geom.first[axis], geom.count[axis]
        first.append(f)
        last.append(f + (np.maximum(n, 1) - 1) * geom.dilation[axis])
        empty.append(n <= 0)
    start = (first[0][:, None] * in_h + first[1][None, :]).ravel()
    reach = (last[0][:, None] * in_h + last[1][None, :] + 1).ravel()
    full = ~(empty[0][:, None] | empty[1][None, :]).ravel()
    if not full.any():
        return None
    in_rows = in_d * in_h
    settled = np.minimum.accumulate(np.where(full, start, in_rows)[::-1])[::-1]
    # a task's dx rows: from the settled row to the furthest row reached so far
    reached = np.maximum.accumulate(np.where(full, reach, 0))
    x_rows = int((reach - start)[full].max())
    dx_rows = int((reached - settled)[full].max())
    if (x_rows + dx_rows) * row_bytes > HALF_BUFFER_BYTES:
        return None
    x_rows = _buffer_rows(x_rows, in_rows, row_bytes)
    dx_rows = _buffer_rows(dx_rows, in_rows, row_bytes)
    each = (x_rows + dx_rows) * in_w * channels + math.prod(geom.canonical_output[3:]) + 16
    return np.ascontiguousarray(settled, dtype=np.int64), x_rows, dx_rows, each


def canonical_input(arr, canonical_shape, num_threads=None):
    """A C-contiguous array of the compute dtype, viewed as ``canonical_shape``
    (float16 widened by cypool's kernel, bit for bit as NumPy's cast, in parallel)."""
    if is_native_half(arr):
        work = new_array(arr.shape, np.float32)
        _kernels.forward.convert_half(arr.reshape(-1).view(np.uint16), work.reshape(-1), True,
                                      effective_threads(num_threads, arr.size))
        return work.reshape(canonical_shape)
    work = np.ascontiguousarray(arr, dtype=compute_dtype(arr.dtype))
    return work.reshape(canonical_shape)


class OutputBuffer:
    """The array a kernel writes and the array the caller gets back.

    With ``out=`` the kernel writes into the caller's buffer when the dtypes agree;
    half-precision results go through a float32 scratch array rounded at ``finish``,
    or with ``half_bits`` (a kernel that rounds its own rows) into a C-contiguous
    float16 result's bits: then ``self.half_bits`` is True and ``kernel`` is uint16.
    """

    def __init__(self, out, shape, dtype, canonical_shape, inputs=(), name="out",
                 half_bits=False):
        dtype = np.dtype(dtype)
        if out is None:
            self.result = new_array(shape, dtype)
        else:
            self.result = check_out(out, shape, dtype, name)
            for arr in inputs:
                if arr is not None and np.shares_memory(self.result, arr):
                    raise ValueError(f"{name} must not share memory with the inputs")
        work = compute_dtype(dtype)
        self.widened = work != dtype
        self.half_bits = half_bits and is_native_half(self.result)
        if self.half_bits:
            self.widened = False
            self.kernel = self.result.view(np.uint16).reshape(canonical_shape)
        elif self.widened:
            self.kernel = new_array(canonical_shape, work)
        else:
            self.kernel = self.result.reshape(canonical_shape)

    def finish(self, num_threads=None):
        if self.widened and is_native_half(self.result):  # round once, as NumPy would
            _kernels.forward.convert_half(self.result.reshape(-1).view(np.uint16),
                                          self.kernel.reshape(-1), False,
                                          effective_threads(num_threads, self.result.size))
        elif self.widened:  # round once to the caller's half precision
            np.copyto(self.result, self.kernel.reshape(self.result.shape), casting="unsafe")
        return self.result


def split_pair_out(out, what):
    """An ``out=`` for an op returning (values, indices): None or a 2-tuple of arrays."""
    if out is None:
        return None, None
    if isinstance(out, tuple) and len(out) == 2:
        return out
    raise TypeError(f"out must be a tuple (values, {what}) of two ndarrays, got "
                    f"{type(out).__name__}")
