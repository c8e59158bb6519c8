# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
# cython: initializedcheck=False
"""Pooling gradients on the canonical (planes, D, H, W, C) view.

A gradient scatters: overlapping windows add into the same input cell.  To stay
deterministic without atomics, each parallel task owns a plane of ``dx`` outright
and visits its outputs in row-major order, so every ``dx`` cell gets its
contributions in the same order, on one thread, for any thread count.
"""

from cython.parallel cimport prange, parallel, threadid
from libc.stdint cimport int32_t, int64_t, uint16_t, uint32_t
from libc.stdlib cimport malloc, free
from libc.string cimport memmove, memset

from cypool._fused_types cimport max_t, avg_t
from cypool._pool_rows cimport (
    CELL_BYTES, GATHER_PAD, GRAD_RING_TAPS, MODE_ARGMAX, SHORT_ROW, SPAN_TAPS,
    RowScratch, argmax_window, cypool_aligned_free, cypool_aligned_malloc,
    cypool_gather_bases, cypool_gather_row, cypool_gather_row_few, cypool_index_bounds,
    cypool_max_grad_cell, cypool_max_grad_ring, cypool_max_grad_span,
    cypool_narrow_half, cypool_prefetch, cypool_scale_row, cypool_scatter_add,
    cypool_store_fence, cypool_widen_half, dtype_code, free_row_scratch, hold_half_rows,
    near_rows_window, new_row_scratch, new_rows, pool_row, prefetch_new_rows,
    prefetch_short_rows, ring_rows, window_rows, window_taps,
)
from cypool._windows cimport Windows, last_tap, unpack_windows


cdef inline void zero_rows(max_t* d, Py_ssize_t start, Py_ssize_t stop,
                           Py_ssize_t row_size) noexcept nogil:
    """Zero flattened input rows [start, stop) of row_size elements (glibc's memset
    streams large ones)."""
    if stop > start:
        memset(d + start * row_size, 0, (stop - start) * row_size * sizeof(max_t))


cdef inline bint span_rows_ok(const Windows* win) noexcept nogil:
    """Whether rows of few channels take their span of windows through
    cypool_max_grad_span: adjacent W taps starting one or two pixels apart (every
    pixel's window is found along the row; past stride 2 most would be dropped)."""
    return (win.span_hi > win.span_lo and 1 <= win.span_step <= 2 and win.dilation[2] == 1
            and win.count[2][win.span_lo] >= 1)


cdef inline void max_grad_row(const max_t* x, max_t* d, const max_t* g, const Windows* win,
                              Py_ssize_t oh, Py_ssize_t n_rows, Py_ssize_t out_w,
                              Py_ssize_t row_elements, Py_ssize_t channels,
                              Py_ssize_t own_lo, Py_ssize_t own_hi,
                              max_t* values, int64_t* index, max_t** dx_row, void* g_wide,
                              void* winner, RowScratch* scratch) noexcept nogil:
    """dx += grad at each window's argmax for output row oh of few channels, its
    window rows at scratch.row_offset (span_rows_ok; n_rows * the span's W taps <=
    SPAN_TAPS), adding into the task's own rows [own_lo, own_hi) only: the border
    windows one by one before and after the span, so that each dx element still adds
    in output order."""
    cdef Py_ssize_t ow, r, row, lo = win.span_lo, hi = win.span_hi
    cdef Py_ssize_t row_bytes = row_elements * <Py_ssize_t>sizeof(max_t)
    if near_rows_window(scratch.row_offset, n_rows, row_elements, row_bytes):
        cypool_prefetch(x, scratch.row_offset[0] * sizeof(max_t), n_rows * row_bytes)
    elif row_bytes <= SHORT_ROW:
        prefetch_short_rows(x, win, oh, scratch.row_offset, n_rows, row_bytes, row_elements)
    for ow in range(lo):
        argmax_window(x, values, index, 0, win, scratch.row_offset, n_rows, ow, channels,
                      scratch.tap_offset)
    cypool_scatter_add(dtype_code(x), True, d, g, index, lo * channels, 0,
                       own_lo * row_elements, own_hi * row_elements, own_hi * row_elements)
    for r in range(n_rows):
        row = scratch.row_offset[r] // row_elements
        dx_row[r] = NULL
        if own_lo <= row < own_hi:
            dx_row[r] = d + scratch.row_offset[r] + win.first[2][lo] * channels
    window_taps(win, lo, scratch.row_offset, n_rows, channels, scratch.tap_offset)
    cypool_max_grad_span(dtype_code(x), <void**>dx_row, x, g + lo * channels,
                         scratch.tap_offset, n_rows, win.count[2][lo], win.span_step, hi - lo,
                         channels, g_wide, winner)
    for ow in range(hi, out_w):
        argmax_window(x, values, index, 0, win, scratch.row_offset, n_rows, ow, channels,
                      scratch.tap_offset)
    cypool_scatter_add(dtype_code(x), True, d, g + hi * channels, index + hi * channels,
                       (out_w - hi) * channels, 0, own_lo * row_elements,
                       own_hi * row_elements, own_hi * row_elements)


cdef struct HalfGrad:  # the max gradient of float16 bits (max_pool_grad_half)
    const uint16_t* x
    const uint16_t* grad
    uint16_t* dx
    const int64_t* settled  # per output row (od, oh): the input rows below it are final
    float* buffers          # a thread's: x rows, then dx rows, then a grad row
    Py_ssize_t x_rows       # input rows a buffer holds (widened x, float32 dx)
    Py_ssize_t dx_rows
    Py_ssize_t each         # floats a thread


