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

from cython.parallel cimport parallel, prange
from libc.stdint cimport int32_t, int64_t, uint16_t, uint32_t
from libc.stdlib cimport free, malloc

from cypool._fused_types cimport max_t
from cypool._pool_rows cimport (
    CELL_BYTES, MODE_ARGMAX, MODE_MAX, RowScratch, cypool_narrow_indices, cypool_store_fence,
    free_row_scratch, new_row_scratch, pool_row_group, row_group_size,
)
from cypool._windows cimport Windows, unpack_windows

# What pool_forward computes.
MAX = 0
AVG = 1
ARGMAX = 2


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
    cdef Py_ssize_t in_h = x.shape[2], in_w = x.shape[3]
    cdef Py_ssize_t out_d = out.shape[1], out_h = out.shape[2], out_w = out.shape[3]
    cdef Py_ssize_t channels = out.shape[4]
    cdef Py_ssize_t plane_size = x.shape[1] * in_h * in_w * channels
    cdef Py_ssize_t out_row_size = out_w * channels
    # output rows go in groups of pool_row_group's size within a (d) row of a plane
    cdef Py_ssize_t group = row_group_size(&win, mode, channels, sizeof(max_t))
    cdef Py_ssize_t groups_per_row = (out_h + group - 1) // group
    cdef Py_ssize_t n_groups = out.shape[0] * out_d * groups_per_row, g, plane_row, oh, row, p
    cdef const max_t* x_ptr = &x[0, 0, 0, 0, 0]
    cdef max_t* out_ptr = &out[0, 0, 0, 0, 0]
    cdef int64_t* argmax_ptr = NULL
    cdef int32_t* argmax32_ptr = NULL
    cdef int64_t* wide_row = NULL  # per thread: a row of int64 indices to narrow to int32
    cdef int64_t* index_row  # the row's indices: into argmax, or wide_row
    cdef RowScratch scratch
    cdef int failed_flag = 0
    cdef int* failed = &failed_flag  # written through a pointer: shared by the threads
    if mode == MODE_ARGMAX and argmax32 is not None:
        argmax32_ptr = &argmax32[0, 0, 0, 0, 0]
    elif mode == MODE_ARGMAX:
        argmax_ptr = &argmax[0, 0, 0, 0, 0]
    with nogil, parallel(num_threads=num_threads):
        # (cells stream values and indices alike: not into a row of int64 indices to
        # narrow, which is read back at once; the narrowed indices stream)
        scratch = new_row_scratch(&win, out_d, out_h, out_w, out_row_size, in_w * channels,
                                  sizeof(max_t), mode,
                                  group if channels * sizeof(max_t) >= CELL_BYTES else 0,
                                  stream and argmax32_ptr == NULL, failed)
        # int32 indices: each row's int64 indices narrowed from a per-thread row
        wide_row = <int64_t*>malloc(out_row_size * sizeof(int64_t) + 8) \
            if argmax32_ptr != NULL else NULL
        if argmax32_ptr != NULL and wide_row == NULL:
            failed[0] = 1
        for g in prange(n_groups, schedule="static"):
            if failed[0]:
                continue
            plane_row = g // groups_per_row  # n * out_d + od
            oh = g % groups_per_row * group
            row = plane_row * out_h + oh
            p = plane_row // out_d
            index_row = argmax_ptr + row * out_row_size if argmax_ptr != NULL else wide_row
            pool_row_group(mode, x_ptr + p * plane_size, out_ptr + row * out_row_size,
                           index_row, (p % index_group) * plane_size, &win,
                           plane_row % out_d, oh, min(group, out_h - oh), out_w, in_h, in_w,
                           channels, &scratch)
            if argmax32_ptr != NULL:  # argmax rows come one at a time (group 1)
                cypool_narrow_indices(index_row, argmax32_ptr + row * out_row_size,
                                      out_row_size, stream)
        if stream:
            cypool_store_fence()
        free_row_scratch(&scratch)
        free(wide_row)
    if failed_flag:
        raise MemoryError("cypool: out of memory for the kernel's per-thread scratch")


cdef extern from "_row_simd.h" nogil:
    void cypool_widen_half(const uint16_t* src, uint32_t* dst, Py_ssize_t n)
    void cypool_narrow_half(const float* src, uint16_t* dst, Py_ssize_t n)


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
