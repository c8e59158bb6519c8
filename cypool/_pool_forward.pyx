# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
# cython: initializedcheck=False
"""Forward max, argmax and average pooling kernels.

All kernels work on the canonical C-ordered view ``(planes, D, H, W, C)`` built by
cypool._geometry (channels-first inputs are ``(batch*channels, D, H, W, 1)``), take
validated arguments and only do arithmetic.  The parallel loop runs over output rows
``(plane, od, oh)``: each output cell has one writer, so the result is the same for
any thread count.
The row work itself is in _pool_rows.pxd, shared with the gradients.
"""

from cython.parallel cimport parallel, prange, threadid
from libc.stdint cimport int32_t, int64_t, uint16_t, uint32_t
from libc.stdlib cimport free, malloc

from cypool._fused_types cimport max_t
from cypool._pool_rows cimport (
    ARGMAX_RING_TAPS, GROUP_ROWS, MODE_ARGMAX, MODE_MAX, RowScratch, cypool_aligned_free,
    cypool_aligned_malloc, cypool_argmax_ring, cypool_narrow_half, cypool_narrow_indices,
    cypool_store_fence, cypool_widen_half, dtype_code, free_row_scratch, hold_half_rows,
    new_row_scratch, pool_row_group, ring_rows, row_group_size, window_rows,
)
from cypool._windows cimport Windows, last_tap, unpack_windows

# What pool_forward computes.
MAX = 0
AVG = 1
ARGMAX = 2


cdef inline bint group_rows(const Windows* win, Py_ssize_t od, Py_ssize_t oh,
                            Py_ssize_t n_rows, Py_ssize_t in_h, Py_ssize_t* lo,
                            Py_ssize_t* hi) noexcept nogil:
    """The input rows (d * in_h + h) [lo, hi) from the first that output rows (od, oh ..
    oh + n_rows) read to their last; False when they read none.  (With dilation, SAME's
    first taps can step back: the next window's first in-bounds tap may be a row
    above this one's.)"""
    cdef Py_ssize_t o
    lo[0] = -1
    hi[0] = -1
    if win.count[0][od] <= 0:
        return False
    for o in range(oh, oh + n_rows):
        if win.count[1][o] > 0:
            if lo[0] < 0 or win.first[0][od] * in_h + win.first[1][o] < lo[0]:
                lo[0] = win.first[0][od] * in_h + win.first[1][o]
            hi[0] = max(hi[0], last_tap(win, 0, od) * in_h + last_tap(win, 1, o) + 1)
    return lo[0] >= 0


def half_group_rows(int mode, tuple first, tuple count, tuple divisor, tuple dilation,
                    tuple span, Py_ssize_t in_h, Py_ssize_t channels):
    """The most input rows (d * in_h + h, first to last) one of forward_rows' row groups
    reads: what pool_forward_half's row buffer must hold at least (_buffers.half_bits
    sizes it)."""
    cdef Windows win = unpack_windows(first, count, divisor, dilation, span)
    cdef Py_ssize_t group = row_group_size(&win, mode, channels, sizeof(float))
    cdef Py_ssize_t od, oh, lo, hi, most = 1
    for od in range(win.size[0]):
        oh = 0
        while oh < win.size[1]:  # (a range of a run-time step loops in Python)
            if group_rows(&win, od, oh, min(group, win.size[1] - oh), in_h, &lo, &hi):
                most = max(most, hi - lo)
            oh += group
    return most