cdef inline float* settle_dx_rows(float* dx_buffer, Py_ssize_t capacity,
                                  uint16_t* half_dx, Py_ssize_t settle, Py_ssize_t new_hi,
                                  Py_ssize_t row_elements, Py_ssize_t* base, Py_ssize_t* lo,
                                  Py_ssize_t* zeroed) noexcept nogil:
    """A task's float32 dx rows in a thread's buffer of ``capacity`` rows, before an
    output row adds into rows up to new_hi: rows [lo, zeroed) are open, row ``base``
    at the buffer's start.  Rows below ``settle`` (no later output row reaches them)
    are rounded into the plane's float16 dx (those never zeroed are zeros there); when
    rows up to new_hi would not fit, the open rows move to the buffer's start.
    Returns where the plane's row 0 would be (the kernels' plane offsets)."""
    if settle >= zeroed[0]:  # every open row is final: round them, reset the buffer
        if zeroed[0] > lo[0]:
            cypool_narrow_half(dx_buffer + (lo[0] - base[0]) * row_elements,
                               half_dx + lo[0] * row_elements, (zeroed[0] - lo[0]) * row_elements)
        if settle > zeroed[0]:
            memset(half_dx + zeroed[0] * row_elements, 0,
                   (settle - zeroed[0]) * row_elements * sizeof(uint16_t))
        zeroed[0] = settle
        base[0] = settle
        lo[0] = settle
    elif settle > lo[0]:
        cypool_narrow_half(dx_buffer + (lo[0] - base[0]) * row_elements,
                           half_dx + lo[0] * row_elements, (settle - lo[0]) * row_elements)
        lo[0] = settle
    if new_hi - base[0] > capacity:  # the open rows to the start
        memmove(dx_buffer, dx_buffer + (lo[0] - base[0]) * row_elements,
                (zeroed[0] - lo[0]) * row_elements * sizeof(float))
        base[0] = lo[0]
    return dx_buffer - base[0] * row_elements


