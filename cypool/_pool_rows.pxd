# Row kernels shared by the forward and gradient modules (inline, fused over dtypes).
#
# pool_row computes one output row of the canonical (planes, D, H, W, C) view.  The W
# outputs whose windows are full and evenly spaced (the "span") take a fast path:
# - many channels (>= CELL_BYTES): cell by cell, the channels in vector registers
#   (C helpers in _row_simd.h);
# - few channels: tap-major, one branch-free pass per tap over all of them, vectorised
#   along the row; strided max rows take running maxima along the row or (one channel,
#   stride 2) deinterleave with shuffles, from column maxima in registers for 2 or 3
#   adjacent taps;
# - max reduces a window's input rows first when that saves work (any order is exact);
# - large outputs of per-cell rows go out with non-temporal stores (scratch.stream).
# Every output still sees its taps in window row-major order (or, for max, in groups
# that keep the first maximum and the NaN rule), so max ties, argmax and the float sums
# of averages are exactly those of a per-cell loop.  Border outputs go per cell.

cimport cython
from libc.math cimport INFINITY
from libc.stdint cimport (
    int8_t, int16_t, int32_t, int64_t, uint8_t, uint16_t, uint32_t, uint64_t,
    INT8_MIN, INT16_MIN, INT32_MIN, INT64_MIN,
)

from libc.stdlib cimport malloc, free
from libc.string cimport memmove

from cypool._fused_types cimport max_t
from cypool._windows cimport Windows

cdef enum:
    MODE_MAX = 0
    MODE_AVG = 1
    MODE_ARGMAX = 2


cdef inline max_t lowest(max_t dummy) noexcept nogil:
    """Value of an empty max window: -inf for floats, the dtype's minimum for ints."""
    if max_t is float or max_t is double:
        return -INFINITY
    elif max_t is int8_t:
        return INT8_MIN
    elif max_t is int16_t:
        return INT16_MIN
    elif max_t is int32_t:
        return INT32_MIN
    elif max_t is int64_t:
        return INT64_MIN
    else:  # unsigned
        return 0


cdef inline bint is_nan(max_t v) noexcept nogil:
    if max_t is float or max_t is double:
        return v != v
    else:  # integers have no NaN
        return False


cdef inline max_t empty_window_value(int mode, max_t dummy) noexcept nogil:
    """A window with no in-bounds cell: lowest for max, NaN (0/0) for average."""
    if mode == MODE_AVG and (max_t is float or max_t is double):
        return <max_t>INFINITY - <max_t>INFINITY
    return lowest(dummy)


# ---- one tap applied to n outputs: out[i*C + c] (op)= src[i*src_step + c] ----------
# n == 1 is the per-cell path.  The *_lanes loops are called with a literal channel
# count for C = 1..4, so after inlining the compiler unrolls c and vectorises along
# the row (few-channel images, channels-first planes).

cdef inline void copy_lanes(max_t* out, const max_t* src, Py_ssize_t n,
                            Py_ssize_t src_step, Py_ssize_t channels) noexcept nogil:
    cdef Py_ssize_t i, c
    for i in range(n):
        for c in range(channels):
            out[i * channels + c] = src[i * src_step + c]


cdef inline void copy_span_lanes(max_t* out, const max_t* src, Py_ssize_t n,
                                 Py_ssize_t span_step, Py_ssize_t channels) noexcept nogil:
    """copy_lanes of every span_step-th pixel of a run, with literal steps and channel
    counts for span_step 2 and C = 1..4 (a runtime count left the few-channel max
    gradient's copies of every second value and index a sixth of its time)."""
    if span_step == 2 and channels == 1:
        copy_lanes(out, src, n, 2, 1)
    elif span_step == 2 and channels == 2:
        copy_lanes(out, src, n, 4, 2)
    elif span_step == 2 and channels == 3:
        copy_lanes(out, src, n, 6, 3)
    elif span_step == 2 and channels == 4:
        copy_lanes(out, src, n, 8, 4)
    else:
        copy_lanes(out, src, n, span_step * channels, channels)


cdef inline void max_lanes(max_t* out, const max_t* src, Py_ssize_t n,
                           Py_ssize_t src_step, Py_ssize_t channels) noexcept nogil:
    cdef Py_ssize_t i, c
    cdef max_t v, o
    for i in range(n):
        for c in range(channels):
            v = src[i * src_step + c]
            o = out[i * channels + c]
            out[i * channels + c] = v if (v > o) | is_nan(v) else o  # NaN propagates


# Out-of-line C helpers (see _row_simd.h for why they are C); ``dtype`` is
# dtype_code(pointer), the pointers are of that dtype.
cdef extern from "_row_simd.h":
    # ask for the cache lines of bytes [offset, offset + n_bytes) from base
    void cypool_prefetch(const void* base, Py_ssize_t offset, Py_ssize_t n_bytes) noexcept nogil
    void* cypool_aligned_malloc(Py_ssize_t n_bytes) noexcept nogil  # 64-byte aligned
    void cypool_aligned_free(void* p) noexcept nogil
    # after a thread's last non-temporal store (the helpers' ``stream``)
    void cypool_store_fence() noexcept nogil
    # float16 bits <-> float32, as NumPy's casts bit for bit
    void cypool_widen_half(const uint16_t* src, uint32_t* dst, Py_ssize_t n) noexcept nogil
    void cypool_narrow_half(const float* src, uint16_t* dst, Py_ssize_t n) noexcept nogil
    # rows 0 .. n_group - 1 of out (out_stride apart): maxima over n_window rows, row j
    # over rows j .. j + n_window - 1 of base + row_offset[r] (2 <= n_group < n_window);
    # rows of a row, or cells of a row's pixels.  ``ahead``: ask for the last n_group
    # rows that many elements ahead; ``nan_free``: the rows hold no NaN and no -0.0
    # (one maxps a maximum).  Returns whether an output is NaN or -0.0 (floats; always
    # false for nan_free).
    int cypool_max_rows_group(int dtype, const void* base, const int64_t* row_offset,
                              void* out, Py_ssize_t out_stride, Py_ssize_t n_group,
                              Py_ssize_t n_window, Py_ssize_t n, int stream,
                              Py_ssize_t ahead, int nan_free) noexcept nogil
    # bounds[0], bounds[1]: least and greatest of index[0..n), int64 (wide) or int32
    void cypool_index_bounds(int wide, const void* index, Py_ssize_t n,
                             int64_t* bounds) noexcept nogil
    # one cell over n channels: tap t reads base[tap_offset[t] + c]
    # (``stream``: non-temporal vector stores, for outputs that leave the cache anyway)
    # narrow[i] = wide[i], argmax indices that fit int32
    void cypool_narrow_indices(const int64_t* wide, int32_t* narrow, Py_ssize_t n,
                               int stream) noexcept nogil
    void cypool_max_cell(int dtype, const void* base, void* out, const int64_t* tap_offset,
                         Py_ssize_t n_taps, Py_ssize_t n, int stream) noexcept nogil
    void cypool_argmax_cell(int dtype, const void* base, void* out, int64_t* index,
                            const int64_t* tap_offset, Py_ssize_t n_taps, Py_ssize_t n,
                            int64_t index_base, int stream) noexcept nogil
    # n_cells of them, cell i reading base + i * cell_step and writing out + i * n,
    # asking first for elements [ahead[r] + i * cell_step, + cell_step), r < n_ahead
    void cypool_max_cells(int dtype, const void* base, void* out, const int64_t* tap_offset,
                          Py_ssize_t n_taps, Py_ssize_t n, Py_ssize_t n_cells,
                          Py_ssize_t cell_step, const int64_t* ahead, Py_ssize_t n_ahead,
                          int stream) noexcept nogil
    # ... where no tap is NaN (floats only; no prefetches, no streaming)
    void cypool_max_cells_nan_free(int dtype, const void* base, void* out,
                                   const int64_t* tap_offset, Py_ssize_t n_taps,
                                   Py_ssize_t n, Py_ssize_t n_cells,
                                   Py_ssize_t cell_step) noexcept nogil
    void cypool_avg_cells(int dtype, const void* base, void* out, const int64_t* tap_offset,
                          Py_ssize_t n_taps, Py_ssize_t n, Py_ssize_t n_cells,
                          Py_ssize_t cell_step, const int64_t* ahead, Py_ssize_t n_ahead,
                          double divisor, int stream) noexcept nogil  # floats only
    void cypool_avg_cell(int dtype, const void* base, void* out, const int64_t* tap_offset,
                         Py_ssize_t n_taps, Py_ssize_t n,
                         double divisor, int stream) noexcept nogil  # floats only
    # the average gradient of a dx row of in_w cells of n channels: each cell the sum,
    # in row-major order, of its covering outputs' grad (the row's (d, h) pairs at
    # pair_offset, the outputs along W from cover_first / cover_output) times their
    # pair_scale; offset and scale: room for a cell's sources (floats only)
    void cypool_gather_row(int dtype, void* dst, const void* grad,
                           const int64_t* pair_offset, const void* pair_scale,
                           Py_ssize_t n_pairs, const int64_t* cover_first,
                           const int64_t* cover_output, Py_ssize_t in_w, Py_ssize_t out_w,
                           Py_ssize_t n, int64_t* offset, void* scale,
                           int stream) noexcept nogil
    # the same for a dx row of few channels along the whole row of n lanes: slot j of
    # lane i is slot_source[j * n + i], a lane of the pair's grad row or -1; pair k's
    # grad row times its expanded scales at scaled + pair_row[k], GATHER_PAD bytes of
    # room past it; slot_base, slot_rel, slot_have, slot_run from cypool_gather_bases;
    # acc: room for n (streaming)
    void cypool_gather_row_few(int dtype, void* dst, const void* scaled,
                               const int64_t* pair_row, Py_ssize_t n_pairs,
                               const int32_t* slot_source, const int32_t* slot_base,
                               const int32_t* slot_rel, const uint16_t* slot_have,
                               const int32_t* slot_run, Py_ssize_t n_slots, Py_ssize_t n,
                               void* acc, int stream) noexcept nogil
    # dst[l] = src[l] * scale[l], l < n (floats only)
    void cypool_scale_row(int dtype, void* dst, const void* src, const void* scale,
                          Py_ssize_t n) noexcept nogil
    # each block of a vector's lanes of each slot: where its sources start, which lanes
    # have one (room for n_slots * n of each), and each lane's source less its block's
    # start (n_slots * n); run (4 int32): the blocks that repeat with a period
    void cypool_gather_bases(int dtype, const int32_t* slot_source, Py_ssize_t n_slots,
                             Py_ssize_t n, int32_t* base, int32_t* rel, uint16_t* have,
                             int32_t* run) noexcept nogil
    # argmax indices' adds: dx[j] += g[i], j = index[i] - base, where lo <= j < hi,
    # zeroing dx ahead of them from ``zeroed`` up; returns how far dx is zeroed
    int64_t cypool_scatter_add(int dtype, int wide, void* dx, const void* g,
                               const void* index, Py_ssize_t n, int64_t base, int64_t lo,
                               int64_t hi, int64_t zeroed) noexcept nogil
    # the max and flat index (tap_offset[t] + lane + index_base) of a span of n_span
    # outputs of n channels whose windows start step pixels apart (tap t of output i at
    # tap_offset[t] + i * step * n), into out and index (n_span * n); winner (lanes of
    # x's width): room for ((n_span - 1) * step + 1) * n; n_taps <= 127
    void cypool_argmax_span(int dtype, void* out, int64_t* index, const void* x,
                            const int64_t* tap_offset, Py_ssize_t n_taps, Py_ssize_t step,
                            Py_ssize_t n_span, Py_ssize_t n, int64_t index_base,
                            void* winner) noexcept nogil
    # the max gradient of a span of n_span outputs of n channels whose windows are
    # n_rows rows of n_w adjacent pixels, starting step pixels apart (tap r * n_w + w
    # of output i at tap_offset[r * n_w] + (i * step + w) * n): dx += g at each
    # window's first maximum, each dx element's adds in output order, window row r's
    # into dx_row[r] (the span's first element; NULL: none); g_wide and winner (lanes
    # of x's width): room for ((n_span - 1) * step + 1 + 2 * (n_w - 1)) * n lanes;
    # n_rows * n_w <= 127
    void cypool_max_grad_span(int dtype, void* const* dx_row, const void* x, const void* g,
                              const int64_t* tap_offset, Py_ssize_t n_rows, Py_ssize_t n_w,
                              Py_ssize_t step, Py_ssize_t n_span, Py_ssize_t n,
                              void* g_wide, void* winner) noexcept nogil
    # the max gradient of a cell: dx[tap_offset[t] + c] += g[c] for the tap t argmax
    # picks for channel c (x and dx share the offsets), c < n (floats only)
    void cypool_max_grad_cell(int dtype, const void* x, void* dx, const void* g,
                              const int64_t* tap_offset, Py_ssize_t n_taps,
                              Py_ssize_t n) noexcept nogil
    # windows many rows tall, rows first (ring_rows): each row's first maxima along W
    # kept in a per-thread ring of the last rows
    ctypedef struct cypool_ring:
        void* value      # size slots of out_w * n maxima (64-byte aligned) ...
        int32_t* code    # ... and their taps' offsets from the column's first tap
        int64_t* row     # the row key each slot holds, -1 for none
        Py_ssize_t size  # slots: the most rows a window takes
    # whether this build has the ring for the dtype and n channels (float32, n a
    # multiple of a vector's lanes)
    int cypool_ring_ok(int dtype, Py_ssize_t n) noexcept nogil
    # one output row whose windows take the consecutive rows at row_offset
    # (row_elements apart) by the W taps first_w[ow] + t, t < count_w[ow] (each >= 1),
    # its rows kept in the ring as key_base + row: the argmax's maxima into out and
    # flat indices (index_base + offset) into index (non-temporally with ``stream``);
    # the gradient's dx[argmax] += g
    void cypool_argmax_ring(int dtype, const void* x, void* out, int64_t* index,
                            int64_t index_base, const int64_t* row_offset, Py_ssize_t n_rows,
                            Py_ssize_t row_elements, int64_t key_base, const int64_t* first_w,
                            const int64_t* count_w, Py_ssize_t out_w, Py_ssize_t n,
                            cypool_ring* ring, int stream) noexcept nogil
    void cypool_max_grad_ring(int dtype, const void* x, void* dx, const void* g,
                              const int64_t* row_offset, Py_ssize_t n_rows,
                              Py_ssize_t row_elements, int64_t key_base,
                              const int64_t* first_w, const int64_t* count_w,
                              Py_ssize_t out_w, Py_ssize_t n, cypool_ring* ring) noexcept nogil
    # 1-4 channels, stride 2, windows of n_w = 2 or 3 adjacent pixels: pixel i of out
    # is the max over r, t of pixel 2*i + t of the rows at row_offset[r], i < n
    # (``clipped``: output n - 1 without its last tap); 1 when a column maximum was -0.0
    # for n_out output rows, out_step apart, whose windows are src_step apart (each
    # asking for new_bytes of input from ahead bytes past its first row; none for 0)
    int cypool_max_rows_stride2(int dtype, int channels, void* out, const void* src,
                                const int64_t* row_offset, Py_ssize_t n_rows,
                                Py_ssize_t n_w, Py_ssize_t n, int clipped, Py_ssize_t n_out,
                                Py_ssize_t out_step, Py_ssize_t src_step, Py_ssize_t ahead,
                                Py_ssize_t new_bytes) noexcept nogil
    # the average of the same rows and windows (floats only): each output the sum from
    # 0 of its taps in window order over ``divisor`` (``clipped_divisor`` for the
    # clipped last output); returns 0
    int cypool_avg_rows_stride2(int dtype, int channels, void* out, const void* src,
                                const int64_t* row_offset, Py_ssize_t n_rows,
                                Py_ssize_t n_w, Py_ssize_t n, int clipped, Py_ssize_t n_out,
                                Py_ssize_t out_step, Py_ssize_t src_step, Py_ssize_t ahead,
                                Py_ssize_t new_bytes, double divisor,
                                double clipped_divisor) noexcept nogil
    # one channel, stride 2: out[i] = max over t of src[tap_offset[t] + 2*i], i < n
    void cypool_max_stride2(int dtype, void* out, const void* src, const int64_t* tap_offset,
                            Py_ssize_t n_taps, Py_ssize_t n) noexcept nogil


