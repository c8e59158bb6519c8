from libc.stdint cimport int64_t

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


cdef inline Windows unpack_windows(tuple first, tuple count, tuple divisor,
                                   tuple dilation, tuple span) except *:
    """Borrow pointers to the geometry arrays; the caller keeps the arrays alive."""
    cdef Windows win
    cdef const int64_t[::1] view
    cdef int axis
    for axis in range(3):
        view = first[axis]
        win.first[axis] = &view[0]
        win.size[axis] = view.shape[0]
        view = count[axis]
        win.count[axis] = &view[0]
        view = divisor[axis]
        win.divisor[axis] = &view[0]
        win.dilation[axis] = dilation[axis]
    win.span_lo, win.span_hi, win.span_step = span
    return win


cdef inline Py_ssize_t last_tap(const Windows* win, int axis, Py_ssize_t o) noexcept nogil:
    """The last in-bounds input index of output o's window along axis (count > 0)."""
    return win.first[axis][o] + (win.count[axis][o] - 1) * win.dilation[axis]