cdef int max_grad_tasks(const max_t* x_ptr, const max_t* grad_ptr, max_t* dx_ptr,
                        const Windows* win, Py_ssize_t n_planes, Py_ssize_t in_d,
                        Py_ssize_t in_h, Py_ssize_t in_w, Py_ssize_t channels,
                        Py_ssize_t out_d, Py_ssize_t out_h, Py_ssize_t out_w,
                        int split_axis, Py_ssize_t chunks, int num_threads,
                        const HalfGrad* half) noexcept nogil:
    """dx[argmax(o)] += grad[o]; dx need not be zeroed.

    Each task is a plane, or with ``chunks`` > 1 a run of its output rows along D
    (``split_axis`` 1) or H (2): the run owns the input rows from its first window's
    first row to the next run's, and also visits the earlier outputs whose windows
    reach into them, adding only into its own rows (gradients._row_chunks).  Every
    dx cell so gets its adds from one task, in output order.  Cells of many float
    channels find their argmax and add in vector registers, cell by cell, or for
    tall windows at stride 1 rows first through a ring of row maxima (ring_rows);
    rows of few channels at W strides 1 and 2 find each lane's winning tap along the
    row and add the grads they won a vector at a time (max_grad_row); other cells
    find a row's argmax with the forward's row kernel (same rule: first maximum,
    first NaN), then add the row's gradients in output order.  Input rows are
    zeroed just before the first output row that reaches them (so the adds hit
    cache, and there is no separate zeroing pass).  Returns 1 when scratch memory ran
    out.

    With ``half`` (then max_t is float; x_ptr, grad_ptr and dx_ptr unused) x, grad
    and dx are float16 bits: each thread widens the input rows its windows read into
    its x buffer (hold_half_rows) and each grad row into a row of its own, adds into
    float32 dx rows in its dx buffer, and rounds them into the float16 dx once no
    later output row of the task reaches them (``half.settled``), so no float32 copy of
    the whole x, grad or dx is in memory.
    """
    cdef Py_ssize_t row_elements = in_w * channels
    cdef Py_ssize_t plane_size = in_d * in_h * row_elements
    cdef Py_ssize_t grad_plane = out_d * out_h * out_w * channels
    cdef Py_ssize_t task, p, k, od, oh, ow, c, i, zeroed, start, reach, n_rows, n_new
    cdef Py_ssize_t od_lo, od_hi, oh_lo, oh_hi, own_lo, own_hi
    cdef Py_ssize_t step
    cdef int32_t n_taps
    # cells of many channels (floats) take one C helper per cell; others the row
    # kernel's argmax and a scalar scatter
    cdef bint per_cell = ((max_t is float or max_t is double)
                          and channels * <Py_ssize_t>sizeof(max_t) >= CELL_BYTES)
    cdef Py_ssize_t in_rows = in_d * in_h
    cdef const max_t* g
    cdef const max_t* xp
    cdef max_t* d
    cdef max_t* values = NULL
    cdef int64_t* index = NULL
    cdef RowScratch scratch
    cdef int failed_flag = 0
    cdef int* failed = &failed_flag  # written through a pointer: shared by the threads
    # windows many rows tall: rows first, through a ring of row maxima
    cdef Py_ssize_t ring_size = ring_rows(x_ptr, win, out_d, out_h, out_w, row_elements,
                                          channels, GRAD_RING_TAPS) if per_cell else 0
    # rows of few channels: their span's g spread along the row and winning taps
    cdef bint span_rows = not per_cell and span_rows_ok(win)
    cdef Py_ssize_t span_room = (in_w + SPAN_TAPS) * channels * sizeof(max_t)
    cdef void* g_wide = NULL
    cdef void* winner = NULL
    cdef max_t** dx_row = NULL
    # float16: the thread's buffers, the rows its x buffer holds (hold_half_rows), its
    # dx buffer's rows (the row at its start, the first not yet rounded), and the
    # task's float16 dx plane
    cdef float* x_buffer = NULL
    cdef float* dx_buffer = NULL
    cdef float* grad_row = NULL
    cdef Py_ssize_t* held = NULL
    cdef Py_ssize_t dx_base = 0, dx_lo = 0
    cdef uint16_t* half_dx = NULL
    with parallel(num_threads=num_threads):
        scratch = new_row_scratch(win, out_d, out_h, out_w, out_w * channels,
                                  0 if per_cell else row_elements, channels, sizeof(max_t),
                                  MODE_ARGMAX, 0, ring_size, False, failed)
        if span_rows:
            g_wide = cypool_aligned_malloc(span_room)
            winner = cypool_aligned_malloc(span_room)
            dx_row = <max_t**>malloc(SPAN_TAPS * sizeof(max_t*))
            if g_wide == NULL or winner == NULL or dx_row == NULL:
                failed[0] = 1
        values = <max_t*>malloc(out_w * channels * sizeof(max_t) + 8)
        index = <int64_t*>malloc(out_w * channels * sizeof(int64_t) + 8)
        if values == NULL or index == NULL:
            failed[0] = 1
        if half != NULL:
            x_buffer = half.buffers + threadid() * half.each
            dx_buffer = x_buffer + half.x_rows * row_elements
            grad_row = dx_buffer + half.dx_rows * row_elements
            held = <Py_ssize_t*>malloc(3 * sizeof(Py_ssize_t))
            if held == NULL:
                failed[0] = 1
            else:
                held[0] = -1
        for task in prange(n_planes * chunks, schedule="static"):
            if failed[0]:
                continue
            p = task // chunks
            k = task % chunks
            d = dx_ptr + p * plane_size
            xp = x_ptr + p * plane_size  # the plane's input, as d its dx
            # the task's output rows, and the input rows it owns (id*in_h + ih):
            # [own_lo, own_hi), of which [own_lo, zeroed) are zeroed so far
            od_lo = 0
            od_hi = out_d
            oh_lo = 0
            oh_hi = out_h
            own_lo = 0
            own_hi = in_rows
            if split_axis == 1:
                od_lo = k * out_d // chunks
                od_hi = (k + 1) * out_d // chunks
                if k > 0:
                    own_lo = win.first[0][od_lo] * in_h
                if k + 1 < chunks:
                    own_hi = win.first[0][od_hi] * in_h
                while od_lo > 0 and last_tap(win, 0, od_lo - 1) * in_h + in_h > own_lo:
                    od_lo = od_lo - 1  # an earlier window reaching into the task's rows
            elif split_axis == 2:
                oh_lo = k * out_h // chunks
                oh_hi = (k + 1) * out_h // chunks
                if k > 0:
                    own_lo = win.first[1][oh_lo]
                if k + 1 < chunks:
                    own_hi = win.first[1][oh_hi]
                while oh_lo > 0 and last_tap(win, 1, oh_lo - 1) + 1 > own_lo:
                    oh_lo = oh_lo - 1
            zeroed = own_lo
            if half != NULL:
                half_dx = half.dx + p * plane_size
                dx_base = own_lo
                dx_lo = own_lo
            for od in range(od_lo, od_hi):
                for oh in range(oh_lo, oh_hi):
                    start = own_lo  # empty windows: nothing to add, nothing to clip
                    reach = own_lo
                    if win.count[0][od] > 0 and win.count[1][oh] > 0:
                        start = win.first[0][od] * in_h + win.first[1][oh]
                        reach = last_tap(win, 0, od) * in_h + last_tap(win, 1, oh) + 1
                    elif half != NULL:
                        continue  # (an empty window adds nothing)
                    if half != NULL:  # the task's rows in the thread's buffers
                        d = <max_t*>settle_dx_rows(
                            dx_buffer, half.dx_rows, half_dx,
                            min(half.settled[od * out_h + oh], own_hi), min(reach, own_hi),
                            row_elements, &dx_base, &dx_lo, &zeroed)
                        xp = <const max_t*>hold_half_rows(
                            half.x + p * plane_size, x_buffer, half.x_rows, p, start, reach,
                            row_elements, held)
                    if reach > start:
                        zero_rows(d, zeroed, min(reach, own_hi), row_elements)
                        zeroed = max(zeroed, min(reach, own_hi))
                    g = grad_ptr + p * grad_plane + (od * out_h + oh) * out_w * channels
                    if half != NULL:
                        cypool_widen_half(half.grad + p * grad_plane
                                          + (od * out_h + oh) * out_w * channels,
                                          <uint32_t*>grad_row, out_w * channels)
                        g = <const max_t*>grad_row
                    if per_cell and start >= own_lo and reach <= own_hi:
                        # argmax and adds cell by cell, in vector registers
                        n_rows = window_rows(win, od, oh, in_h, in_w, channels,
                                             scratch.row_offset)
                        if ring_size > 0:  # or rows first, through the ring
                            if n_rows > 0:
                                cypool_max_grad_ring(
                                    dtype_code(x_ptr), xp, d, g, scratch.row_offset, n_rows,
                                    row_elements, p * in_rows, win.first[2], win.count[2],
                                    out_w, channels, &scratch.ring)
                            continue
                        n_new = 0  # the next output row's rows, fetched cell by cell
                        if oh + 1 < out_h:
                            n_new = new_rows(scratch.row_offset, n_rows,
                                             (win.first[1][oh + 1] - win.first[1][oh])
                                             * row_elements, scratch.new_row)
                        for ow in range(out_w):
                            step = (win.first[2][ow + 1] - win.first[2][ow] if ow + 1 < out_w
                                    else 0) * channels
                            prefetch_new_rows(xp, scratch.new_row, n_new,
                                              win.first[2][ow] * channels, step * sizeof(max_t),
                                              sizeof(max_t))
                            n_taps = window_taps(win, ow, scratch.row_offset, n_rows, channels,
                                                 scratch.tap_offset)
                            if n_taps > 0:  # an empty window has no gradient
                                cypool_max_grad_cell(dtype_code(x_ptr), xp, d, g + ow * channels,
                                                     scratch.tap_offset, n_taps, channels)
                        continue
                    if span_rows:
                        n_rows = window_rows(win, od, oh, in_h, in_w, channels,
                                             scratch.row_offset)
                        if 0 < n_rows * win.count[2][win.span_lo] <= SPAN_TAPS:
                            max_grad_row(xp, d, g, win, oh, n_rows, out_w, row_elements,
                                         channels, own_lo, own_hi, values, index, dx_row,
                                         g_wide, winner, &scratch)
                            continue
                    pool_row(MODE_ARGMAX, xp, values, index, 0,
                             win, od, oh, out_w, in_h, in_w, channels, &scratch)
                    # in output order; -1: an empty window has no gradient; a window
                    # shared with another task adds only into own rows
                    cypool_scatter_add(dtype_code(x_ptr), True, d, g, index,
                                       out_w * channels, 0, own_lo * row_elements,
                                       own_hi * row_elements, own_hi * row_elements)
            if half != NULL:  # the rows left: rounded, and zeros
                settle_dx_rows(dx_buffer, half.dx_rows, half_dx, own_hi, own_hi, row_elements,
                               &dx_base, &dx_lo, &zeroed)
            else:
                zero_rows(d, zeroed, own_hi, row_elements)
        free(values)
        free(index)
        free(held)
        cypool_aligned_free(g_wide)
        cypool_aligned_free(winner)
        free(dx_row)
        free_row_scratch(&scratch)
    return failed_flag