cdef inline int dtype_code(const max_t* dummy) noexcept nogil:
    """max_t's place in its fused type: the C helpers' dtype code."""
    if max_t is float:
        return 0
    elif max_t is double:
        return 1
    elif max_t is int8_t:
        return 2
    elif max_t is uint8_t:
        return 3
    elif max_t is int16_t:
        return 4
    elif max_t is uint16_t:
        return 5
    elif max_t is int32_t:
        return 6
    elif max_t is uint32_t:
        return 7
    elif max_t is int64_t:
        return 8
    else:
        return 9


cdef inline void sum_lanes(max_t* out, const max_t* src, Py_ssize_t n,
                           Py_ssize_t src_step, Py_ssize_t channels) noexcept nogil:
    cdef Py_ssize_t i, c
    for i in range(n):
        for c in range(channels):
            out[i * channels + c] += src[i * src_step + c]


cdef inline void max_tap(max_t* out, const max_t* src, Py_ssize_t n, Py_ssize_t src_step,
                         Py_ssize_t channels, bint init) noexcept nogil:
    if init:  # the first tap initialises
        if channels == 1:
            copy_lanes(out, src, n, src_step, 1)
        elif channels == 3:
            copy_lanes(out, src, n, src_step, 3)
        else:
            copy_lanes(out, src, n, src_step, channels)
    elif channels == 1:
        max_lanes(out, src, n, src_step, 1)
    elif channels == 2:
        max_lanes(out, src, n, src_step, 2)
    elif channels == 3:
        max_lanes(out, src, n, src_step, 3)
    elif channels == 4:
        max_lanes(out, src, n, src_step, 4)
    else:
        max_lanes(out, src, n, src_step, channels)


cdef inline void sum_tap(max_t* out, const max_t* src, Py_ssize_t n, Py_ssize_t src_step,
                         Py_ssize_t channels) noexcept nogil:
    if channels == 1:
        sum_lanes(out, src, n, src_step, 1)
    elif channels == 2:
        sum_lanes(out, src, n, src_step, 2)
    elif channels == 3:
        sum_lanes(out, src, n, src_step, 3)
    elif channels == 4:
        sum_lanes(out, src, n, src_step, 4)
    else:
        sum_lanes(out, src, n, src_step, channels)


cdef inline void argmax_tap_span(max_t* out, int32_t* ordinal, const max_t* src,
                                 Py_ssize_t n, Py_ssize_t src_step, Py_ssize_t channels,
                                 int32_t tap, bint init) noexcept nogil:
    """Tap ``tap`` of n outputs (output i's at src + i * src_step): out keeps the max
    and ordinal its tap ordinal, strictly greater winning (ties: the first max) and a
    NaN winning, the first one sticking; ``init``: the first tap (same-width selects)."""
    cdef Py_ssize_t i, c, j
    cdef max_t v, b
    cdef bint take
    if init:
        for i in range(n):
            for c in range(channels):
                out[i * channels + c] = src[i * src_step + c]
                ordinal[i * channels + c] = 0
    elif channels == 1:
        for i in range(n):
            v = src[i * src_step]
            b = out[i]
            take = (not is_nan(b)) & ((v > b) | is_nan(v))
            out[i] = v if take else b
            ordinal[i] = tap if take else ordinal[i]
    else:
        for i in range(n):
            for c in range(channels):
                j = i * channels + c
                v = src[i * src_step + c]
                b = out[j]
                take = (not is_nan(b)) & ((v > b) | is_nan(v))
                out[j] = v if take else b
                ordinal[j] = tap if take else ordinal[j]


cdef struct RowScratch:
    # per-thread work space of pool_row (see alloc_row_scratch)
    int64_t* row_offset  # the (d, h) taps' input rows: max rows per window
    int64_t* tap_offset  # the span's taps: max taps per window
    int64_t* new_row     # per-cell rows: the next window's rows to prefetch (as many)
    int32_t* ordinal     # argmax: the winning tap of each span output (out_w * C)
    void* max_row        # max: a reduced input row (in_w * C elements), or NULL
    void* run_row        # every pixel's window result along a row (in_w * C elements),
                         # of which strided windows keep every step-th; or NULL
    int64_t* run_index   # argmax: run_row's flat indices (in_w * C), or NULL
    void* group_rows     # max_rows_group: its reduced rows (row_group_size rows), or NULL
    Py_ssize_t w_pad     # padded_w_windows: the W windows' left padding (-1: not such
    Py_ssize_t w_taps    # windows) and their most taps
    cypool_ring ring     # the argmax and max gradient of windows many rows tall:
                         # row maxima (ring_rows; size 0: none)
    bint stream          # per-cell outputs are written with non-temporal stores


cdef enum:
    # What pool_row_fast leaves for the signed-zero check of a max (fix_signed_zeros).
    ZEROS_EXACT = 0      # every maximum was taken in window order
    ZEROS_REDUCED = 1    # rows were reduced first, into scratch.max_row
    ZEROS_SUSPECT = 2    # column maxima came first and one of them was -0.0


