from libc.stdint cimport int64_t

cimport numpy as cnp

# Per-axis window geometry for the (d, h, w) axes of the canonical 5-D view, as
# computed by cypool._geometry: output o's taps along an axis are
# first[o] + dilation*t for t < count[o], all in bounds.  W outputs in
# [span_lo, span_hi) all have count[span_lo] taps and start span_step apart.  An
# average divides by the product of the axes' divisor[o] (by default the counts).
cdef struct Windows:
    Py_ssize_t size[3]  # output size per axis
    const int64_t* first[3]
    const int64_t* count[3]
    const int64_t* divisor[3]
    Py_ssize_t dilation[3]
    Py_ssize_t span_lo
    Py_ssize_t span_hi
    Py_ssize_t span_step


cdef inline const int64_t* int64_data(cnp.ndarray array) except NULL:
    """The data of a C-contiguous int64 array: its type number and flag checked, no
    buffer acquired (a typed memoryview of each of the nine geometry arrays took
    about 3 us of a 1x8x8x1 call's 18-21)."""
    if cnp.PyArray_TYPE(array) != cnp.NPY_INT64 or not cnp.PyArray_IS_C_CONTIGUOUS(array):
        raise TypeError("cypool: geometry arrays must be C-contiguous int64")
    return <const int64_t*>cnp.PyArray_DATA(array)


cdef inline Py_ssize_t last_tap(const Windows* win, int axis, Py_ssize_t o) noexcept nogil:
    """The last in-bounds input index of output o's window along axis (count > 0)."""
    return win.first[axis][o] + (win.count[axis][o] - 1) * win.dilation[axis]


cdef inline Windows unpack_windows(tuple first, tuple count, tuple divisor,
                                   tuple dilation, tuple span) except *:
    """Borrow pointers to the geometry arrays (cypool._geometry's own, C-contiguous
    int64); the caller keeps the arrays alive."""
    cdef Windows win
    cdef int axis
    for axis in range(3):
        win.first[axis] = int64_data(first[axis])
        win.size[axis] = cnp.PyArray_DIM(<cnp.ndarray>first[axis], 0)
        win.count[axis] = int64_data(count[axis])
        win.divisor[axis] = int64_data(divisor[axis])
        win.dilation[axis] = dilation[axis]
    win.span_lo, win.span_hi, win.span_step = span
    return win