def max_pool_grad(const max_t[:, :, :, :, ::1] x, const max_t[:, :, :, :, ::1] grad,
                  max_t[:, :, :, :, ::1] dx, tuple first, tuple count, tuple divisor, tuple dilation,
                  tuple span, int split_axis, Py_ssize_t chunks, int num_threads):
    """dx[argmax(o)] += grad[o]; dx need not be zeroed (max_grad_tasks)."""
    cdef Windows win = unpack_windows(first, count, divisor, dilation, span)
    cdef int failed
    with nogil:
        failed = max_grad_tasks(&x[0, 0, 0, 0, 0], &grad[0, 0, 0, 0, 0], &dx[0, 0, 0, 0, 0],
                                &win, x.shape[0], x.shape[1], x.shape[2], x.shape[3],
                                x.shape[4], grad.shape[1], grad.shape[2], grad.shape[3],
                                split_axis, chunks, num_threads, NULL)
    if failed:
        raise MemoryError("cypool: out of memory for the kernel's per-thread scratch")


def max_pool_grad_half(const uint16_t[:, :, :, :, ::1] x, const uint16_t[:, :, :, :, ::1] grad,
                       uint16_t[:, :, :, :, ::1] dx, tuple first, tuple count, tuple divisor,
                       tuple dilation, tuple span, int split_axis, Py_ssize_t chunks,
                       const int64_t[::1] settled, Py_ssize_t x_rows, Py_ssize_t dx_rows,
                       float[:, ::1] buffers, int num_threads):
    """max_pool_grad of float16 ``x`` and ``grad`` (their bits) into float16 ``dx``:
    the bits of widening both as NumPy's cast, the float32 gradient, and rounding it
    once as NumPy's cast, through per-thread buffers (``buffers``: num_threads rows
    of x_rows widened input rows, dx_rows float32 dx rows and a grad row; ``settled``:
    for each output row (od, oh), the least first input row (d * in_h + h) of the
    non-empty windows from it on, _buffers.half_grad_rows)."""
    cdef Windows win = unpack_windows(first, count, divisor, dilation, span)
    cdef HalfGrad half
    cdef int failed
    half.x = &x[0, 0, 0, 0, 0]
    half.grad = &grad[0, 0, 0, 0, 0]
    half.dx = &dx[0, 0, 0, 0, 0]
    half.settled = &settled[0]
    half.buffers = &buffers[0, 0]
    half.x_rows = x_rows
    half.dx_rows = dx_rows
    half.each = buffers.shape[1]
    with nogil:
        failed = max_grad_tasks(<const float*>NULL, <const float*>NULL, <float*>NULL, &win,
                                x.shape[0], x.shape[1], x.shape[2], x.shape[3], x.shape[4],
                                grad.shape[1], grad.shape[2], grad.shape[3], split_axis,
                                chunks, num_threads, &half)
    if failed:
        raise MemoryError("cypool: out of memory for the kernel's per-thread scratch")


cdef inline bint any_equals(const int64_t* values, Py_ssize_t n,
                            int64_t value) noexcept nogil:
    """Whether one of values[:n] is ``value``."""
    cdef Py_ssize_t k
    for k in range(n):
        if values[k] == value:
            return True
    return False


cdef inline void find_rows(const int64_t* tag, Py_ssize_t n_entries, const int64_t* key,
                           int64_t* entry, Py_ssize_t n_pairs) noexcept nogil:
    """entry[k]: the entry of a thread's cache of grad rows (``tag``: the offset of the
    grad row each entry holds, -1 none) that holds pair k's row (key[k]), or -1.
    Neighbouring dx rows share most of their covering rows, so each grad row is
    mostly made once."""
    cdef Py_ssize_t k, e
    for k in range(n_pairs):
        entry[k] = -1
        for e in range(n_entries):
            if tag[e] == key[k]:
                entry[k] = e
                break