cdef enum:
    # From this many bytes of channels a max or average goes cell by cell, the
    # channels in vector registers; fewer go tap-major along the row.
    CELL_BYTES = 64
    # ... and max and average cells of this many bytes (8 float32 channels) at a W
    # stride of 2 or more, two to a vector (pair_cells)
    PAIR_CELL_BYTES = 32
    # Input rows up to this many bytes are prefetched whole, about PREFETCH_AHEAD
    # bytes of input ahead.
    SHORT_ROW = 16384
    # spans of at most this many taps find each lane's winning tap (int8 ordinals):
    # cypool_argmax_span, cypool_max_grad_span
    SPAN_TAPS = 127
    PREFETCH_AHEAD = 4096
    # Stride-2 rows of few channels whose window takes at most this many bytes ask
    # for the whole window as their row starts, not for rows ahead: cold, in a slow
    # state of the VM (a random DRAM read 179 ns), grayscale 3x3/2 0.72x, NCHW 3x3/2
    # max 0.78x and average 0.90x, uint8 RGB 2x2/2 0.76x, float32 RGB 2x2/2 (5.3 KB
    # windows) 0.94x; float32 RGB 3x3/2 (8 KB windows) 1.11x, so larger windows keep
    # the prefetch ahead (asking for just their new rows: gray 1.03x, RGB 0.95x)
    NEAR_WINDOW = 6144
    # An argmax's rows of few channels, the max gradient's (max_grad_row) and, at a
    # row step of 2 or more, few_channel_rows_run's max and average rows whose window
    # of adjacent rows takes at most this many bytes ask for it whole as their row
    # starts.  Cold, one thread, in the VM's slow state: argmax RGB 3x3/2 0.71x (128
    # wide, 4.5 KB windows) and 0.79x (224 wide, 8 KB), 2x2/2 0.59-0.63x, 3x3/1
    # 0.92x; max gradient RGB and grayscale 3x3/2 0.83x; 5-6 channels' max and
    # average 3x3/2 and 2x2/2 0.69-0.90x (at stride 1 1.03-1.09x: those keep the
    # prefetch ahead).  A 12 KB window was level, 18-24 KB ones 1.05-1.11x.
    NEAR_ROWS_WINDOW = 16384
    # Max and average cells ask for this many bytes of each of the next output row's
    # new rows before a row: the hardware prefetcher does the rest, but starts late
    # on each new 4 KB page (the 3-D 2x2x2/2 case's rows are a page each: 0.86x
    # with it, cold at one thread; 64 bytes alike, 512 slower)
    KICK_BYTES = 128
    # An argmax's per-cell rows with no next row in their plane ask for their own rows
    # this many bytes ahead (measured on the 1-D 4/4 max over 32 channels when max
    # cells asked too, cold: 4 KB 1.18, 8 KB 1.12, 16 KB 1.17 ms)
    ALONG_AHEAD = 8192
    # Rows reduced first go a block of this many bytes at a time
    REDUCE_BLOCK = 4096
    # Stride-1 spans of many channels go this many bytes of output a helper call
    SPAN_BLOCK = 2048
    # ... and reduced max rows of under this many bytes of channels along the row
    ALONG_ROW_BYTES = 128
    # max_rows_group: at most this many output rows at once (CYPOOL_GROUP_ROWS), of
    # windows of at most GROUP_WINDOW rows
    GROUP_ROWS = 8
    GROUP_WINDOW = 16
    # ... asking for its new rows this many bytes ahead, a line a row per vector
    # (SPPF cold at one thread: 1 KB 0.93, 2 KB 0.91, 4 KB 0.96 ms)
    GROUP_AHEAD = 2048
    # rows of few channels (under CELL_BYTES): this many output rows in one run
    ROW_RUN = 16
    # bytes of room past the end of cypool_gather_row_few's scaled row (two vectors)
    GATHER_PAD = 128


# ---- one output row -----------------------------------------------------------------

cdef inline double window_divisor(const Windows* win, Py_ssize_t od, Py_ssize_t oh,
                                  Py_ssize_t ow) noexcept nogil:
    """An average window's divisor (its count, as TF; exact: far below 2**53)."""
    return <double>(win.divisor[0][od] * win.divisor[1][oh] * win.divisor[2][ow])


cdef inline void pool_cells(int mode, const max_t* src, max_t* out, int64_t* index,
                            int64_t index_base, const int64_t* tap_offset, int32_t n_taps,
                            Py_ssize_t n, Py_ssize_t n_cells, Py_ssize_t cell_step,
                            const int64_t* ahead, Py_ssize_t n_ahead, double divisor,
                            bint stream) noexcept nogil:
    """n_cells cells of n values, cell i reading src + i * cell_step and writing
    out + i * n: out[c] the max over the taps of src[tap_offset[t] + c], (MODE_AVG)
    their sum from 0 in tap order divided by ``divisor``, or (MODE_ARGMAX) the max
    and in index[c] its flat index tap_offset[t] + c + index_base (+ i * cell_step);
    in vector registers, stored non-temporally with ``stream``.  Before each cell,
    its share of the rows at src + ahead[r], r < n_ahead, is asked for: elements
    [i * cell_step, (i + 1) * cell_step) of each."""
    cdef Py_ssize_t i
    if cell_step == n:  # the cells are one run (windows a pixel apart): one long cell
        n *= n_cells
        n_cells = 1
        cell_step = n
    if mode == MODE_MAX:
        cypool_max_cells(dtype_code(src), src, out, tap_offset, n_taps, n, n_cells,
                         cell_step, ahead, n_ahead, stream)
    elif mode == MODE_AVG:
        cypool_avg_cells(dtype_code(src), src, out, tap_offset, n_taps, n, n_cells,
                         cell_step, ahead, n_ahead, divisor, stream)
    else:
        for i in range(n_cells):
            prefetch_new_rows(src, ahead, n_ahead, i * cell_step, cell_step * sizeof(max_t),
                              sizeof(max_t))
            cypool_argmax_cell(dtype_code(src), src + i * cell_step, out + i * n,
                               index + i * n, tap_offset, n_taps, n,
                               index_base + i * cell_step, stream)


cdef inline bint pair_cells(int mode, const Windows* win, Py_ssize_t cell_bytes) noexcept nogil:
    """Whether max or average cells of PAIR_CELL_BYTES (8 float32 channels) go cell by
    cell as those of CELL_BYTES do, a block of cells a helper call, two to a vector: at
    a W stride of 2 or more (along the row, every pixel's window was pooled and every
    step-th kept, at 8 channels 2.3x the floor where 16 were 1.15x)."""
    return mode != MODE_ARGMAX and cell_bytes == PAIR_CELL_BYTES and win.span_step >= 2


cdef inline void pool_span_along_row(int mode, const max_t* src, max_t* out,
                                     int64_t* index_out, int64_t index_base,
                                     const int64_t* tap_offset, int32_t n_taps,
                                     Py_ssize_t n_span, Py_ssize_t span_step,
                                     Py_ssize_t channels, double divisor,
                                     RowScratch* scratch) noexcept nogil:
    """A span of n_span outputs of few channels whose windows start span_step pixels
    apart (tap t of output i at src + tap_offset[t] + i * span_step * channels): max,
    average, or (MODE_ARGMAX, floats) max and flat index (into ``index_out``, from
    src plus index_base).  Windows one pixel apart are one run of n_span * C lanes
    that the cell helper pools tap by tap in window order (contiguous and vectorised;
    a pass a tap with the lanes' step only known at run time did not vectorise: 3x3/1
    averages of one channel 9x the floor, of 8 channels 10x; the argmax's per-tap
    selects became branches, mispredicted on random data: the C=3 max gradient 19x).
    Strided windows gather badly: every pixel's window is pooled along the row the
    same way, into the scratch's run row, and every span_step-th kept."""
    cdef Py_ssize_t n_line = ((n_span - 1) * span_step + 1) * channels
    cdef max_t* run = out if span_step == 1 else <max_t*>scratch.run_row
    cdef int64_t* run_index = index_out if span_step == 1 else scratch.run_index
    pool_cells(mode, src, run, run_index, index_base, tap_offset, n_taps, n_line, 1, 0,
               NULL, 0, divisor, False)
    if span_step > 1:
        copy_span_lanes(out, run, n_span, span_step, channels)
    if mode == MODE_ARGMAX and span_step > 1:
        copy_span_lanes(index_out, run_index, n_span, span_step, channels)


cdef inline Py_ssize_t window_rows(const Windows* win, Py_ssize_t od, Py_ssize_t oh,
                                   Py_ssize_t in_h, Py_ssize_t in_w, Py_ssize_t channels,
                                   int64_t* row_offset) noexcept nogil:
    """The (d, h) taps of output row (od, oh): their input rows' offsets, row-major."""
    cdef Py_ssize_t td, th, n_rows = 0
    for td in range(win.count[0][od]):
        for th in range(win.count[1][oh]):
            row_offset[n_rows] = ((win.first[0][od] + td * win.dilation[0]) * in_h
                                  + win.first[1][oh] + th * win.dilation[1]) * in_w * channels
            n_rows += 1
    return n_rows


cdef inline void pool_row(int mode, const max_t* plane, max_t* out_row, int64_t* index_row,
                          int64_t index_base, const Windows* win, Py_ssize_t od,
                          Py_ssize_t oh, Py_ssize_t out_w, Py_ssize_t in_h, Py_ssize_t in_w,
                          Py_ssize_t channels, RowScratch* scratch) noexcept nogil:
    """Pool one output row of ``channels`` channels, channels-last (pixels
    ``channels`` apart).  Argmax indices are flat offsets from ``plane`` plus
    ``index_base``.
    """
    cdef int zeros = pool_row_fast(mode, plane, out_row, index_row, index_base, win, od,
                                   oh, out_w, in_h, in_w, channels, scratch)
    if zeros != ZEROS_EXACT:
        fix_signed_zeros(plane, out_row, win, od, oh, out_w, in_h, in_w,
                         channels, <const max_t*>scratch.max_row
                         if zeros == ZEROS_REDUCED else NULL, scratch)


cdef inline bint has_negative_zero(const max_t* row, Py_ssize_t n) noexcept nogil:
    """Whether a float row holds a -0.0: its bits compared as integers (one vector
    compare an element, where the float test took five instructions)."""
    cdef Py_ssize_t c
    cdef bint found = False
    if max_t is float:
        for c in range(n):
            found |= (<const uint32_t*>row)[c] == <uint32_t>0x80000000
    elif max_t is double:
        for c in range(n):
            found |= (<const uint64_t*>row)[c] == <uint64_t>0x8000000000000000
    return found