cdef inline float* widen_group_rows(const uint16_t* half_x, float* buffer,
                                    Py_ssize_t buffer_rows, const Windows* win, Py_ssize_t p,
                                    Py_ssize_t od, Py_ssize_t oh, Py_ssize_t n_rows,
                                    Py_ssize_t in_h, Py_ssize_t row_elements,
                                    Py_ssize_t plane_size, Py_ssize_t* widened) noexcept nogil:
    """Widen the input rows of float16 plane p that output rows (od, oh .. oh + n_rows)
    read and the thread's row buffer lacks, just before they are pooled (a whole plane
    widened at once left the cache before it was pooled); returns where the plane's
    row 0 would be for the pooling code's row offsets (hold_half_rows)."""
    cdef Py_ssize_t a, b
    if not group_rows(win, od, oh, n_rows, in_h, &a, &b):
        return buffer  # (no row is read)
    return hold_half_rows(half_x + p * plane_size, buffer, buffer_rows, p, a, b,
                          row_elements, widened)


cdef int forward_rows(int mode, const max_t* x_ptr, max_t* out_ptr, int64_t* argmax_ptr,
                      int32_t* argmax32_ptr, const Windows* win, Py_ssize_t n_planes,
                      Py_ssize_t in_d, Py_ssize_t in_h, Py_ssize_t in_w, Py_ssize_t out_d,
                      Py_ssize_t out_h, Py_ssize_t out_w, Py_ssize_t channels,
                      Py_ssize_t index_group, bint stream, int num_threads,
                      const uint16_t* half_x, uint16_t* half_out, max_t* half_buffers,
                      Py_ssize_t half_rows_each) noexcept nogil:
    """pool_forward's work on raw pointers; returns 1 when scratch memory ran out.
    With ``half_x`` (then max_t is float; x_ptr and out_ptr unused) the input and the
    output are float16 bits: each thread widens the input rows its row groups read
    into its own buffer of ``half_rows_each`` rows in ``half_buffers`` (thread t's at t
    * that, see widen_group_rows) just before it pools them, a row group into a row
    block of its own that it rounds into ``half_out`` (no float32 copy of the whole
    input or output in memory)."""
    cdef Py_ssize_t plane_size = in_d * in_h * in_w * channels
    cdef Py_ssize_t out_row_size = out_w * channels
    # output rows go in groups of pool_row_group's size within a (d) row of a plane
    cdef Py_ssize_t group = row_group_size(win, mode, channels, sizeof(max_t))
    cdef Py_ssize_t groups_per_row = (out_h + group - 1) // group
    cdef Py_ssize_t n_groups = n_planes * out_d * groups_per_row, g, plane_row, oh, row, p
    cdef Py_ssize_t n_rows, n_window_rows
    # argmax windows many rows tall: rows first, through a ring of row maxima
    cdef Py_ssize_t ring_size = 0
    if mode == MODE_ARGMAX:
        ring_size = ring_rows(x_ptr, win, out_d, out_h, out_w, in_w * channels, channels,
                              ARGMAX_RING_TAPS)
    cdef int64_t* wide_row = NULL  # per thread: a row of int64 indices to narrow to int32
    cdef int64_t* index_row  # the row's indices: into argmax, or wide_row
    cdef RowScratch scratch
    cdef const max_t* plane
    cdef max_t* out_rows
    cdef max_t* half_buffer = NULL  # float16: the thread's widened rows ...
    cdef max_t* half_rows = NULL   # ... and its row group before rounding
    cdef Py_ssize_t* widened = NULL  # ... which plane it holds (-1: none yet), which rows
    cdef int failed_flag = 0
    cdef int* failed = &failed_flag  # written through a pointer: shared by the threads
    with parallel(num_threads=num_threads):
        # (cells stream values and indices alike: not into a row of int64 indices to
        # narrow, which is read back at once, nor into a float16 row block; the
        # narrowed indices stream)
        scratch = new_row_scratch(win, out_d, out_h, out_w, out_row_size, in_w * channels,
                                  channels, sizeof(max_t), mode,
                                  min(group, GROUP_ROWS) if mode == MODE_MAX else 0,
                                  ring_size,
                                  stream and argmax32_ptr == NULL and half_x == NULL, failed)
        # int32 indices: each row's int64 indices narrowed from a per-thread row
        wide_row = <int64_t*>malloc(out_row_size * sizeof(int64_t) + 8) \
            if argmax32_ptr != NULL else NULL
        if argmax32_ptr != NULL and wide_row == NULL:
            failed[0] = 1
        if half_x != NULL:
            half_buffer = half_buffers + threadid() * half_rows_each * in_w * channels
            half_rows = <max_t*>cypool_aligned_malloc(group * out_row_size * sizeof(max_t))
            widened = <Py_ssize_t*>malloc(3 * sizeof(Py_ssize_t))
            if half_rows == NULL or widened == NULL:
                failed[0] = 1
            else:
                widened[0] = -1
        for g in prange(n_groups, schedule="static"):
            if failed[0]:
                continue
            plane_row = g // groups_per_row  # n * out_d + od
            oh = g % groups_per_row * group
            row = plane_row * out_h + oh
            p = plane_row // out_d
            n_rows = min(group, out_h - oh)
            if half_x == NULL:
                plane = x_ptr + p * plane_size
                out_rows = out_ptr + row * out_row_size
            else:
                plane = <const max_t*>widen_group_rows(
                    half_x, <float*>half_buffer, half_rows_each, win, p, plane_row % out_d,
                    oh, n_rows, in_h, in_w * channels, plane_size, widened)
                out_rows = half_rows
            index_row = argmax_ptr + row * out_row_size if argmax_ptr != NULL else wide_row
            n_window_rows = 0
            if ring_size > 0:  # (argmax rows come one at a time)
                n_window_rows = window_rows(win, plane_row % out_d, oh, in_h, in_w, channels,
                                            scratch.row_offset)
            if n_window_rows > 0:
                cypool_argmax_ring(dtype_code(plane), plane, out_rows, index_row,
                                   (p % index_group) * plane_size, scratch.row_offset,
                                   n_window_rows, in_w * channels, p * in_d * in_h,
                                   win.first[2], win.count[2], out_w, channels,
                                   &scratch.ring, scratch.stream)
            else:
                pool_row_group(mode, plane, out_rows, index_row,
                               (p % index_group) * plane_size, win, plane_row % out_d, oh,
                               n_rows, out_w, in_h, in_w, channels, &scratch)
            if argmax32_ptr != NULL:  # argmax rows come one at a time (group 1)
                cypool_narrow_indices(index_row, argmax32_ptr + row * out_row_size,
                                      out_row_size, stream)
            if half_x != NULL:
                cypool_narrow_half(<float*>half_rows, half_out + row * out_row_size,
                                   n_rows * out_row_size)
        if stream:
            cypool_store_fence()
        free_row_scratch(&scratch)
        free(wide_row)
        cypool_aligned_free(half_rows)
        free(widened)
    return failed_flag