cdef inline Py_ssize_t take_entry(int64_t* tag, const int64_t* entry, Py_ssize_t n_pairs,
                                  int64_t key) noexcept nogil:
    """The first entry none of the row's pairs holds (a cache has an entry for each
    pair a row can have), now tagged ``key``: its row is the caller's to make."""
    cdef Py_ssize_t e = 0
    while any_equals(entry, n_pairs, e):
        e += 1
    tag[e] = key
    return e


cdef inline void widen_pair_rows(const uint16_t* half_grad, float* slots, int64_t* tag,
                                 int64_t* pair_slot, int64_t* pair_offset,
                                 Py_ssize_t n_pairs, Py_ssize_t n_slots, Py_ssize_t slot_size,
                                 Py_ssize_t grad_lanes) noexcept nogil:
    """Point a dx row's pairs (their float16 grad rows at pair_offset) at float32 copies
    in the thread's slots (a cache of grad rows, find_rows): rows a slot still holds
    are kept, the others widened into slots this row does not use; pair_offset
    becomes each copy's offset from ``slots``."""
    cdef Py_ssize_t k
    find_rows(tag, n_slots, pair_offset, pair_slot, n_pairs)
    for k in range(n_pairs):
        if pair_slot[k] < 0:
            pair_slot[k] = take_entry(tag, pair_slot, n_pairs, pair_offset[k])
            cypool_widen_half(half_grad + pair_offset[k],
                              <uint32_t*>(slots + pair_slot[k] * slot_size), grad_lanes)
    for k in range(n_pairs):
        pair_offset[k] = pair_slot[k] * slot_size