cdef inline void fix_signed_zeros(const max_t* plane, max_t* out_row, const Windows* win,
                                  Py_ssize_t od, Py_ssize_t oh, Py_ssize_t out_w,
                                  Py_ssize_t in_h, Py_ssize_t in_w, Py_ssize_t channels,
                                  const max_t* reduced, RowScratch* scratch) noexcept nogil:
    """After a max that reduced the window's rows first: into ``reduced`` (the
    row's), or (NULL) in registers, where a column maximum was -0.0."""
    cdef Py_ssize_t ow, c, r, tw, n_w, n_rows
    cdef bint any_zero
    cdef max_t* out
    if max_t is float or max_t is double:
        # The max reduced the window's rows first, which keeps the first of equal
        # maxima column by column, not in row-major order.  Equal values differ only
        # as -0.0 and +0.0, and only a -0.0 left in the reduced row can make a zero
        # maximum's sign wrong; then the row's zero cells are redone in window order.
        # first the reduced row, as the output may have been streamed out
        if reduced != NULL and not has_negative_zero(reduced, in_w * channels):
            return  # the usual case: ReLU gives +0.0
        any_zero = False
        for c in range(out_w * channels):  # vectorised
            any_zero |= out_row[c] == 0
        if not any_zero:
            return
        n_rows = window_rows(win, od, oh, in_h, in_w, channels, scratch.row_offset)
        for ow in range(out_w):
            out = out_row + ow * channels
            for c in range(channels):
                if out[c] == 0:
                    break
            else:
                continue
            n_w = win.count[2][ow]
            for r in range(n_rows):
                for tw in range(n_w):
                    max_tap(out, plane + scratch.row_offset[r]
                            + (win.first[2][ow] + tw * win.dilation[2]) * channels,
                            1, 0, channels, r == 0 and tw == 0)


cdef inline Py_ssize_t new_rows(const int64_t* row_offset, Py_ssize_t n_rows,
                                Py_ssize_t next_rows, int64_t* new_row) noexcept nogil:
    """The next window's rows (this one's moved on by ``next_rows``; none for 0) that
    this one lacks, the ones to prefetch: their offsets into new_row, how many."""
    cdef Py_ssize_t r, k = 0, n_new = 0
    for r in range(n_rows if next_rows else 0):
        # both row lists ascend: one merge finds the rows
        while k < n_rows and row_offset[k] < row_offset[r] + next_rows:
            k += 1
        if k == n_rows or row_offset[k] != row_offset[r] + next_rows:
            new_row[n_new] = row_offset[r] + next_rows
            n_new += 1
    return n_new


cdef inline void prefetch_new_rows(const void* base, const int64_t* new_row, Py_ssize_t n_new,
                                   Py_ssize_t offset, Py_ssize_t n_bytes,
                                   Py_ssize_t item_size) noexcept nogil:
    """Ask for n_bytes of each of new_rows' rows from element ``offset`` on (a cell's
    share of the next window's new rows)."""
    cdef Py_ssize_t r
    for r in range(n_new):
        cypool_prefetch(base, (new_row[r] + offset) * item_size, n_bytes)


cdef inline int32_t window_taps(const Windows* win, Py_ssize_t ow, const int64_t* row_offset,
                                Py_ssize_t n_rows, Py_ssize_t channels,
                                int64_t* tap_offset) noexcept nogil:
    """The taps of output column ow's window over the given rows, row-major."""
    cdef Py_ssize_t r, tw
    cdef int32_t n_taps = 0
    for r in range(n_rows):
        for tw in range(win.count[2][ow]):
            tap_offset[n_taps] = row_offset[r] + (win.first[2][ow]
                                                  + tw * win.dilation[2]) * channels
            n_taps += 1
    return n_taps


cdef inline Py_ssize_t ready_cells(const Windows* win, Py_ssize_t ow, Py_ssize_t out_w,
                                   Py_ssize_t end, Py_ssize_t channels) noexcept nogil:
    """The first output column from ow on whose window (empty ones aside) reaches
    past element ``end`` of an input row: the columns before it are ready."""
    while ow < out_w and (win.count[2][ow] == 0 or (
            win.first[2][ow] + (win.count[2][ow] - 1) * win.dilation[2] + 1) * channels
            <= end):
        ow += 1
    return ow


cdef inline bint stride1_start(const int64_t* first, const int64_t* count, Py_ssize_t o,
                               Py_ssize_t n, Py_ssize_t k, Py_ssize_t in_size,
                               Py_ssize_t* start) noexcept nogil:
    """Whether outputs o .. o + n - 1 along an axis (dilation 1) have windows of k taps
    at stride 1 as padding clips them: window j the taps v + j .. v + j + k - 1 that
    fall in [0, in_size), none empty; if so, start[0] = v (negative: the padding
    before the input)."""
    cdef Py_ssize_t v, j, lo, hi, f = first[o], c = count[o]
    if c == k:
        v = f
    elif 0 < c < in_size and f == 0:  # clipped at the start
        v = c - k
    elif 0 < c and f > 0 and f + c == in_size:  # clipped at the end
        v = f
    else:
        return False
    for j in range(n):
        lo = max(v + j, 0)
        hi = min(v + j + k, in_size)
        if hi <= lo or first[o + j] != lo or count[o + j] != hi - lo:
            return False
    start[0] = v
    return True


cdef inline bint stride1_windows(const int64_t* first, const int64_t* count, Py_ssize_t o,
                                 Py_ssize_t n, Py_ssize_t k, Py_ssize_t in_size,
                                 Py_ssize_t step, int64_t* offset) noexcept nogil:
    """Whether outputs o .. o + n - 1 have stride-1 windows of k taps (stride1_start).
    If so, offset[t] (t < n + k - 1) = tap v + t clamped into the input, times step: a
    clipped tap repeats its window's first or last tap, which leaves a max as it was
    (max(a, a) is a, a NaN's bits included, and the distinct taps keep their order),
    so max_rows_group's helper takes the border windows too."""
    cdef Py_ssize_t v, t
    if not stride1_start(first, count, o, n, k, in_size, &v):
        return False
    for t in range(n + k - 1):
        offset[t] = min(max(v + t, 0), in_size - 1) * step
    return True


cdef inline Py_ssize_t max_reduced_cells(const Windows* win, const max_t* reduced,
                                         max_t* out_row, Py_ssize_t ow_begin,
                                         Py_ssize_t ow_end, bint last, Py_ssize_t in_w,
                                         Py_ssize_t channels, int64_t* tap_offset,
                                         bint stream, bint nan_free) noexcept nogil:
    """Max cells [ow_begin, ow_end) of an output row from its reduced input row (in_w
    pixels); stride-1 windows of K >= 3 pixels, padding-clipped ones too, K - 1 cells
    at once (as max_rows_group does rows).  Unless ``last`` (the row's last call), a
    group that ow_end cuts short waits for the next call: returns the first cell not
    done.  ``nan_free``: the reduced row holds no NaN and no -0.0."""
    cdef Py_ssize_t ow = ow_begin, c, n_group = 1, k = 0
    cdef int64_t zero = 0  # the one row's offset
    cdef int64_t pixel_offset[GROUP_ROWS + GROUP_WINDOW]
    cdef int32_t n_taps
    cdef max_t* out
    if win.span_step == 1 and win.dilation[2] == 1 and win.span_hi > win.span_lo:
        k = win.count[2][win.span_lo]
        if 3 <= k <= GROUP_WINDOW:
            n_group = min(k - 1, GROUP_ROWS)
    while ow < ow_end:
        out = out_row + ow * channels
        # groups from the row's start: the border windows too (clipped taps repeated)
        if n_group > 1 and ow + n_group <= win.size[2] and stride1_windows(
                win.first[2], win.count[2], ow, n_group, k, in_w,
                channels, pixel_offset):
            if ow + n_group <= ow_end:
                cypool_max_rows_group(dtype_code(reduced), reduced, pixel_offset,
                                      out, channels, n_group, k, channels, stream, 0, nan_free)
                ow += n_group
                continue
            if not last:
                break
        n_taps = window_taps(win, ow, &zero, 1, channels, tap_offset)
        if n_taps == 0:  # a dilated window that misses the input
            for c in range(channels):
                out[c] = lowest(out[c])
        else:
            cypool_max_cell(dtype_code(reduced), reduced, out, tap_offset, n_taps, channels,
                            stream)
        ow += 1
    return ow


@cython.cdivision(True)
cdef inline Py_ssize_t prefetch_distance(Py_ssize_t row_bytes) noexcept nogil:
    """How far ahead short rows are prefetched: PREFETCH_AHEAD bytes, in whole rows."""
    return (PREFETCH_AHEAD + row_bytes - 1) // row_bytes * row_bytes


cdef inline bint near_rows_window(const int64_t* row_offset, Py_ssize_t n_rows,
                                  Py_ssize_t row_elements, Py_ssize_t row_bytes) noexcept nogil:
    """Whether a window's n_rows >= 1 rows are adjacent and take at most
    NEAR_ROWS_WINDOW bytes: its row then asks for it whole as it starts.  (A helper
    that also asked, returning whether it had, made the max gradient's rows 1.15-1.5x
    slower cold: code shape again, as in prefetch_short_rows.)"""
    return (n_rows * row_bytes <= NEAR_ROWS_WINDOW
            and row_offset[n_rows - 1] == row_offset[0] + (n_rows - 1) * row_elements)


cdef inline void prefetch_short_rows(const max_t* plane, const Windows* win, Py_ssize_t oh,
                                     const int64_t* row_offset, Py_ssize_t n_rows,
                                     Py_ssize_t row_bytes, Py_ssize_t row_elements) noexcept nogil:
    """Ask for output row oh's window rows of few channels (n_rows >= 1, each
    row_bytes <= SHORT_ROW) about PREFETCH_AHEAD bytes further on, past the plane's end
    too (planes are adjacent; a prefetch never faults), as one range where the rows
    are adjacent (measured: a burst per row was up to 1.6x slower on RGB rows)."""
    cdef Py_ssize_t ahead = prefetch_distance(row_bytes), r = 1
    cdef Py_ssize_t window_bytes, new_bytes
    while r < n_rows and row_offset[r] == row_offset[r - 1] + row_elements:
        r += 1
    if r < n_rows:
        for r in range(n_rows):
            cypool_prefetch(plane, row_offset[r] * sizeof(max_t) + ahead, row_bytes)
        return
    # only the rows the next window adds (asking twice for the rows windows share
    # cost grayscale 3x3/2 a fifth of its time)
    window_bytes = n_rows * row_bytes  # from row_offset[0]
    new_bytes = window_bytes
    if oh + 1 < win.size[1] and win.count[1][oh + 1] > 0:
        new_bytes = ((win.first[1][oh + 1] + win.count[1][oh + 1])
                     - (win.first[1][oh] + win.count[1][oh])) * row_bytes
        new_bytes = max(0, min(new_bytes, window_bytes))
    cypool_prefetch(plane, row_offset[0] * sizeof(max_t) + window_bytes - new_bytes + ahead,
                    new_bytes)