cdef struct IndexOutputs:  # where ARGMAX writes its indices: one of them, or neither
    int64_t* wide
    int32_t* narrow


cdef IndexOutputs index_outputs(int mode, int64_t[:, :, :, :, ::1] argmax,
                                int32_t[:, :, :, :, ::1] argmax32):
    """ARGMAX's int32 indices where ``argmax32`` is given, else its int64 ones."""
    cdef IndexOutputs index
    index.wide = NULL
    index.narrow = NULL
    if mode == MODE_ARGMAX and argmax32 is not None:
        index.narrow = &argmax32[0, 0, 0, 0, 0]
    elif mode == MODE_ARGMAX:
        index.wide = &argmax[0, 0, 0, 0, 0]
    return index


def pool_forward(int mode, const max_t[:, :, :, :, ::1] x, max_t[:, :, :, :, ::1] out,
                 int64_t[:, :, :, :, ::1] argmax, int32_t[:, :, :, :, ::1] argmax32,
                 tuple first, tuple count, tuple divisor, tuple dilation, tuple span,
                 Py_ssize_t index_group, bint stream, int num_threads):
    """Pool ``x`` into ``out`` (and for ARGMAX the indices into ``argmax``, or into
    ``argmax32`` when they fit int32; pass None for the other).

    ``index_group``: plane p's argmax indices start at (p % index_group) * plane_size,
    so 1 gives per-example indices for channels-last input, the number of planes
    includes the batch, and the channel count gives per-example indices for
    channels-first input.  ``stream``: write the output with non-temporal stores (for
    outputs that would not stay in the cache).  AVG is only called for floating dtypes.
    """
    cdef Windows win = unpack_windows(first, count, divisor, dilation, span)
    cdef IndexOutputs index = index_outputs(mode, argmax, argmax32)
    cdef int failed
    with nogil:
        failed = forward_rows(mode, &x[0, 0, 0, 0, 0], &out[0, 0, 0, 0, 0], index.wide,
                              index.narrow, &win, out.shape[0], x.shape[1], x.shape[2],
                              x.shape[3], out.shape[1], out.shape[2], out.shape[3],
                              out.shape[4], index_group, stream, num_threads, NULL, NULL,
                              NULL, 0)
    if failed:
        raise MemoryError("cypool: out of memory for the kernel's per-thread scratch")