cdef int avg_grad_rows(const avg_t* grad_ptr, avg_t* dx_ptr, const int64_t** off,
                       const int64_t** outs, const int64_t** div, Py_ssize_t n_planes,
                       Py_ssize_t in_d, Py_ssize_t in_h, Py_ssize_t in_w, Py_ssize_t channels,
                       Py_ssize_t out_d, Py_ssize_t out_h, Py_ssize_t out_w, bint stream,
                       int num_threads, const uint16_t* half_grad,
                       uint16_t* half_dx) noexcept nogil:
    """avg_pool_grad's work on raw pointers; returns 1 when scratch memory ran out.
    With ``half_grad`` (then avg_t is float; grad_ptr and dx_ptr unused) grad and dx
    are float16 bits: each thread widens the grad rows its dx rows gather from into
    float32 rows of its own, sums each dx row into a float32 row and rounds it into
    ``half_dx`` (no float32 copy of the whole grad or dx in memory)."""
    cdef Py_ssize_t rows = n_planes * in_d * in_h, row, p, id_, ih, n_pairs
    cdef Py_ssize_t a, b, od, oh, ow, i, slot = 0, axis, k, entry
    cdef Py_ssize_t sizes[3]
    cdef Py_ssize_t most[3]
    cdef int64_t pair_divisor, key
    cdef int64_t* src_offset = NULL
    cdef avg_t* src_scale = NULL
    cdef int64_t* pair_offset = NULL   # a dx row's covering (od, oh): their grad rows
    cdef int64_t* pair_cached = NULL   # the div[0][od] * div[1][oh] of pair_scale's rows
                                       # (few channels: of lane_scale, at [0])
    cdef int64_t* last_row = NULL      # the thread's last row and its p, id_, ih
    cdef avg_t* pair_scale = NULL      # T(1/divisor) of each pair's outputs along W
    # rows of few channels go along the whole row (cypool_gather_row_few) from scaled
    # grad rows (the grad row times its expanded scales), which the thread keeps in a
    # cache of grad rows (find_rows) for the next dx rows that share them (3x3/2: each
    # grad row serves three)
    cdef Py_ssize_t row_lanes = in_w * channels, grad_lanes = out_w * channels, c, j
    cdef Py_ssize_t scaled_step = grad_lanes + GATHER_PAD // <Py_ssize_t>sizeof(avg_t)
    cdef bint few = (channels * <Py_ssize_t>sizeof(avg_t) < CELL_BYTES
                     and row_lanes < (<Py_ssize_t>1) << 31
                     and grad_lanes < (<Py_ssize_t>1) << 31)
    cdef int32_t* slot_source = NULL
    cdef int32_t* slot_base = NULL
    cdef int32_t* slot_rel = NULL
    cdef uint16_t* slot_have = NULL
    cdef int32_t slot_run[4]
    cdef int64_t* pair_div = NULL      # each pair's div[0][od] * div[1][oh]
    cdef avg_t* lane_scale = NULL
    cdef avg_t* scaled = NULL
    cdef avg_t* sums = NULL
    cdef float* widened = NULL         # float16: a grad row widened (few channels)
    # the thread's cache of grad rows: scaled (few channels) or float16 widened (many
    # channels, a slot a covering pair): the row each entry holds, each pair's entry
    cdef Py_ssize_t n_slots, slot_size = grad_lanes + 16
    cdef int64_t* slot_tag = NULL
    cdef int64_t* pair_slot = NULL
    cdef float* grad_slots = NULL
    cdef avg_t* dx_row = NULL
    cdef const avg_t* grad_rows
    cdef const avg_t* source
    cdef avg_t* dst
    cdef avg_t scale
    cdef int failed_flag = 0
    cdef int* failed = &failed_flag  # written through a pointer: shared by the threads
    slot_run[0] = slot_run[1] = slot_run[2] = slot_run[3] = 0
    sizes[0] = in_d
    sizes[1] = in_h
    sizes[2] = in_w
    for axis in range(3):  # the most outputs covering one cell per axis: scratch sizes
        most[axis] = 1
        for i in range(sizes[axis]):
            most[axis] = max(most[axis], off[axis][i + 1] - off[axis][i])
    n_slots = most[0] * most[1]
    if few:  # lane iw*C + c's j-th covering output along W as a grad row lane, or -1
        slot_source = <int32_t*>malloc(most[2] * row_lanes * sizeof(int32_t) + 8)
        slot_base = <int32_t*>malloc(most[2] * row_lanes * sizeof(int32_t) + 8)
        slot_rel = <int32_t*>malloc(most[2] * row_lanes * sizeof(int32_t) + 64)
        slot_have = <uint16_t*>malloc(most[2] * row_lanes * sizeof(uint16_t) + 8)
        if slot_source == NULL or slot_base == NULL or slot_rel == NULL or slot_have == NULL:
            free(slot_source)
            free(slot_base)
            free(slot_rel)
            free(slot_have)
            return 1
        for j in range(most[2]):
            for i in range(in_w):
                for c in range(channels):
                    slot_source[j * row_lanes + i * channels + c] = <int32_t>(
                        outs[2][off[2][i] + j] * channels + c
                        if off[2][i] + j < off[2][i + 1] else -1)
        cypool_gather_bases(dtype_code(<avg_t*>NULL), slot_source, most[2], row_lanes,
                            slot_base, slot_rel, slot_have, slot_run)
    with parallel(num_threads=num_threads):
        pair_offset = <int64_t*>malloc(n_slots * sizeof(int64_t) + 8)
        pair_cached = <int64_t*>malloc(n_slots * sizeof(int64_t) + 8)
        last_row = <int64_t*>malloc(4 * sizeof(int64_t))
        slot_tag = <int64_t*>malloc(n_slots * sizeof(int64_t) + 8)
        pair_slot = <int64_t*>malloc(n_slots * sizeof(int64_t) + 8)
        if few:  # the whole row's scratch
            pair_div = <int64_t*>malloc(n_slots * sizeof(int64_t) + 8)
            lane_scale = <avg_t*>cypool_aligned_malloc(grad_lanes * sizeof(avg_t))
            scaled = <avg_t*>cypool_aligned_malloc(n_slots * scaled_step * sizeof(avg_t))
            if scaled != NULL:  # the pads are read (into lanes masked off): defined bytes
                memset(scaled, 0, n_slots * scaled_step * sizeof(avg_t))
            sums = <avg_t*>cypool_aligned_malloc(row_lanes * sizeof(avg_t))
            if half_grad != NULL:
                widened = <float*>cypool_aligned_malloc(grad_lanes * sizeof(float) + 64)
        else:  # a cell's sources
            pair_scale = <avg_t*>malloc(n_slots * out_w * sizeof(avg_t) + 8)
            src_offset = <int64_t*>malloc(n_slots * most[2] * sizeof(int64_t) + 8)
            src_scale = <avg_t*>malloc(n_slots * most[2] * sizeof(avg_t) + 8)
            if half_grad != NULL:
                grad_slots = <float*>cypool_aligned_malloc(n_slots * slot_size * sizeof(float))
        if half_grad != NULL:
            dx_row = <avg_t*>cypool_aligned_malloc(row_lanes * sizeof(avg_t) + 8)
        if (pair_offset == NULL or pair_cached == NULL or last_row == NULL
                or slot_tag == NULL or pair_slot == NULL
                or (few and (pair_div == NULL or lane_scale == NULL or scaled == NULL
                             or sums == NULL or (half_grad != NULL and widened == NULL)))
                or (not few and (pair_scale == NULL or src_offset == NULL
                                 or src_scale == NULL
                                 or (half_grad != NULL and grad_slots == NULL)))
                or (half_grad != NULL and dx_row == NULL)):
            failed[0] = 1
        else:
            last_row[0] = -2
            for slot in range(n_slots):
                pair_cached[slot] = -1
                slot_tag[slot] = -1
        for row in prange(rows, schedule="static"):
            if failed[0]:
                continue
            if row == last_row[0] + 1:  # the thread's next row: no divisions (a tenth of
                p = last_row[1]           # a grayscale row's time)
                id_ = last_row[2]
                ih = last_row[3] + 1
                if ih == in_h:
                    ih = 0
                    id_ = id_ + 1
                    if id_ == in_d:
                        id_ = 0
                        p = p + 1
            else:
                p = row // (in_d * in_h)
                id_ = (row // in_h) % in_d
                ih = row % in_h
            last_row[0] = row
            last_row[1] = p
            last_row[2] = id_
            last_row[3] = ih
            # the row's covering (od, oh) in row-major order; rows of many channels
            # keep their 1/divisor along W while the divisor of (od, oh) stays the same
            n_pairs = 0
            for a in range(off[0][id_], off[0][id_ + 1]):
                od = outs[0][a]
                for b in range(off[1][ih], off[1][ih + 1]):
                    oh = outs[1][b]
                    pair_offset[n_pairs] = ((p * out_d + od) * out_h + oh) * out_w * channels
                    pair_divisor = div[0][od] * div[1][oh]
                    if few:
                        pair_div[n_pairs] = pair_divisor
                    elif pair_cached[n_pairs] != pair_divisor:
                        pair_cached[n_pairs] = pair_divisor
                        for ow in range(out_w):
                            pair_scale[n_pairs * out_w + ow] = <avg_t>(
                                1.0 / <double>(pair_divisor * div[2][ow]))
                    n_pairs = n_pairs + 1  # not "+=": prange would make it a reduction
            dst = dx_ptr + row * row_lanes if dx_ptr != NULL else NULL
            if half_grad != NULL:
                dst = dx_row
            if few:  # each pair's scaled row: kept, or made
                find_rows(slot_tag, n_slots, pair_offset, pair_slot, n_pairs)
                for k in range(n_pairs):
                    if pair_slot[k] >= 0:
                        continue
                    key = pair_offset[k]
                    entry = take_entry(slot_tag, pair_slot, n_pairs, key)
                    pair_slot[k] = entry
                    if pair_cached[0] != pair_div[k]:  # lane_scale for this divisor
                        pair_cached[0] = pair_div[k]
                        for ow in range(out_w):
                            scale = <avg_t>(1.0 / <double>(pair_div[k] * div[2][ow]))
                            for c in range(channels):
                                lane_scale[ow * channels + c] = scale
                    if half_grad != NULL:
                        cypool_widen_half(half_grad + key, <uint32_t*>widened, grad_lanes)
                        source = <const avg_t*>widened
                    else:
                        source = grad_ptr + key
                    cypool_scale_row(dtype_code(dst), scaled + entry * scaled_step, source,
                                     lane_scale, grad_lanes)
                for k in range(n_pairs):
                    pair_slot[k] = pair_slot[k] * scaled_step
                cypool_gather_row_few(dtype_code(dst), dst, scaled, pair_slot, n_pairs,
                                      slot_source, slot_base, slot_rel, slot_have, slot_run,
                                      most[2], row_lanes, sums,
                                      stream and half_dx == NULL)
            else:
                grad_rows = grad_ptr
                if half_grad != NULL:
                    widen_pair_rows(half_grad, grad_slots, slot_tag, pair_slot, pair_offset,
                                    n_pairs, n_slots, slot_size, grad_lanes)
                    grad_rows = <const avg_t*>grad_slots
                cypool_gather_row(dtype_code(dst), dst, grad_rows, pair_offset, pair_scale,
                                  n_pairs, off[2], outs[2], in_w, out_w, channels,
                                  src_offset, src_scale, stream and half_dx == NULL)
            if half_dx != NULL:
                cypool_narrow_half(<float*>dx_row, half_dx + row * row_lanes, row_lanes)
        if stream:
            cypool_store_fence()
        free(src_offset)
        free(src_scale)
        free(pair_offset)
        free(pair_cached)
        free(last_row)
        free(pair_scale)
        free(pair_div)
        cypool_aligned_free(lane_scale)
        cypool_aligned_free(scaled)
        cypool_aligned_free(sums)
        cypool_aligned_free(widened)
        cypool_aligned_free(grad_slots)
        free(slot_tag)
        free(pair_slot)
        cypool_aligned_free(dx_row)
    free(slot_source)
    free(slot_base)
    free(slot_rel)
    free(slot_have)
    return failed_flag


cdef struct Cover:  # avg_pool_grad's covering outputs, per axis, as pointers
    const int64_t* off[3]
    const int64_t* outs[3]
    const int64_t* div[3]


cdef Cover unpack_cover(tuple cover_offsets, tuple cover_outputs, tuple divisor):
    """Pointers into the geometry's per-axis int64 arrays (which outlive the call)."""
    cdef Cover cover
    cdef const int64_t[::1] view
    cdef int axis
    for axis in range(3):
        view = cover_offsets[axis]
        cover.off[axis] = &view[0]
        view = cover_outputs[axis]
        cover.outs[axis] = &view[0] if view.shape[0] else NULL
        view = divisor[axis]
        cover.div[axis] = &view[0] if view.shape[0] else NULL
    return cover


def avg_pool_grad(const avg_t[:, :, :, :, ::1] grad, avg_t[:, :, :, :, ::1] dx,
                  tuple cover_offsets, tuple cover_outputs, tuple divisor, bint stream,
                  int num_threads):
    """dx[i] = sum of grad[o] * T(1/divisor(o)) over the outputs o whose window taps i.

    A gather: the covering outputs of each dx cell come in row-major order, which is
    the order in which TF's scatter adds them, so the sums are bit-identical; each dx
    row has one writer and dx needs no zeroing.  ``stream``: dx is written with
    non-temporal stores.
    """
    cdef Cover cover = unpack_cover(cover_offsets, cover_outputs, divisor)
    cdef int failed
    with nogil:
        failed = avg_grad_rows(&grad[0, 0, 0, 0, 0], &dx[0, 0, 0, 0, 0], cover.off,
                               cover.outs, cover.div, dx.shape[0], dx.shape[1], dx.shape[2],
                               dx.shape[3], dx.shape[4], grad.shape[1], grad.shape[2],
                               grad.shape[3], stream, num_threads, NULL, NULL)
    if failed:
        raise MemoryError("cypool: out of memory for the average gradient's scratch")


def avg_pool_grad_half(const uint16_t[:, :, :, :, ::1] grad, uint16_t[:, :, :, :, ::1] dx,
                       tuple cover_offsets, tuple cover_outputs, tuple divisor,
                       int num_threads):
    """avg_pool_grad of float16 ``grad`` (its bits) into float16 ``dx``: the sums in
    float32 from the grad rows widened as NumPy's cast, each dx row rounded once as
    NumPy's cast, so the bits are those of widening grad, the float32 gradient and
    rounding it, without their float32 copies."""
    cdef Cover cover = unpack_cover(cover_offsets, cover_outputs, divisor)
    cdef int failed
    with nogil:
        failed = avg_grad_rows(<const float*>NULL, <float*>NULL, cover.off, cover.outs,
                               cover.div, dx.shape[0], dx.shape[1], dx.shape[2], dx.shape[3],
                               dx.shape[4], grad.shape[1], grad.shape[2], grad.shape[3],
                               False, num_threads, &grad[0, 0, 0, 0, 0], &dx[0, 0, 0, 0, 0])
    if failed:
        raise MemoryError("cypool: out of memory for the average gradient's scratch")


# the dtypes of argmax indices
ctypedef fused index_t:
    int32_t
    int64_t


cdef struct Piece:  # a task's piece of a row cut into parts: elements [lo, hi) of row
    Py_ssize_t row, lo, hi


cdef inline Piece row_piece(Py_ssize_t task, Py_ssize_t parts, Py_ssize_t n) noexcept nogil:
    """Task ``task``'s piece when each row of n elements is cut into ``parts``."""
    cdef Piece piece
    piece.row = task // parts
    piece.lo = (task % parts) * n // parts
    piece.hi = (task % parts + 1) * n // parts
    return piece


def index_bounds(const index_t[:, ::1] index, Py_ssize_t parts, int64_t[:, ::1] bounds,
                 int num_threads):
    """The least and the greatest index of each part of each row r (a row cut into
    ``parts`` pieces) into bounds[r * parts + part] (a type's extremes for none)."""
    cdef Py_ssize_t task
    cdef Piece piece
    with nogil:
        for task in prange(index.shape[0] * parts, num_threads=num_threads,
                           schedule="static"):
            piece = row_piece(task, parts, index.shape[1])
            cypool_index_bounds(index_t is int64_t, &index[piece.row, piece.lo],
                                piece.hi - piece.lo, &bounds[task, 0])


def scatter_add_rows(const max_t[:, ::1] grad, const index_t[:, ::1] index,
                     max_t[:, ::1] dx, Py_ssize_t row_step, Py_ssize_t parts,
                     int num_threads):
    """dx[r, index[r, i] - r * row_step] += grad[r, i] for index >= 0 (validated: in
    the row), in order within a row; each dx row cut into ``parts`` pieces, all in
    parallel, each piece's task reading all of its row and adding what lands in the
    piece.  dx need not be zeroed: a piece is zeroed ahead of its adds, a block at a
    time (so the adds hit cache)."""
    cdef Py_ssize_t task
    cdef Piece piece
    cdef int64_t zeroed
    with nogil:
        for task in prange(grad.shape[0] * parts, num_threads=num_threads,
                           schedule="static"):
            piece = row_piece(task, parts, dx.shape[1])
            zeroed = cypool_scatter_add(
                dtype_code(&dx[0, 0]), index_t is int64_t, &dx[piece.row, 0],
                &grad[piece.row, 0], &index[piece.row, 0], grad.shape[1],
                piece.row * row_step, piece.lo, piece.hi, piece.lo)
            if piece.hi > zeroed:
                memset(&dx[piece.row, zeroed], 0, (piece.hi - zeroed) * sizeof(max_t))


cdef enum:
    # float16 grad elements a scatter_add_rows_half task widens at a time (8 KB)
    HALF_CHUNK = 2048
HALF_SCATTER_CHUNK = HALF_CHUNK  # (for Python, sizing the buffers)


def scatter_add_rows_half(const uint16_t[:, ::1] grad, const index_t[:, ::1] index,
                          uint16_t[:, ::1] dx, Py_ssize_t row_step, Py_ssize_t parts,
                          float[:, ::1] buffers, int num_threads):
    """scatter_add_rows of float16 bits: each piece's sums in float32, in a buffer of
    the thread's (a row of ``buffers``: the piece's elements, then HALF_SCATTER_CHUNK
    for grad widened that many at a time), each rounded into dx once; so the bits are
    those of widening grad, adding in float32 and rounding, without their float32
    copies."""
    cdef Py_ssize_t task, start, count, size, n = grad.shape[1]
    cdef Piece piece
    cdef int64_t zeroed
    cdef float* sums
    cdef float* wide
    with nogil:
        for task in prange(grad.shape[0] * parts, num_threads=num_threads,
                           schedule="static"):
            piece = row_piece(task, parts, dx.shape[1])
            size = piece.hi - piece.lo
            sums = &buffers[threadid(), 0]
            wide = sums + (buffers.shape[1] - HALF_CHUNK)
            zeroed = 0
            start = 0
            while start < n:
                count = min(<Py_ssize_t>HALF_CHUNK, n - start)
                cypool_widen_half(&grad[piece.row, start], <uint32_t*>wide, count)
                zeroed = cypool_scatter_add(dtype_code(sums), index_t is int64_t, sums, wide,
                                            &index[piece.row, start], count,
                                            piece.row * row_step + piece.lo, 0, size, zeroed)
                start = start + count  # (not +=: a reduction in prange)
            if size > zeroed:
                memset(sums + zeroed, 0, (size - zeroed) * sizeof(float))
            cypool_narrow_half(sums, &dx[piece.row, piece.lo], size)


def gather_rows(const max_t[:, ::1] src, const index_t[:, ::1] index, max_t[:, ::1] result,
                Py_ssize_t row_step, Py_ssize_t parts, int num_threads):
    """result[r, i] = src[r, index[r, i] - r * row_step], 0 where index is -1
    (validated: in the row); each row cut into ``parts`` pieces, all in parallel."""
    cdef Py_ssize_t task, i
    cdef Piece piece
    cdef int64_t j, base
    cdef const max_t* s
    cdef const index_t* idx
    cdef max_t* res
    with nogil:
        for task in prange(index.shape[0] * parts, num_threads=num_threads,
                           schedule="static"):
            piece = row_piece(task, parts, index.shape[1])
            base = piece.row * row_step
            s = &src[piece.row, 0]  # raw pointers, as in scatter_add_rows
            idx = &index[piece.row, 0]
            res = &result[piece.row, 0]
            for i in range(piece.lo, piece.hi):
                j = idx[i]
                res[i] = s[j - base] if j >= 0 else 0