cdef inline void argmax_window(const max_t* src, max_t* out_row, int64_t* index_row,
                               int64_t index_base, const Windows* win,
                               const int64_t* row_offset, Py_ssize_t n_rows, Py_ssize_t ow,
                               Py_ssize_t channels, int64_t* tap_offset) noexcept nogil:
    """Output column ow's max and flat index over its window's taps in the given
    rows (index -1 and empty_window_value for a window that misses the input), its
    taps' offsets in tap_offset.  One helper call a window: tap by tap in Cython, the
    right border of SAME's RGB 3x3/2 took a fifth of its argmax's time."""
    cdef Py_ssize_t c
    cdef max_t* out = out_row + ow * channels
    if n_rows * win.count[2][ow] == 0:
        for c in range(channels):
            out[c] = empty_window_value(MODE_ARGMAX, out[c])
            index_row[ow * channels + c] = -1
        return
    cypool_argmax_cell(dtype_code(src), src, out, index_row + ow * channels, tap_offset,
                       window_taps(win, ow, row_offset, n_rows, channels, tap_offset),
                       channels, index_base, False)


cdef inline bint stride2_rows(int mode, const Windows* win, Py_ssize_t n_rows,
                              Py_ssize_t channels, Py_ssize_t item_size, Py_ssize_t out_w,
                              bint* clipped) noexcept nogil:
    """Whether a max or average row of 1-4 channels, or a max of 8 channels of up to
    4 bytes, at stride 2 over 2 or 3 adjacent pixels (2x2/2 and 3x3/2 of
    channels-first planes, grayscale, RGB) takes its span in one
    cypool_max_rows_stride2 call (column maxima and taps in registers) or
    cypool_avg_rows_stride2 call (each row's taps in registers, summed in window
    order); sets ``clipped`` when the right border's window of SAME padding (two
    taps) joins it.  (8 channels went cell by cell, float32 pairs of cells a vector:
    this took their max 3x3/2 0.79x the time, 2x2/2 0.97x, uint8's 0.32-0.36x, cold
    at one thread; their average 1.18x warm, so it stays cell by cell.)"""
    cdef Py_ssize_t lo = win.span_lo, hi = win.span_hi, n_w
    if not ((mode == MODE_MAX or mode == MODE_AVG) and n_rows > 0
            and (channels <= 4 or (channels == 8 and item_size <= 4 and mode == MODE_MAX))
            and hi > lo and win.span_step == 2 and win.dilation[2] == 1):
        return False
    n_w = win.count[2][lo]
    if not 2 <= n_w <= 3:
        return False
    clipped[0] = (n_w == 3 and hi < out_w and win.count[2][hi] == 2
                  and win.first[2][hi] == win.first[2][lo] + 2 * (hi - lo))
    return True