def pool_forward_half(int mode, const uint16_t[:, :, :, :, ::1] x,
                      uint16_t[:, :, :, :, ::1] out, int64_t[:, :, :, :, ::1] argmax,
                      int32_t[:, :, :, :, ::1] argmax32, tuple first, tuple count,
                      tuple divisor, tuple dilation, tuple span, Py_ssize_t index_group,
                      bint stream, int num_threads, float[:, ::1] buffers):
    """pool_forward of float16 ``x`` (its bits) into float16 ``out``: the input rows
    widened to float32 (as NumPy's cast) by the thread that pools them, into its row of
    ``buffers`` (num_threads rows of _buffers.half_bits' input rows each: a caller's
    buffer, whose pages stay mapped from call to call), the float32 results rounded
    once (as NumPy's cast), so the bits are those of widening the whole input, pooling
    it as float32 and rounding the whole output."""
    cdef Windows win = unpack_windows(first, count, divisor, dilation, span)
    cdef IndexOutputs index = index_outputs(mode, argmax, argmax32)
    cdef int failed
    with nogil:
        failed = forward_rows(mode, <const float*>NULL, <float*>NULL, index.wide,
                              index.narrow, &win, out.shape[0], x.shape[1], x.shape[2],
                              x.shape[3], out.shape[1], out.shape[2], out.shape[3],
                              out.shape[4], index_group, stream, num_threads,
                              &x[0, 0, 0, 0, 0], &out[0, 0, 0, 0, 0], &buffers[0, 0],
                              buffers.shape[1] // (x.shape[3] * x.shape[4]))
    if failed:
        raise MemoryError("cypool: out of memory for the kernel's per-thread scratch")


cdef enum:
    HALF_CHUNK = 1 << 16  # float16 conversions go this many elements a task


def convert_half(const uint16_t[::1] half, float[::1] single, bint widen, int num_threads):
    """float16 bits <-> float32, as NumPy's casts bit for bit (cypool_widen_half,
    cypool_narrow_half): ``widen`` reads ``half`` into ``single``, else the other way."""
    cdef Py_ssize_t n = half.shape[0], task, lo
    cdef Py_ssize_t n_tasks = (n + HALF_CHUNK - 1) // HALF_CHUNK
    if n == 0:
        return
    with nogil:
        for task in prange(n_tasks, schedule="static", num_threads=num_threads):
            lo = task * HALF_CHUNK
            if widen:
                cypool_widen_half(&half[lo], <uint32_t*>&single[lo], min(HALF_CHUNK, n - lo))
            else:
                cypool_narrow_half(&single[lo], <uint16_t*>&half[lo], min(HALF_CHUNK, n - lo))