@cython.cdivision(True)  # C division: the .pyx's directive does not reach a .pxd
cdef inline int pool_row_fast(int mode, const max_t* plane, max_t* out_row,
                              int64_t* index_row, int64_t index_base, const Windows* win,
                              Py_ssize_t od, Py_ssize_t oh, Py_ssize_t out_w,
                              Py_ssize_t in_h, Py_ssize_t in_w, Py_ssize_t channels,
                              RowScratch* scratch) noexcept nogil:
    """pool_row's work; returns the ZEROS_* check the row needs."""
    cdef Py_ssize_t n_w, lo = win.span_lo, hi = win.span_hi, n_span = hi - lo
    cdef Py_ssize_t ow, c, r, w_step, i, n_rows
    cdef int32_t tap, n_taps
    cdef bint per_cell, stride2, clipped = False
    cdef int zeros = ZEROS_EXACT  # ZEROS_REDUCED once rows are reduced first
    cdef Py_ssize_t next_rows, next_last, row_bytes, n_skip, k, block, n_block, n_new
    cdef Py_ssize_t cells_a_call
    cdef Py_ssize_t new_offset
    cdef const max_t* src = plane
    cdef max_t* reduced
    cdef max_t* out
    cdef max_t divisor = 1
    cdef int64_t* row_offset = scratch.row_offset
    cdef int64_t* tap_offset = scratch.tap_offset
    cdef bint stream_cells
    n_rows = window_rows(win, od, oh, in_h, in_w, channels, row_offset)
    per_cell = (channels * <Py_ssize_t>sizeof(max_t) >= CELL_BYTES and (
        mode != MODE_ARGMAX or max_t is float or max_t is double)) or pair_cells(
            mode, win, channels * sizeof(max_t))
    n_w = win.count[2][lo] if n_span > 0 else 0
    stride2 = stride2_rows(mode, win, n_rows, channels, sizeof(max_t), out_w, &clipped)
    # Later output rows' input rows are fetched while this row computes: short rows of
    # few channels ask now (an argmax's near window for itself), an argmax's cells ask
    # for the next row's cell by cell below.  Max and average cells leave their rows
    # to the hardware prefetcher once started (KICK_BYTES): asking cell by cell made
    # them 1.07-1.14x slower cold (VGG 2x2/2, stem 3x3/2 at one thread; 1.06-1.08x at
    # two), where the argmax without it took 1.08x.
    next_rows = 0
    row_bytes = in_w * channels * <Py_ssize_t>sizeof(max_t)
    if (mode == MODE_ARGMAX and n_rows > 0 and not per_cell
            and near_rows_window(row_offset, n_rows, in_w * channels, row_bytes)):
        cypool_prefetch(plane, row_offset[0] * sizeof(max_t), n_rows * row_bytes)
    elif n_rows > 0 and not per_cell and 0 < row_bytes <= SHORT_ROW:
        prefetch_short_rows(plane, win, oh, row_offset, n_rows, row_bytes, in_w * channels)
    elif n_rows > 0 and oh + 1 < win.size[1]:
        next_rows = (win.first[1][oh + 1] - win.first[1][oh]) * in_w * channels
    elif n_rows > 0 and od + 1 < win.size[0] and win.count[0][od + 1] > 0:
        # a 3-D plane's last row of this d: the next d's first (its rows in place of
        # this one's, as near as the shapes allow; a stray prefetch costs little)
        next_rows = ((win.first[0][od + 1] - win.first[0][od]) * in_h
                     + win.first[1][0] - win.first[1][oh]) * in_w * channels
    if (mode == MODE_MAX and n_rows > 1 and scratch.max_row != NULL and not stride2
            and (not per_cell or n_rows * in_w + out_w * n_w < n_rows * n_w * out_w)):
        # A max is exact in any order: reduce the rows first, along the whole
        # contiguous row (vectorised), and then pool that one row along W.  Per-cell
        # maxima over many channels skip this unless it saves taps (large windows).
        # One pass over the rows (the cell helper along the row), a block at a time,
        # asking meanwhile for the same block of the next window's last row (the
        # others are cached now); at SAME's top border the window grows while its
        # first row stays, so that row is found from the windows' last rows.
        reduced = <max_t*>scratch.max_row
        block = REDUCE_BLOCK // <Py_ssize_t>sizeof(max_t)
        next_last = 0
        if oh + 1 < win.size[1] and win.count[1][oh + 1] > 0:
            next_last = ((win.first[1][oh + 1] + (win.count[1][oh + 1] - 1) * win.dilation[1])
                         - (win.first[1][oh] + (win.count[1][oh] - 1) * win.dilation[1])
                         ) * in_w * channels
        # Cells of many channels are pooled as soon as a block completes their
        # windows, while the block is in L1 (SPPF's 5x5/1: 1.15x faster than pooling
        # the whole 40 KB row after it); cells of few channels go along the row below.
        i = 0
        ow = 0
        while i < in_w * channels:
            n_block = min(block, in_w * channels - i)
            if next_last > 0:
                cypool_prefetch(plane, (row_offset[n_rows - 1] + next_last + i)
                                * sizeof(max_t), n_block * sizeof(max_t))
            cypool_max_cell(dtype_code(plane), plane + i, reduced + i, row_offset, n_rows,
                            n_block, False)
            i += n_block
            if per_cell:
                ow = max_reduced_cells(win, reduced, out_row, ow,
                                       ready_cells(win, ow, out_w, i, channels),
                                       i == in_w * channels, in_w, channels,
                                       tap_offset, scratch.stream, False)
        if per_cell:
            return ZEROS_REDUCED
        src = reduced
        row_offset[0] = 0
        n_rows = 1
        next_rows = 0
        zeros = ZEROS_REDUCED
    # Streaming pays where cells of many channels are stored whole; measured, the rows
    # of few channels were as fast or faster through the cache (RGB, NCHW planes).
    stream_cells = scratch.stream and per_cell
    if n_rows == 0:
        n_span = 0  # every window of the row is empty: all go per cell
    # per-cell path: the border outputs, [0, lo) and [hi, out_w), or all without a span
    n_skip = n_span + clipped if n_span > 0 else 0
    for k in range(out_w - n_skip):
        ow = k if k < lo else k + n_skip
        out = out_row + ow * channels
        if mode == MODE_ARGMAX:
            argmax_window(src, out_row, index_row, index_base, win, row_offset, n_rows, ow,
                          channels, tap_offset)
            continue
        if n_rows * win.count[2][ow] == 0:  # a dilated window that misses the input
            for c in range(channels):
                out[c] = empty_window_value(mode, out[c])
            continue
        # in registers, branch-free: no store per tap
        n_taps = window_taps(win, ow, row_offset, n_rows, channels, tap_offset)
        pool_cells(mode, src, out, NULL, 0, tap_offset, n_taps, channels, 1, 0, NULL,
                   0, window_divisor(win, od, oh, ow), False)
    if n_span <= 0:
        return zeros
    if stride2 and mode == MODE_AVG:
        cypool_avg_rows_stride2(dtype_code(src), channels, out_row + lo * channels,
                                src + win.first[2][lo] * channels, row_offset, n_rows,
                                win.count[2][lo], n_span + clipped, clipped, 1, 0, 0, 0, 0,
                                window_divisor(win, od, oh, lo),
                                window_divisor(win, od, oh, hi) if clipped else 1)
        return ZEROS_EXACT
    if stride2:
        if cypool_max_rows_stride2(dtype_code(src), channels, out_row + lo * channels,
                                   src + win.first[2][lo] * channels, row_offset, n_rows,
                                   win.count[2][lo], n_span + clipped, clipped, 1, 0, 0, 0,
                                   0):
            return ZEROS_SUSPECT
        return ZEROS_EXACT
    # span path: outputs [lo, hi) share one window shape; tap t of output lo + i
    # reads src + tap_offset[t] + i * w_step
    n_w = win.count[2][lo]
    w_step = win.span_step * channels
    out = out_row + lo * channels
    n_taps = window_taps(win, lo, row_offset, n_rows, channels, tap_offset)
    if per_cell:
        if mode == MODE_AVG:
            divisor = <max_t>window_divisor(win, od, oh, lo)
        # the next window's new rows, offsets from the span's first cell
        n_new = new_rows(row_offset, n_rows, next_rows, scratch.new_row)
        new_offset = tap_offset[0] - row_offset[0]
        if mode != MODE_ARGMAX:
            # max and average cells: only the rows' first lines (KICK_BYTES), now
            for r in range(n_new):
                cypool_prefetch(src, (scratch.new_row[r] + new_offset) * sizeof(max_t),
                                KICK_BYTES)
            n_new = 0
        elif n_new == 0:
            # no next row in this plane (1-D rows, a plane's last): the same rows
            # ALONG_AHEAD further on, past the last into the next plane
            for r in range(n_rows):
                scratch.new_row[r] = row_offset[r]
            n_new = n_rows
            new_offset += ALONG_AHEAD // <Py_ssize_t>sizeof(max_t)
        for r in range(n_new):  # what an argmax's cells ask for, cell by cell
            scratch.new_row[r] += new_offset
        # A helper call takes a block of cells, an argmax's each asking for its share
        # of the rows to prefetch just before it (a call a cell cost 16-32 channels
        # twice the time of the same bytes in 64 channels); at stride 1 they are one
        # long cell, each value's taps still in window order (the argmax's flat index
        # tap_offset + position holds along the run), SPAN_BLOCK bytes at a time.
        cells_a_call = n_span
        if w_step == channels:
            cells_a_call = max(1, SPAN_BLOCK // (channels * <Py_ssize_t>sizeof(max_t)))
        i = 0
        while i < n_span:
            n_block = min(cells_a_call, n_span - i)
            pool_cells(mode, src + i * w_step, out + i * channels,
                       index_row + (lo + i) * channels, i * w_step + index_base,
                       tap_offset, n_taps, channels, n_block, w_step, scratch.new_row,
                       n_new, divisor, stream_cells)
            i += n_block
        return zeros
    if mode == MODE_MAX and channels == 1 and w_step == 2:  # stride 2, other windows
        cypool_max_stride2(dtype_code(src), out, src, tap_offset, n_taps, n_span)
        return zeros
    if (mode == MODE_ARGMAX and scratch.run_index != NULL and n_taps <= SPAN_TAPS
            and (win.span_step == 2 or (win.span_step == 1 and not (
                max_t is float or max_t is double)))):
        # each lane's winning tap along the row, then the span's outputs from theirs
        # (the run row's int64 indices as room; 1-4 or 8 float channels at stride 2 find
        # their outputs' windows only); floats at stride 1 take the cell helper's
        # vector stores below
        cypool_argmax_span(dtype_code(src), out, index_row + lo * channels, src, tap_offset,
                           n_taps, win.span_step, n_span, channels, index_base,
                           scratch.run_index)
        return zeros
    if (w_step >= channels and scratch.run_row != NULL and (
            mode != MODE_ARGMAX or (scratch.run_index != NULL
                                    and (max_t is float or max_t is double)))):
        pool_span_along_row(mode, src, out, index_row + lo * channels, index_base,
                            tap_offset, n_taps, n_span, win.span_step, channels,
                            window_divisor(win, od, oh, lo), scratch)
        return zeros
    # otherwise tap-major, vectorised along the row (or over many channels for max)
    if mode == MODE_AVG:
        for c in range(n_span * channels):
            out[c] = 0
    for tap in range(n_taps):
        if mode == MODE_MAX:
            max_tap(out, src + tap_offset[tap], n_span, w_step, channels, tap == 0)
        elif mode == MODE_AVG:
            sum_tap(out, src + tap_offset[tap], n_span, w_step, channels)
        else:
            argmax_tap_span(out, scratch.ordinal, src + tap_offset[tap], n_span,
                            w_step, channels, tap, tap == 0)
    if mode == MODE_ARGMAX:  # tap ordinals to flat indices
        for i in range(n_span):
            for c in range(channels):
                index_row[(lo + i) * channels + c] = (
                    tap_offset[scratch.ordinal[i * channels + c]] + i * w_step + c
                    + index_base)
    elif mode == MODE_AVG:
        divisor = <max_t>window_divisor(win, od, oh, lo)
        for c in range(n_span * channels):
            out[c] = <max_t>(out[c] / divisor)  # ints never get here
    return zeros


# ---- several output rows at once --------------------------------------------------

cdef inline Py_ssize_t row_group_size(const Windows* win, int mode, Py_ssize_t channels,
                                      Py_ssize_t item_size) noexcept nogil:
    """How many output rows pool_row_group takes at once: for a max of many channels
    over windows of K >= 3 rows at stride 1 along H (SPPF's 5x5/1, 3x3/1), K - 1 (at
    most GROUP_ROWS); ROW_RUN for max and average rows of few channels; else 1."""
    cdef Py_ssize_t oh, k = 0
    if mode != MODE_ARGMAX and channels * item_size < CELL_BYTES:
        return ROW_RUN
    if mode != MODE_MAX:
        return 1
    if channels * item_size < CELL_BYTES or win.dilation[1] != 1:
        return 1
    for oh in range(win.size[1]):
        k = max(k, win.count[1][oh])
    if k < 3 or k > GROUP_WINDOW:
        return 1
    for oh in range(win.size[1] - 1):
        if (win.count[1][oh] == k and win.count[1][oh + 1] == k
                and win.first[1][oh + 1] == win.first[1][oh] + 1):
            return min(k - 1, GROUP_ROWS)
    return 1


cdef inline void pool_row_group(int mode, const max_t* plane, max_t* out_row,
                                int64_t* index_row, int64_t index_base, const Windows* win,
                                Py_ssize_t od, Py_ssize_t oh, Py_ssize_t n_group,
                                Py_ssize_t out_w, Py_ssize_t in_h, Py_ssize_t in_w,
                                Py_ssize_t channels, RowScratch* scratch) noexcept nogil:
    """Pool output rows oh .. oh + n_group - 1 of a plane's (d) row od, channels-last
    (``out_row``, ``index_row``: the first row's): in runs where max_rows_group,
    rows_stride2_run or few_channel_rows_run can, else row by row."""
    cdef Py_ssize_t j = 0, n_done, row_size = out_w * channels
    while j < n_group:
        n_done = 0
        if mode == MODE_MAX and n_group - j > 1:
            n_done = max_rows_group(plane, out_row + j * row_size, win, od, oh + j,
                                    n_group - j, out_w, in_h, in_w, channels, scratch)
        if n_done == 0 and mode != MODE_ARGMAX and n_group > 1:
            n_done = rows_stride2_run(mode, plane, out_row + j * row_size, win, od, oh + j,
                                      n_group - j, out_w, in_h, in_w, channels, scratch)
        if n_done == 0 and n_group > 1:
            n_done = few_channel_rows_run(mode, plane, out_row + j * row_size, win, od,
                                          oh + j, n_group - j, out_w, in_h, in_w, channels,
                                          scratch)
        if n_done == 0:
            pool_row(mode, plane, out_row + j * row_size,
                     index_row + j * row_size if index_row != NULL else NULL, index_base,
                     win, od, oh + j, out_w, in_h, in_w, channels, scratch)
            n_done = 1
        j += n_done


@cython.cdivision(True)
cdef inline Py_ssize_t max_rows_group(const max_t* plane, max_t* out_row, const Windows* win,
                                      Py_ssize_t od, Py_ssize_t oh, Py_ssize_t n_group,
                                      Py_ssize_t out_w, Py_ssize_t in_h, Py_ssize_t in_w,
                                      Py_ssize_t channels, RowScratch* scratch) noexcept nogil:
    """The max of output rows oh .. oh + G - 1 whose windows are K rows at stride 1 (one
    d row; at the borders as padding clips them, see stride1_windows), G at most
    n_group, K - 1 and GROUP_ROWS: their G + K - 1 input rows reduced into G rows at
    once (cypool_max_rows_group: each input row read about twice, not K times), a
    block at a time.  Cells of many channels are pooled as each block completes them,
    while it is in L1; rows of few channels, and of under ALONG_ROW_BYTES of channels
    at stride 1 along W, along the whole reduced row (the span vectorised along it, as
    pool_row_fast does a reduced row).  Returns G, or 0 (nothing done) where the rows
    do not have that shape."""
    cdef Py_ssize_t k = 0, j, r, i, t, n_block, ow, ow_ready, ow_done = 0
    cdef Py_ssize_t row_stride, margin
    cdef bint padded
    cdef bint suspect = False  # a reduced value so far was NaN or -0.0
    # (cells of 16-24 floats in groups of K - 1 cost about what 64 did, in calls)
    cdef bint along_row = (channels * <Py_ssize_t>sizeof(max_t) < CELL_BYTES
                           or (win.span_step == 1 and
                               channels * <Py_ssize_t>sizeof(max_t) < ALONG_ROW_BYTES))
    cdef Py_ssize_t row_elements = in_w * channels, block = REDUCE_BLOCK // sizeof(max_t)
    cdef int64_t union_offset[GROUP_ROWS + GROUP_WINDOW]
    cdef max_t* reduced = <max_t*>scratch.group_rows
    for j in range(min(n_group, GROUP_ROWS)):  # K: a border window is shorter
        k = max(k, win.count[1][oh + j])
    n_group = min(n_group, k - 1, GROUP_ROWS)
    if (reduced == NULL or n_group < 2 or k > GROUP_WINDOW
            or win.count[0][od] != 1 or win.dilation[1] != 1
            or not stride1_windows(
                win.first[1], win.count[1], oh, n_group, k, in_h, row_elements,
                union_offset)):
        return 0
    for r in range(n_group + k - 1):
        union_offset[r] += win.first[0][od] * in_h * row_elements
    # Rows along the row go into rows padded with lowest where the W windows allow
    # (padded_w_windows): all G rows' windows, the border ones too, in one helper call
    # (NCHW 5x5/1 spent most of its time in a call per border cell and per row).
    padded = along_row and scratch.w_pad >= 0
    row_stride = row_elements
    margin = 0
    if padded:
        row_stride = padded_row_elements(row_elements, scratch.w_taps, channels)
        margin = scratch.w_pad * channels
    i = 0
    ow = 0
    while i < row_elements:
        n_block = min(block, row_elements - i)
        suspect |= cypool_max_rows_group(dtype_code(plane), plane + i, union_offset,
                                         reduced + margin + i, row_stride, n_group, k,
                                         n_block, False, GROUP_AHEAD // sizeof(max_t), False)
        i += n_block
        if along_row:
            continue
        ow_ready = ready_cells(win, ow, out_w, i, channels)
        # the cells' pixels are in blocks reduced so far: without a NaN there, one
        # maxps a maximum (SPPF warm: 0.79 -> 0.71 ms)
        for j in range(n_group):
            ow_done = max_reduced_cells(win, reduced + j * row_elements,
                                        out_row + j * out_w * channels, ow, ow_ready,
                                        i == row_elements, in_w, channels,
                                        scratch.tap_offset, scratch.stream, not suspect)
        ow = ow_done
    if padded:
        # lowest leaves a max as it was (max(lowest, a) is a, a NaN or -0.0 too), so
        # the padded windows' taps in order give the clipped windows' maxima
        for j in range(n_group):
            for i in range(margin):
                reduced[j * row_stride + i] = lowest(reduced[0])
            for i in range(margin + row_elements, row_stride):
                reduced[j * row_stride + i] = lowest(reduced[0])
        for t in range(scratch.w_taps):
            scratch.tap_offset[t] = t * channels
        if not suspect and (max_t is float or max_t is double):
            # no NaN among the reduced rows: one maxps a tap (NCHW 5x5/1 spent most
            # of its time here, two instructions a tap)
            cypool_max_cells_nan_free(dtype_code(reduced), reduced, out_row,
                                      scratch.tap_offset, scratch.w_taps, out_w * channels,
                                      n_group, row_stride)
        else:
            pool_cells(MODE_MAX, reduced, out_row, NULL, 0, scratch.tap_offset,
                       <int32_t>scratch.w_taps, out_w * channels, n_group, row_stride,
                       NULL, 0, 1, False)
    elif along_row:
        for j in range(n_group):
            max_reduced_row(win, reduced + j * row_elements, out_row + j * out_w * channels,
                            out_w, channels, scratch)
    if suspect:  # else no -0.0 in the reduced rows: nothing to fix
        for j in range(n_group):
            fix_signed_zeros(plane, out_row + j * out_w * channels, win, od, oh + j, out_w,
                             in_h, in_w, channels, reduced + j * row_stride + margin,
                             scratch)
    return n_group


cdef inline void max_reduced_row(const Windows* win, const max_t* reduced, max_t* out_row,
                                 Py_ssize_t out_w, Py_ssize_t channels,
                                 RowScratch* scratch) noexcept nogil:
    """A max row from its input rows' maximum (``reduced``; few channels, or windows a
    pixel apart): the border cells one by one, the span along the row (unless its
    windows do not move along it: a step of 0, as where padding clips dilated windows
    to the same taps)."""
    cdef Py_ssize_t lo = win.span_lo, n_span = win.span_hi - win.span_lo, k, ow, c
    cdef Py_ssize_t n_skip = n_span if n_span > 0 and win.span_step > 0 else 0
    cdef int64_t zero = 0  # the one row's offset
    cdef int32_t n_taps
    cdef max_t* out
    for k in range(out_w - n_skip):
        ow = k if k < lo else k + n_skip
        out = out_row + ow * channels
        n_taps = window_taps(win, ow, &zero, 1, channels, scratch.tap_offset)
        if n_taps == 0:  # a dilated window that misses the input
            for c in range(channels):
                out[c] = lowest(out[c])
        else:
            cypool_max_cell(dtype_code(reduced), reduced, out, scratch.tap_offset, n_taps,
                            channels, False)
    if n_skip > 0:
        n_taps = window_taps(win, lo, &zero, 1, channels, scratch.tap_offset)
        pool_span_along_row(MODE_MAX, reduced, out_row + lo * channels, NULL, 0,
                            scratch.tap_offset, n_taps, n_span, win.span_step, channels, 1,
                            scratch)


cdef inline Py_ssize_t rows_a_step_apart(const Windows* win, Py_ssize_t oh, Py_ssize_t n_group,
                                         Py_ssize_t step) noexcept nogil:
    """How many output rows from oh on (at most n_group) have oh's window shape along H,
    each ``step`` input rows after the last: the rows one run of taps can take."""
    cdef Py_ssize_t n_run = 1
    while (n_run < n_group and win.count[1][oh + n_run] == win.count[1][oh]
           and win.first[1][oh + n_run] == win.first[1][oh] + n_run * step):
        n_run += 1
    return n_run


@cython.cdivision(True)
cdef inline Py_ssize_t rows_stride2_run(int mode, const max_t* plane, max_t* out_row,
                                        const Windows* win, Py_ssize_t od, Py_ssize_t oh,
                                        Py_ssize_t n_group, Py_ssize_t out_w,
                                        Py_ssize_t in_h, Py_ssize_t in_w,
                                        Py_ssize_t channels,
                                        RowScratch* scratch) noexcept nogil:
    """pool_row_fast's stride-2 max or average rows of 1-4 channels (stride2_rows) for
    output rows from oh on (at most n_group) in one helper call, prefetches included,
    as long as their windows are one shape of adjacent rows (an average's: one
    divisor) and a row's span is its whole (the per-row work in Cython was a third of
    channels-first 3x3/2's time).  Returns how many rows it did (0: none, at the
    borders of H or W)."""
    cdef int64_t* row_offset = scratch.row_offset
    cdef Py_ssize_t n_rows = window_rows(win, od, oh, in_h, in_w, channels, row_offset)
    cdef Py_ssize_t r, j, step, ahead, new_bytes, window_bytes, n_run, n_run_same
    cdef Py_ssize_t row_bytes = in_w * channels * <Py_ssize_t>sizeof(max_t)
    cdef bint clipped = False
    if (not stride2_rows(mode, win, n_rows, channels, sizeof(max_t), out_w, &clipped)
            or win.span_lo != 0 or win.span_hi + clipped != out_w):
        return 0
    for r in range(1, n_rows):
        if row_offset[r] != row_offset[0] + r * in_w * channels:
            return 0
    step = 0
    if oh + 1 < win.size[1]:
        step = win.first[1][oh + 1] - win.first[1][oh]
    if step <= 0:
        return 0
    n_run = rows_a_step_apart(win, oh, n_group, step)
    # as pool_row_fast: each row asks for the rows the next adds, PREFETCH_AHEAD on
    # past its window (ahead: from the window's first row); a window of up to
    # NEAR_WINDOW bytes asks for itself, whole
    window_bytes = n_rows * row_bytes
    new_bytes = min(step, n_rows) * row_bytes
    ahead = window_bytes - new_bytes + prefetch_distance(row_bytes)
    if window_bytes <= NEAR_WINDOW:
        ahead = 0
        new_bytes = window_bytes
    if mode == MODE_AVG:
        n_run_same = 1
        while n_run_same < n_run and win.divisor[1][oh + n_run_same] == win.divisor[1][oh]:
            n_run_same += 1
        cypool_avg_rows_stride2(dtype_code(plane), channels, out_row,
                                plane + win.first[2][0] * channels, row_offset, n_rows,
                                win.count[2][0], out_w, clipped, n_run_same,
                                out_w * channels, step * in_w * channels,
                                ahead, new_bytes, window_divisor(win, od, oh, 0),
                                window_divisor(win, od, oh, out_w - 1))
        return n_run_same
    if cypool_max_rows_stride2(dtype_code(plane), channels, out_row,
                               plane + win.first[2][0] * channels, row_offset, n_rows,
                               win.count[2][0], out_w, clipped, n_run, out_w * channels,
                               step * in_w * channels, ahead, new_bytes):
        for j in range(n_run):  # a column maximum was -0.0 (ZEROS_SUSPECT)
            fix_signed_zeros(plane, out_row + j * out_w * channels, win, od, oh + j, out_w,
                             in_h, in_w, channels, NULL, scratch)
    return n_run


@cython.cdivision(True)
cdef inline Py_ssize_t few_channel_rows_run(int mode, const max_t* plane, max_t* out_row,
                                            const Windows* win, Py_ssize_t od, Py_ssize_t oh,
                                            Py_ssize_t n_group, Py_ssize_t out_w,
                                            Py_ssize_t in_h, Py_ssize_t in_w,
                                            Py_ssize_t channels,
                                            RowScratch* scratch) noexcept nogil:
    """Max or average rows of few channels (under CELL_BYTES: channels-first planes,
    grayscale, RGB) from output row oh on, at most n_group, whose windows are one shape
    of input rows a fixed step apart: the first row's taps are found once and each row
    is pooled at its own offset by the cell helpers, tap by tap in window order, its
    span as one run along the row as in pool_row_fast (the per-row work in Cython was
    half of an NCHW 3x3/2 average's time).  Returns how many rows it did (0: none)."""
    cdef int64_t* row_offset = scratch.row_offset
    cdef int64_t* tap_offset = scratch.tap_offset
    cdef Py_ssize_t lo = win.span_lo, n_span = win.span_hi - win.span_lo
    cdef Py_ssize_t w_step = win.span_step * channels, row_elements = in_w * channels
    cdef Py_ssize_t n_rows, step, n_run, src_step, j, k, ow, c, r, n_skip
    cdef Py_ssize_t row_bytes = row_elements * <Py_ssize_t>sizeof(max_t)
    cdef Py_ssize_t ahead = prefetch_distance(row_bytes) if row_bytes > 0 else 0
    cdef int32_t n_taps
    cdef bint contiguous = True
    cdef max_t* out
    if (mode == MODE_ARGMAX or channels * <Py_ssize_t>sizeof(max_t) >= CELL_BYTES
            or pair_cells(mode, win, channels * sizeof(max_t))
            or n_group < 2 or oh + 1 >= win.size[1] or scratch.run_row == NULL
            or (n_span > 0 and w_step < channels)):  # (a span of windows at one place)
        return 0
    n_rows = window_rows(win, od, oh, in_h, in_w, channels, row_offset)
    step = win.first[1][oh + 1] - win.first[1][oh]
    if n_rows == 0 or step <= 0:
        return 0
    if (mode == MODE_MAX and n_span > 0
            and n_rows * win.count[2][lo] > 2 * (n_rows + win.count[2][lo])):
        return 0  # large windows: pool_row_fast takes the rows' maximum first
    n_run = rows_a_step_apart(win, oh, n_group, step)
    if n_run < 2:
        return 0
    src_step = step * row_elements
    for r in range(1, n_rows):
        contiguous = contiguous and row_offset[r] == row_offset[0] + r * row_elements
    # the border cells, [0, lo) and [hi, out_w), or all without a span
    n_skip = n_span if n_span > 0 else 0
    for k in range(out_w - n_skip):
        ow = k if k < lo else k + n_skip
        if win.count[2][ow] == 0:  # a dilated window that misses the input
            for j in range(n_run):
                out = out_row + j * out_w * channels + ow * channels
                for c in range(channels):
                    out[c] = empty_window_value(mode, out[c])
            continue
        n_taps = window_taps(win, ow, row_offset, n_rows, channels, tap_offset)
        for j in range(n_run):
            pool_cells(mode, plane + j * src_step, out_row + j * out_w * channels
                       + ow * channels, NULL, 0, tap_offset, n_taps, channels, 1, 0,
                       NULL, 0, window_divisor(win, od, oh + j, ow), False)
    if n_span <= 0:
        return n_run
    n_taps = window_taps(win, lo, row_offset, n_rows, channels, tap_offset)
    for j in range(n_run):
        # as pool_row_fast: ask for the rows PREFETCH_AHEAD bytes on, the new ones only
        # where the window's rows are adjacent; at a row step of 2 or more, a near
        # window asks for itself, whole
        if step >= 2 and near_rows_window(row_offset, n_rows, row_elements, row_bytes):
            cypool_prefetch(plane, (row_offset[0] + j * src_step) * sizeof(max_t),
                            n_rows * row_bytes)
        elif 0 < row_bytes <= SHORT_ROW and contiguous:
            cypool_prefetch(plane, (row_offset[0] + j * src_step) * sizeof(max_t)
                            + (n_rows - min(step, n_rows)) * row_bytes + ahead,
                            min(step, n_rows) * row_bytes)
        elif 0 < row_bytes <= SHORT_ROW:
            for r in range(n_rows):
                cypool_prefetch(plane, (row_offset[r] + j * src_step) * sizeof(max_t)
                                + ahead, row_bytes)
        pool_span_along_row(mode, plane + j * src_step,
                            out_row + j * out_w * channels + lo * channels, NULL, 0,
                            tap_offset, n_taps, n_span, win.span_step, channels,
                            window_divisor(win, od, oh + j, lo), scratch)
    return n_run


cdef inline float* hold_half_rows(const uint16_t* half_plane, float* buffer,
                                  Py_ssize_t capacity, Py_ssize_t plane, Py_ssize_t a,
                                  Py_ssize_t b, Py_ssize_t row_elements,
                                  Py_ssize_t* held) noexcept nogil:
    """Rows [a, b) of float16 plane ``plane`` (at half_plane) widened in a thread's
    buffer of ``capacity`` rows, b - a <= capacity: rows already held stay, the others
    are appended in order, and past the buffer's end the rows from a on move to its
    start.  ``held``: the plane, the row at the buffer's start and the end of the rows
    held (plane -1: none).  Returns where the plane's row 0 would be, so that the
    kernels' plane offsets land in the buffer for rows [a, b)."""
    if held[0] != plane or a < held[1] or a >= held[2]:  # nothing to keep
        held[0] = plane
        held[1] = a
        held[2] = a
    elif b - held[1] > capacity:  # keep rows [a, held), at the start
        memmove(buffer, buffer + (a - held[1]) * row_elements,
                (held[2] - a) * row_elements * sizeof(float))
        held[1] = a
    if b > held[2]:
        cypool_widen_half(half_plane + held[2] * row_elements,
                          <uint32_t*>(buffer + (held[2] - held[1]) * row_elements),
                          (b - held[2]) * row_elements)
        held[2] = b
    return buffer - held[1] * row_elements


cdef inline Py_ssize_t padded_w_windows(const Windows* win, Py_ssize_t in_w,
                                         Py_ssize_t* k) noexcept nogil:
    """If the W windows are stride-1 windows of k pixels (stride1_start; k the most
    taps, set in ``k[0]``), their left padding, else -1.  Then a row with that padding
    and k - 1 pixels of ``lowest`` on either side pools every window, the border ones
    too, as one span of k taps."""
    cdef Py_ssize_t o, v
    k[0] = 0
    for o in range(win.size[2]):
        k[0] = max(k[0], win.count[2][o])
    if (win.size[2] == 0 or win.dilation[2] != 1
            or not stride1_start(win.first[2], win.count[2], 0, win.size[2], k[0], in_w, &v)):
        return -1
    return max(-v, 0)


cdef inline Py_ssize_t padded_row_elements(Py_ssize_t row_elements, Py_ssize_t w_taps,
                                           Py_ssize_t channels) noexcept nogil:
    """A reduced row's length with room for padded_w_windows' padding on either side."""
    return row_elements + 2 * max(w_taps - 1, 0) * channels


cdef inline Py_ssize_t max_window_taps(const Windows* win, Py_ssize_t out_d, Py_ssize_t out_h,
                                Py_ssize_t out_w) noexcept nogil:
    """The most taps any window has (the size of the tap_offset scratch)."""
    cdef Py_ssize_t o, axis, most = 1, axis_most
    cdef Py_ssize_t sizes[3]
    sizes[0] = out_d
    sizes[1] = out_h
    sizes[2] = out_w
    for axis in range(3):
        axis_most = 0
        for o in range(sizes[axis]):
            if win.count[axis][o] > axis_most:
                axis_most = win.count[axis][o]
        most *= max(axis_most, 1)
    return most


# windows of fewer taps go cell by cell (ring_rows): the max gradient's, and
# max_pool_with_argmax's
cdef enum:
    GRAD_RING_TAPS = 25
    ARGMAX_RING_TAPS = 9


cdef inline Py_ssize_t ring_rows(const max_t* dummy, const Windows* win, Py_ssize_t out_d,
                                 Py_ssize_t out_h, Py_ssize_t out_w,
                                 Py_ssize_t row_elements, Py_ssize_t channels,
                                 Py_ssize_t min_taps) noexcept nogil:
    """The ring's size (RowScratch.ring: the argmax and the max gradient rows first):
    the most rows a window takes, where this build has the ring for the dtype and
    channels (cypool_ring_ok), windows are one depth row of consecutive rows at stride
    1 along H (each row then serves that many output rows) and of ``min_taps`` or
    more taps, no W window is empty and a window's element offsets fit int32; else 0.
    (For the gradient, cell by cell was faster for 3x3/1, 1.2x, and for 5x3 at
    strides 1x2, the ring for 5x5/1, 1.5-1.8x, and 7x7/1, 5x; for
    max_pool_with_argmax, the ring for 3x3/1, 1.15-1.25x, 5x5/1, 2.2x, and 13x13/1,
    5.6x, level for 3x3 VALID over 32 channels.)"""
    cdef Py_ssize_t o, most_h = 0, most_w = 0
    if not cypool_ring_ok(dtype_code(dummy), channels):
        return 0
    if win.dilation[1] != 1 or win.dilation[2] != 1:
        return 0
    for o in range(out_d):
        if win.count[0][o] > 1:
            return 0
    for o in range(out_h):
        most_h = max(most_h, win.count[1][o])
        if o > 0 and win.first[1][o] - win.first[1][o - 1] > 1:
            return 0
    for o in range(out_w):
        if win.count[2][o] < 1:
            return 0
        most_w = max(most_w, win.count[2][o])
    if most_h * most_w < min_taps or most_h > GROUP_WINDOW:
        return 0
    if (most_h - 1) * row_elements + most_w * channels >= (<Py_ssize_t>1) << 31:
        return 0
    return most_h


cdef inline RowScratch new_row_scratch(const Windows* win, Py_ssize_t out_d,
                                       Py_ssize_t out_h, Py_ssize_t out_w,
                                       Py_ssize_t out_row_elements,
                                       Py_ssize_t in_row_elements, Py_ssize_t channels,
                                       Py_ssize_t item_size, int mode,
                                       Py_ssize_t group_rows, Py_ssize_t ring_size,
                                       bint stream, int* failed) noexcept nogil:
    """One thread's scratch (returned by value so each thread owns its copy) for pool_row
    in ``mode``, with a ring of ``ring_size`` rows (ring_rows); sets ``failed[0]`` when
    memory runs out."""
    cdef bint want_max_row = mode == MODE_MAX and in_row_elements > 0
    cdef bint want_run_row = in_row_elements > 0
    cdef bint want_run_index = mode == MODE_ARGMAX and in_row_elements > 0
    cdef RowScratch scratch
    cdef Py_ssize_t taps = max_window_taps(win, out_d, out_h, out_w), i
    scratch.row_offset = <int64_t*>malloc(taps * sizeof(int64_t) + 8)
    scratch.tap_offset = <int64_t*>malloc(taps * sizeof(int64_t) + 8)
    scratch.new_row = <int64_t*>malloc(taps * sizeof(int64_t) + 8)
    scratch.ordinal = <int32_t*>malloc(out_row_elements * sizeof(int32_t) + 8)
    scratch.max_row = cypool_aligned_malloc(in_row_elements * item_size) if want_max_row else NULL
    scratch.run_row = cypool_aligned_malloc(in_row_elements * item_size) if want_run_row else NULL
    scratch.run_index = (<int64_t*>cypool_aligned_malloc(in_row_elements * sizeof(int64_t))
                         if want_run_index else NULL)
    scratch.w_pad = -1
    scratch.w_taps = 0
    if group_rows > 0 and channels > 0:
        scratch.w_pad = padded_w_windows(win, in_row_elements // channels, &scratch.w_taps)
    # (room for max_rows_group's padded rows)
    scratch.group_rows = (cypool_aligned_malloc(group_rows * item_size * padded_row_elements(
        in_row_elements, scratch.w_taps, channels)) if group_rows > 0 else NULL)
    scratch.ring.size = ring_size
    scratch.ring.value = NULL
    scratch.ring.code = NULL
    scratch.ring.row = NULL
    if ring_size > 0:
        scratch.ring.value = cypool_aligned_malloc(ring_size * out_row_elements * item_size)
        scratch.ring.code = <int32_t*>cypool_aligned_malloc(
            ring_size * out_row_elements * sizeof(int32_t))
        scratch.ring.row = <int64_t*>malloc(ring_size * sizeof(int64_t))
        if scratch.ring.row != NULL:
            for i in range(ring_size):
                scratch.ring.row[i] = -1
    scratch.stream = stream
    if (scratch.row_offset == NULL or scratch.tap_offset == NULL or scratch.new_row == NULL
            or scratch.ordinal == NULL
            or (want_max_row and scratch.max_row == NULL)
            or (want_run_row and scratch.run_row == NULL)
            or (want_run_index and scratch.run_index == NULL)
            or (group_rows > 0 and scratch.group_rows == NULL)
            or (ring_size > 0 and (scratch.ring.value == NULL or scratch.ring.code == NULL
                                   or scratch.ring.row == NULL))):
        failed[0] = 1
    return scratch


cdef inline void free_row_scratch(RowScratch* scratch) noexcept nogil:
    free(scratch.row_offset)
    free(scratch.tap_offset)
    free(scratch.new_row)
    free(scratch.ordinal)
    cypool_aligned_free(scratch.max_row)
    cypool_aligned_free(scratch.run_row)
    cypool_aligned_free(scratch.run_index)
    cypool_aligned_free(scratch.group_rows)
    cypool_aligned_free(scratch.ring.value)
    cypool_aligned_free(scratch.ring.code)
    free(scratch.ring.row)
