/* Small C helpers of the row kernels (_pool_rows.pxd), kept out of line on purpose.
 *
 * gcc vectorises a loop well when it stands alone, and badly when inlined into
 * pool_row's nest (it ran inlined row maxima scalar past the third row, and it splits
 * a block of channel accumulators into scalars).  So the reductions are functions of
 * their own, written with GCC/Clang vector types (other compilers get the scalar
 * loops).  Every lane
 * applies its taps in the order given, as the scalar loop does, so results are
 * bit-identical to it: sums start from 0 and add tap by tap; maxima keep the first of
 * equal values and let a NaN win.
 */
#ifndef CYPOOL_ROW_SIMD_H
#define CYPOOL_ROW_SIMD_H

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__GNUC__)
#define CYPOOL_NOINLINE __attribute__((noinline))
#define CYPOOL_INLINE inline __attribute__((always_inline))
#elif defined(_MSC_VER)
#define CYPOOL_NOINLINE __declspec(noinline)
#define CYPOOL_INLINE __forceinline
#else
#define CYPOOL_NOINLINE
#define CYPOOL_INLINE inline
#endif
#if defined(__GNUC__) || defined(_MSC_VER)
#define CYPOOL_RESTRICT __restrict
#else
#define CYPOOL_RESTRICT
#endif

/* -DCYPOOL_SCALAR_HELPERS builds the scalar loops other compilers get (for checking) */
#if (defined(__GNUC__) || defined(__clang__)) && !defined(CYPOOL_SCALAR_HELPERS)
#define CYPOOL_HAVE_VECTORS 1
/* the AVX-512 build (setup.py) works in 64-byte vectors, the others in 32; the lane
   counts of 1-, 2-, 4- and 8-byte types are literals for the shuffle lists below */
#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VL__)
#define CYPOOL_VECTOR_BYTES 64
#define CYPOOL_LANES1 64
#define CYPOOL_LANES2 32
#define CYPOOL_LANES4 16
#define CYPOOL_LANES8 8
#else
#define CYPOOL_VECTOR_BYTES 32
#define CYPOOL_LANES1 32
#define CYPOOL_LANES2 16
#define CYPOOL_LANES4 8
#define CYPOOL_LANES8 4
#endif
#endif
#if defined(__has_builtin)
#if __has_builtin(__builtin_shufflevector)
#define CYPOOL_HAVE_SHUFFLE 1
#endif
#if __has_builtin(__builtin_convertvector)
#define CYPOOL_HAVE_CONVERT 1
#endif
#endif
#define CYPOOL_MIN(a, b) ((a) < (b) ? (a) : (b))

/* malloc at a cache-line boundary, so that vector loads of a scratch row never split
   across two lines (1.2x on large windows); free with cypool_aligned_free */
static inline void *cypool_aligned_malloc(Py_ssize_t bytes)
{
    char *raw = (char *)malloc((size_t)bytes + 64 + sizeof(void *));
    if (raw == NULL) return NULL;
    char *p = (char *)(((uintptr_t)raw + sizeof(void *) + 63) & ~(uintptr_t)63);
    ((void **)p)[-1] = raw;
    return p;
}

static inline void cypool_aligned_free(void *p)
{
    if (p != NULL) free(((void **)p)[-1]);
}

/* ---- non-temporal stores ----------------------------------------------------------
 * A write to a line that is not in the cache first reads the line from memory ("read
 * for ownership"), so a large output costs twice its size in traffic.  Non-temporal
 * stores skip that and the cache: worth it when the output would not stay cached
 * anyway.  Other CPUs get plain stores.  Call cypool_store_fence once a thread's
 * streamed stores are done (they are weakly ordered). */
#if defined(__SSE2__) || defined(_M_X64) || (defined(_M_IX86_FP) && _M_IX86_FP >= 2)
#include <emmintrin.h>
#define CYPOOL_HAVE_STREAM 1
#endif

static inline void cypool_store_fence(void)
{
#ifdef CYPOOL_HAVE_STREAM
    _mm_sfence();
#endif
}

/* *(V *)p = v for a vector type V of CYPOOL_VECTOR_BYTES, in a helper with an
   ``int stream`` argument: non-temporally when set and p is 16-byte aligned, straight
   from the register (a copy through memory made gcc keep the accumulators there) */
#if defined(CYPOOL_HAVE_VECTORS) && defined(CYPOOL_HAVE_STREAM) && defined(CYPOOL_HAVE_SHUFFLE)
typedef long long cypool_q __attribute__((vector_size(CYPOOL_VECTOR_BYTES)));
/* the k-th 16 bytes of w_ to p */
#define CYPOOL_STREAM16(p, k)                                                          \
    _mm_stream_si128((__m128i *)(p) + (k),                                             \
                     (__m128i)__builtin_shufflevector(w_, w_, 2 * (k), 2 * (k) + 1))
#if CYPOOL_VECTOR_BYTES == 64
#define CYPOOL_STREAM_PIECES(p)                                                        \
    do {                                                                               \
        CYPOOL_STREAM16(p, 0); CYPOOL_STREAM16(p, 1);                                  \
        CYPOOL_STREAM16(p, 2); CYPOOL_STREAM16(p, 3);                                  \
    } while (0)
#else
#define CYPOOL_STREAM_PIECES(p)                                                        \
    do { CYPOOL_STREAM16(p, 0); CYPOOL_STREAM16(p, 1); } while (0)
#endif
/* one whole-vector store where p is aligned to it (64 bytes: one instruction, not
   four and three extracts), else 16-byte pieces */
#if CYPOOL_VECTOR_BYTES == 64 && defined(__AVX512F__)
#include <immintrin.h>
#define CYPOOL_STREAM_WHOLE(p) _mm512_stream_si512((void *)(p), (__m512i)w_)
#elif CYPOOL_VECTOR_BYTES == 32 && defined(__AVX__)
#include <immintrin.h>
#define CYPOOL_STREAM_WHOLE(p) _mm256_stream_si256((__m256i *)(p), (__m256i)w_)
#endif
#ifdef CYPOOL_STREAM_WHOLE
#define CYPOOL_STREAM_VECTOR(p)                                                        \
    do {                                                                               \
        if (((uintptr_t)(p) & (CYPOOL_VECTOR_BYTES - 1)) == 0) CYPOOL_STREAM_WHOLE(p); \
        else CYPOOL_STREAM_PIECES(p);                                                  \
    } while (0)
#else
#define CYPOOL_STREAM_VECTOR(p) CYPOOL_STREAM_PIECES(p)
#endif
#define CYPOOL_PUT(V, p, v)                                                            \
    do {                                                                               \
        if (stream && ((uintptr_t)(p) & 15) == 0) {                                    \
            cypool_q w_ = (cypool_q)(v);                                               \
            CYPOOL_STREAM_VECTOR(p);                                                   \
        } else {                                                                       \
            *(V *)(p) = (v);                                                           \
        }                                                                              \
    } while (0)
#else
#define CYPOOL_PUT(V, p, v) (*(V *)(p) = (v))
#endif

/* ask for the cache lines of bytes [offset, offset + bytes) from base ahead of their
   use; the address is integer arithmetic, as it may lie past the array (a prefetch
   never faults) */
static inline void cypool_prefetch(const void *base, Py_ssize_t offset, Py_ssize_t bytes)
{
#if defined(__GNUC__) || defined(__clang__)
    uintptr_t p = (uintptr_t)base + (uintptr_t)offset;
    for (Py_ssize_t b = 0; b < bytes; b += 64) __builtin_prefetch((const void *)(p + b), 0, 3);
#else
    (void)base; (void)offset; (void)bytes;
#endif
}

/* max(o, v) keeping o on ties, with a NaN in v winning (integers have no NaN):
   branch-free for floats (gcc branches on the NaN test of a plain ?:, and random
   data mispredicts half the time) */
#define CYPOOL_SELECT_BITS(name, T, U)                                                 \
    static inline T name(T o, T v)                                                     \
    {                                                                                  \
        U ob, vb, take = (U)0 - (U)((v > o) | (v != v));                               \
        memcpy(&ob, &o, sizeof ob);                                                    \
        memcpy(&vb, &v, sizeof vb);                                                    \
        ob = (vb & take) | (ob & ~take);                                               \
        memcpy(&o, &ob, sizeof ob);                                                    \
        return o;                                                                      \
    }
CYPOOL_SELECT_BITS(cypool_max1_float, float, uint32_t)
CYPOOL_SELECT_BITS(cypool_max1_double, double, uint64_t)
#define CYPOOL_MAX1(o, v)                                                              \
    _Generic((o), float: cypool_max1_float((float)(o), (float)(v)),                    \
             double: cypool_max1_double((double)(o), (double)(v)),                     \
             default: ((v) > (o) ? (v) : (o)))

/* F(0), ..., F(LANES - 1): a shuffle's lane indices as constant expressions */
#define CYPOOL_LIST4(F) F(0), F(1), F(2), F(3)
#define CYPOOL_LIST8(F) CYPOOL_LIST4(F), F(4), F(5), F(6), F(7)
#define CYPOOL_LIST16(F)                                                               \
    CYPOOL_LIST8(F), F(8), F(9), F(10), F(11), F(12), F(13), F(14), F(15)
#define CYPOOL_LIST32(F)                                                               \
    CYPOOL_LIST16(F), F(16), F(17), F(18), F(19), F(20), F(21), F(22), F(23), F(24),   \
        F(25), F(26), F(27), F(28), F(29), F(30), F(31)
#define CYPOOL_LIST64(F)                                                               \
    CYPOOL_LIST32(F), F(32), F(33), F(34), F(35), F(36), F(37), F(38), F(39), F(40),   \
        F(41), F(42), F(43), F(44), F(45), F(46), F(47), F(48), F(49), F(50), F(51),   \
        F(52), F(53), F(54), F(55), F(56), F(57), F(58), F(59), F(60), F(61), F(62), F(63)
/* the same with N a macro that expands to the literal */
#define CYPOOL_LIST_(N, F) CYPOOL_LIST##N(F)
#define CYPOOL_LIST(N, F) CYPOOL_LIST_(N, F)
/* lane j of the first operand of a shuffle (a low half, or lanes in order) */
#define CYPOOL_LOW(j) (j)

/* cell i's share of the rows to prefetch: elements [ahead[r] + i * cell_step, + cell_step)
   from base (the next window's new rows, asked for a cell at a time: a burst of
   several KB stalls the core) */
#define CYPOOL_AHEAD(T, i)                                                             \
    for (Py_ssize_t r_ = 0; r_ < n_ahead; r_++)                                        \
        cypool_prefetch(base, (ahead[r_] + (i) * cell_step) * (Py_ssize_t)sizeof(T),   \
                        cell_step * (Py_ssize_t)sizeof(T))

/* ---- one output cell of n channels: tap t reads base[tap_offset[t] + c] ---------- */
#ifdef CYPOOL_HAVE_VECTORS
/* argmax indices, 4 to a vector */
typedef int64_t cypool_index_vec
    __attribute__((vector_size(CYPOOL_VECTOR_BYTES), aligned(8), may_alias));
/* T##_vec: a vector of T that may sit at any T-aligned address */
#define CYPOOL_VECTOR_TYPES(T, IT)                                                     \
    typedef T cypool_##T##_vec                                                         \
        __attribute__((vector_size(CYPOOL_VECTOR_BYTES), aligned(sizeof(T)), may_alias)); \
    typedef IT cypool_##T##_mask __attribute__((vector_size(CYPOOL_VECTOR_BYTES)));

/* dst[c] = FINISH(sum over k of TERM(src[offset[k] + c], k)), from 0 in the given
   order, for c in blocks of 4 vectors, then single vectors; the caller finishes the
   tail (CYPOOL_SUM_HELPER) */
#define CYPOOL_SUM_VECTORS(T, TERM, FINISH)                                            \
    enum { lanes = CYPOOL_VECTOR_BYTES / sizeof(T) };                                  \
    typedef cypool_##T##_vec V;                                                        \
    for (; c + 8 * lanes <= n; c += 8 * lanes) {                                       \
        V a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0}, a4 = {0}, a5 = {0}, a6 = {0}, a7 = {0}; \
        for (Py_ssize_t k = 0; k < n_src; k++) {                                       \
            const V *s = (const V *)(src + offset[k] + c);                             \
            a0 += TERM(s[0], k); a1 += TERM(s[1], k);                                  \
            a2 += TERM(s[2], k); a3 += TERM(s[3], k);                                  \
            a4 += TERM(s[4], k); a5 += TERM(s[5], k);                                  \
            a6 += TERM(s[6], k); a7 += TERM(s[7], k);                                  \
        }                                                                              \
        CYPOOL_PUT(V, dst + c, FINISH(a0)); CYPOOL_PUT(V, dst + c + lanes, FINISH(a1)); \
        CYPOOL_PUT(V, dst + c + 2 * lanes, FINISH(a2));                                \
        CYPOOL_PUT(V, dst + c + 3 * lanes, FINISH(a3));                                \
        CYPOOL_PUT(V, dst + c + 4 * lanes, FINISH(a4));                                \
        CYPOOL_PUT(V, dst + c + 5 * lanes, FINISH(a5));                                \
        CYPOOL_PUT(V, dst + c + 6 * lanes, FINISH(a6));                                \
        CYPOOL_PUT(V, dst + c + 7 * lanes, FINISH(a7));                                \
    }                                                                                  \
    for (; c + 4 * lanes <= n; c += 4 * lanes) {                                       \
        V a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0};                                      \
        for (Py_ssize_t k = 0; k < n_src; k++) {                                       \
            const V *s = (const V *)(src + offset[k] + c);                             \
            a0 += TERM(s[0], k); a1 += TERM(s[1], k);                                  \
            a2 += TERM(s[2], k); a3 += TERM(s[3], k);                                  \
        }                                                                              \
        CYPOOL_PUT(V, dst + c, FINISH(a0)); CYPOOL_PUT(V, dst + c + lanes, FINISH(a1)); \
        CYPOOL_PUT(V, dst + c + 2 * lanes, FINISH(a2));                                \
        CYPOOL_PUT(V, dst + c + 3 * lanes, FINISH(a3));                                \
    }                                                                                  \
    for (; c + lanes <= n; c += lanes) {                                               \
        V a0 = {0};                                                                    \
        for (Py_ssize_t k = 0; k < n_src; k++)                                         \
            a0 += TERM(*(const V *)(src + offset[k] + c), k);                          \
        CYPOOL_PUT(V, dst + c, FINISH(a0));                                            \
    }                                                                                  \
    if (c < n && n >= lanes) {                                                         \
        /* the last vector again, overlapping: the same values (the scalar tail of a   \
           long row of few channels took a third of an NCHW 3x3/2 average) */         \
        V a0 = {0};                                                                    \
        for (Py_ssize_t k = 0; k < n_src; k++)                                         \
            a0 += TERM(*(const V *)(src + offset[k] + n - lanes), k);                  \
        CYPOOL_PUT(V, dst + n - lanes, FINISH(a0));                                    \
        c = n;                                                                         \
    }

/* a lane-wise CYPOOL_MAX1 on vectors: the comparisons give all-ones masks */
#define CYPOOL_VMAX_GENERIC(T, o, v)                                                   \
    do {                                                                               \
        cypool_##T##_mask take_ = (cypool_##T##_mask)(((v) > (o)) | ((v) != (v)));     \
        (o) = (cypool_##T##_vec)(((cypool_##T##_mask)(v) & take_)                      \
                                 | ((cypool_##T##_mask)(o) & ~take_));                 \
    } while (0)
#if CYPOOL_VECTOR_BYTES == 64
#include <immintrin.h>
/* AVX-512 floats in two instructions: maxps(v, o) is v > o ? v : o (ties and a NaN o
   keep o), masked to the lanes where v is not NaN; the others keep v */
#define CYPOOL_VMAX_AVX512(T, REG, SUFFIX, o, v)                                       \
    do {                                                                               \
        REG vmax_v_ = (REG)(v);                                                        \
        (o) = (cypool_##T##_vec)_mm512_mask_max_##SUFFIX(                              \
            vmax_v_, _mm512_cmp_##SUFFIX##_mask(vmax_v_, vmax_v_, _CMP_ORD_Q), vmax_v_, \
            (REG)(o));                                                                 \
    } while (0)
#define CYPOOL_VMAX_float(o, v) CYPOOL_VMAX_AVX512(float, __m512, ps, o, v)
#define CYPOOL_VMAX_double(o, v) CYPOOL_VMAX_AVX512(double, __m512d, pd, o, v)
#elif defined(__AVX__)
#include <immintrin.h>
/* AVX floats in three instructions: maxps(v, o) is v > o ? v : o (ties and a NaN o
   keep o), and a NaN v is blended in after */
#define CYPOOL_VMAX_AVX(T, REG, SUFFIX, o, v)                                          \
    do {                                                                               \
        REG vmax_v_ = (REG)(v), vmax_o_ = (REG)(o);                                    \
        (o) = (cypool_##T##_vec)_mm256_blendv_##SUFFIX(                                \
            _mm256_max_##SUFFIX(vmax_v_, vmax_o_), vmax_v_,                            \
            _mm256_cmp_##SUFFIX(vmax_v_, vmax_v_, _CMP_UNORD_Q));                      \
    } while (0)
#define CYPOOL_VMAX_float(o, v) CYPOOL_VMAX_AVX(float, __m256, ps, o, v)
#define CYPOOL_VMAX_double(o, v) CYPOOL_VMAX_AVX(double, __m256d, pd, o, v)
#else
#define CYPOOL_VMAX_float(o, v) CYPOOL_VMAX_GENERIC(float, o, v)
#define CYPOOL_VMAX_double(o, v) CYPOOL_VMAX_GENERIC(double, o, v)
#endif
#define CYPOOL_VMAX_int8_t(o, v) CYPOOL_VMAX_GENERIC(int8_t, o, v)
#define CYPOOL_VMAX_uint8_t(o, v) CYPOOL_VMAX_GENERIC(uint8_t, o, v)
#define CYPOOL_VMAX_int16_t(o, v) CYPOOL_VMAX_GENERIC(int16_t, o, v)
#define CYPOOL_VMAX_uint16_t(o, v) CYPOOL_VMAX_GENERIC(uint16_t, o, v)
#define CYPOOL_VMAX_int32_t(o, v) CYPOOL_VMAX_GENERIC(int32_t, o, v)
#define CYPOOL_VMAX_uint32_t(o, v) CYPOOL_VMAX_GENERIC(uint32_t, o, v)
#define CYPOOL_VMAX_int64_t(o, v) CYPOOL_VMAX_GENERIC(int64_t, o, v)
#define CYPOOL_VMAX_uint64_t(o, v) CYPOOL_VMAX_GENERIC(uint64_t, o, v)
#define CYPOOL_VMAX(T, o, v) CYPOOL_VMAX_##T(o, v)
/* CYPOOL_VMAX where v is known not to be NaN: one maxps (v > o ? v : o keeps o on
   ties, as CYPOOL_VMAX does) */
#if CYPOOL_VECTOR_BYTES == 64
#define CYPOOL_VMAX_NAN_FREE_float(o, v)                                               \
    ((o) = (cypool_float_vec)_mm512_max_ps((__m512)(v), (__m512)(o)))
#define CYPOOL_VMAX_NAN_FREE_double(o, v)                                              \
    ((o) = (cypool_double_vec)_mm512_max_pd((__m512d)(v), (__m512d)(o)))
#elif defined(__AVX__)
#define CYPOOL_VMAX_NAN_FREE_float(o, v)                                               \
    ((o) = (cypool_float_vec)_mm256_max_ps((__m256)(v), (__m256)(o)))
#define CYPOOL_VMAX_NAN_FREE_double(o, v)                                              \
    ((o) = (cypool_double_vec)_mm256_max_pd((__m256d)(v), (__m256d)(o)))
#else
#define CYPOOL_VMAX_NAN_FREE_float(o, v) CYPOOL_VMAX_GENERIC(float, o, v)
#define CYPOOL_VMAX_NAN_FREE_double(o, v) CYPOOL_VMAX_GENERIC(double, o, v)
#endif
#define CYPOOL_VMAX_NAN_FREE(T, o, v) CYPOOL_VMAX_NAN_FREE_##T(o, v)
/* lanes of a float vector holding -0.0 (its bits are the lowest signed integer's) */
#define CYPOOL_NEGATIVE_ZERO_LANES_float(m) ((cypool_float_mask)(m) == INT32_MIN)
#define CYPOOL_NEGATIVE_ZERO_LANES_double(m) ((cypool_double_mask)(m) == INT64_MIN)
/* ORs into acc the lanes of a float vector u that hold a NaN or a -0.0 (the values a
   max's order shows in); nothing for integers.  AVX-512 DQ classifies a vector in
   one instruction into a bit mask; elsewhere acc is a vector of lane masks. */
#if CYPOOL_VECTOR_BYTES == 64 && defined(__AVX512DQ__)
typedef __mmask16 cypool_suspect;  /* ORed in mask registers (kor) */
#define CYPOOL_SUSPECT_float(acc, u)                                                   \
    ((acc) = _kor_mask16((acc), _mm512_fpclass_ps_mask((__m512)(u), 0x85)))
#define CYPOOL_SUSPECT_double(acc, u)                                                  \
    ((acc) = _kor_mask16((acc), (__mmask16)_mm512_fpclass_pd_mask((__m512d)(u), 0x85)))
static inline int cypool_any_suspect(cypool_suspect acc) { return acc != 0; }
#else
typedef long long cypool_suspect __attribute__((vector_size(CYPOOL_VECTOR_BYTES)));
#define CYPOOL_SUSPECT_float(acc, u)                                                   \
    ((acc) |= (cypool_suspect)(((u) != (u)) | CYPOOL_NEGATIVE_ZERO_LANES_float(u)))
#define CYPOOL_SUSPECT_double(acc, u)                                                  \
    ((acc) |= (cypool_suspect)(((u) != (u)) | CYPOOL_NEGATIVE_ZERO_LANES_double(u)))
static inline int cypool_any_suspect(cypool_suspect acc)
{
    for (size_t i = 0; i < sizeof acc / sizeof acc[0]; i++)
        if (acc[i]) return 1;
    return 0;
}
#endif
#define CYPOOL_NO_SUSPECT(acc, u) ((void)0)
#define CYPOOL_SUSPECT_int8_t CYPOOL_NO_SUSPECT
#define CYPOOL_SUSPECT_uint8_t CYPOOL_NO_SUSPECT
#define CYPOOL_SUSPECT_int16_t CYPOOL_NO_SUSPECT
#define CYPOOL_SUSPECT_uint16_t CYPOOL_NO_SUSPECT
#define CYPOOL_SUSPECT_int32_t CYPOOL_NO_SUSPECT
#define CYPOOL_SUSPECT_uint32_t CYPOOL_NO_SUSPECT
#define CYPOOL_SUSPECT_int64_t CYPOOL_NO_SUSPECT
#define CYPOOL_SUSPECT_uint64_t CYPOOL_NO_SUSPECT
#define CYPOOL_VMAX_NAN_FREE_int8_t(o, v) CYPOOL_VMAX_GENERIC(int8_t, o, v)
#define CYPOOL_VMAX_NAN_FREE_uint8_t(o, v) CYPOOL_VMAX_GENERIC(uint8_t, o, v)
#define CYPOOL_VMAX_NAN_FREE_int16_t(o, v) CYPOOL_VMAX_GENERIC(int16_t, o, v)
#define CYPOOL_VMAX_NAN_FREE_uint16_t(o, v) CYPOOL_VMAX_GENERIC(uint16_t, o, v)
#define CYPOOL_VMAX_NAN_FREE_int32_t(o, v) CYPOOL_VMAX_GENERIC(int32_t, o, v)
#define CYPOOL_VMAX_NAN_FREE_uint32_t(o, v) CYPOOL_VMAX_GENERIC(uint32_t, o, v)
#define CYPOOL_VMAX_NAN_FREE_int64_t(o, v) CYPOOL_VMAX_GENERIC(int64_t, o, v)
#define CYPOOL_VMAX_NAN_FREE_uint64_t(o, v) CYPOOL_VMAX_GENERIC(uint64_t, o, v)

/* out[at .. at + lanes) in one vector */
#define CYPOOL_MAX_ONE(T, VMAX, at)                                                    \
    do {                                                                               \
        V a0 = *(const V *)(base + tap_offset[0] + (at));                              \
        for (Py_ssize_t t = 1; t < n_taps; t++) {                                      \
            V v0 = *(const V *)(base + tap_offset[t] + (at));                          \
            VMAX(T, a0, v0);                                                           \
        }                                                                              \
        CYPOOL_PUT(V, out + (at), a0);                                                 \
    } while (0)
/* One unaligned vector first, then on from where tap 0's loads align (a split load
   costs two), and one vector ending at n for the tail: the overlaps are computed
   twice, to the same values.  Not the head when streaming: two partial writes of a
   line would each go to memory. */
#define CYPOOL_MAX_VECTORS(T, VMAX)                                                    \
    enum { lanes = CYPOOL_VECTOR_BYTES / sizeof(T) };                                  \
    typedef cypool_##T##_vec V;                                                        \
    if (n >= 2 * lanes && !stream) {                                                   \
        const Py_ssize_t head_ = (Py_ssize_t)((-(uintptr_t)(base + tap_offset[0]))     \
                                              % CYPOOL_VECTOR_BYTES) / (Py_ssize_t)sizeof(T); \
        if (head_ > 0) {                                                               \
            CYPOOL_MAX_ONE(T, VMAX, 0);                                                \
            c = head_;                                                                 \
        }                                                                              \
    }                                                                                  \
    for (; c + 4 * lanes <= n; c += 4 * lanes) {                                       \
        const V *s = (const V *)(base + tap_offset[0] + c);                            \
        V a0 = s[0], a1 = s[1], a2 = s[2], a3 = s[3];                                  \
        for (Py_ssize_t t = 1; t < n_taps; t++) {                                      \
            s = (const V *)(base + tap_offset[t] + c);                                 \
            V v0 = s[0], v1 = s[1], v2 = s[2], v3 = s[3];                              \
            VMAX(T, a0, v0); VMAX(T, a1, v1); VMAX(T, a2, v2); VMAX(T, a3, v3);        \
        }                                                                              \
        CYPOOL_PUT(V, out + c, a0); CYPOOL_PUT(V, out + c + lanes, a1);                \
        CYPOOL_PUT(V, out + c + 2 * lanes, a2); CYPOOL_PUT(V, out + c + 3 * lanes, a3); \
    }                                                                                  \
    for (; c + lanes <= n; c += lanes) CYPOOL_MAX_ONE(T, VMAX, c);                     \
    if (c < n && n >= lanes) {                                                         \
        CYPOOL_MAX_ONE(T, VMAX, n - lanes);                                            \
        c = n;                                                                         \
    }

/* argmax: each lane's winning tap rides along in an integer vector of the same lane
   width, as its offset from the first tap (taps ascend, so it is at most the last
   tap's offset; the caller checks that it fits IT) */
#define CYPOOL_ARGMAX_STEP(T, a, o, v, delta)                                          \
    do {                                                                               \
        /* take v if it is greater or NaN, unless the maximum so far is NaN */         \
        cypool_##T##_mask take_ = ~(cypool_##T##_mask)((v) <= (a))                     \
                                  & (cypool_##T##_mask)((a) == (a));                   \
        (a) = (cypool_##T##_vec)(((cypool_##T##_mask)(v) & take_)                      \
                                 | ((cypool_##T##_mask)(a) & ~take_));                 \
        (o) = (take_ & (delta)) | ((o) & ~take_);                                      \
    } while (0)

/* a0..a3 = the maxima over the taps of the four vectors at base + c, o0..o3 = each
   lane's winning DELTA (an expression of the tap t), in scope V, M, n_taps */
#define CYPOOL_ARGMAX_BLOCK4(T, base, c, DELTA)                                        \
    const V *s = (const V *)((base) + tap_offset[0] + (c));                            \
    V a0 = s[0], a1 = s[1], a2 = s[2], a3 = s[3];                                      \
    M o0 = {0}, o1 = {0}, o2 = {0}, o3 = {0};                                          \
    for (Py_ssize_t t = 1; t < n_taps; t++) {                                          \
        s = (const V *)((base) + tap_offset[t] + (c));                                 \
        M delta = (M){0} + (DELTA);                                                    \
        V v0 = s[0], v1 = s[1], v2 = s[2], v3 = s[3];                                  \
        CYPOOL_ARGMAX_STEP(T, a0, o0, v0, delta);                                      \
        CYPOOL_ARGMAX_STEP(T, a1, o1, v1, delta);                                      \
        CYPOOL_ARGMAX_STEP(T, a2, o2, v2, delta);                                      \
        CYPOOL_ARGMAX_STEP(T, a3, o3, v3, delta);                                      \
    }
/* the same for one vector: a0, o0 */
#define CYPOOL_ARGMAX_BLOCK1(T, base, c, DELTA)                                        \
    V a0 = *(const V *)((base) + tap_offset[0] + (c));                                 \
    M o0 = {0};                                                                        \
    for (Py_ssize_t t = 1; t < n_taps; t++) {                                          \
        V v0 = *(const V *)((base) + tap_offset[t] + (c));                             \
        M delta = (M){0} + (DELTA);                                                    \
        CYPOOL_ARGMAX_STEP(T, a0, o0, v0, delta);                                      \
    }

/* index[c + j] = first + c + j + o[j] (o: the lanes' winning tap offsets), j < lanes,
   widened to int64 in registers; a vector of 4-byte offsets (HALVES) fills two index
   vectors, of 8-byte ones (WHOLE) one */
#if defined(CYPOOL_HAVE_SHUFFLE) && defined(CYPOOL_HAVE_CONVERT)
#define CYPOOL_INDEX_VALUES(oi, c)                                                     \
    (__builtin_convertvector((oi), cypool_index_vec) + (first + (c)) + iota)
#define CYPOOL_INDEXES(oi, c)                                                          \
    CYPOOL_PUT(cypool_index_vec, index + (c), CYPOOL_INDEX_VALUES(oi, c))
#define CYPOOL_HIGH(j) ((j) + CYPOOL_LANES8)
/* the two halves of o, each by INDEXES */
#define CYPOOL_ARGMAX_HALVES(INDEXES, o, c)                                            \
    do {                                                                               \
        INDEXES(__builtin_shufflevector((o), (o), CYPOOL_LIST(CYPOOL_LANES8, CYPOOL_LOW)), (c)); \
        INDEXES(__builtin_shufflevector((o), (o), CYPOOL_LIST(CYPOOL_LANES8, CYPOOL_HIGH)), \
                (c) + CYPOOL_LANES8);                                                  \
    } while (0)
#define CYPOOL_ARGMAX_STORE_HALVES(o, c) CYPOOL_ARGMAX_HALVES(CYPOOL_INDEXES, o, c)
#define CYPOOL_ARGMAX_STORE_WHOLE(o, c) CYPOOL_INDEXES((o), (c))
/* a cell under one vector (the border windows of few channels, every window of 5-15
   float channels, 5-7 in AVX2): lanes [0, n) by masked loads and stores, which leave
   the lanes past n unread (no fault past the array's end) and unwritten.  The scalar
   loop's branch per tap mispredicts: it took RGB 3x3/1's argmax 1.1-1.2x the time */
#if CYPOOL_VECTOR_BYTES == 64 && defined(__AVX512F__)
#define CYPOOL_HAVE_MASKED_CELL 1
#define CYPOOL_LANES_MASK_float(n) ((__mmask16)((1u << (n)) - 1))
#define CYPOOL_LANES_MASK_double(n) ((__mmask8)((1u << (n)) - 1))
#define CYPOOL_MASKED_LOAD_float(m, p) ((cypool_float_vec)_mm512_maskz_loadu_ps((m), (p)))
#define CYPOOL_MASKED_LOAD_double(m, p) ((cypool_double_vec)_mm512_maskz_loadu_pd((m), (p)))
#define CYPOOL_MASKED_STORE_float(p, m, v) _mm512_mask_storeu_ps((p), (m), (__m512)(v))
#define CYPOOL_MASKED_STORE_double(p, m, v) _mm512_mask_storeu_pd((p), (m), (__m512d)(v))
/* int64 lanes [k, n) of the index vector v at p (lanes k.. of the cell; none for
   k >= n, and then no fault either) */
#define CYPOOL_MASKED_INDEX_STORE(p, k, v)                                             \
    _mm512_mask_storeu_epi64((p), (__mmask8)(((1u << n) - 1) >> (k)), (__m512i)(v))
#elif CYPOOL_VECTOR_BYTES == 32 && defined(__AVX2__)
#define CYPOOL_HAVE_MASKED_CELL 1
#define CYPOOL_LANES_MASK_float(n)                                                     \
    ((__m256i)((cypool_float_mask){CYPOOL_LIST(CYPOOL_LANES4, CYPOOL_LOW)} < (int32_t)(n)))
#define CYPOOL_LANES_MASK_double(n)                                                    \
    ((__m256i)((cypool_double_mask){CYPOOL_LIST(CYPOOL_LANES8, CYPOOL_LOW)} < (int64_t)(n)))
#define CYPOOL_MASKED_LOAD_float(m, p) ((cypool_float_vec)_mm256_maskload_ps((p), (m)))
#define CYPOOL_MASKED_LOAD_double(m, p) ((cypool_double_vec)_mm256_maskload_pd((p), (m)))
#define CYPOOL_MASKED_STORE_float(p, m, v) _mm256_maskstore_ps((p), (m), (__m256)(v))
#define CYPOOL_MASKED_STORE_double(p, m, v) _mm256_maskstore_pd((p), (m), (__m256d)(v))
#define CYPOOL_MASKED_INDEX_STORE(p, k, v)                                             \
    _mm256_maskstore_epi64((long long *)(p), (__m256i)(iota + (k) < (int64_t)n), (__m256i)(v))
#endif
#ifdef CYPOOL_HAVE_MASKED_CELL
#define CYPOOL_MASKED_INDEXES(oi, k)                                                   \
    CYPOOL_MASKED_INDEX_STORE(index + (k), (k), CYPOOL_INDEX_VALUES(oi, k))
#define CYPOOL_ARGMAX_MASKED_HALVES(o) CYPOOL_ARGMAX_HALVES(CYPOOL_MASKED_INDEXES, o, 0)
#define CYPOOL_ARGMAX_MASKED_WHOLE(o) CYPOOL_MASKED_INDEXES((o), 0)
#define CYPOOL_ARGMAX_SHORT_CELL(T, IT, SPLIT)                                         \
    if (n < lanes) {                                                                   \
        __typeof__(CYPOOL_LANES_MASK_##T(n)) m = CYPOOL_LANES_MASK_##T(n);             \
        V a0 = CYPOOL_MASKED_LOAD_##T(m, base + tap_offset[0]);                        \
        M o0 = {0};                                                                    \
        for (Py_ssize_t t = 1; t < n_taps; t++) {                                      \
            V v0 = CYPOOL_MASKED_LOAD_##T(m, base + tap_offset[t]);                    \
            M delta = (M){0} + (IT)(tap_offset[t] - tap_offset[0]);                    \
            CYPOOL_ARGMAX_STEP(T, a0, o0, v0, delta);                                  \
        }                                                                              \
        CYPOOL_MASKED_STORE_##T(out, m, a0);                                           \
        CYPOOL_ARGMAX_MASKED_##SPLIT(o0);                                              \
        c = n;                                                                         \
    }
#endif
#else
#define CYPOOL_ARGMAX_STORE_HALVES(o, c)                                               \
    for (int j_ = 0; j_ < lanes; j_++) index[(c) + j_] = (o)[j_] + first + (c) + j_
#define CYPOOL_ARGMAX_STORE_WHOLE(o, c) CYPOOL_ARGMAX_STORE_HALVES(o, c)
#endif

#define CYPOOL_ARGMAX_VECTORS(T, IT, IT_MAX, SPLIT)                                    \
    enum { lanes = CYPOOL_VECTOR_BYTES / sizeof(T) };                                  \
    typedef cypool_##T##_vec V;                                                        \
    typedef cypool_##T##_mask M;                                                       \
    if (tap_offset[n_taps - 1] - tap_offset[0] <= IT_MAX) {                            \
        const cypool_index_vec iota = {CYPOOL_LIST(CYPOOL_LANES8, CYPOOL_LOW)};        \
        const int64_t first = tap_offset[0] + index_base;                              \
        for (; c + 4 * lanes <= n; c += 4 * lanes) {                                   \
            CYPOOL_ARGMAX_BLOCK4(T, base, c, (IT)(tap_offset[t] - tap_offset[0]));     \
            CYPOOL_PUT(V, out + c, a0); CYPOOL_PUT(V, out + c + lanes, a1);            \
            CYPOOL_PUT(V, out + c + 2 * lanes, a2);                                    \
            CYPOOL_PUT(V, out + c + 3 * lanes, a3);                                    \
            CYPOOL_ARGMAX_STORE_##SPLIT(o0, c);                                        \
            CYPOOL_ARGMAX_STORE_##SPLIT(o1, c + lanes);                                \
            CYPOOL_ARGMAX_STORE_##SPLIT(o2, c + 2 * lanes);                            \
            CYPOOL_ARGMAX_STORE_##SPLIT(o3, c + 3 * lanes);                            \
        }                                                                              \
        /* a last block past n starts at n - lanes, overlapping (the same values and   \
           indices written twice): the scalar loop's branches made RGB 3x3/1's argmax  \
           1.4x, 20 channels' 2.8x */                                                  \
        for (; c < n && n >= lanes; c += lanes) {                                      \
            c = c + lanes > n ? n - lanes : c;                                         \
            CYPOOL_ARGMAX_BLOCK1(T, base, c, (IT)(tap_offset[t] - tap_offset[0]));     \
            CYPOOL_PUT(V, out + c, a0);                                                \
            CYPOOL_ARGMAX_STORE_##SPLIT(o0, c);                                        \
        }                                                                              \
        CYPOOL_ARGMAX_SHORT_CELL(T, IT, SPLIT)                                         \
    }
#ifndef CYPOOL_HAVE_MASKED_CELL
#define CYPOOL_ARGMAX_SHORT_CELL(T, IT, SPLIT)
#endif

#ifdef CYPOOL_HAVE_SHUFFLE
/* stride 2, one channel: lane j takes the even element 2j of two vectors */
#define CYPOOL_EVEN(j) (2 * (j))
/* Blocks of outputs [i, i + lanes) while i + lanes < n, so that the odd element
   after the block's last tap is in bounds (it is the next output's tap); then one
   block ending at n - 2, overlapping (a max may be computed twice); the caller
   finishes output n - 1. */
#define CYPOOL_STRIDE2_BLOCK(T, LANES, i)                                              \
    do {                                                                               \
        const V *s = (const V *)(src + tap_offset[0] + 2 * (i));                       \
        V a = __builtin_shufflevector(s[0], s[1], CYPOOL_LIST##LANES(CYPOOL_EVEN));    \
        for (Py_ssize_t t = 1; t < n_taps; t++) {                                      \
            s = (const V *)(src + tap_offset[t] + 2 * (i));                            \
            V v = __builtin_shufflevector(s[0], s[1], CYPOOL_LIST##LANES(CYPOOL_EVEN)); \
            CYPOOL_VMAX(T, a, v);                                                      \
        }                                                                              \
        *(V *)(out + (i)) = a;                                                         \
    } while (0)
#define CYPOOL_STRIDE2_VECTORS(T, LANES)                                               \
    enum { lanes = CYPOOL_VECTOR_BYTES / sizeof(T) };                                  \
    typedef cypool_##T##_vec V;                                                        \
    if (n > lanes) {                                                                   \
        for (; i + lanes < n; i += lanes) CYPOOL_STRIDE2_BLOCK(T, LANES, i);           \
        CYPOOL_STRIDE2_BLOCK(T, LANES, n - 1 - lanes);                                 \
        i = n - 1;                                                                     \
    }

/* m = the column maxima over the rows of the vector at input w; nz marks lanes where
   one is -0.0 (for integers, never) */
#define CYPOOL_COLUMN_MAX(T, m, w)                                                     \
    do {                                                                               \
        (m) = *(const V *)(src + row_offset[0] + (w));                                 \
        for (Py_ssize_t r_ = 1; r_ < n_rows; r_++) {                                   \
            V v_ = *(const V *)(src + row_offset[r_] + (w));                           \
            CYPOOL_VMAX(T, (m), v_);                                                   \
        }                                                                              \
        nz |= CYPOOL_NEGATIVE_ZERO_LANES_##T(m);                                       \
    } while (0)
/* (integers: none; CYPOOL_COLUMN_MAX's M is their mask type) */
#define CYPOOL_NO_NEGATIVE_ZERO(m) ((M){0})
#define CYPOOL_NEGATIVE_ZERO_LANES_int8_t CYPOOL_NO_NEGATIVE_ZERO
#define CYPOOL_NEGATIVE_ZERO_LANES_uint8_t CYPOOL_NO_NEGATIVE_ZERO
#define CYPOOL_NEGATIVE_ZERO_LANES_int16_t CYPOOL_NO_NEGATIVE_ZERO
#define CYPOOL_NEGATIVE_ZERO_LANES_uint16_t CYPOOL_NO_NEGATIVE_ZERO
#define CYPOOL_NEGATIVE_ZERO_LANES_int32_t CYPOOL_NO_NEGATIVE_ZERO
#define CYPOOL_NEGATIVE_ZERO_LANES_uint32_t CYPOOL_NO_NEGATIVE_ZERO
#define CYPOOL_NEGATIVE_ZERO_LANES_int64_t CYPOOL_NO_NEGATIVE_ZERO
#define CYPOOL_NEGATIVE_ZERO_LANES_uint64_t CYPOOL_NO_NEGATIVE_ZERO
#define CYPOOL_LOWEST(x)                                                               \
    _Generic((x), float: -INFINITY, double: -INFINITY, int8_t: INT8_MIN, uint8_t: 0,   \
             int16_t: INT16_MIN, uint16_t: 0, int32_t: INT32_MIN, uint32_t: 0,         \
             int64_t: INT64_MIN, uint64_t: 0)
/* A block is PX = LN / CH output pixels from its input elements [0, 2*PX*CH): the
   column maxima a (the vector at 0) and b (the vector ending at 2*PX*CH), and c (its
   first CH lanes: the pixel after, the third tap of the last output).  Lane j of
   the output (pixel j / CH, channel j % CH) takes tap t at input
   (2*(j / CH) + t)*CH + j % CH; lanes past PX*CH are not stored. */
#define CYPOOL_IN_LANE(k) ((k) < LN ? (k) : (k) + 2 * LN - 2 * PX * CH)
#define CYPOOL_TAP0(j) ((j) < PX * CH ? CYPOOL_IN_LANE(2 * ((j) / CH) * CH + (j) % CH) : 0)
#define CYPOOL_TAP1(j)                                                                 \
    ((j) < PX * CH ? CYPOOL_IN_LANE((2 * ((j) / CH) + 1) * CH + (j) % CH) : 0)
#define CYPOOL_TAP2(j)                                                                 \
    ((j) < (PX - 1) * CH ? (j) + CH : (j) < PX * CH ? LN + (j) - (PX - 1) * CH : 0)
#define CYPOOL_ROWS2_BLOCK(T, LANES, i, a, b, c)                                       \
    do {                                                                               \
        V e_ = __builtin_shufflevector((a), (b), CYPOOL_LIST##LANES(CYPOOL_TAP0));     \
        V o_ = __builtin_shufflevector((a), (b), CYPOOL_LIST##LANES(CYPOOL_TAP1));     \
        V m_ = e_;                                                                     \
        CYPOOL_VMAX(T, m_, o_);                                                        \
        if (n_w == 3) {                                                                \
            V e2_ = __builtin_shufflevector(e_, (c), CYPOOL_LIST##LANES(CYPOOL_TAP2)); \
            CYPOOL_VMAX(T, m_, e2_);                                                   \
        }                                                                              \
        /* lanes past PX*CH land on the next pixel, which the next block rewrites */   \
        if ((i) * CH + LN <= n * CH)                                                   \
            *(V *)(out + (i) * CH) = m_;                                               \
        else                                                                           \
            memcpy(out + (i) * CH, &m_, PX * CH * sizeof(T));                          \
    } while (0)
/* Three channels fill no vector with whole pixels (PX*CH < LN), so blocks of LN
   pixels: three output vectors, each tap's lanes taken from the column maxima of
   the block's 6 vectors of input and the first of the next (carried on as the next
   block's first): tap t of output element e = 3p + ch is input (2p + t)*3 + ch, in
   at most three consecutive vectors (two shuffles; the second folds away where two
   suffice).  Not for 1- and 2-byte lanes: their shuffles cost more than the lanes
   PX*CH leaves idle (1.00-1.12x). */
#define CYPOOL_T3_IN(j) ((2 * ((Q_ * LN + (j)) / 3) + T_) * 3 + (Q_ * LN + (j)) % 3)
#define CYPOOL_T3_P1(j)                                                                \
    (CYPOOL_T3_IN(j) / LN == LO_ ? CYPOOL_T3_IN(j) % LN                                \
     : CYPOOL_T3_IN(j) / LN == LO_ + 1 ? LN + CYPOOL_T3_IN(j) % LN : 0)
#define CYPOOL_T3_P2(j) (CYPOOL_T3_IN(j) / LN == LO_ + 2 ? LN + CYPOOL_T3_IN(j) % LN : (j))
#define CYPOOL_T3_TAP(LANES, dst, from, q, t)                                          \
    do {                                                                               \
        enum { Q_ = (q), T_ = (t), LO_ = ((2 * ((q) * LN / 3) + (t)) * 3 + (q) * LN % 3) / LN }; \
        V p_ = __builtin_shufflevector(from[LO_], from[LO_ + 1], CYPOOL_LIST##LANES(CYPOOL_T3_P1)); \
        (dst) = __builtin_shufflevector(p_, from[LO_ + 2], CYPOOL_LIST##LANES(CYPOOL_T3_P2)); \
    } while (0)
#define CYPOOL_T3_OUTPUT(T, LANES, q)                                                  \
    do {                                                                               \
        V m_, v_;                                                                      \
        CYPOOL_T3_TAP(LANES, m_, cm, q, 0);                                            \
        CYPOOL_T3_TAP(LANES, v_, cm, q, 1);                                            \
        CYPOOL_VMAX(T, m_, v_);                                                        \
        if (n_w == 3) {                                                                \
            CYPOOL_T3_TAP(LANES, v_, cm, q, 2);                                        \
            CYPOOL_VMAX(T, m_, v_);                                                    \
        }                                                                              \
        *(V *)(out + i * 3 + (q) * LN) = m_;                                           \
    } while (0)
#define CYPOOL_T3_BLOCKS(T, LANES)                                                     \
    if (CH == 3 && sizeof(T) >= 4) {                                                   \
        V cm[8]; /* cm[7]: a shuffle's operand whose lanes are never taken */          \
        if (i + LN <= n && (2 * i + 2 * LN) * 3 + LN <= n_in)                          \
            CYPOOL_COLUMN_MAX(T, cm[0], 2 * i * 3);                                    \
        for (; i + LN <= n && (2 * i + 2 * LN) * 3 + LN <= n_in; i += LN) {            \
            for (int v = 1; v < 7; v++) CYPOOL_COLUMN_MAX(T, cm[v], 2 * i * 3 + v * LN); \
            cm[7] = cm[6];                                                             \
            CYPOOL_T3_OUTPUT(T, LANES, 0);                                             \
            CYPOOL_T3_OUTPUT(T, LANES, 1);                                             \
            CYPOOL_T3_OUTPUT(T, LANES, 2);                                             \
            cm[0] = cm[6]; /* the next block's first vector */                         \
        }                                                                              \
    }
/* Blocks of PX pixels, carrying c (the vector at the next block's start) on as the
   next a while all of it is in range; then blocks whose c is scalar column maxima,
   the last one ending at pixel n (overlapping: a max may be computed twice). */
#define CYPOOL_ROWS_STRIDE2_VECTORS(T, IT, LANES)                                      \
    enum { LN = CYPOOL_VECTOR_BYTES / sizeof(T), PX = LN / CH };                       \
    typedef cypool_##T##_vec V;                                                        \
    typedef cypool_##T##_mask M;                                                       \
    M nz = {0};                                                                        \
    if (n >= PX) {                                                                     \
        /* input elements in the windows */                                            \
        const Py_ssize_t n_in = (2 * n + n_w - 2 - clipped) * CH;                      \
        V a, b, c;                                                                     \
        CYPOOL_T3_BLOCKS(T, LANES)                                                     \
        if (i + PX <= n && (2 * i + 2 * PX) * CH + LN <= n_in)                         \
            CYPOOL_COLUMN_MAX(T, a, 2 * i * CH);                                       \
        for (; i + PX <= n && (2 * i + 2 * PX) * CH + LN <= n_in; i += PX) {           \
            CYPOOL_COLUMN_MAX(T, b, (2 * i + 2 * PX) * CH - LN);                       \
            CYPOOL_COLUMN_MAX(T, c, (2 * i + 2 * PX) * CH);                            \
            CYPOOL_ROWS2_BLOCK(T, LANES, i, a, b, c);                                  \
            a = c;                                                                     \
        }                                                                              \
        while (i < n) {                                                                \
            if (i + PX > n) i = n - PX;                                                \
            CYPOOL_COLUMN_MAX(T, a, 2 * i * CH);                                       \
            CYPOOL_COLUMN_MAX(T, b, (2 * i + 2 * PX) * CH - LN);                       \
            c = a;                                                                     \
            for (int ch = 0; ch < CH && n_w == 3; ch++) {                              \
                Py_ssize_t k = (2 * i + 2 * PX) * CH + ch;                             \
                if (k >= n_in) { /* the clipped last output: a tap that never wins */  \
                    c[ch] = CYPOOL_LOWEST(c[ch]);                                      \
                    continue;                                                          \
                }                                                                      \
                T top = src[row_offset[0] + k];                                        \
                for (Py_ssize_t r = 1; r < n_rows; r++)                                \
                    top = CYPOOL_MAX1(top, src[row_offset[r] + k]);                    \
                IT bits;                                                               \
                memcpy(&bits, &top, sizeof bits);                                      \
                negative_zero |= (top == 0) & (bits < 0);                              \
                c[ch] = top;                                                           \
            }                                                                          \
            CYPOOL_ROWS2_BLOCK(T, LANES, i, a, b, c);                                  \
            i += PX;                                                                   \
        }                                                                              \
    }                                                                                  \
    for (int j_ = 0; j_ < LN; j_++) negative_zero |= nz[j_] != 0;
/* The average's blocks of LN pixels for three channels, as the max's but from each
   row's vectors in turn, its taps added in window order.  They never reach the last
   output (its window would end past n_in), so never the clipped divisor. */
#define CYPOOL_T3_AVG_SUM(LANES, q)                                                    \
    do {                                                                               \
        V v_;                                                                          \
        CYPOOL_T3_TAP(LANES, v_, in, q, 0);                                            \
        acc[q] += v_;                                                                  \
        CYPOOL_T3_TAP(LANES, v_, in, q, 1);                                            \
        acc[q] += v_;                                                                  \
        if (n_w == 3) {                                                                \
            CYPOOL_T3_TAP(LANES, v_, in, q, 2);                                        \
            acc[q] += v_;                                                              \
        }                                                                              \
    } while (0)
#define CYPOOL_T3_AVG_BLOCKS(T, LANES)                                                 \
    if (CH == 3 && sizeof(T) >= 4) {                                                   \
        for (; i + LN <= n && (2 * i + 2 * LN) * 3 + LN <= n_in; i += LN) {            \
            V acc[3] = {{0}, {0}, {0}};                                                \
            for (Py_ssize_t r = 0; r < n_rows; r++) {                                  \
                const V *s = (const V *)(src + row_offset[r] + 2 * i * 3);             \
                V in[8] = {s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[6]};            \
                CYPOOL_T3_AVG_SUM(LANES, 0);                                           \
                CYPOOL_T3_AVG_SUM(LANES, 1);                                           \
                CYPOOL_T3_AVG_SUM(LANES, 2);                                           \
            }                                                                          \
            for (int q = 0; q < 3; q++) *(V *)(out + i * 3 + q * LN) = acc[q] / divisor; \
        }                                                                              \
    }
/* The average's blocks: as the max's, but each row's taps are added in window order
   (row by row, the taps along W in turn), so no column sums; the third tap's pixel
   after the block comes whole from the row while in range, else lane by lane (0
   for the clipped last output's missing tap: the sums start at +0.0 and are never
   -0.0, so adding +0.0 changes nothing).  The clipped last output has its own
   divisor.  Blocks end at pixel n at last, overlapping (a sum computed twice). */
#define CYPOOL_AVG_ROWS_STRIDE2_VECTORS(T, LANES)                                      \
    enum { LN = CYPOOL_VECTOR_BYTES / sizeof(T), PX = LN / CH };                       \
    typedef cypool_##T##_vec V;                                                        \
    if (n >= PX) {                                                                     \
        const Py_ssize_t n_in = (2 * n + n_w - 2 - clipped) * CH;                      \
        CYPOOL_T3_AVG_BLOCKS(T, LANES)                                                 \
        while (i < n) {                                                                \
            if (i + PX > n) i = n - PX;                                                \
            const Py_ssize_t after = (2 * i + 2 * PX) * CH;                            \
            V acc = {0};                                                               \
            for (Py_ssize_t r = 0; r < n_rows; r++) {                                  \
                const T *s = src + row_offset[r];                                      \
                V a = *(const V *)(s + 2 * i * CH), b = *(const V *)(s + after - LN);  \
                V e = __builtin_shufflevector(a, b, CYPOOL_LIST##LANES(CYPOOL_TAP0));  \
                acc += e;                                                              \
                acc += __builtin_shufflevector(a, b, CYPOOL_LIST##LANES(CYPOOL_TAP1)); \
                if (n_w == 3) {                                                        \
                    V c = {0};                                                         \
                    if (after + LN <= n_in)                                            \
                        c = *(const V *)(s + after);                                   \
                    else                                                               \
                        for (int ch = 0; ch < CH && after + ch < n_in; ch++)           \
                            c[ch] = s[after + ch];                                     \
                    acc += __builtin_shufflevector(e, c, CYPOOL_LIST##LANES(CYPOOL_TAP2)); \
                }                                                                      \
            }                                                                          \
            V d = (V){0} + divisor;                                                    \
            if (clipped && i + PX == n)                                                \
                for (int ch = 0; ch < CH; ch++) d[(PX - 1) * CH + ch] = clipped_divisor; \
            acc /= d;                                                                  \
            /* lanes past PX*CH land on the next pixel, which the next block rewrites */ \
            if ((i + PX) * CH + (LN - PX * CH) <= n * CH)                              \
                *(V *)(out + i * CH) = acc;                                            \
            else                                                                       \
                memcpy(out + i * CH, &acc, PX * CH * sizeof(T));                       \
            i += PX;                                                                   \
        }                                                                              \
    }
#endif
/* *d += gv in the lanes of o equal to t (the lanes that tap t won) */
#if CYPOOL_VECTOR_BYTES == 64
#define CYPOOL_ADD_WON_float(d, gv, o, t)                                              \
    _mm512_mask_storeu_ps((d), _mm512_cmpeq_epi32_mask((__m512i)(o), _mm512_set1_epi32(t)), \
                          _mm512_add_ps(_mm512_loadu_ps(d), (__m512)(gv)))
#define CYPOOL_ADD_WON_double(d, gv, o, t)                                             \
    _mm512_mask_storeu_pd((d), _mm512_cmpeq_epi64_mask((__m512i)(o), _mm512_set1_epi64(t)), \
                          _mm512_add_pd(_mm512_loadu_pd(d), (__m512d)(gv)))
#else /* lanes that did not win store their value back: one writer owns these cells */
#define CYPOOL_ADD_WON_GENERIC(T, d, gv, o, t)                                         \
    do {                                                                               \
        cypool_##T##_vec *d_ = (cypool_##T##_vec *)(d), dv_ = *d_;                     \
        cypool_##T##_mask won_ = (cypool_##T##_mask)((o) == (t));                      \
        *d_ = (cypool_##T##_vec)(((cypool_##T##_mask)(dv_ + (gv)) & won_)              \
                                 | ((cypool_##T##_mask)dv_ & ~won_));                  \
    } while (0)
#define CYPOOL_ADD_WON_float(d, gv, o, t) CYPOOL_ADD_WON_GENERIC(float, d, gv, o, t)
#define CYPOOL_ADD_WON_double(d, gv, o, t) CYPOOL_ADD_WON_GENERIC(double, d, gv, o, t)
#endif
/* the max gradient's cell, four vectors at a time: each lane's winning tap ordinal
   rides in o (as argmax), then every tap adds g to the lanes it won (each lane once) */
#define CYPOOL_MAX_GRAD_VECTORS(T, IT)                                                 \
    enum { lanes = CYPOOL_VECTOR_BYTES / sizeof(T) };                                  \
    typedef cypool_##T##_vec V;                                                        \
    typedef cypool_##T##_mask M;                                                       \
    for (; c + 4 * lanes <= n; c += 4 * lanes) {                                       \
        CYPOOL_ARGMAX_BLOCK4(T, x, c, (IT)t);                                          \
        const V *gv = (const V *)(g + c);                                              \
        for (Py_ssize_t t = 0; t < n_taps; t++) {                                      \
            T *d = dx + tap_offset[t] + c;                                             \
            CYPOOL_ADD_WON_##T(d, gv[0], o0, (IT)t);                                   \
            CYPOOL_ADD_WON_##T(d + lanes, gv[1], o1, (IT)t);                           \
            CYPOOL_ADD_WON_##T(d + 2 * lanes, gv[2], o2, (IT)t);                       \
            CYPOOL_ADD_WON_##T(d + 3 * lanes, gv[3], o3, (IT)t);                       \
        }                                                                              \
    }                                                                                  \
    for (; c + lanes <= n; c += lanes) {                                               \
        CYPOOL_ARGMAX_BLOCK1(T, x, c, (IT)t);                                          \
        const V gv = *(const V *)(g + c);                                              \
        for (Py_ssize_t t = 0; t < n_taps; t++)                                        \
            CYPOOL_ADD_WON_##T(dx + tap_offset[t] + c, gv, o0, (IT)t);                 \
    }

/* G output rows from G + K - 1 rows at vector c (CYPOOL_MAX_ROWS_GROUP), maxima by
   VMAX; each output vector classified into suspect_ by CLASSIFY */
#define CYPOOL_ROWS_GROUP_AT(T, c, VMAX, CLASSIFY)                                     \
    do {                                                                               \
        V left_[CYPOOL_GROUP_ROWS], right_, u_;                                        \
        left_[G - 1] = *(const V *)(row_[G - 1] + (c));                                \
        for (Py_ssize_t j = G - 2; j >= 0; j--) {                                      \
            u_ = *(const V *)(row_[j] + (c));                                          \
            VMAX(T, u_, left_[j + 1]);                                                 \
            left_[j] = u_;                                                             \
        }                                                                              \
        right_ = *(const V *)(row_[G] + (c));                                          \
        for (Py_ssize_t r = G + 1; r < K; r++) {                                       \
            u_ = *(const V *)(row_[r] + (c));                                          \
            VMAX(T, right_, u_);                                                       \
        }                                                                              \
        for (Py_ssize_t j = 0; j < G; j++) {                                           \
            if (j > 0) {                                                               \
                u_ = *(const V *)(row_[j + K - 1] + (c));                              \
                VMAX(T, right_, u_);                                                   \
            }                                                                          \
            u_ = left_[j];                                                             \
            VMAX(T, u_, right_);                                                       \
            CLASSIFY(suspect_, u_);                                                    \
            CYPOOL_PUT(V, out + j * out_stride + (c), u_);                             \
        }                                                                              \
    } while (0)
#define CYPOOL_ROWS_GROUP_VECTORS(T)                                                   \
    enum { lanes = CYPOOL_VECTOR_BYTES / sizeof(T) };                                  \
    typedef cypool_##T##_vec V;                                                        \
    cypool_suspect suspect_ = {0};                                                     \
    /* the rows in locals: the offsets in memory were loaded again after every         \
       store (a vector store may alias them) */                                        \
    const T *row_[CYPOOL_GROUP_ROWS + CYPOOL_GROUP_WINDOW];                            \
    for (Py_ssize_t r_ = 0; r_ < G + K - 1; r_++) row_[r_] = base + row_offset[r_];    \
    if (nan_free) {                                                                    \
        /* no NaN or -0.0 among the rows: none among their maxima to classify */       \
        for (; c + lanes <= n; c += lanes)                                             \
            CYPOOL_ROWS_GROUP_AT(T, c, CYPOOL_VMAX_NAN_FREE, CYPOOL_NO_SUSPECT);       \
    } else {                                                                           \
        for (; c + lanes <= n; c += lanes) {                                           \
            if (ahead)                                                                 \
                for (Py_ssize_t r_ = K - 1; r_ < G + K - 1; r_++)                      \
                    __builtin_prefetch(row_[r_] + c + ahead, 0, 3);                    \
            CYPOOL_ROWS_GROUP_AT(T, c, CYPOOL_VMAX, CYPOOL_SUSPECT_##T);               \
        }                                                                              \
    }                                                                                  \
    if (c < n && n >= lanes) {                                                         \
        CYPOOL_ROWS_GROUP_AT(T, n - lanes, CYPOOL_VMAX, CYPOOL_SUSPECT_##T);           \
        c = n;                                                                         \
    }                                                                                  \
    suspect = cypool_any_suspect(suspect_);
/* A block of n_cells cells of n channels, cell i reading base + i * cell_step and
   writing out + i * n, where n is one to four whole vectors (16-64 float32 channels)
   or half of one (8): each vector alone is a chain of maxima or sums, one dependent
   instruction a tap, so the block's vectors go four at a time as independent chains
   (at four vectors, the cell helper's aligned head left NumPy's 16-byte-aligned cells
   single vectors, one chain each: a stem 3x3/2 max in cache took 1.13x as long):
   vector j % per_cell of cell j / per_cell, or of half vectors cells 2j and 2j + 1
   (adjacent in out), their halves loaded apart.  A cell's value is FINISH(NEXT(...
   NEXT(FIRST(tap 0), tap 1)...)), tap by tap in window order as in a cell helper.
   Each cell's share of the rows to prefetch (CYPOOL_AHEAD) is asked for just before
   its first vector.  Returns from the helper when done. */
#define CYPOOL_JOB_AT(T, q, t) (*(const V *)((q) + tap_offset[t]))
#define CYPOOL_LANES_OF_float CYPOOL_LANES4
#define CYPOOL_LANES_OF_double CYPOOL_LANES8
#define CYPOOL_LANES_OF_int8_t CYPOOL_LANES1
#define CYPOOL_LANES_OF_uint8_t CYPOOL_LANES1
#define CYPOOL_LANES_OF_int16_t CYPOOL_LANES2
#define CYPOOL_LANES_OF_uint16_t CYPOOL_LANES2
#define CYPOOL_LANES_OF_int32_t CYPOOL_LANES4
#define CYPOOL_LANES_OF_uint32_t CYPOOL_LANES4
#define CYPOOL_LANES_OF_int64_t CYPOOL_LANES8
#define CYPOOL_LANES_OF_uint64_t CYPOOL_LANES8
#define CYPOOL_LANES_OF(T) CYPOOL_LANES_OF_##T
/* a lone cell of half a vector: itself twice, the low half kept */
#define CYPOOL_SELF_PAIR_AT(T, q, t)                                                   \
    __builtin_shufflevector(*(const H *)((q) + tap_offset[t]),                         \
                            *(const H *)((q) + tap_offset[t]),                         \
                            CYPOOL_LIST(CYPOOL_LANES_OF(T), CYPOOL_LOW))
#define CYPOOL_PAIR_AT(T, q, t)                                                        \
    __builtin_shufflevector(*(const H *)((q) + tap_offset[t]),                         \
                            *(const H *)((q) + cell_step + tap_offset[t]),             \
                            CYPOOL_LIST(CYPOOL_LANES_OF(T), CYPOOL_LOW))
/* vectors j .. j + 3 (first elements q0 .. q3) over the taps, stored to out */
#define CYPOOL_FOUR_CHAINS(T, AT, FIRST, NEXT, FINISH)                                 \
    V a0 = FIRST(AT(T, q0, 0)), a1 = FIRST(AT(T, q1, 0));                              \
    V a2 = FIRST(AT(T, q2, 0)), a3 = FIRST(AT(T, q3, 0));                              \
    for (Py_ssize_t t = 1; t < n_taps; t++) {                                          \
        NEXT(T, a0, AT(T, q0, t)); NEXT(T, a1, AT(T, q1, t));                          \
        NEXT(T, a2, AT(T, q2, t)); NEXT(T, a3, AT(T, q3, t));                          \
    }                                                                                  \
    CYPOOL_PUT(V, out + j * lanes, FINISH(a0));                                        \
    CYPOOL_PUT(V, out + (j + 1) * lanes, FINISH(a1));                                  \
    CYPOOL_PUT(V, out + (j + 2) * lanes, FINISH(a2));                                  \
    CYPOOL_PUT(V, out + (j + 3) * lanes, FINISH(a3));
#define CYPOOL_ONE_CHAIN(T, AT, FIRST, NEXT, FINISH)                                   \
    V a0 = FIRST(AT(T, q0, 0));                                                        \
    for (Py_ssize_t t = 1; t < n_taps; t++) NEXT(T, a0, AT(T, q0, t));                 \
    CYPOOL_PUT(V, out + j * lanes, FINISH(a0));
/* the next job's first element into q (job j: vector j % per_cell of cell
   j / per_cell, counted along without a division), asking for a cell's share of the
   rows to prefetch as its first vector comes */
#define CYPOOL_TAKE_JOB(T, q)                                                          \
    do {                                                                               \
        if (job_vector == 0) CYPOOL_AHEAD(T, job_cell);                                \
        (q) = base + job_cell * cell_step + job_vector * lanes;                        \
        if (++job_vector == per_cell) {                                                \
            job_vector = 0;                                                            \
            job_cell++;                                                                \
        }                                                                              \
    } while (0)
/* the jobs' loop: n_jobs vectors, four chains at a time */
#define CYPOOL_JOBS_LOOP(T, FIRST, NEXT, FINISH)                                       \
    {                                                                                  \
        Py_ssize_t j = 0, job_cell = 0, job_vector = 0;                                \
        const T *q0, *q1, *q2, *q3;                                                    \
        for (; j + 4 <= n_jobs; j += 4) {                                              \
            CYPOOL_TAKE_JOB(T, q0); CYPOOL_TAKE_JOB(T, q1);                            \
            CYPOOL_TAKE_JOB(T, q2); CYPOOL_TAKE_JOB(T, q3);                            \
            CYPOOL_FOUR_CHAINS(T, CYPOOL_JOB_AT, FIRST, NEXT, FINISH)                  \
        }                                                                              \
        for (; j < n_jobs; j++) {                                                      \
            CYPOOL_TAKE_JOB(T, q0);                                                    \
            CYPOOL_ONE_CHAIN(T, CYPOOL_JOB_AT, FIRST, NEXT, FINISH)                    \
        }                                                                              \
    }
/* ... for windows of N taps, N a constant and the taps' offsets in registers (the
   tap loops unrolled): cold, a tap loop reading its offsets from memory kept fewer
   lines in flight (a C loop over 1-D 4/4 windows of 32 channels took 1.6x as long).
   Maxima only (CONSTANT_TAPS): the averages ran 1-D 4/4 1.2-1.3x slower cold that
   way (one division a vector; their tap loop as it was: 0.75x) */
#define CYPOOL_JOBS_OF_TAPS(N, T, FIRST, NEXT, FINISH)                                 \
    case N: {                                                                          \
        int64_t taps_[N];                                                              \
        memcpy(taps_, tap_offset, sizeof taps_);                                       \
        {                                                                              \
            const int64_t *tap_offset = taps_; /* (shadows the argument) */            \
            const Py_ssize_t n_taps = N;                                               \
            CYPOOL_JOBS_LOOP(T, FIRST, NEXT, FINISH)                                   \
        }                                                                              \
        return;                                                                        \
    }
#define CYPOOL_CELL_JOBS(T, CONSTANT_TAPS, FIRST, NEXT, FINISH)                        \
    enum { lanes = CYPOOL_VECTOR_BYTES / sizeof(T) };                                  \
    typedef cypool_##T##_vec V;                                                        \
    if (n % lanes == 0 && n <= 4 * lanes) {                                            \
        const Py_ssize_t per_cell = n / lanes, n_jobs = n_cells * per_cell;            \
        switch (CONSTANT_TAPS ? n_taps : 0) { /* 2x2 and 1-D 4, 2x2x2, 3x3 */          \
            CYPOOL_JOBS_OF_TAPS(4, T, FIRST, NEXT, FINISH)                             \
            CYPOOL_JOBS_OF_TAPS(8, T, FIRST, NEXT, FINISH)                             \
            CYPOOL_JOBS_OF_TAPS(9, T, FIRST, NEXT, FINISH)                             \
        default:                                                                       \
            CYPOOL_JOBS_LOOP(T, FIRST, NEXT, FINISH)                                   \
            return;                                                                    \
        }                                                                              \
    }                                                                                  \
    CYPOOL_CELL_PAIRS(T, FIRST, NEXT, FINISH)
#ifdef CYPOOL_HAVE_SHUFFLE
#define CYPOOL_CELL_PAIRS(T, FIRST, NEXT, FINISH)                                      \
    if (2 * n == lanes) {                                                              \
        typedef T H __attribute__((vector_size(CYPOOL_VECTOR_BYTES / 2),               \
                                   aligned(sizeof(T)), may_alias));                    \
        const Py_ssize_t n_jobs = n_cells / 2;                                         \
        Py_ssize_t j = 0, fetched = 0;                                                 \
        for (; j + 4 <= n_jobs; j += 4) {                                              \
            for (; fetched < 2 * (j + 4); fetched++) CYPOOL_AHEAD(T, fetched);         \
            const T *q0 = base + 2 * j * cell_step, *q1 = q0 + 2 * cell_step;          \
            const T *q2 = q1 + 2 * cell_step, *q3 = q2 + 2 * cell_step;                \
            CYPOOL_FOUR_CHAINS(T, CYPOOL_PAIR_AT, FIRST, NEXT, FINISH)                 \
        }                                                                              \
        for (; j < n_jobs; j++) {                                                      \
            for (; fetched < 2 * (j + 1); fetched++) CYPOOL_AHEAD(T, fetched);         \
            const T *q0 = base + 2 * j * cell_step;                                    \
            CYPOOL_ONE_CHAIN(T, CYPOOL_PAIR_AT, FIRST, NEXT, FINISH)                   \
        }                                                                              \
        if (n_cells % 2) { /* the last cell alone (and a border cell) */               \
            for (; fetched < n_cells; fetched++) CYPOOL_AHEAD(T, fetched);             \
            const T *q0 = base + 2 * n_jobs * cell_step;                               \
            V a0 = FIRST(CYPOOL_SELF_PAIR_AT(T, q0, 0));                               \
            for (Py_ssize_t t = 1; t < n_taps; t++)                                    \
                NEXT(T, a0, CYPOOL_SELF_PAIR_AT(T, q0, t));                            \
            a0 = FINISH(a0);                                                           \
            memcpy(out + 2 * n_jobs * n, &a0, sizeof(H)); /* the low half */           \
        }                                                                              \
        return;                                                                        \
    }
#else
#define CYPOOL_CELL_PAIRS(T, FIRST, NEXT, FINISH)
#endif
#define CYPOOL_JOB_FIRST(v) (v)
#define CYPOOL_JOB_MAX(T, a, v)                                                        \
    do {                                                                               \
        V v_ = (v);                                                                    \
        CYPOOL_VMAX(T, a, v_);                                                         \
    } while (0)
#define CYPOOL_JOB_SUM_FIRST(v) ((V){0} + (v))
#define CYPOOL_JOB_ADD(T, a, v) ((a) += (v))
#define CYPOOL_JOB_AS_IS(a) (a)
#define CYPOOL_JOB_DIVIDED(a) ((a) / divisor)
/* dst[i] = acc[i] by whole vectors, as far as they go (CYPOOL_PUT: streamed when
   asked) */
#define CYPOOL_COPY_VECTORS(T)                                                         \
    for (; i + (Py_ssize_t)(CYPOOL_VECTOR_BYTES / sizeof(T)) <= n;                     \
         i += CYPOOL_VECTOR_BYTES / sizeof(T))                                         \
        CYPOOL_PUT(cypool_##T##_vec, dst + i, *(const cypool_##T##_vec *)(acc + i));
#else
#define CYPOOL_VECTOR_TYPES(T, IT)
#define CYPOOL_COPY_VECTORS(T)
#define CYPOOL_MAX_GRAD_VECTORS(T, IT)
#define CYPOOL_ROWS_GROUP_VECTORS(T)
#define CYPOOL_SUM_VECTORS(T, TERM, FINISH)
#define CYPOOL_CELL_JOBS(T, CONSTANT_TAPS, FIRST, NEXT, FINISH)
#define CYPOOL_MAX_VECTORS(T, VMAX)
#define CYPOOL_ARGMAX_VECTORS(T, IT, IT_MAX, SPLIT)
#endif

/* a helper NAME_T(dst, src, offset, n_src, n, EXTRA): dst[c] = FINISH(sum over k of
   TERM(src[offset[k] + c], k)) for c < n, each sum from 0 in the order of k */
#define CYPOOL_SUM_HELPER(ATTR, NAME, T, EXTRA, TERM, FINISH)                          \
    static ATTR void NAME##_##T(T *dst, const T *src, const int64_t *offset,           \
                                Py_ssize_t n_src, Py_ssize_t n, EXTRA, int stream)     \
    {                                                                                  \
        Py_ssize_t c = 0;                                                              \
        (void)stream; /* only the vector stores stream */                              \
        CYPOOL_SUM_VECTORS(T, TERM, FINISH)                                            \
        for (; c < n; c++) {                                                           \
            T acc = 0;                                                                 \
            for (Py_ssize_t k = 0; k < n_src; k++) acc += TERM(src[offset[k] + c], k); \
            dst[c] = FINISH(acc);                                                      \
        }                                                                              \
    }
/* the average of a cell: taps summed, then divided by the window's divisor */
#define CYPOOL_TAP(v, k) (v)
#define CYPOOL_DIVIDED(a) ((a) / divisor)
#define CYPOOL_AVG_CELL(T)                                                             \
    CYPOOL_SUM_HELPER(CYPOOL_NOINLINE, cypool_avg_cell, T, T divisor, CYPOOL_TAP,      \
                      CYPOOL_DIVIDED)                                                  \
    /* n_cells cells: cell i the average over the taps of base + i * cell_step */      \
    static CYPOOL_NOINLINE void cypool_avg_cells_##T(                                  \
        T *out, const T *base, const int64_t *tap_offset, Py_ssize_t n_taps,           \
        Py_ssize_t n, Py_ssize_t n_cells, Py_ssize_t cell_step, const int64_t *ahead,  \
        Py_ssize_t n_ahead, T divisor, int stream)                                     \
    {                                                                                  \
        CYPOOL_CELL_JOBS(T, 0, CYPOOL_JOB_SUM_FIRST, CYPOOL_JOB_ADD, CYPOOL_JOB_DIVIDED) \
        for (Py_ssize_t i = 0; i < n_cells; i++) {                                     \
            CYPOOL_AHEAD(T, i);                                                        \
            cypool_avg_cell_##T(out + i * n, base + i * cell_step, tap_offset, n_taps, n, \
                                divisor, stream);                                      \
        }                                                                              \
    }
/* the average gradient's gather: each covering output's grad times its 1/count */
#define CYPOOL_SCALED(v, k) ((v) * scale[k])
#define CYPOOL_AS_IS(a) (a)
/* A dx row of in_w cells of n channels: cell iw sums, in row-major order of the
   outputs, grad[pair_offset[k] + ow * n + c] * pair_scale[k * out_w + ow] over the
   row's covering (d, h) pairs k < n_pairs and the outputs ow = cover_output[e] along
   W, cover_first[iw] <= e < cover_first[iw + 1], that cover it.  offset and scale:
   room for one cell's sources.  One call a row, the cell's gather inlined (a call a
   cell, with its source list built in Cython, spent a quarter of the time there). */
#define CYPOOL_GATHER_ROW(T)                                                           \
    CYPOOL_SUM_HELPER(CYPOOL_INLINE, cypool_gather_cell, T, const T *scale,            \
                      CYPOOL_SCALED, CYPOOL_AS_IS)                                     \
    static CYPOOL_NOINLINE void cypool_gather_row_##T(                                 \
        T *dst, const T *grad, const int64_t *pair_offset, const T *pair_scale,        \
        Py_ssize_t n_pairs, const int64_t *cover_first, const int64_t *cover_output,   \
        Py_ssize_t in_w, Py_ssize_t out_w, Py_ssize_t n, int64_t *CYPOOL_RESTRICT offset, \
        T *CYPOOL_RESTRICT scale, int stream)                                          \
    {                                                                                  \
        for (Py_ssize_t iw = 0; iw < in_w; iw++) {                                     \
            Py_ssize_t n_src = 0;                                                      \
            for (Py_ssize_t k = 0; k < n_pairs; k++)                                   \
                for (int64_t e = cover_first[iw]; e < cover_first[iw + 1]; e++) {      \
                    int64_t ow = cover_output[e];                                      \
                    scale[n_src] = pair_scale[k * out_w + ow];                         \
                    offset[n_src] = pair_offset[k] + ow * n;                           \
                    n_src++;                                                           \
                }                                                                      \
            cypool_gather_cell_##T(dst + iw * n, grad, offset, n_src, n, scale, stream); \
        }                                                                              \
    }

#ifdef CYPOOL_VECTOR_BYTES
#define CYPOOL_BLOCK_BYTES CYPOOL_VECTOR_BYTES
#else
#define CYPOOL_BLOCK_BYTES 16 /* unused: no blocks without vectors */
#endif
/* The sums of a dx row of few channels, along the whole row of n = in_w * C lanes at
   once (cell by cell, 3 channels took 14x the floor): lane i is, from 0, the sum for
   each pair k < n_pairs and slot j < n_slots in that order of scaled_k[at] with at =
   slot_source[j * n + i] (the lane's j-th covering output along W, as a lane of the
   pair's grad row: ow * C + c, or -1 where the cell has fewer), scaled_k = pair k's
   grad row times its expanded 1/divisor (cypool_scale_row), at scaled + pair_row[k]
   (kept by the caller for the rows that share it).  A block of a vector's lanes adds
   all its pairs' and slots' terms in a register and is stored once (a pass over the
   row a pair and slot, each loading and storing the sums, took RGB 3x3/2's average
   gradient 4.5x its floor).
   ``acc``: n lanes of room, where the sums go before streaming to dst (unused
   without stream). */
/* lane i's sum, lane by lane (past the blocks, or where a block's sources spread
   too wide) */
#define CYPOOL_GATHER_LANE(T, i)                                                       \
    do {                                                                               \
        T s_ = 0;                                                                      \
        for (Py_ssize_t k_ = 0; k_ < n_pairs; k_++)                                    \
            for (Py_ssize_t j_ = 0; j_ < n_slots; j_++) {                              \
                int32_t at_ = slot_source[j_ * n + (i)];                               \
                if (at_ >= 0) s_ += scaled[pair_row[k_] + at_];                        \
            }                                                                          \
        sum[i] = s_;                                                                   \
    } while (0)
/* whether every slot of blocks [b, b + count) has its sources within two vectors from
   its base */
#define CYPOOL_GATHER_NEAR(b, count)                                                   \
    __extension__({                                                                    \
        int near_ = 1;                                                                 \
        for (Py_ssize_t j_ = 0; j_ < n_slots; j_++)                                    \
            for (Py_ssize_t b_ = (b); b_ < (b) + (count); b_++)                        \
                near_ &= slot_base[j_ * n_blocks + b_] >= 0;                           \
        near_;                                                                         \
    })
/* The AVX-512 build takes a block of a vector's lanes at once where each slot's
   sources lie within two vectors of a scaled row from the slot's base (gather_bases:
   base[j * n_blocks + b], -1 where they spread wider): the two vectors loaded, the
   sources picked by one two-vector permute, added under the mask of lanes that have
   one (gcc emulated the gathers with scalar loads and inserts, and AVX-512 gathers
   cost 1-2 cycles a lane where a permute costs a fraction).  Each scaled row needs
   two vectors of room past its last lane.  GATHER_ADD adds a block's sources from
   scaled row ``row`` into ``total``: the AVX-512 build's permute indices (rel, the
   sources less the base, a vector's worth of room past the last) and mask (have)
   come from gather_bases, once a call, instead of rebasing and comparing the
   sources at each term (their load is whole: loaded under the mask, the indices
   took RGB's 2x2/2 average gradient 1.2x the time); the AVX2 build takes the
   sources (src) as they are. */
#if defined(CYPOOL_VECTOR_BYTES) && CYPOOL_VECTOR_BYTES == 64 && defined(__AVX512F__)
#define CYPOOL_PERMUTE_INDEX_float(rel, have) _mm512_loadu_si512((const void *)(rel))
#define CYPOOL_PERMUTE_INDEX_double(rel, have)                                         \
    _mm512_cvtepi32_epi64(_mm256_loadu_si256((const __m256i *)(rel)))
#define CYPOOL_GATHER_VEC(SUF) __typeof__(_mm512_setzero_##SUF())
#define CYPOOL_GATHER_ZERO(SUF) _mm512_setzero_##SUF()
#define CYPOOL_GATHER_ADD(T, SUF, total, row, src, rel, have, base)                    \
    do {                                                                               \
        (total) = _mm512_mask_add_##SUF(                                               \
            (total), (have), (total),                                                  \
            _mm512_permutex2var_##SUF(_mm512_loadu_##SUF((row) + (base)),              \
                                      CYPOOL_PERMUTE_INDEX_##T(rel, have),             \
                                      _mm512_loadu_##SUF((row) + (base) + lanes)));    \
    } while (0)
#define CYPOOL_GATHER_STORE(SUF, p, in, total) _mm512_mask_storeu_##SUF((p), (in), (total))
/* the lanes of a block: all, or (the last, masked) the n - i left */
#define CYPOOL_GATHER_LANES(MASK, count)                                               \
    ((count) >= lanes ? (MASK)~(MASK)0 : (MASK)(((MASK)1 << (count)) - 1))
#define CYPOOL_GATHER_MASKED 1
#define CYPOOL_GATHER_OK_float CYPOOL_GATHER_NEAR
#define CYPOOL_GATHER_OK_double CYPOOL_GATHER_NEAR
/* a run's template (GATHER_RUN): a block's permute indices and mask */
#define CYPOOL_RUN_TEMPLATE(T, MASK)                                                   \
    struct {                                                                           \
        __typeof__(CYPOOL_PERMUTE_INDEX_##T(slot_rel, (MASK)0)) idx;                   \
        MASK in;                                                                       \
    }
#define CYPOOL_RUN_LOAD(T, MASK, tm, rel, have)                                        \
    do {                                                                               \
        (tm).in = (MASK)(have);                                                        \
        (tm).idx = CYPOOL_PERMUTE_INDEX_##T(rel, (tm).in);                             \
    } while (0)
#define CYPOOL_RUN_ADD(T, SUF, total, from, tm)                                        \
    (total) = _mm512_mask_add_##SUF(                                                   \
        (total), (tm).in, (total),                                                     \
        _mm512_permutex2var_##SUF(_mm512_loadu_##SUF(from), (tm).idx,                  \
                                  _mm512_loadu_##SUF((from) + lanes)))
#define CYPOOL_RUN_STORE(SUF, p, total) _mm512_storeu_##SUF((p), (total))
#define CYPOOL_GATHER_RUNS_float CYPOOL_GATHER_RUNS
#define CYPOOL_GATHER_RUNS_double CYPOOL_GATHER_RUNS
#elif defined(CYPOOL_VECTOR_BYTES) && CYPOOL_VECTOR_BYTES == 32 && defined(__AVX2__)
/* AVX2: float32 picks a slot's sources from the two vectors at its base by two
   in-register permutes and a blend, as the AVX-512 build does by one (the gathers
   left the AVX2 build's average gradient of 3 channels at 6x its floor, the AVX-512
   build's at 3x); float64 gathers (lane by lane, 3 channels took 5-9x the floor) */
#define CYPOOL_SOURCE_LANES_float(p) _mm256_loadu_si256((const __m256i *)(p))
#define CYPOOL_SOURCE_LANES_double(p) _mm_loadu_si128((const __m128i *)(p))
#define CYPOOL_HAVE_LANES_float(at) _mm256_cmpgt_epi32((at), _mm256_set1_epi32(-1))
#define CYPOOL_HAVE_LANES_double(at) _mm_cmpgt_epi32((at), _mm_set1_epi32(-1))
#define CYPOOL_HAVE_MASK_float(have) _mm256_castsi256_ps(have)
#define CYPOOL_HAVE_MASK_double(have) _mm256_castsi256_pd(_mm256_cvtepi32_epi64(have))
#define CYPOOL_PICK_SOURCES_float(row, at, have, base)                                 \
    __extension__({                                                                    \
        __m256i rel_ = _mm256_sub_epi32((at), _mm256_set1_epi32(base));                \
        _mm256_blendv_ps(                                                              \
            _mm256_permutevar8x32_ps(_mm256_loadu_ps((row) + (base)), rel_),           \
            _mm256_permutevar8x32_ps(_mm256_loadu_ps((row) + (base) + lanes), rel_),   \
            _mm256_castsi256_ps(_mm256_cmpgt_epi32(rel_, _mm256_set1_epi32(lanes - 1)))); \
    })
#define CYPOOL_PICK_SOURCES_double(row, at, have, base)                                \
    _mm256_mask_i32gather_pd(_mm256_setzero_pd(), (row), (at), CYPOOL_HAVE_MASK_double(have), 8)
#define CYPOOL_GATHER_VEC(SUF) __typeof__(_mm256_setzero_##SUF())
#define CYPOOL_GATHER_ZERO(SUF) _mm256_setzero_##SUF()
#define CYPOOL_GATHER_ADD(T, SUF, total, row, src, rel, have, base)                    \
    do {                                                                               \
        __typeof__(CYPOOL_SOURCE_LANES_##T(src)) at_ = CYPOOL_SOURCE_LANES_##T(src);   \
        __typeof__(at_) have_ = CYPOOL_HAVE_LANES_##T(at_);                            \
        (total) = _mm256_blendv_##SUF(                                                 \
            (total), _mm256_add_##SUF((total), CYPOOL_PICK_SOURCES_##T(row, at_, have_, base)), \
            CYPOOL_HAVE_MASK_##T(have_));                                              \
    } while (0)
#define CYPOOL_GATHER_STORE(SUF, p, in, total) _mm256_storeu_##SUF((p), (total))
#define CYPOOL_GATHER_LANES(MASK, count) 0
#define CYPOOL_GATHER_MASKED 0 /* the last lanes go one by one */
#define CYPOOL_GATHER_OK_float CYPOOL_GATHER_NEAR
#define CYPOOL_GATHER_OK_double(b, count) 1
/* a run's template (GATHER_RUN), float32 only: a block's permute indices, the lanes
   whose source is in the upper vector, and the lanes that have one (the others add
   0.0, which leaves a sum that starts from +0.0 as it is: it is never -0.0) */
#define CYPOOL_RUN_TEMPLATE(T, MASK)                                                   \
    struct {                                                                           \
        __m256i idx;                                                                   \
        __m256 upper, in;                                                              \
    }
#define CYPOOL_RUN_LOAD(T, MASK, tm, rel, have)                                        \
    do {                                                                               \
        const __m256i bit_ = _mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128);           \
        (tm).idx = _mm256_loadu_si256((const __m256i *)(rel));                         \
        (tm).upper = _mm256_castsi256_ps(                                              \
            _mm256_cmpgt_epi32((tm).idx, _mm256_set1_epi32(lanes - 1)));               \
        (tm).in = _mm256_castsi256_ps(_mm256_cmpeq_epi32(                              \
            _mm256_and_si256(_mm256_set1_epi32((int)(have)), bit_), bit_));            \
    } while (0)
#define CYPOOL_RUN_ADD(T, SUF, total, from, tm)                                        \
    (total) = _mm256_add_ps(                                                           \
        (total),                                                                       \
        _mm256_and_ps((tm).in,                                                         \
                      _mm256_blendv_ps(                                                \
                          _mm256_permutevar8x32_ps(_mm256_loadu_ps(from), (tm).idx),   \
                          _mm256_permutevar8x32_ps(_mm256_loadu_ps((from) + lanes),    \
                                                   (tm).idx),                          \
                          (tm).upper)))
#define CYPOOL_RUN_STORE(SUF, p, total) _mm256_storeu_##SUF((p), (total))
#define CYPOOL_GATHER_RUNS_float CYPOOL_GATHER_RUNS
#define CYPOOL_GATHER_RUNS_double(T, SUF, MASK) /* (float64 gathers) */
#endif
#ifdef CYPOOL_RUN_ADD
/* A run of blocks (gather_period): blocks slot_run[0] <= b < slot_run[1], all lanes
   in the row, repeat each the block V = slot_run[2] before it with its sources A =
   slot_run[3] lanes further on (a row's lanes repeat every stride * C, its sources
   every C).  The run's first V blocks are its templates: their permute indices,
   masks and bases, NS slots of each, stay in registers (NS and V constants of the
   code) and only the bases move, where a block elsewhere loads its indices, mask
   and base for each term.  V * R blocks at a time (R: up to four chains of adds),
   then V, then the 1-3 left (the first templates'); the same adds in the same order
   as a block elsewhere. */
#define CYPOOL_GATHER_RUN_GROUP(T, SUF, NS, V, G)                                      \
    do {                                                                               \
        CYPOOL_GATHER_VEC(SUF) total[G];                                               \
        for (int q = 0; q < (G); q++) total[q] = CYPOOL_GATHER_ZERO(SUF);              \
        for (Py_ssize_t k = 0; k < n_pairs; k++) {                                     \
            const T *row_ = scaled + pair_row[k] + at_;                                \
            for (int j = 0; j < (NS); j++)                                             \
                for (int q = 0; q < (G); q++) {                                        \
                    const T *from_ = row_ + first_[j][q % (V)] + (q / (V)) * shift_;   \
                    CYPOOL_RUN_ADD(T, SUF, total[q], from_, tm_[j][q % (V)]);          \
                }                                                                      \
        }                                                                              \
        for (int q = 0; q < (G); q++) CYPOOL_RUN_STORE(SUF, sum + i + q * lanes, total[q]); \
    } while (0)
#define CYPOOL_GATHER_RUN(T, SUF, MASK, NS, V, R)                                      \
    do {                                                                               \
        enum { G = (V) * (R) };                                                        \
        CYPOOL_RUN_TEMPLATE(T, MASK) tm_[NS][V];                                       \
        Py_ssize_t first_[NS][V];                                                      \
        const Py_ssize_t shift_ = slot_run[3];                                         \
        Py_ssize_t at_ = 0;                                                            \
        for (int j = 0; j < (NS); j++)                                                 \
            for (int v = 0; v < (V); v++) {                                            \
                Py_ssize_t t_ = b + v;                                                 \
                CYPOOL_RUN_LOAD(T, MASK, tm_[j][v], slot_rel + j * n + t_ * lanes,     \
                                slot_have[j * n_blocks + t_]);                         \
                first_[j][v] = slot_base[j * n_blocks + t_];                           \
            }                                                                          \
        for (; b + G <= slot_run[1]; b += G, i += G * lanes, at_ += (R) * shift_)      \
            CYPOOL_GATHER_RUN_GROUP(T, SUF, NS, V, G);                                 \
        for (; (R) > 1 && b + (V) <= slot_run[1]; b += (V), i += (V) * lanes, at_ += shift_) \
            CYPOOL_GATHER_RUN_GROUP(T, SUF, NS, V, V);                                 \
        if ((V) > 1 && b + 1 == slot_run[1]) {                                         \
            CYPOOL_GATHER_RUN_GROUP(T, SUF, NS, V, 1);                                 \
            b += 1, i += lanes;                                                        \
        } else if ((V) > 2 && b + 2 == slot_run[1]) {                                  \
            CYPOOL_GATHER_RUN_GROUP(T, SUF, NS, V, 2);                                 \
            b += 2, i += 2 * lanes;                                                    \
        } else if ((V) > 3 && b + 3 == slot_run[1]) {                                  \
            CYPOOL_GATHER_RUN_GROUP(T, SUF, NS, V, 3);                                 \
            b += 3, i += 3 * lanes;                                                    \
        }                                                                              \
    } while (0)
#define CYPOOL_GATHER_RUN_SLOTS(T, SUF, MASK, NS)                                      \
    switch (slot_run[2]) {                                                             \
    case 1: CYPOOL_GATHER_RUN(T, SUF, MASK, NS, 1, 4); break;                          \
    case 2: CYPOOL_GATHER_RUN(T, SUF, MASK, NS, 2, 2); break;                          \
    case 3: CYPOOL_GATHER_RUN(T, SUF, MASK, NS, 3, 1); break;                          \
    case 4: CYPOOL_GATHER_RUN(T, SUF, MASK, NS, 4, 1); break;                          \
    }
#define CYPOOL_GATHER_RUNS(T, SUF, MASK)                                               \
    if (b == slot_run[0] && slot_run[1] > b) {                                         \
        switch (n_slots) {                                                             \
        case 1: CYPOOL_GATHER_RUN_SLOTS(T, SUF, MASK, 1) break;                        \
        case 2: CYPOOL_GATHER_RUN_SLOTS(T, SUF, MASK, 2) break;                        \
        case 3: CYPOOL_GATHER_RUN_SLOTS(T, SUF, MASK, 3) break;                        \
        }                                                                              \
    }
#else
#define CYPOOL_GATHER_RUNS_float(T, SUF, MASK) /* (vector builds only) */
#define CYPOOL_GATHER_RUNS_double(T, SUF, MASK)
#endif
/* Blocks four at a time (four chains of adds for the core to overlap: one block at a
   time, its adds waiting each on the last, took 1.3x the time of a pass over the row
   a pair and slot), then one at a time, up to block ``stop``; blocks whose sources
   spread wider than two vectors go lane by lane.  A row's blocks: those before its
   run, the run (GATHER_RUNS), those after. */
#ifdef CYPOOL_GATHER_ADD
#define CYPOOL_GATHER_BLOCKS_TO(T, U, SUF, MASK, stop)                                 \
    for (; b + 4 <= (stop) && i + 4 * lanes <= n && CYPOOL_GATHER_OK_##T(b, 4);        \
         i += 4 * lanes, b += 4) {                                                     \
        CYPOOL_GATHER_VEC(SUF) total[4];                                               \
        for (int q = 0; q < 4; q++) total[q] = CYPOOL_GATHER_ZERO(SUF);                \
        for (Py_ssize_t k = 0; k < n_pairs; k++)                                       \
            for (Py_ssize_t j = 0; j < n_slots; j++) {                                 \
                const int32_t *src = slot_source + j * n + i;                          \
                const int32_t *rel = slot_rel + j * n + i;                             \
                const uint16_t *have = slot_have + j * n_blocks + b;                   \
                const int32_t *base = slot_base + j * n_blocks + b;                    \
                (void)src; /* (the AVX2 build's) */                                    \
                (void)rel; /* (the AVX-512 build's) */                                 \
                (void)have;                                                            \
                (void)base; /* (AVX2's float64 gathers) */                             \
                for (int q = 0; q < 4; q++)                                            \
                    CYPOOL_GATHER_ADD(T, SUF, total[q], scaled + pair_row[k], src + q * lanes, \
                                      rel + q * lanes, (MASK)have[q], base[q]);        \
            }                                                                          \
        for (int q = 0; q < 4; q++)                                                    \
            CYPOOL_GATHER_STORE(SUF, sum + i + q * lanes, CYPOOL_GATHER_LANES(MASK, lanes), \
                                total[q]);                                             \
    }                                                                                  \
    for (; b < (stop) && (i + lanes <= n || (CYPOOL_GATHER_MASKED && i < n)); i += lanes, b++) { \
        if (!CYPOOL_GATHER_OK_##T(b, 1)) {                                             \
            for (Py_ssize_t l = i; l < n && l < i + lanes; l++) CYPOOL_GATHER_LANE(T, l); \
            continue;                                                                  \
        }                                                                              \
        CYPOOL_GATHER_VEC(SUF) total = CYPOOL_GATHER_ZERO(SUF);                        \
        for (Py_ssize_t k = 0; k < n_pairs; k++)                                       \
            for (Py_ssize_t j = 0; j < n_slots; j++)                                   \
                CYPOOL_GATHER_ADD(T, SUF, total, scaled + pair_row[k], slot_source + j * n + i, \
                                  slot_rel + j * n + i, (MASK)slot_have[j * n_blocks + b], \
                                  slot_base[j * n_blocks + b]);                        \
        CYPOOL_GATHER_STORE(SUF, sum + i, CYPOOL_GATHER_LANES(MASK, n - i), total);    \
    }
#define CYPOOL_GATHER_BLOCKS(T, U, SUF, MASK)                                          \
    CYPOOL_GATHER_BLOCKS_TO(T, U, SUF, MASK, slot_run[0])                              \
    CYPOOL_GATHER_RUNS_##T(T, SUF, MASK)                                               \
    CYPOOL_GATHER_BLOCKS_TO(T, U, SUF, MASK, n_blocks)
#else
/* Without vectors, a pass over the row a pair and slot, lane i adding from[source[i]]
   where source[i] >= 0 (-1: no source; such lanes read from[0] and a select keeps
   their sum, written as masks: a ?: became a masked gather that gcc left scalar), so
   that the compiler vectorises each pass as it can (its pointers restrict: lane by
   lane over the pairs and slots took the portable build's RGB 3x3/2 1.4x the time,
   and these passes without restrict 1.8x) */
#define CYPOOL_ADD_SOURCE(T, U, from, source, i)                                       \
    do {                                                                               \
        int32_t at_ = (source)[i];                                                     \
        U none_ = (U)(int64_t)(at_ >> 31); /* all ones where at_ is -1 */              \
        T a_ = sum[i], b_ = a_ + (from)[at_ & ~(int32_t)none_];                        \
        U a_bits_, b_bits_;                                                            \
        memcpy(&a_bits_, &a_, sizeof(T));                                              \
        memcpy(&b_bits_, &b_, sizeof(T));                                              \
        b_bits_ = (a_bits_ & none_) | (b_bits_ & ~none_);                              \
        memcpy(sum + (i), &b_bits_, sizeof(T));                                        \
    } while (0)
#define CYPOOL_GATHER_PASS(T, U)                                                       \
    static CYPOOL_INLINE void cypool_add_sources_##T(                                  \
        T *__restrict sum, const T *__restrict from, const int32_t *__restrict source, \
        Py_ssize_t n)                                                                  \
    {                                                                                  \
        for (Py_ssize_t i = 0; i < n; i++) CYPOOL_ADD_SOURCE(T, U, from, source, i);   \
    }
#define CYPOOL_GATHER_BLOCKS(T, U, SUF, MASK)                                          \
    for (; i < n; i++) sum[i] = 0;                                                     \
    for (Py_ssize_t k = 0; k < n_pairs; k++)                                           \
        for (Py_ssize_t j = 0; j < n_slots; j++)                                       \
            cypool_add_sources_##T(sum, scaled + pair_row[k], slot_source + j * n, n);
#endif
#ifndef CYPOOL_GATHER_PASS
#define CYPOOL_GATHER_PASS(T, U)
#endif
/* Whether block b of each of n_slots slots repeats block b - v (the same lanes with
   a source, the same sources less its base; both bases near) with its base a common
   *shift further on (set by the first slot); every slot has a source in both. */
static int cypool_gather_repeats(const int32_t *base, const uint16_t *have,
                                 const int32_t *rel, Py_ssize_t n_slots, Py_ssize_t n,
                                 Py_ssize_t lanes, Py_ssize_t b, Py_ssize_t v,
                                 int32_t *shift)
{
    Py_ssize_t n_blocks = (n + lanes - 1) / lanes;
    for (Py_ssize_t j = 0; j < n_slots; j++) {
        const Py_ssize_t now = j * n_blocks + b, then = now - v;
        if (have[now] == 0 || have[now] != have[then] || base[now] < 0 || base[then] < 0)
            return 0;
        if (j == 0) *shift = base[now] - base[then];
        if (base[now] - base[then] != *shift ||
            memcmp(rel + j * n + b * lanes, rel + j * n + (b - v) * lanes,
                   lanes * sizeof(int32_t)) != 0)
            return 0;
    }
    return 1;
}
/* The longest run of whole blocks whose blocks past the first v repeat the block v
   before them with one shift, for the least period v <= 4 that has a run of at
   least 2 * v blocks: run = {first block, end, v, shift}, or {0, 0, 0, 0}
   (GATHER_RUN). */
static void cypool_gather_period(const int32_t *base, const uint16_t *have,
                                 const int32_t *rel, Py_ssize_t n_slots, Py_ssize_t n,
                                 Py_ssize_t lanes, int32_t *run)
{
    const Py_ssize_t whole = n / lanes;
    run[0] = run[1] = run[2] = run[3] = 0;
    for (Py_ssize_t v = 1; v <= 4; v++) {
        Py_ssize_t start = -1;
        int32_t shift = 0, start_shift = 0;
        for (Py_ssize_t b = v; b <= whole; b++) {
            int repeats = b < whole && cypool_gather_repeats(base, have, rel, n_slots, n,
                                                             lanes, b, v, &shift);
            if (repeats && start >= 0 && shift == start_shift) continue;
            if (start >= 0 && b - start + v > run[1] - run[0] && b - start >= v) {
                run[0] = (int32_t)(start - v);
                run[1] = (int32_t)b;
                run[2] = (int32_t)v;
                run[3] = start_shift;
            }
            start = repeats ? b : -1;
            start_shift = shift;
        }
        if (run[2]) return;
    }
}
#define CYPOOL_GATHER_ROW_FEW(T, U, SUF, MASK)                                         \
    CYPOOL_GATHER_PASS(T, U)                                                           \
    /* for the blocks of a vector's lanes of slot j: base[j * n_blocks + b], the lanes \
       that have a source as bits of have[j * n_blocks + b], and lane i's source less \
       its block's base at rel[j * n + i] (0 where none) */                            \
    static CYPOOL_NOINLINE void cypool_gather_bases_##T(                               \
        const int32_t *slot_source, Py_ssize_t n_slots, Py_ssize_t n, int32_t *base,  \
        int32_t *rel, uint16_t *have, int32_t *run)                                    \
    {                                                                                  \
        enum { lanes = CYPOOL_BLOCK_BYTES / sizeof(T) };                               \
        Py_ssize_t n_blocks = (n + lanes - 1) / lanes;                                 \
        for (Py_ssize_t j = 0; j < n_slots; j++)                                       \
            for (Py_ssize_t b = 0; b < n_blocks; b++) {                                \
                int32_t lo = INT32_MAX, hi = -1;                                       \
                uint16_t bits = 0;                                                     \
                for (Py_ssize_t i = b * lanes; i < n && i < (b + 1) * lanes; i++) {    \
                    int32_t at = slot_source[j * n + i];                               \
                    if (at >= 0) {                                                     \
                        lo = at < lo ? at : lo;                                        \
                        hi = at > hi ? at : hi;                                        \
                        bits |= (uint16_t)(1u << (i - b * lanes));                     \
                    }                                                                  \
                }                                                                      \
                int32_t first = hi < 0 ? 0 : hi - lo < 2 * lanes ? lo : -1;            \
                base[j * n_blocks + b] = first;                                        \
                have[j * n_blocks + b] = bits;                                         \
                for (Py_ssize_t i = b * lanes; i < n && i < (b + 1) * lanes; i++) {    \
                    int32_t at = slot_source[j * n + i];                               \
                    rel[j * n + i] = at >= 0 && first >= 0 ? at - first : 0;           \
                }                                                                      \
            }                                                                          \
        cypool_gather_period(base, have, rel, n_slots, n, lanes, run);                 \
    }                                                                                  \
    /* dst[l] = src[l] * scale[l], l < n: a pair's scaled grad row */                 \
    static CYPOOL_NOINLINE void cypool_scale_row_##T(                                  \
        T *CYPOOL_RESTRICT dst, const T *CYPOOL_RESTRICT src,                          \
        const T *CYPOOL_RESTRICT scale, Py_ssize_t n)                                  \
    {                                                                                  \
        for (Py_ssize_t l = 0; l < n; l++) dst[l] = src[l] * scale[l];                 \
    }                                                                                  \
    static CYPOOL_NOINLINE void cypool_gather_row_few_##T(                             \
        T *dst, const T *scaled, const int64_t *pair_row, Py_ssize_t n_pairs,          \
        const int32_t *slot_source, const int32_t *slot_base, const int32_t *slot_rel, \
        const uint16_t *slot_have, const int32_t *slot_run, Py_ssize_t n_slots,        \
        Py_ssize_t n, T *acc, int stream)                                              \
    {                                                                                  \
        enum { lanes = CYPOOL_BLOCK_BYTES / sizeof(T) };                               \
        const Py_ssize_t n_blocks = (n + lanes - 1) / lanes;                           \
        T *sum = stream ? acc : dst;                                                   \
        Py_ssize_t i = 0, b = 0;                                                       \
        (void)n_blocks; /* (no blocks without vectors) */                              \
        (void)b;                                                                       \
        (void)slot_rel;                                                                \
        (void)slot_have;                                                               \
        (void)slot_run;                                                                \
        CYPOOL_GATHER_BLOCKS(T, U, SUF, MASK)                                          \
        for (; i < n; i++) CYPOOL_GATHER_LANE(T, i);                                   \
        if (!stream) return;                                                           \
        i = 0;                                                                         \
        CYPOOL_COPY_VECTORS(T)                                                         \
        for (; i < n; i++) dst[i] = acc[i];                                            \
    }

/* NAME_T: out[c] = max over t of base[tap_offset[t] + c], c < n; n_taps >= 1, VMAX
   the vector max: CYPOOL_VMAX, or where no tap is NaN (floats) CYPOOL_VMAX_NAN_FREE,
   one maxps a tap, which keeps the first of equal values as CYPOOL_VMAX does (-0.0
   against 0.0 too) where CYPOOL_VMAX spends a second instruction on NaN */
#define CYPOOL_MAX_CELL_HELPER(NAME, T, VMAX)                                          \
    static CYPOOL_NOINLINE void NAME##_##T(                                            \
        const T *base, T *out, const int64_t *tap_offset, Py_ssize_t n_taps,           \
        Py_ssize_t n, int stream)                                                      \
    {                                                                                  \
        Py_ssize_t c = 0;                                                              \
        (void)stream; /* only the vector stores stream */                              \
        CYPOOL_MAX_VECTORS(T, VMAX)                                                    \
        for (; c < n; c++) {                                                           \
            T acc = base[tap_offset[0] + c];                                           \
            for (Py_ssize_t t = 1; t < n_taps; t++)                                    \
                acc = CYPOOL_MAX1(acc, base[tap_offset[t] + c]);                       \
            out[c] = acc;                                                              \
        }                                                                              \
    }
#define CYPOOL_MAX_CELL(T)                                                             \
    CYPOOL_MAX_CELL_HELPER(cypool_max_cell, T, CYPOOL_VMAX)                            \
    /* n_cells cells: cell i the max over the taps of base + i * cell_step, out + i * n */ \
    static CYPOOL_NOINLINE void cypool_max_cells_##T(                                  \
        const T *base, T *out, const int64_t *tap_offset, Py_ssize_t n_taps,           \
        Py_ssize_t n, Py_ssize_t n_cells, Py_ssize_t cell_step, const int64_t *ahead,  \
        Py_ssize_t n_ahead, int stream)                                                \
    {                                                                                  \
        CYPOOL_CELL_JOBS(T, 1, CYPOOL_JOB_FIRST, CYPOOL_JOB_MAX, CYPOOL_JOB_AS_IS)     \
        for (Py_ssize_t i = 0; i < n_cells; i++) {                                     \
            CYPOOL_AHEAD(T, i);                                                        \
            cypool_max_cell_##T(base + i * cell_step, out + i * n, tap_offset, n_taps, n, \
                                stream);                                               \
        }                                                                              \
    }
/* cypool_max_cells (no prefetches, no streaming) where no tap is NaN (floats) */
#define CYPOOL_MAX_CELLS_NAN_FREE(T)                                                   \
    CYPOOL_MAX_CELL_HELPER(cypool_max_cell_nan_free, T, CYPOOL_VMAX_NAN_FREE)          \
    static CYPOOL_NOINLINE void cypool_max_cells_nan_free_##T(                         \
        const T *base, T *out, const int64_t *tap_offset, Py_ssize_t n_taps,           \
        Py_ssize_t n, Py_ssize_t n_cells, Py_ssize_t cell_step)                        \
    {                                                                                  \
        for (Py_ssize_t i = 0; i < n_cells; i++)                                       \
            cypool_max_cell_nan_free_##T(base + i * cell_step, out + i * n, tap_offset, \
                                         n_taps, n, 0);                                \
    }

/* Rows 0 .. G - 1 of out (out_stride apart) = the maxima over windows of K rows,
   window j taking rows j .. j + K - 1 of the G + K - 1 rows at base + row_offset[r]
   (stride 1 along H, 2 <= G <= K - 1, G <= CYPOOL_GROUP_ROWS), n elements each.  All
   windows hold rows G - 1 and G, so window j is the max of a suffix of rows [0, G)
   and a prefix of the rows from G on (van Herk / Gil-Werman): per output row about
   2 loads and 2.5 maxima instead of K loads and K - 1.  The max is associative (the
   first of equal values; a NaN wins, of several the last), so these groupings in
   row order give the window-order result. */
#define CYPOOL_GROUP_ROWS 8    /* the most G */
#define CYPOOL_GROUP_WINDOW 16 /* the most K */
/* a scalar's CYPOOL_SUSPECT: NaN or -0.0 (never for integers) */
#define CYPOOL_SUSPECT1(a) ((a) != (a) || ((a) == 0 && signbit((double)(a))))
#define CYPOOL_MAX_ROWS_GROUP(T)                                                       \
    static CYPOOL_INLINE int cypool_max_rows_group_impl_##T(                           \
        const T *base, const int64_t *row_offset, T *out, Py_ssize_t out_stride,       \
        Py_ssize_t G, Py_ssize_t K, Py_ssize_t n, int stream, Py_ssize_t ahead,        \
        int nan_free)                                                                  \
    {                                                                                  \
        Py_ssize_t c = 0;                                                              \
        int suspect = 0;                                                               \
        (void)stream; /* only the vector stores stream */                              \
        (void)ahead;                                                                   \
        (void)nan_free;                                                                \
        CYPOOL_ROWS_GROUP_VECTORS(T)                                                   \
        for (; c < n; c++) {                                                           \
            for (Py_ssize_t j = 0; j < G; j++) {                                       \
                T a = base[row_offset[j] + c];                                         \
                for (Py_ssize_t t = 1; t < K; t++)                                     \
                    a = CYPOOL_MAX1(a, base[row_offset[j + t] + c]);                   \
                suspect |= CYPOOL_SUSPECT1(a);                                         \
                out[j * out_stride + c] = a;                                           \
            }                                                                          \
        }                                                                              \
        return suspect;                                                                \
    }                                                                                  \
    /* copies for groups of 2, 3 and 4 rows (windows of 3, 4 and 5 rows), whose        \
       loops unroll and keep the suffix maxima in registers, and one for any */        \
    static CYPOOL_NOINLINE int cypool_max_rows_group_##T(                              \
        const T *base, const int64_t *row_offset, T *out, Py_ssize_t out_stride,       \
        Py_ssize_t G, Py_ssize_t K, Py_ssize_t n, int stream, Py_ssize_t ahead,        \
        int nan_free)                                                                  \
    {                                                                                  \
        if (G == 2 && K == 3)                                                          \
            return cypool_max_rows_group_impl_##T(base, row_offset, out, out_stride, 2, 3, n, \
                                                  stream, ahead, nan_free);            \
        if (G == 3 && K == 4)                                                          \
            return cypool_max_rows_group_impl_##T(base, row_offset, out, out_stride, 3, 4, n, \
                                                  stream, ahead, nan_free);            \
        if (G == 4 && K == 5)                                                          \
            return cypool_max_rows_group_impl_##T(base, row_offset, out, out_stride, 4, 5, n, \
                                                  stream, ahead, nan_free);            \
        return cypool_max_rows_group_impl_##T(base, row_offset, out, out_stride, G, K, n, \
                                              stream, ahead, nan_free);                \
    }

/* the tap argmax picks for channel c: the first maximum over the taps, a NaN winning
   (and the first NaN staying) */
#define CYPOOL_ARGMAX_TAP(T)                                                           \
    static inline Py_ssize_t cypool_argmax_tap_##T(const T *base, const int64_t *tap_offset, \
                                                   Py_ssize_t n_taps, Py_ssize_t c)    \
    {                                                                                  \
        T a = base[tap_offset[0] + c];                                                 \
        Py_ssize_t best = 0;                                                           \
        for (Py_ssize_t t = 1; t < n_taps; t++) {                                      \
            T v = base[tap_offset[t] + c];                                             \
            if (!(v <= a) && a == a) { a = v; best = t; }                              \
        }                                                                              \
        return best;                                                                   \
    }

/* out[c] and index[c] = the flat index of the first maximum (NaN winning) over the
   taps, c < n: index[c] = tap_offset[t] + c + index_base; n_taps >= 1.  VECTORS: the
   floats' vector blocks (CYPOOL_ARGMAX_VECTORS), empty for integers */
#define CYPOOL_ARGMAX_CELL(T, VECTORS)                                                 \
    static CYPOOL_NOINLINE void cypool_argmax_cell_##T(                                \
        const T *base, T *out, int64_t *index, const int64_t *tap_offset,              \
        Py_ssize_t n_taps, Py_ssize_t n, int64_t index_base, int stream)               \
    {                                                                                  \
        Py_ssize_t c = 0;                                                              \
        (void)stream; /* only the vector stores stream */                              \
        VECTORS                                                                        \
        for (; c < n; c++) {                                                           \
            Py_ssize_t best = cypool_argmax_tap_##T(base, tap_offset, n_taps, c);      \
            out[c] = base[tap_offset[best] + c];                                       \
            index[c] = tap_offset[best] + c + index_base;                              \
        }                                                                              \
    }

/* dx[tap_offset[t] + c] += g[c] for the tap t that argmax picks for channel c (the
   first maximum, a NaN winning), c < n; n_taps >= 1 */
#define CYPOOL_MAX_GRAD_CELL(T, IT)                                                    \
    static CYPOOL_NOINLINE void cypool_max_grad_cell_##T(                              \
        const T *x, T *dx, const T *g, const int64_t *tap_offset, Py_ssize_t n_taps,   \
        Py_ssize_t n)                                                                  \
    {                                                                                  \
        Py_ssize_t c = 0;                                                              \
        CYPOOL_MAX_GRAD_VECTORS(T, IT)                                                 \
        for (; c < n; c++)                                                             \
            dx[tap_offset[cypool_argmax_tap_##T(x, tap_offset, n_taps, c)] + c] += g[c]; \
    }

/* one channel, stride 2: out[i] = max over t of src[tap_offset[t] + 2*i], i < n
   (deinterleaved with shuffles: gcc gathers such strided loads two at a time) */
#ifndef CYPOOL_STRIDE2_VECTORS
#define CYPOOL_STRIDE2_VECTORS(T, LANES)
#endif
#define CYPOOL_MAX_STRIDE2(T, LANES)                                                   \
    static CYPOOL_NOINLINE void cypool_max_stride2_##T(                                \
        T *out, const T *src, const int64_t *tap_offset, Py_ssize_t n_taps,            \
        Py_ssize_t n)                                                                  \
    {                                                                                  \
        Py_ssize_t i = 0;                                                              \
        CYPOOL_STRIDE2_VECTORS(T, LANES)                                               \
        for (; i < n; i++) {                                                           \
            T a = src[tap_offset[0] + 2 * i];                                          \
            for (Py_ssize_t t = 1; t < n_taps; t++)                                    \
                a = CYPOOL_MAX1(a, src[tap_offset[t] + 2 * i]);                        \
            out[i] = a;                                                                \
        }                                                                              \
    }

/* CYPOOL_EIGHT_T(code): code where T has 8-channel kernels (the max's stride-2 rows;
   for float the stride-2 argmax and max gradient): types of up to 4 bytes, whose 8
   channels are under CELL_BYTES; 8 channels of 8 bytes go cell by cell */
#define CYPOOL_WITH_EIGHT(...) __VA_ARGS__
#define CYPOOL_WITHOUT_EIGHT(...)
#define CYPOOL_EIGHT_float CYPOOL_WITH_EIGHT
#define CYPOOL_EIGHT_int8_t CYPOOL_WITH_EIGHT
#define CYPOOL_EIGHT_uint8_t CYPOOL_WITH_EIGHT
#define CYPOOL_EIGHT_int16_t CYPOOL_WITH_EIGHT
#define CYPOOL_EIGHT_uint16_t CYPOOL_WITH_EIGHT
#define CYPOOL_EIGHT_int32_t CYPOOL_WITH_EIGHT
#define CYPOOL_EIGHT_uint32_t CYPOOL_WITH_EIGHT
#define CYPOOL_EIGHT_double CYPOOL_WITHOUT_EIGHT
#define CYPOOL_EIGHT_int64_t CYPOOL_WITHOUT_EIGHT
#define CYPOOL_EIGHT_uint64_t CYPOOL_WITHOUT_EIGHT
/* 1-4 or 8 channels (CH), stride 2, windows of n_w = 2 or 3 adjacent pixels along W
   over n_rows rows (channels-first planes, grayscale, RGB, 8 channels): pixel i,
   channel ch of out is the max over r, t of src[row_offset[r] + (2*i + t)*CH + ch],
   i < n; with
   ``clipped`` the last output's window lacks its last tap (the right border of SAME
   padding).  The vector blocks take column maxima over the rows first and the taps
   from them with shuffles (no reduced row in memory); they return 1 when a column
   maximum was -0.0, as then a zero maximum may have the wrong sign (the caller
   redoes those in window order).  Scalar outputs go in window order. */
#ifndef CYPOOL_ROWS_STRIDE2_VECTORS
#define CYPOOL_ROWS_STRIDE2_VECTORS(T, IT, LANES)
#endif
#define CYPOOL_MAX_ROWS_STRIDE2(T, IT, LANES, CHANNELS)                                \
    static CYPOOL_INLINE int cypool_max_rows_stride2_impl_##T##_##CHANNELS(            \
        T *out, const T *src, const int64_t *row_offset, Py_ssize_t n_rows,            \
        Py_ssize_t n_w, Py_ssize_t n, int clipped)                                     \
    {                                                                                  \
        enum { CH = CHANNELS };                                                        \
        Py_ssize_t i = 0;                                                              \
        int negative_zero = 0;                                                         \
        CYPOOL_ROWS_STRIDE2_VECTORS(T, IT, LANES)                                      \
        for (; i < n; i++) {                                                           \
            Py_ssize_t taps = (i == n - 1) ? n_w - clipped : n_w;                      \
            for (int ch = 0; ch < CH; ch++) {                                          \
                T a = src[row_offset[0] + 2 * i * CH + ch];                            \
                for (Py_ssize_t r = 0; r < n_rows; r++)                                \
                    for (Py_ssize_t t = 0; t < taps; t++)                              \
                        a = CYPOOL_MAX1(a, src[row_offset[r] + (2 * i + t) * CH + ch]); \
                out[i * CH + ch] = a;                                                  \
            }                                                                          \
        }                                                                              \
        return negative_zero;                                                          \
    }                                                                                  \
    static CYPOOL_NOINLINE int cypool_max_rows_stride2_##T##_##CHANNELS(               \
        T *out, const T *src, const int64_t *row_offset, Py_ssize_t n_rows,            \
        Py_ssize_t n_w, Py_ssize_t n, int clipped, Py_ssize_t n_out,                   \
        Py_ssize_t out_step, Py_ssize_t src_step, Py_ssize_t ahead, Py_ssize_t new_bytes) \
    {                                                                                  \
        CYPOOL_STRIDE2_ROWS(T, cypool_max_rows_stride2_impl_##T##_##CHANNELS, ())      \
    }

/* The stride-2 helpers' outer loop: n_out output rows, out_step apart, whose windows
   are src_step apart (the same shape); each asks for new_bytes of input from ahead
   bytes past its window's first row (none for 0).  IMPL called with windows of 2 and
   of 3 rows as constants (the row loop unrolled, the rows' offsets in registers) or
   any number, and the arguments in the parenthesised EXTRA after its own. */
#define CYPOOL_UNPAREN(...) __VA_ARGS__
#define CYPOOL_STRIDE2_ROWS(T, IMPL, EXTRA)                                            \
    int negative_zero = 0;                                                             \
    for (Py_ssize_t j = 0; j < n_out; j++) {                                           \
        T *o = out + j * out_step;                                                     \
        const T *s = src + j * src_step;                                               \
        if (new_bytes > 0)                                                             \
            cypool_prefetch(s + row_offset[0], ahead, new_bytes);                      \
        if (n_rows == 2)                                                               \
            negative_zero |= IMPL(o, s, row_offset, 2, n_w, n, clipped CYPOOL_UNPAREN EXTRA); \
        else if (n_rows == 3)                                                          \
            negative_zero |= IMPL(o, s, row_offset, 3, n_w, n, clipped CYPOOL_UNPAREN EXTRA); \
        else                                                                           \
            negative_zero |= IMPL(o, s, row_offset, n_rows, n_w, n, clipped            \
                                  CYPOOL_UNPAREN EXTRA);                               \
    }                                                                                  \
    return negative_zero;

/* The average of the same rows and windows (floats): pixel i, channel ch of out is
   the sum from 0 of src[row_offset[r] + (2*i + t)*CH + ch] over r, then t (window
   order), divided by ``divisor``, or ``clipped_divisor`` for the clipped last output
   (without its last tap); i < n.  Returns 0 (the max's -0.0 flag, never raised). */
#ifndef CYPOOL_AVG_ROWS_STRIDE2_VECTORS
#define CYPOOL_AVG_ROWS_STRIDE2_VECTORS(T, LANES)
#endif
#define CYPOOL_AVG_ROWS_STRIDE2(T, LANES, CHANNELS)                                    \
    static CYPOOL_INLINE int cypool_avg_rows_stride2_impl_##T##_##CHANNELS(            \
        T *out, const T *src, const int64_t *row_offset, Py_ssize_t n_rows,            \
        Py_ssize_t n_w, Py_ssize_t n, int clipped, T divisor, T clipped_divisor)       \
    {                                                                                  \
        enum { CH = CHANNELS };                                                        \
        Py_ssize_t i = 0;                                                              \
        CYPOOL_AVG_ROWS_STRIDE2_VECTORS(T, LANES)                                      \
        for (; i < n; i++) {                                                           \
            int last_clipped = clipped && i == n - 1;                                  \
            for (int ch = 0; ch < CH; ch++) {                                          \
                T acc = 0;                                                             \
                for (Py_ssize_t r = 0; r < n_rows; r++)                                \
                    for (Py_ssize_t t = 0; t < n_w - last_clipped; t++)                \
                        acc += src[row_offset[r] + (2 * i + t) * CH + ch];             \
                out[i * CH + ch] = acc / (last_clipped ? clipped_divisor : divisor);   \
            }                                                                          \
        }                                                                              \
        return 0;                                                                      \
    }                                                                                  \
    static CYPOOL_NOINLINE int cypool_avg_rows_stride2_##T##_##CHANNELS(               \
        T *out, const T *src, const int64_t *row_offset, Py_ssize_t n_rows,            \
        Py_ssize_t n_w, Py_ssize_t n, int clipped, Py_ssize_t n_out,                   \
        Py_ssize_t out_step, Py_ssize_t src_step, Py_ssize_t ahead, Py_ssize_t new_bytes, \
        T divisor, T clipped_divisor)                                                  \
    {                                                                                  \
        CYPOOL_STRIDE2_ROWS(T, cypool_avg_rows_stride2_impl_##T##_##CHANNELS,          \
                            (, divisor, clipped_divisor))                              \
    }

/* The adds of argmax indices, in output order: dx[j] += g[i] for i < n, j = index[i]
   - base, where lo <= j < hi (-1: an empty window; outside: another task's rows or
   piece).  dx from `zeroed` up is not zeroed yet: each block of CYPOOL_SCATTER_BLOCK
   outputs first zeroes dx up to its greatest j, at least 16 KB at once (so that the
   adds hit cache); returns how far dx is zeroed (hi for a zeroed dx).  Eight indices
   are loaded ahead of their adds and the indices and grads asked for
   CYPOOL_SCATTER_AHEAD outputs on: an add at a time, with no prefetch, kept too few
   loads in flight (max_pool_grad_with_argmax over the stem's 32x112x112x64, cold, one
   thread: 0.87x the time; 0.94x asking 256 outputs on, where each block's search
   for its greatest index still waited on the indices; 3072 as 1536). */
#define CYPOOL_SCATTER_BLOCK 256
#define CYPOOL_SCATTER_AHEAD 1536
#define CYPOOL_SCATTER_ADD(T, IT)                                                      \
    static CYPOOL_NOINLINE int64_t cypool_scatter_add_##T##_##IT(                      \
        T *dx, const T *g, const IT *index, Py_ssize_t n, int64_t base, int64_t lo,    \
        int64_t hi, int64_t zeroed)                                                    \
    {                                                                                  \
        const uint64_t size = (uint64_t)(hi - lo);                                     \
        const int64_t zero_block = 16384 / (int64_t)sizeof(T);                         \
        for (Py_ssize_t c = 0; c < n; c += CYPOOL_SCATTER_BLOCK) {                     \
            const Py_ssize_t m = n - c < CYPOOL_SCATTER_BLOCK ? n - c : CYPOOL_SCATTER_BLOCK; \
            const IT *ix = index + c;                                                  \
            const T *gc = g + c;                                                       \
            if (zeroed < hi) {                                                         \
                int64_t top = lo - 1;                                                  \
                for (Py_ssize_t i = 0; i < m; i++) {                                   \
                    int64_t j = (int64_t)ix[i] - base;                                 \
                    int64_t t = (uint64_t)(j - lo) < size ? j : lo - 1;                \
                    top = t > top ? t : top;                                           \
                }                                                                      \
                if (top >= zeroed) {                                                   \
                    int64_t stop = top + 1 > zeroed + zero_block ? top + 1 : zeroed + zero_block; \
                    stop = stop < hi ? stop : hi;                                      \
                    memset(dx + zeroed, 0, (size_t)(stop - zeroed) * sizeof(T));       \
                    zeroed = stop;                                                     \
                }                                                                      \
            }                                                                          \
            Py_ssize_t i = 0;                                                          \
            for (; i + 8 <= m; i += 8) {                                               \
                cypool_prefetch(ix, (i + CYPOOL_SCATTER_AHEAD) * (Py_ssize_t)sizeof(IT), 1); \
                cypool_prefetch(gc, (i + CYPOOL_SCATTER_AHEAD) * (Py_ssize_t)sizeof(T), 1); \
                int64_t j[8];                                                          \
                for (int k = 0; k < 8; k++) j[k] = (int64_t)ix[i + k] - base;          \
                for (int k = 0; k < 8; k++)                                            \
                    if ((uint64_t)(j[k] - lo) < size) dx[j[k]] += gc[i + k];           \
            }                                                                          \
            for (; i < m; i++) {                                                       \
                int64_t j = (int64_t)ix[i] - base;                                     \
                if ((uint64_t)(j - lo) < size) dx[j] += gc[i];                         \
            }                                                                          \
        }                                                                              \
        return zeroed;                                                                 \
    }
/* The max gradient of a span of n_span outputs of n channels-last channels, windows
   of n_rows rows by n_w adjacent pixels starting `step` pixels apart: tap
   t = r * n_w + w of output i reads x[tap_offset[t] + i * step * n + c], dx the same.
   Every pixel's window along the row finds its winning tap's ordinal (the first
   maximum, a NaN winning, as cypool_argmax_cell), a vector of lanes at a time; then
   each dx row of the window adds, lane by lane, the grad of the windows whose winner
   it is, taps right to left, so that each dx element adds its outputs in output order
   as TF's scatter does (for a fixed pixel, a larger w is an earlier output).  (Each
   output's int64 index and a scalar add, with every second window dropped at stride
   2, took 3.3x the floor on RGB images.)  Window row r adds into dx_row[r] (its
   span's first element; NULL: another task's row).  A lane that lost adds +0.0, which
   leaves every sum but -0.0 as it is, and a sum from dx's +0.0 is never -0.0.
   g_wide (T) and winner (the same width): room for n_line + 2 * (n_w - 1) * n lanes,
   n_line = ((n_span - 1) * step + 1) * n; n_rows * n_w <= 127 (int8 ordinals). */
#ifdef CYPOOL_HAVE_VECTORS
#define CYPOOL_SPAN_WINNERS_VECTORS(T, IT)                                             \
    for (; i + 4 * lanes <= n_line; i += 4 * lanes) {                                  \
        CYPOOL_ARGMAX_BLOCK4(T, x, i, (IT)t);                                          \
        (void)a0; (void)a1; (void)a2; (void)a3;                                        \
        memcpy(won + i, &o0, sizeof(M)); memcpy(won + i + lanes, &o1, sizeof(M));      \
        memcpy(won + i + 2 * lanes, &o2, sizeof(M));                                   \
        memcpy(won + i + 3 * lanes, &o3, sizeof(M));                                   \
    }                                                                                  \
    for (; i + lanes <= n_line; i += lanes) {                                          \
        CYPOOL_ARGMAX_BLOCK1(T, x, i, (IT)t);                                          \
        (void)a0;                                                                      \
        memcpy(won + i, &o0, sizeof(M));                                               \
    }                                                                                  \
    if (i < n_line && n_line >= lanes) { /* the last lanes again, overlapping */       \
        i = n_line - lanes;                                                            \
        CYPOOL_ARGMAX_BLOCK1(T, x, i, (IT)t);                                          \
        (void)a0;                                                                      \
        memcpy(won + i, &o0, sizeof(M));                                               \
        i = n_line;                                                                    \
    }
/* dx lanes [i, i + lanes): the adds of lanes where `fresh` is set (NW: n_w, a
   constant for the common windows, so that the taps' loop unrolls) */
#define CYPOOL_SPAN_ADD(IT, NW, i, fresh)                                              \
    do {                                                                               \
        V acc = *(const V *)(d + (i));                                                 \
        for (Py_ssize_t w = (NW) - 1; w >= 0; w--) {                                   \
            M ordinal;                                                                 \
            memcpy(&ordinal, won + (i) - w * n, sizeof(M));                            \
            acc += (V)((M) * (const V *)(spread + (i) - w * n) & (fresh)               \
                       & (ordinal == (M){0} + (IT)(r * (NW) + w)));                    \
        }                                                                              \
        *(V *)(d + (i)) = acc;                                                         \
    } while (0)
/* then the last lanes again, overlapping, adding +0.0 to those already done */
#define CYPOOL_SPAN_ADDS_VECTORS(IT, LANES, NW)                                        \
    for (; i + lanes <= n_dx; i += lanes) CYPOOL_SPAN_ADD(IT, NW, i, (M){0} - 1);      \
    if (i < n_dx && n_dx >= lanes) {                                                   \
        const M lane = {CYPOOL_LIST(LANES, CYPOOL_LOW)};                               \
        CYPOOL_SPAN_ADD(IT, NW, n_dx - lanes, lane >= (M){0} + (IT)(i - (n_dx - lanes))); \
        i = n_dx;                                                                      \
    }
#define CYPOOL_SPAN_TYPES(T)                                                           \
    enum { lanes = CYPOOL_VECTOR_BYTES / sizeof(T) };                                  \
    typedef cypool_##T##_vec V;                                                        \
    typedef cypool_##T##_mask M;
#else
#define CYPOOL_SPAN_WINNERS_VECTORS(T, IT)
#define CYPOOL_SPAN_ADDS_VECTORS(IT, LANES, NW)
#define CYPOOL_SPAN_TYPES(T)
#endif
/* stride 2: spread = grad at each output's first pixel, 0 at the pixel after (N
   channels; a constant for few, so that the copies are vectorised) */
#define CYPOOL_SPREAD2(N)                                                              \
    do {                                                                               \
        for (Py_ssize_t o = 0; o + 1 < n_span; o++)                                    \
            for (Py_ssize_t c = 0; c < (N); c++) {                                     \
                spread[2 * o * (N) + c] = g[o * (N) + c];                              \
                spread[(2 * o + 1) * (N) + c] = 0;                                     \
            }                                                                          \
        for (Py_ssize_t c = 0; c < (N); c++)                                           \
            spread[2 * (n_span - 1) * (N) + c] = g[(n_span - 1) * (N) + c];            \
    } while (0)
/* one dx row's adds, taps right to left (see cypool_max_grad_span) */
#define CYPOOL_SPAN_ROW_ADDS(T, IT, LANES, NW)                                         \
    do {                                                                               \
        Py_ssize_t i = 0;                                                              \
        CYPOOL_SPAN_ADDS_VECTORS(IT, LANES, NW)                                        \
        for (; i < n_dx; i++) {                                                        \
            T acc = d[i];                                                              \
            for (Py_ssize_t w = (NW) - 1; w >= 0; w--)                                 \
                if (won[i - w * n] == (IT)(r * (NW) + w)) acc += spread[i - w * n];    \
            d[i] = acc;                                                                \
        }                                                                              \
    } while (0)
/* won[i] = the ordinal t of the tap argmax picks for lane i (the first maximum over
   x[tap_offset[t] + i], a NaN winning), i < n_line; n_taps <= 127 */
#define CYPOOL_SPAN_WINNERS(T, IT)                                                     \
    static CYPOOL_NOINLINE void cypool_span_winners_##T(                               \
        const T *x, const int64_t *tap_offset, Py_ssize_t n_taps, Py_ssize_t n_line,   \
        IT *won)                                                                       \
    {                                                                                  \
        CYPOOL_SPAN_TYPES(T)                                                           \
        Py_ssize_t i = 0;                                                              \
        CYPOOL_SPAN_WINNERS_VECTORS(T, IT)                                             \
        for (; i < n_line; i++) won[i] = (IT)cypool_argmax_tap_##T(x, tap_offset, n_taps, i); \
    }
/* The argmax of a stride-2 span of CH = 1-4 or 8 float channels in output order: lane
   L = o * CH + c (output o, channel c) has its taps at x[tap_offset[t] + 2 * o * CH +
   c].  A block of LN lanes from a multiple of CH takes each tap from two vectors with
   one shuffle, lane j from element 2j - j % CH (the block's last lane may be the next
   block's first, stored twice alike), so that only the outputs' windows are found
   (every pixel's, with every second dropped, took RGB 3x3/2's argmax 4x its max
   forward; 8 channels' took 1.8-1.9x this one's time, AVX-512 and AVX2, 3x3/2 and
   2x2/2).  Values and int64 indices are stored as vectors.  Returns the outputs
   done: none where the taps' offsets with the lanes' positions would not fit IT. */
#if defined(CYPOOL_HAVE_VECTORS) && defined(CYPOOL_HAVE_SHUFFLE) && defined(CYPOOL_HAVE_CONVERT)
#define CYPOOL_SPAN2_LANE(j) (2 * (j) - (j) % CH)
/* what a lane's winner keeps: its tap's offset from the first tap (argmax) or its
   ordinal (the max gradient) */
#define CYPOOL_SPAN2_OFFSET(t) (tap_offset[t] - tap_offset[0])
#define CYPOOL_SPAN2_ORDINAL(t) (t)
/* a block's maximum a and winners o (DELTA) over the taps, tap t's lanes TAP(s, t) */
#define CYPOOL_SPAN2_BLOCK(T, IT, LANES, TAP, DELTA)                                   \
    V a = TAP(s, 0, LANES);                                                            \
    M o = {0};                                                                         \
    for (Py_ssize_t t = 1; t < n_taps; t++) {                                          \
        V v = TAP(s, t, LANES);                                                        \
        M delta = (M){0} + (IT)DELTA(t);                                               \
        CYPOOL_ARGMAX_STEP(T, a, o, v, delta);                                         \
    }
/* the same for four blocks from s, BLOCK lanes apart: a0..a3 and o0..o3.  Four
   chains for the core to overlap: each tap's compares and blends wait on the last
   tap's (one chain took AVX2's RGB 3x3/2 argmax 1.2-1.3x the time) */
#define CYPOOL_SPAN2_TAP4(t, LANES)                                                    \
    V v0 = CYPOOL_SPAN2_IN_PLACE(s, t, LANES);                                         \
    V v1 = CYPOOL_SPAN2_IN_PLACE(s + 2 * BLOCK, t, LANES);                             \
    V v2 = CYPOOL_SPAN2_IN_PLACE(s + 4 * BLOCK, t, LANES);                             \
    V v3 = CYPOOL_SPAN2_IN_PLACE(s + 6 * BLOCK, t, LANES);
#define CYPOOL_SPAN2_BLOCK4(T, IT, LANES, DELTA)                                       \
    CYPOOL_SPAN2_TAP4(0, LANES)                                                        \
    V a0 = v0, a1 = v1, a2 = v2, a3 = v3;                                              \
    M o0 = {0}, o1 = {0}, o2 = {0}, o3 = {0};                                          \
    for (Py_ssize_t t = 1; t < n_taps; t++) {                                          \
        CYPOOL_SPAN2_TAP4(t, LANES)                                                    \
        M delta = (M){0} + (IT)DELTA(t);                                               \
        CYPOOL_ARGMAX_STEP(T, a0, o0, v0, delta);                                      \
        CYPOOL_ARGMAX_STEP(T, a1, o1, v1, delta);                                      \
        CYPOOL_ARGMAX_STEP(T, a2, o2, v2, delta);                                      \
        CYPOOL_ARGMAX_STEP(T, a3, o3, v3, delta);                                      \
    }
/* block k's values and indices (a block's last lane may be the next one's first,
   stored twice alike), and the first n_own lanes of the block at L (the last ones) */
#define CYPOOL_SPAN2_STORE(SPLIT, k, a, o)                                             \
    do {                                                                               \
        *(V *)(out + L + (k) * BLOCK) = (a);                                           \
        CYPOOL_SPAN2_INDEXES_##SPLIT(index + L + (k) * BLOCK, (o) + lane_at,           \
                                     tap_offset[0] + index_base + 2 * (L + (k) * BLOCK)); \
    } while (0)
#define CYPOOL_SPAN2_STORE_LAST(SPLIT, n_own, a, o)                                    \
    do {                                                                               \
        const V out_copy = (a);                                                        \
        int64_t index_copy[LN];                                                        \
        CYPOOL_SPAN2_INDEXES_##SPLIT(index_copy, (o) + lane_at,                        \
                                     tap_offset[0] + index_base + 2 * L);              \
        memcpy(out + L, &out_copy, (n_own) * sizeof(out[0]));                          \
        memcpy(index + L, index_copy, (n_own) * sizeof(int64_t));                      \
    } while (0)
#define CYPOOL_SPAN2_IN_PLACE(s, t, LANES)                                             \
    __builtin_shufflevector(*(const V *)((s) + tap_offset[t]),                         \
                            *(const V *)((s) + tap_offset[t] + LN),                    \
                            CYPOOL_LIST(LANES, CYPOOL_SPAN2_LANE))
#define CYPOOL_SPAN2_SHIFTED(s, t, LANES)                                              \
    __builtin_shuffle(*(const V *)((s) + tap_offset[t]), *(const V *)((s) + tap_offset[t] + LN), at)
/* a stride-2 span's blocks from lane L: four at a time, then one, then the last ones
   (CYPOOL_SPAN2_LAST_BLOCKS); STORE(ARG, k, a, o) keeps block k's maxima a and
   winners o, LAST(ARG, n_own, a, o) the first n_own lanes of the block at L */
#define CYPOOL_SPAN2_BLOCKS(T, IT, LANES, DELTA, STORE, LAST, ARG)                     \
    for (; L + 3 * BLOCK + LN <= n_lanes && 2 * (L + 3 * BLOCK + LN) <= n_in;          \
         L += 4 * BLOCK) {                                                             \
        const T *s = x + 2 * L;                                                        \
        CYPOOL_SPAN2_BLOCK4(T, IT, LANES, DELTA)                                       \
        STORE(ARG, 0, a0, o0); STORE(ARG, 1, a1, o1);                                  \
        STORE(ARG, 2, a2, o2); STORE(ARG, 3, a3, o3);                                  \
    }                                                                                  \
    for (; L + LN <= n_lanes && 2 * L + 2 * LN <= n_in; L += BLOCK) {                  \
        const T *s = x + 2 * L;                                                        \
        CYPOOL_SPAN2_BLOCK(T, IT, LANES, CYPOOL_SPAN2_IN_PLACE, DELTA)                 \
        STORE(ARG, 0, a, o);                                                           \
    }                                                                                  \
    CYPOOL_SPAN2_LAST_BLOCKS(T, IT, LANES, DELTA, LAST, ARG)
#define CYPOOL_SPAN2_SCOPE(T, LANES, CHANNELS)                                         \
    enum { CH = CHANNELS, LN = LANES, BLOCK = LANES / CHANNELS * CHANNELS };           \
    typedef cypool_##T##_vec V;                                                        \
    typedef cypool_##T##_mask M;                                                       \
    const M lane_at = {CYPOOL_LIST(LANES, CYPOOL_SPAN2_LANE)};                         \
    const Py_ssize_t n_lanes = n_span * CH, n_in = (2 * n_span - 1) * CH;              \
    Py_ssize_t L = 0;                                                                  \
    (void)lane_at;
#define CYPOOL_ARGMAX_SPAN2(T, IT, IT_MAX, LANES, CHANNELS, SPLIT)                     \
    static CYPOOL_NOINLINE Py_ssize_t cypool_argmax_span2_##T##_##CHANNELS(             \
        T *out, int64_t *index, const T *x, const int64_t *tap_offset, Py_ssize_t n_taps, \
        Py_ssize_t n_span, int64_t index_base)                                         \
    {                                                                                  \
        CYPOOL_SPAN2_SCOPE(T, LANES, CHANNELS)                                         \
        if (tap_offset[n_taps - 1] - tap_offset[0] > IT_MAX - 2 * LN) return 0;        \
        CYPOOL_SPAN2_BLOCKS(T, IT, LANES, CYPOOL_SPAN2_OFFSET, CYPOOL_SPAN2_STORE,     \
                            CYPOOL_SPAN2_STORE_LAST, SPLIT)                            \
        return L / CH;                                                                 \
    }
/* won[L] = the ordinal of lane L's winning tap (the first maximum, a NaN winning) for
   every lane of the span, output order: cypool_argmax_span2's blocks, then a lane at a
   time (spans under two vectors, or no gcc).  The last block writes its whole vector
   (won has room for LANES past the span): a copy of its own lanes only, a variable
   length memcpy, took a sixth of grayscale 3x3/2's winners. */
#define CYPOOL_SPAN2_KEEP_WON(ARG, k, a, o)                                            \
    do {                                                                               \
        (void)(a);                                                                     \
        memcpy(won + L + (k) * BLOCK, &(o), sizeof(M));                                \
    } while (0)
#define CYPOOL_SPAN2_KEEP_LAST_WON(ARG, n_own, a, o)                                   \
    do {                                                                               \
        (void)(a);                                                                     \
        (void)(n_own);                                                                 \
        memcpy(won + L, &(o), sizeof(M));                                              \
    } while (0)
#define CYPOOL_SPAN2_WINNERS(T, IT, LANES, CHANNELS)                                   \
    static CYPOOL_NOINLINE void cypool_span2_winners_##T##_##CHANNELS(                 \
        const T *x, const int64_t *tap_offset, Py_ssize_t n_taps, Py_ssize_t n_span,   \
        IT *won)                                                                       \
    {                                                                                  \
        CYPOOL_SPAN2_SCOPE(T, LANES, CHANNELS)                                         \
        CYPOOL_SPAN2_BLOCKS(T, IT, LANES, CYPOOL_SPAN2_ORDINAL, CYPOOL_SPAN2_KEEP_WON, \
                            CYPOOL_SPAN2_KEEP_LAST_WON, 0)                             \
        for (; L < n_lanes; L++)                                                       \
            won[L] = (IT)cypool_argmax_tap_##T(x, tap_offset, n_taps, CYPOOL_SPAN2_LANE(L)); \
    }
/* The last blocks read their two vectors from no further than the span's last
   element, shifted back as far as needed (the shuffle's lanes shifted on, at run
   time: gcc's __builtin_shuffle), and keep their own lanes only; spans under two
   vectors are left to the caller. */
#if defined(__GNUC__) && !defined(__clang__)
#define CYPOOL_SPAN2_LAST_BLOCKS(T, IT, LANES, DELTA, LAST, ARG)                       \
    if (L < n_lanes && n_in >= 2 * LN) {                                               \
        for (; L < n_lanes; L += BLOCK) {                                              \
            const Py_ssize_t start = CYPOOL_MIN(2 * L, n_in - 2 * LN);                 \
            const Py_ssize_t n_own = CYPOOL_MIN(n_lanes - L, (Py_ssize_t)LN);          \
            const T *s = x + start;                                                    \
            const M at = lane_at + (IT)(2 * L - start);                                \
            CYPOOL_SPAN2_BLOCK(T, IT, LANES, CYPOOL_SPAN2_SHIFTED, DELTA)              \
            LAST(ARG, n_own, a, o);                                                    \
        }                                                                              \
    }
#else
#define CYPOOL_SPAN2_LAST_BLOCKS(T, IT, LANES, DELTA, LAST, ARG)
#endif
/* index[j] = first + at[j], widened to int64: a vector of 4-byte lanes fills two
   index vectors, of 8-byte ones one */
#define CYPOOL_SPAN2_INDEXES_WHOLE(index, at, first)                                   \
    (*(cypool_index_vec *)(index) = __builtin_convertvector((at), cypool_index_vec) + (first))
#define CYPOOL_SPAN2_INDEXES_HALVES(index, at, first)                                  \
    do {                                                                               \
        const M at_ = (at);                                                            \
        CYPOOL_SPAN2_INDEXES_WHOLE((index), __builtin_shufflevector(at_, at_, CYPOOL_LIST(CYPOOL_LANES8, CYPOOL_LOW)), \
                                   (first));                                           \
        CYPOOL_SPAN2_INDEXES_WHOLE((index) + CYPOOL_LANES8, __builtin_shufflevector(at_, at_, CYPOOL_LIST(CYPOOL_LANES8, CYPOOL_HIGH)), \
                                   (first));                                           \
    } while (0)
#else
#define CYPOOL_ARGMAX_SPAN2(T, IT, IT_MAX, LANES, CHANNELS, SPLIT)                     \
    static inline Py_ssize_t cypool_argmax_span2_##T##_##CHANNELS(                      \
        T *out, int64_t *index, const T *x, const int64_t *tap_offset, Py_ssize_t n_taps, \
        Py_ssize_t n_span, int64_t index_base)                                         \
    {                                                                                  \
        (void)out; (void)index; (void)x; (void)tap_offset; (void)n_taps; (void)n_span; \
        (void)index_base;                                                              \
        return 0;                                                                      \
    }
#endif
/* the outputs cypool_argmax_span2 did for n channels (0 for n over 4) */
#define CYPOOL_ARGMAX_SPAN2_ANY(T, IT, IT_MAX, LANES, SPLIT)                           \
    CYPOOL_ARGMAX_SPAN2(T, IT, IT_MAX, LANES, 1, SPLIT)                                \
    CYPOOL_ARGMAX_SPAN2(T, IT, IT_MAX, LANES, 2, SPLIT)                                \
    CYPOOL_ARGMAX_SPAN2(T, IT, IT_MAX, LANES, 3, SPLIT)                                \
    CYPOOL_ARGMAX_SPAN2(T, IT, IT_MAX, LANES, 4, SPLIT)                                \
    CYPOOL_EIGHT_##T(CYPOOL_ARGMAX_SPAN2(T, IT, IT_MAX, LANES, 8, SPLIT))              \
    static inline Py_ssize_t cypool_argmax_span2_##T(                                  \
        T *out, int64_t *index, const T *x, const int64_t *tap_offset, Py_ssize_t n_taps, \
        Py_ssize_t n_span, Py_ssize_t n, int64_t index_base)                           \
    {                                                                                  \
        switch (n) {                                                                   \
        case 1: return cypool_argmax_span2_##T##_1(out, index, x, tap_offset, n_taps, n_span, index_base); \
        case 2: return cypool_argmax_span2_##T##_2(out, index, x, tap_offset, n_taps, n_span, index_base); \
        case 3: return cypool_argmax_span2_##T##_3(out, index, x, tap_offset, n_taps, n_span, index_base); \
        case 4: return cypool_argmax_span2_##T##_4(out, index, x, tap_offset, n_taps, n_span, index_base); \
        CYPOOL_EIGHT_##T(case 8: return cypool_argmax_span2_##T##_8(out, index, x, tap_offset, n_taps, n_span, index_base);) \
        default: return 0;                                                             \
        }                                                                              \
    }
/* index[o * n + c] = tap_offset[won[o * step * n + c]] + o * step * n + c + index_base
   for a span's first outputs, 8 int64 indices at a time: the lanes' winning ordinals
   widened and taken with one constant shuffle (lane j from j, or from 2j - j % n at
   stride 2: cypool_argmax_span2's lanes) and looked up in the taps' offsets, held in two
   vectors (one two-table permute; so at most 16 taps).  1-4 channels at strides 1 and
   2; returns the outputs done.  (A scalar loop a lane took half of the uint8 RGB
   2x2/2 argmax's time.)  gcc's AVX-512 build only: __builtin_shuffle's lanes are not
   constants, and AVX2 has no two-table permute of int64 lanes (gcc's stand-in took
   that argmax 1.3-1.46x the scalar loop's time). */
#define CYPOOL_SPAN_TABLE 16
#if defined(CYPOOL_HAVE_VECTORS) && defined(CYPOOL_HAVE_SHUFFLE)                      \
    && defined(CYPOOL_HAVE_CONVERT) && defined(__GNUC__) && !defined(__clang__)        \
    && CYPOOL_VECTOR_BYTES == 64
#include <immintrin.h>
/* a vector of int64 from the ordinals at p: sign-extending loads (gcc's
   __builtin_convertvector of narrow lanes, before a shuffle, went lane by lane) */
#define CYPOOL_WIDEN_int8_t(p)                                                         \
    _mm512_cvtepi8_epi64(_mm_loadl_epi64((const __m128i *)(p)))
#define CYPOOL_WIDEN_int16_t(p)                                                        \
    _mm512_cvtepi16_epi64(_mm_loadu_si128((const __m128i *)(p)))
#define CYPOOL_WIDEN_int32_t(p)                                                        \
    _mm512_cvtepi32_epi64(_mm256_loadu_si256((const __m256i *)(p)))
#define CYPOOL_WIDEN_int64_t(p) _mm512_loadu_si512((const void *)(p))
/* LANE: the ordinals' lanes, CYPOOL_LOW at stride 1, CYPOOL_SPAN2_LANE at 2 */
#define CYPOOL_INDEX_BLOCKS(WIDEN, CHANNELS, STEP, LANE)                               \
    do {                                                                               \
        enum { CH = CHANNELS, BLOCK = 8 / CHANNELS * CHANNELS };                       \
        const cypool_index_vec at = {CYPOOL_LIST8(LANE)};            \
        for (; L + 8 <= n_lanes && STEP * L + 16 <= n_won; L += BLOCK) {               \
            const cypool_index_vec ordinal = __builtin_shufflevector(                  \
                (cypool_index_vec)WIDEN(won + STEP * L),                               \
                (cypool_index_vec)WIDEN(won + STEP * L + 8),                           \
                CYPOOL_LIST8(LANE));                                 \
            *(cypool_index_vec *)(index + L) =                                         \
                __builtin_shuffle(table[0], table[1], ordinal) + at                    \
                + (STEP * L + index_base);                                             \
        }                                                                              \
    } while (0)
#define CYPOOL_SPAN_INDEXES(IT)                                                        \
    static CYPOOL_NOINLINE Py_ssize_t cypool_span_indexes_##IT(                         \
        int64_t *index, const IT *won, const int64_t *tap_offset, Py_ssize_t n_taps,   \
        Py_ssize_t step, Py_ssize_t n_span, Py_ssize_t n, int64_t index_base)          \
    {                                                                                  \
        const Py_ssize_t n_lanes = n_span * n, n_won = ((n_span - 1) * step + 1) * n;  \
        cypool_index_vec table[2];                                                     \
        Py_ssize_t L = 0;                                                              \
        if (n_taps > CYPOOL_SPAN_TABLE || n > 4 || step > 2) return 0;                 \
        memset(table, 0, sizeof table);                                                \
        memcpy(table, tap_offset, n_taps * sizeof(int64_t));                           \
        switch (2 * n + step) {                                                        \
        case 3: CYPOOL_INDEX_BLOCKS(CYPOOL_WIDEN_##IT, 1, 1, CYPOOL_LOW); break;       \
        case 4: CYPOOL_INDEX_BLOCKS(CYPOOL_WIDEN_##IT, 1, 2, CYPOOL_SPAN2_LANE); break; \
        case 5: CYPOOL_INDEX_BLOCKS(CYPOOL_WIDEN_##IT, 2, 1, CYPOOL_LOW); break;       \
        case 6: CYPOOL_INDEX_BLOCKS(CYPOOL_WIDEN_##IT, 2, 2, CYPOOL_SPAN2_LANE); break; \
        case 7: CYPOOL_INDEX_BLOCKS(CYPOOL_WIDEN_##IT, 3, 1, CYPOOL_LOW); break;       \
        case 8: CYPOOL_INDEX_BLOCKS(CYPOOL_WIDEN_##IT, 3, 2, CYPOOL_SPAN2_LANE); break; \
        case 9: CYPOOL_INDEX_BLOCKS(CYPOOL_WIDEN_##IT, 4, 1, CYPOOL_LOW); break;       \
        case 10: CYPOOL_INDEX_BLOCKS(CYPOOL_WIDEN_##IT, 4, 2, CYPOOL_SPAN2_LANE); break; \
        }                                                                              \
        return L / n;                                                                  \
    }
#else
#define CYPOOL_SPAN_INDEXES(IT)                                                        \
    static inline Py_ssize_t cypool_span_indexes_##IT(                                  \
        int64_t *index, const IT *won, const int64_t *tap_offset, Py_ssize_t n_taps,   \
        Py_ssize_t step, Py_ssize_t n_span, Py_ssize_t n, int64_t index_base)          \
    {                                                                                  \
        (void)index; (void)won; (void)tap_offset; (void)n_taps; (void)step;            \
        (void)n_span; (void)n; (void)index_base;                                       \
        return 0;                                                                      \
    }
#endif
CYPOOL_SPAN_INDEXES(int8_t)
CYPOOL_SPAN_INDEXES(int16_t)
CYPOOL_SPAN_INDEXES(int32_t)
CYPOOL_SPAN_INDEXES(int64_t)
/* integers' spans take the lanes' winners below */
#define CYPOOL_NO_SPAN2(out, index, x, tap_offset, n_taps, n_span, n, index_base) 0
/* out[o * n + c] and index[o * n + c]: the max and flat index (tap_offset[t] + lane +
   index_base) of the windows at lanes o * step * n + c, o < n_span, c < n, through
   every lane's winner; winner: room for ((n_span - 1) * step + 1) * n lanes of x's
   width (the argmax of few channels: a scalar loop a tap, or for floats int64 indices
   of every pixel's window, every second dropped at stride 2).  At stride 2, SPAN2
   first takes the outputs it can (cypool_argmax_span2: floats of 1-4 or 8 channels). */
#define CYPOOL_ARGMAX_SPAN(T, IT, SPAN2)                                               \
    static CYPOOL_NOINLINE void cypool_argmax_span_##T(                                \
        T *out, int64_t *index, const T *x, const int64_t *tap_offset, Py_ssize_t n_taps, \
        Py_ssize_t step, Py_ssize_t n_span, Py_ssize_t n, int64_t index_base,          \
        void *winner)                                                                  \
    {                                                                                  \
        IT *won = (IT *)winner;                                                        \
        if (step == 2) { /* the outputs SPAN2 did, then the rest as below */           \
            Py_ssize_t done = SPAN2(out, index, x, tap_offset, n_taps, n_span, n, index_base); \
            if (done == n_span) return;                                                \
            out += done * n;                                                           \
            index += done * n;                                                         \
            x += done * 2 * n;                                                         \
            index_base += done * 2 * n;                                                \
            n_span -= done;                                                            \
        }                                                                              \
        cypool_span_winners_##T(x, tap_offset, n_taps, ((n_span - 1) * step + 1) * n, won); \
        /* the indexes a vector at a time, then their values */                        \
        const Py_ssize_t done = cypool_span_indexes_##IT(index, won, tap_offset, n_taps, \
                                                         step, n_span, n, index_base); \
        for (Py_ssize_t i = 0; i < done * n; i++) out[i] = x[index[i] - index_base];   \
        for (Py_ssize_t o = done; o < n_span; o++)                                     \
            for (Py_ssize_t c = 0; c < n; c++) {                                       \
                int64_t j = tap_offset[won[o * step * n + c]] + o * step * n + c;      \
                out[o * n + c] = x[j];                                                 \
                index[o * n + c] = j + index_base;                                     \
            }                                                                          \
    }
/* The max gradient of a stride-2 span (cypool_max_grad_span) of CH = 1-4 or 8 channels and
   windows NW = 2 or 3 pixels wide, without every pixel's window: the outputs' winners
   only (cypool_span2_winners), then each vector of dx lanes takes its pixels' windows
   in output order as K = (NW + 1) / 2 terms, once for all the window's rows.  Term k
   of a lane is the grad of the pixel's k-th window (0 where it has none) and that
   window's winning ordinal less the pixel's column in it, so that every lane of window
   row r asks for ordinal r * NW: an even pixel 2q is column 2 of window q - 1, then
   column 0 of window q, an odd one column 1 of window q (NW = 3; NW = 2: column 0 or 1
   of window q).  Each dx row then adds K terms a lane, not NW (every pixel's window,
   and NW adds a lane, took RGB 3x3/2's gradient 3.5x its max forward).  Each term of a
   vector is one constant shuffle of the output lanes from the least it takes; the
   shuffles repeat every PERIOD vectors (a multiple of 2 CH lanes: 3 for 3 channels).
   The last lanes short of a period take masked loads and stores (a copy of them on
   the stack, store-forwarding stalls, took grayscale 3x3/2 1.1x the time).  The
   AVX-512 build only: AVX2's took RGB and grayscale 3x3/2 1.1x the time of every
   pixel's winners (cypool_max_grad_span's loops, which it keeps). */
#if defined(CYPOOL_HAVE_VECTORS) && defined(CYPOOL_HAVE_SHUFFLE)                      \
    && defined(CYPOOL_HAVE_CONVERT) && defined(CYPOOL_HAVE_MASKED_CELL)                \
    && CYPOOL_VECTOR_BYTES == 64
/* window rows of a span: n_rows * n_w <= SPAN_TAPS (127, _pool_rows.pxd), n_w >= 2 */
#define CYPOOL_SPAN_ROWS 64
#define CYPOOL_PIXEL_ODD(J) ((J) / CH % 2)
/* pixel lane J's k-th window (the first where it has no k-th) as the output lane from
   the period's first; the pixel's column in it; all ones where that window is */
#define CYPOOL_TERM_OUT(J, k)                                                          \
    ((J) / (2 * CH) * CH + (J) % CH                                                    \
     - CH * (CYPOOL_PIXEL_ODD(J) ? ((k) < KO ? KO - 1 - (k) : KO - 1)                  \
                                 : ((k) < K ? K - 1 - (k) : K - 1)))
#define CYPOOL_TERM_COLUMN(J, k)                                                       \
    (CYPOOL_PIXEL_ODD(J) ? 2 * (KO - 1 - (k)) + 1 : 2 * (K - 1 - (k)))
#define CYPOOL_TERM_LIVE(J, k) ((CYPOOL_PIXEL_ODD(J) ? (k) < KO : (k) < K) ? -1 : 0)
/* the least output lane vector VEC takes: its first pixel's or the next one's, channel 0 */
#define CYPOOL_VEC_BASE                                                                \
    CYPOOL_MIN(CYPOOL_TERM_OUT(VEC * LN, 0), CYPOOL_TERM_OUT((VEC * LN / CH + 1) * CH, 0))
#define CYPOOL_TERM_LANE_0(j) (CYPOOL_TERM_OUT(VEC * LN + (j), 0) - VEC_BASE)
#define CYPOOL_TERM_LANE_1(j) (CYPOOL_TERM_OUT(VEC * LN + (j), 1) - VEC_BASE)
#define CYPOOL_TERM_COLUMN_0(j) CYPOOL_TERM_COLUMN(VEC * LN + (j), 0)
#define CYPOOL_TERM_COLUMN_1(j) CYPOOL_TERM_COLUMN(VEC * LN + (j), 1)
#define CYPOOL_TERM_LIVE_0(j) CYPOOL_TERM_LIVE(VEC * LN + (j), 0)
#define CYPOOL_TERM_LIVE_1(j) CYPOOL_TERM_LIVE(VEC * LN + (j), 1)
/* term k of vector VEC: its grads grad_k and ordinals less columns won_k, from the
   output lanes gs, ws and the vectors after them (the lanes of 3-4 double channels in
   32-byte vectors reach into the next; the others' leave those loads unused) */
#define CYPOOL_GRAD_TERM(LANES, k)                                                     \
    const M column_##k = {CYPOOL_LIST(LANES, CYPOOL_TERM_COLUMN_##k)};                 \
    const M live_##k = {CYPOOL_LIST(LANES, CYPOOL_TERM_LIVE_##k)};                     \
    const M grad_##k = live_##k & (M)__builtin_shufflevector(                          \
                                      gs, gs_on, CYPOOL_LIST(LANES, CYPOOL_TERM_LANE_##k)); \
    const M won_##k =                                                                  \
        __builtin_shufflevector(ws, ws_on, CYPOOL_LIST(LANES, CYPOOL_TERM_LANE_##k)) - column_##k;
/* a dx vector's lanes: all of them, or (the last period) the first n_left - VEC * LN,
   by masked loads and stores (no lane past the span read or written: the lanes past
   it can be another thread's rows) */
#define CYPOOL_DX_WHOLE_LOAD(T, at) (*(const V *)(at))
#define CYPOOL_DX_WHOLE_STORE(T, at, v) (*(V *)(at) = (v))
#define CYPOOL_DX_MASKED_LOAD(T, at)                                                   \
    CYPOOL_MASKED_LOAD_##T(CYPOOL_LANES_MASK_##T(CYPOOL_MIN(n_left - VEC * LN, LN)), (at))
#define CYPOOL_DX_MASKED_STORE(T, at, v)                                               \
    CYPOOL_MASKED_STORE_##T((at), CYPOOL_LANES_MASK_##T(CYPOOL_MIN(n_left - VEC * LN, LN)), (v))
/* vector v of the period at pixel lane P: its terms, then the adds of the live rows,
   each into its dst (ACCESS: WHOLE, or MASKED in the last period) */
#define CYPOOL_GRAD_PERIOD_VECTOR(T, LANES, v, ACCESS)                                 \
    if ((v) < PERIOD && (v) * LN < n_left) {                                           \
        enum { VEC = (v), VEC_BASE = CYPOOL_VEC_BASE };                                \
        V gs, gs_on;                                                                   \
        M ws, ws_on;                                                                   \
        memcpy(&gs, grad + P / 2 + VEC_BASE, sizeof(V));                               \
        memcpy(&gs_on, grad + P / 2 + VEC_BASE + LN, sizeof(V));                       \
        memcpy(&ws, won + P / 2 + VEC_BASE, sizeof(M));                               \
        memcpy(&ws_on, won + P / 2 + VEC_BASE + LN, sizeof(M));                       \
        CYPOOL_GRAD_TERM(LANES, 0)                                                     \
        CYPOOL_GRAD_TERM(LANES, 1)                                                     \
        for (Py_ssize_t r_ = 0; r_ < n_live; r_++) {                                   \
            T *at = live_row[r_] + P + VEC * LN;                                       \
            const M want = (M){0} + live_want[r_];                                     \
            V acc = CYPOOL_DX_##ACCESS##_LOAD(T, at);                                  \
            acc += (V)(grad_0 & (won_0 == want));                                      \
            if (K > 1) acc += (V)(grad_1 & (won_1 == want));                           \
            CYPOOL_DX_##ACCESS##_STORE(T, at, acc);                                    \
        }                                                                              \
    }
#define CYPOOL_GRAD_PERIOD(T, LANES, ACCESS)                                           \
    do {                                                                               \
        CYPOOL_GRAD_PERIOD_VECTOR(T, LANES, 0, ACCESS)                                 \
        CYPOOL_GRAD_PERIOD_VECTOR(T, LANES, 1, ACCESS)                                 \
        CYPOOL_GRAD_PERIOD_VECTOR(T, LANES, 2, ACCESS)                                 \
    } while (0)
#define CYPOOL_MAX_GRAD_SPAN2(T, IT, LANES, CHANNELS, WIDTH)                           \
    static CYPOOL_NOINLINE int cypool_max_grad_span2_##T##_##CHANNELS##_##WIDTH(        \
        T *const *dx_row, const T *x, const T *g, const int64_t *tap_offset,           \
        Py_ssize_t n_rows, Py_ssize_t n_span, T *g_wide, void *winner)                 \
    {                                                                                  \
        enum { CH = CHANNELS, NW = WIDTH, LN = LANES, K = (NW + 1) / 2, KO = NW / 2,   \
               BACK = (NW - 1) / 2,                                                    \
               PERIOD = CH == 3 ? 3 : (2 * CH > LN ? 2 * CH / LN : 1) };               \
        typedef cypool_##T##_vec V;                                                    \
        typedef cypool_##T##_mask M;                                                   \
        const Py_ssize_t n_out = n_span * CH, n_dx = (2 * n_span - 2 + NW) * CH;       \
        const Py_ssize_t n_after = PERIOD * LN / 2 + 2 * LN + 2 * CH; /* read past */  \
        /* output order, with no grad and no winner BACK outputs before, n_after after */ \
        T *grad = g_wide + BACK * CH;                                                  \
        IT *won = (IT *)winner + BACK * CH;                                            \
        Py_ssize_t i, P, n_live = 0;                                                   \
        for (i = -BACK * CH; i < 0; i++) { grad[i] = 0; won[i] = -1; }                 \
        for (i = n_out; i < n_out + n_after; i++) grad[i] = 0;                         \
        memcpy(grad, g, n_out * sizeof(T));                                            \
        cypool_span2_winners_##T##_##CHANNELS(x, tap_offset, n_rows * NW, n_span, won); \
        for (i = n_out; i < n_out + n_after; i++) won[i] = -1; /* after its last block */ \
        T *live_row[CYPOOL_SPAN_ROWS];                                                 \
        IT live_want[CYPOOL_SPAN_ROWS];                                                \
        for (Py_ssize_t r = 0; r < n_rows; r++)                                        \
            if (dx_row[r] != NULL) {                                                   \
                live_row[n_live] = dx_row[r];                                          \
                live_want[n_live++] = (IT)(r * NW);                                    \
            }                                                                          \
        Py_ssize_t n_left = PERIOD * LN;                                               \
        for (P = 0; P + PERIOD * LN <= n_dx; P += PERIOD * LN)                         \
            CYPOOL_GRAD_PERIOD(T, LANES, WHOLE);                                       \
        n_left = n_dx - P;                                                             \
        if (n_left > 0)                                                                \
            CYPOOL_GRAD_PERIOD(T, LANES, MASKED);                                      \
        return 1;                                                                      \
    }
#define CYPOOL_GRAD_SPAN2_CASE(T, CHANNELS, WIDTH)                                     \
    case (CHANNELS) * 4 + (WIDTH):                                                     \
        return cypool_max_grad_span2_##T##_##CHANNELS##_##WIDTH(dx_row, x, g, tap_offset, \
                                                                n_rows, n_span, g_wide, winner);
#define CYPOOL_GRAD_SPAN2_FUNCTIONS(T, IT, LANES, CHANNELS)                            \
    CYPOOL_SPAN2_WINNERS(T, IT, LANES, CHANNELS)                                       \
    CYPOOL_MAX_GRAD_SPAN2(T, IT, LANES, CHANNELS, 2)                                   \
    CYPOOL_MAX_GRAD_SPAN2(T, IT, LANES, CHANNELS, 3)
#define CYPOOL_MAX_GRAD_SPAN2_ANY(T, IT, LANES)                                        \
    CYPOOL_GRAD_SPAN2_FUNCTIONS(T, IT, LANES, 1)                                       \
    CYPOOL_GRAD_SPAN2_FUNCTIONS(T, IT, LANES, 2)                                       \
    CYPOOL_GRAD_SPAN2_FUNCTIONS(T, IT, LANES, 3)                                       \
    CYPOOL_GRAD_SPAN2_FUNCTIONS(T, IT, LANES, 4)                                       \
    CYPOOL_EIGHT_##T(CYPOOL_GRAD_SPAN2_FUNCTIONS(T, IT, LANES, 8))                     \
    static inline int cypool_max_grad_span2_##T(                                       \
        T *const *dx_row, const T *x, const T *g, const int64_t *tap_offset,           \
        Py_ssize_t n_rows, Py_ssize_t n_w, Py_ssize_t n_span, Py_ssize_t n, T *g_wide, \
        void *winner)                                                                  \
    {                                                                                  \
        switch (n * 4 + n_w) {                                                         \
            CYPOOL_GRAD_SPAN2_CASE(T, 1, 2) CYPOOL_GRAD_SPAN2_CASE(T, 1, 3)            \
            CYPOOL_GRAD_SPAN2_CASE(T, 2, 2) CYPOOL_GRAD_SPAN2_CASE(T, 2, 3)            \
            CYPOOL_GRAD_SPAN2_CASE(T, 3, 2) CYPOOL_GRAD_SPAN2_CASE(T, 3, 3)            \
            CYPOOL_GRAD_SPAN2_CASE(T, 4, 2) CYPOOL_GRAD_SPAN2_CASE(T, 4, 3)            \
            CYPOOL_EIGHT_##T(CYPOOL_GRAD_SPAN2_CASE(T, 8, 2) CYPOOL_GRAD_SPAN2_CASE(T, 8, 3)) \
        }                                                                              \
        return 0;                                                                      \
    }
#else
#define CYPOOL_MAX_GRAD_SPAN2_ANY(T, IT, LANES)                                        \
    static inline int cypool_max_grad_span2_##T(                                       \
        T *const *dx_row, const T *x, const T *g, const int64_t *tap_offset,           \
        Py_ssize_t n_rows, Py_ssize_t n_w, Py_ssize_t n_span, Py_ssize_t n, T *g_wide, \
        void *winner)                                                                  \
    {                                                                                  \
        (void)dx_row; (void)x; (void)g; (void)tap_offset; (void)n_rows; (void)n_w;    \
        (void)n_span; (void)n; (void)g_wide; (void)winner;                             \
        return 0;                                                                      \
    }
#endif
#define CYPOOL_NO_GRAD_SPAN2(dx_row, x, g, tap_offset, n_rows, n_w, n_span, n, g_wide, winner) 0
#define CYPOOL_MAX_GRAD_SPAN(T, IT, LANES, SPAN2)                                             \
    static CYPOOL_NOINLINE void cypool_max_grad_span_##T(                              \
        T *const *dx_row, const T *x, const T *g, const int64_t *tap_offset,           \
        Py_ssize_t n_rows, Py_ssize_t n_w, Py_ssize_t step, Py_ssize_t n_span,         \
        Py_ssize_t n, T *g_wide, void *winner)                                         \
    {                                                                                  \
        if (step == 2 && SPAN2(dx_row, x, g, tap_offset, n_rows, n_w, n_span, n, g_wide, \
                               winner))                                                \
            return;                                                                    \
        CYPOOL_SPAN_TYPES(T)                                                           \
        const Py_ssize_t n_taps = n_rows * n_w, lead = (n_w - 1) * n;                  \
        const Py_ssize_t n_line = ((n_span - 1) * step + 1) * n, n_dx = n_line + lead; \
        IT *won = (IT *)winner + lead; /* won[-lead .. n_dx): no window there, -1 */   \
        T *spread = g_wide + lead;     /* grad at its window's first pixel, else 0 */  \
        Py_ssize_t i;                                                                  \
        for (i = -lead; i < 0; i++) { won[i] = -1; spread[i] = 0; }                    \
        for (i = n_line; i < n_dx; i++) { won[i] = -1; spread[i] = 0; }                \
        if (step == 1) {                                                               \
            memcpy(spread, g, n_line * sizeof(T));                                     \
        } else {                                                                       \
            switch (n) {                                                               \
            case 1: CYPOOL_SPREAD2(1); break;                                          \
            case 2: CYPOOL_SPREAD2(2); break;                                          \
            case 3: CYPOOL_SPREAD2(3); break;                                          \
            case 4: CYPOOL_SPREAD2(4); break;                                          \
            default: CYPOOL_SPREAD2(n);                                                \
            }                                                                          \
        }                                                                              \
        cypool_span_winners_##T(x, tap_offset, n_taps, n_line, won);                   \
        for (Py_ssize_t r = 0; r < n_rows; r++) {                                      \
            T *d = dx_row[r];                                                          \
            if (d == NULL) continue;                                                   \
            switch (n_w) {                                                             \
            case 2: CYPOOL_SPAN_ROW_ADDS(T, IT, LANES, 2); break;                      \
            case 3: CYPOOL_SPAN_ROW_ADDS(T, IT, LANES, 3); break;                      \
            default: CYPOOL_SPAN_ROW_ADDS(T, IT, LANES, n_w);                          \
            }                                                                          \
        }                                                                              \
    }
#define CYPOOL_MAX_HELPERS(T, IT, LANES)                                               \
    CYPOOL_VECTOR_TYPES(T, IT)                                                         \
    CYPOOL_SCATTER_ADD(T, int32_t)                                                     \
    CYPOOL_SCATTER_ADD(T, int64_t)                                                     \
    CYPOOL_ARGMAX_TAP(T)                                                               \
    CYPOOL_SPAN_WINNERS(T, IT)                                                         \
    CYPOOL_MAX_CELL(T)                                                                 \
    CYPOOL_MAX_ROWS_GROUP(T)                                                           \
    CYPOOL_MAX_STRIDE2(T, LANES)                                                       \
    CYPOOL_MAX_ROWS_STRIDE2(T, IT, LANES, 1)                                           \
    CYPOOL_MAX_ROWS_STRIDE2(T, IT, LANES, 2)                                           \
    CYPOOL_MAX_ROWS_STRIDE2(T, IT, LANES, 3)                                           \
    CYPOOL_MAX_ROWS_STRIDE2(T, IT, LANES, 4)                                           \
    CYPOOL_EIGHT_##T(CYPOOL_MAX_ROWS_STRIDE2(T, IT, LANES, 8))

CYPOOL_MAX_HELPERS(float, int32_t, CYPOOL_LANES4)
CYPOOL_MAX_HELPERS(double, int64_t, CYPOOL_LANES8)
CYPOOL_MAX_HELPERS(int8_t, int8_t, CYPOOL_LANES1)
CYPOOL_MAX_HELPERS(uint8_t, int8_t, CYPOOL_LANES1)
CYPOOL_MAX_HELPERS(int16_t, int16_t, CYPOOL_LANES2)
CYPOOL_MAX_HELPERS(uint16_t, int16_t, CYPOOL_LANES2)
CYPOOL_MAX_HELPERS(int32_t, int32_t, CYPOOL_LANES4)
CYPOOL_MAX_HELPERS(uint32_t, int32_t, CYPOOL_LANES4)
CYPOOL_MAX_HELPERS(int64_t, int64_t, CYPOOL_LANES8)
CYPOOL_MAX_HELPERS(uint64_t, int64_t, CYPOOL_LANES8)
CYPOOL_MAX_GRAD_SPAN2_ANY(float, int32_t, CYPOOL_LANES4)
CYPOOL_MAX_GRAD_SPAN2_ANY(double, int64_t, CYPOOL_LANES8)
CYPOOL_MAX_GRAD_SPAN(float, int32_t, CYPOOL_LANES4, cypool_max_grad_span2_float)
CYPOOL_MAX_GRAD_SPAN(double, int64_t, CYPOOL_LANES8, cypool_max_grad_span2_double)
CYPOOL_MAX_GRAD_SPAN(int8_t, int8_t, CYPOOL_LANES1, CYPOOL_NO_GRAD_SPAN2)
CYPOOL_MAX_GRAD_SPAN(uint8_t, int8_t, CYPOOL_LANES1, CYPOOL_NO_GRAD_SPAN2)
CYPOOL_MAX_GRAD_SPAN(int16_t, int16_t, CYPOOL_LANES2, CYPOOL_NO_GRAD_SPAN2)
CYPOOL_MAX_GRAD_SPAN(uint16_t, int16_t, CYPOOL_LANES2, CYPOOL_NO_GRAD_SPAN2)
CYPOOL_MAX_GRAD_SPAN(int32_t, int32_t, CYPOOL_LANES4, CYPOOL_NO_GRAD_SPAN2)
CYPOOL_MAX_GRAD_SPAN(uint32_t, int32_t, CYPOOL_LANES4, CYPOOL_NO_GRAD_SPAN2)
CYPOOL_MAX_GRAD_SPAN(int64_t, int64_t, CYPOOL_LANES8, CYPOOL_NO_GRAD_SPAN2)
CYPOOL_MAX_GRAD_SPAN(uint64_t, int64_t, CYPOOL_LANES8, CYPOOL_NO_GRAD_SPAN2)
CYPOOL_ARGMAX_SPAN2_ANY(float, int32_t, INT32_MAX, CYPOOL_LANES4, HALVES)
CYPOOL_ARGMAX_SPAN2_ANY(double, int64_t, INT64_MAX, CYPOOL_LANES8, WHOLE)
CYPOOL_ARGMAX_SPAN(float, int32_t, cypool_argmax_span2_float)
CYPOOL_ARGMAX_SPAN(double, int64_t, cypool_argmax_span2_double)
CYPOOL_ARGMAX_SPAN(int8_t, int8_t, CYPOOL_NO_SPAN2)
CYPOOL_ARGMAX_SPAN(uint8_t, int8_t, CYPOOL_NO_SPAN2)
CYPOOL_ARGMAX_SPAN(int16_t, int16_t, CYPOOL_NO_SPAN2)
CYPOOL_ARGMAX_SPAN(uint16_t, int16_t, CYPOOL_NO_SPAN2)
CYPOOL_ARGMAX_SPAN(int32_t, int32_t, CYPOOL_NO_SPAN2)
CYPOOL_ARGMAX_SPAN(uint32_t, int32_t, CYPOOL_NO_SPAN2)
CYPOOL_ARGMAX_SPAN(int64_t, int64_t, CYPOOL_NO_SPAN2)
CYPOOL_ARGMAX_SPAN(uint64_t, int64_t, CYPOOL_NO_SPAN2)
CYPOOL_AVG_CELL(float)
CYPOOL_MAX_CELLS_NAN_FREE(float)
CYPOOL_MAX_CELLS_NAN_FREE(double)
CYPOOL_ARGMAX_CELL(float, CYPOOL_ARGMAX_VECTORS(float, int32_t, INT32_MAX, HALVES))
CYPOOL_ARGMAX_CELL(double, CYPOOL_ARGMAX_VECTORS(double, int64_t, INT64_MAX, WHOLE))
CYPOOL_ARGMAX_CELL(int8_t, )
CYPOOL_ARGMAX_CELL(uint8_t, )
CYPOOL_ARGMAX_CELL(int16_t, )
CYPOOL_ARGMAX_CELL(uint16_t, )
CYPOOL_ARGMAX_CELL(int32_t, )
CYPOOL_ARGMAX_CELL(uint32_t, )
CYPOOL_ARGMAX_CELL(int64_t, )
CYPOOL_ARGMAX_CELL(uint64_t, )
CYPOOL_AVG_CELL(double)
CYPOOL_AVG_ROWS_STRIDE2(float, CYPOOL_LANES4, 1)
CYPOOL_AVG_ROWS_STRIDE2(float, CYPOOL_LANES4, 2)
CYPOOL_AVG_ROWS_STRIDE2(float, CYPOOL_LANES4, 3)
CYPOOL_AVG_ROWS_STRIDE2(float, CYPOOL_LANES4, 4)
CYPOOL_AVG_ROWS_STRIDE2(double, CYPOOL_LANES8, 1)
CYPOOL_AVG_ROWS_STRIDE2(double, CYPOOL_LANES8, 2)
CYPOOL_AVG_ROWS_STRIDE2(double, CYPOOL_LANES8, 3)
CYPOOL_AVG_ROWS_STRIDE2(double, CYPOOL_LANES8, 4)
CYPOOL_MAX_GRAD_CELL(float, int32_t)
CYPOOL_MAX_GRAD_CELL(double, int64_t)
CYPOOL_GATHER_ROW(float)
CYPOOL_GATHER_ROW(double)
CYPOOL_GATHER_ROW_FEW(float, uint32_t, ps, __mmask16)
CYPOOL_GATHER_ROW_FEW(double, uint64_t, pd, __mmask8)

/* ---- one entry per helper for Cython: dtype codes in the order of max_t's fused types
   (_fused_types.pxd); with a constant code (Cython inlines dtype_code) the switch
   folds away */
#define CYPOOL_MAX_TYPES(X) X(float, 0) X(double, 1) X(int8_t, 2) X(uint8_t, 3)        \
    X(int16_t, 4) X(uint16_t, 5) X(int32_t, 6) X(uint32_t, 7) X(int64_t, 8) X(uint64_t, 9)
#define CYPOOL_FLOAT_TYPES(X) X(float, 0) X(double, 1)

#define CYPOOL_CASE_MAX_CELL(T, code)                                                  \
    case code:                                                                         \
        cypool_max_cell_##T((const T *)base, (T *)out, tap_offset, n_taps, n, stream); \
        break;
#define CYPOOL_ROWS_STRIDE2_ARGS(T)                                                    \
    (T *)out, (const T *)src, row_offset, n_rows, n_w, n, clipped, n_out, out_step,    \
    src_step, ahead, new_bytes
#define CYPOOL_ROWS_STRIDE2_CHANNELS(NAME, T, EXTRA, EIGHT)                            \
    switch (channels) {                                                                \
    case 1: return NAME##_##T##_1(CYPOOL_ROWS_STRIDE2_ARGS(T) CYPOOL_UNPAREN EXTRA);   \
    case 2: return NAME##_##T##_2(CYPOOL_ROWS_STRIDE2_ARGS(T) CYPOOL_UNPAREN EXTRA);   \
    case 3: return NAME##_##T##_3(CYPOOL_ROWS_STRIDE2_ARGS(T) CYPOOL_UNPAREN EXTRA);   \
    case 4: return NAME##_##T##_4(CYPOOL_ROWS_STRIDE2_ARGS(T) CYPOOL_UNPAREN EXTRA);   \
    EIGHT(case 8: return NAME##_##T##_8(CYPOOL_ROWS_STRIDE2_ARGS(T) CYPOOL_UNPAREN EXTRA);) \
    }
#define CYPOOL_CASE_MAX_ROWS_STRIDE2(T, code)                                          \
    case code:                                                                         \
        CYPOOL_ROWS_STRIDE2_CHANNELS(cypool_max_rows_stride2, T, (), CYPOOL_EIGHT_##T) \
        break;
#define CYPOOL_CASE_AVG_ROWS_STRIDE2(T, code)                                          \
    case code:                                                                         \
        CYPOOL_ROWS_STRIDE2_CHANNELS(cypool_avg_rows_stride2, T,                       \
                                     (, (T)divisor, (T)clipped_divisor),               \
                                     CYPOOL_WITHOUT_EIGHT) /* (cell by cell) */        \
        break;
#define CYPOOL_CASE_MAX_STRIDE2(T, code)                                               \
    case code: cypool_max_stride2_##T((T *)out, (const T *)src, tap_offset, n_taps, n); break;
#define CYPOOL_CASE_ARGMAX_CELL(T, code)                                               \
    case code:                                                                         \
        cypool_argmax_cell_##T((const T *)base, (T *)out, index, tap_offset, n_taps, n, \
                               index_base, stream);                                    \
        break;
#define CYPOOL_CASE_MAX_CELLS(T, code)                                                 \
    case code:                                                                         \
        cypool_max_cells_##T((const T *)base, (T *)out, tap_offset, n_taps, n, n_cells, \
                             cell_step, ahead, n_ahead, stream);                       \
        break;
#define CYPOOL_CASE_AVG_CELLS(T, code)                                                 \
    case code:                                                                         \
        cypool_avg_cells_##T((T *)out, (const T *)base, tap_offset, n_taps, n, n_cells, \
                             cell_step, ahead, n_ahead, (T)divisor, stream);           \
        break;
#define CYPOOL_CASE_AVG_CELL(T, code)                                                  \
    case code:                                                                         \
        cypool_avg_cell_##T((T *)out, (const T *)base, tap_offset, n_taps, n, (T)divisor, \
                            stream);                                                   \
        break;
#define CYPOOL_CASE_GATHER_ROW(T, code)                                                \
    case code:                                                                         \
        cypool_gather_row_##T((T *)dst, (const T *)grad, pair_offset,                  \
                              (const T *)pair_scale, n_pairs, cover_first, cover_output, \
                              in_w, out_w, n, offset, (T *)scale, stream);             \
        break;

/* narrow[i] = wide[i] for argmax indices that fit int32, i < n: two index vectors
   converted and joined into one (streamed when asked) */
static inline void cypool_narrow_indices(const int64_t *wide, int32_t *narrow,
                                         Py_ssize_t n, int stream)
{
    Py_ssize_t i = 0;
    (void)stream;
#if defined(CYPOOL_HAVE_VECTORS) && defined(CYPOOL_HAVE_SHUFFLE) && defined(CYPOOL_HAVE_CONVERT)
    typedef int32_t half __attribute__((vector_size(CYPOOL_VECTOR_BYTES / 2)));
    typedef int32_t V __attribute__((vector_size(CYPOOL_VECTOR_BYTES), aligned(4), may_alias));
    for (; i + CYPOOL_LANES4 <= n; i += CYPOOL_LANES4) {
        half low = __builtin_convertvector(*(const cypool_index_vec *)(wide + i), half);
        half high = __builtin_convertvector(
            *(const cypool_index_vec *)(wide + i + CYPOOL_LANES8), half);
        CYPOOL_PUT(V, narrow + i,
                   __builtin_shufflevector(low, high, CYPOOL_LIST(CYPOOL_LANES4, CYPOOL_LOW)));
    }
#endif
    for (; i < n; i++) narrow[i] = (int32_t)wide[i];
}

static inline void cypool_max_cell(int dtype, const void *base, void *out,
                                   const int64_t *tap_offset, Py_ssize_t n_taps, Py_ssize_t n,
                                   int stream)
{
    switch (dtype) { CYPOOL_MAX_TYPES(CYPOOL_CASE_MAX_CELL) }
}

#define CYPOOL_CASE_MAX_ROWS_GROUP(T, code)                                            \
    case code:                                                                         \
        return cypool_max_rows_group_##T((const T *)base, row_offset, (T *)out,        \
                                         out_stride, n_group, n_window, n, stream,     \
                                         ahead, nan_free);
static inline int cypool_max_rows_group(int dtype, const void *base,
                                        const int64_t *row_offset, void *out,
                                        Py_ssize_t out_stride, Py_ssize_t n_group,
                                        Py_ssize_t n_window, Py_ssize_t n, int stream,
                                        Py_ssize_t ahead, int nan_free)
{
    switch (dtype) { CYPOOL_MAX_TYPES(CYPOOL_CASE_MAX_ROWS_GROUP) }
    return 1;
}

#define CYPOOL_CASE_SCATTER_ADD(T, code)                                               \
    case code:                                                                         \
        return wide ? cypool_scatter_add_##T##_int64_t((T *)dx, (const T *)g,          \
                                                       (const int64_t *)index, n, base, \
                                                       lo, hi, zeroed)                  \
                    : cypool_scatter_add_##T##_int32_t((T *)dx, (const T *)g,          \
                                                       (const int32_t *)index, n, base, \
                                                       lo, hi, zeroed);
static inline int64_t cypool_scatter_add(int dtype, int wide, void *dx, const void *g,
                                         const void *index, Py_ssize_t n, int64_t base,
                                         int64_t lo, int64_t hi, int64_t zeroed)
{
    switch (dtype) { CYPOOL_MAX_TYPES(CYPOOL_CASE_SCATTER_ADD) }
    return zeroed;
}

#define CYPOOL_CASE_MAX_GRAD_SPAN(T, code)                                             \
    case code:                                                                         \
        cypool_max_grad_span_##T((T *const *)dx_row, (const T *)x, (const T *)g,        \
                                 tap_offset, n_rows, n_w, step, n_span, n, (T *)g_wide, \
                                 winner);                                              \
        break;
#define CYPOOL_CASE_ARGMAX_SPAN(T, code)                                               \
    case code:                                                                         \
        cypool_argmax_span_##T((T *)out, index, (const T *)x, tap_offset, n_taps, step, \
                               n_span, n, index_base, winner);                         \
        break;
static inline void cypool_argmax_span(int dtype, void *out, int64_t *index, const void *x,
                                      const int64_t *tap_offset, Py_ssize_t n_taps,
                                      Py_ssize_t step, Py_ssize_t n_span, Py_ssize_t n,
                                      int64_t index_base, void *winner)
{
    switch (dtype) { CYPOOL_MAX_TYPES(CYPOOL_CASE_ARGMAX_SPAN) }
}
static inline void cypool_max_grad_span(int dtype, void *const *dx_row, const void *x,
                                        const void *g, const int64_t *tap_offset,
                                        Py_ssize_t n_rows, Py_ssize_t n_w, Py_ssize_t step,
                                        Py_ssize_t n_span, Py_ssize_t n, void *g_wide,
                                        void *winner)
{
    switch (dtype) { CYPOOL_MAX_TYPES(CYPOOL_CASE_MAX_GRAD_SPAN) }
}

static inline void cypool_max_stride2(int dtype, void *out, const void *src,
                                      const int64_t *tap_offset, Py_ssize_t n_taps,
                                      Py_ssize_t n)
{
    switch (dtype) { CYPOOL_MAX_TYPES(CYPOOL_CASE_MAX_STRIDE2) }
}

static inline int cypool_max_rows_stride2(int dtype, int channels, void *out,
                                          const void *src, const int64_t *row_offset,
                                          Py_ssize_t n_rows, Py_ssize_t n_w, Py_ssize_t n,
                                          int clipped, Py_ssize_t n_out, Py_ssize_t out_step,
                                          Py_ssize_t src_step, Py_ssize_t ahead,
                                          Py_ssize_t new_bytes)
{
    switch (dtype) { CYPOOL_MAX_TYPES(CYPOOL_CASE_MAX_ROWS_STRIDE2) }
    return 0;
}

/* floats only: other codes do nothing; returns 0 (it shares the max's dispatch, whose
   result is its -0.0 flag) */
static inline int cypool_avg_rows_stride2(int dtype, int channels, void *out, const void *src,
                                          const int64_t *row_offset, Py_ssize_t n_rows,
                                          Py_ssize_t n_w, Py_ssize_t n, int clipped,
                                          Py_ssize_t n_out, Py_ssize_t out_step,
                                          Py_ssize_t src_step, Py_ssize_t ahead,
                                          Py_ssize_t new_bytes, double divisor,
                                          double clipped_divisor)
{
    switch (dtype) { CYPOOL_FLOAT_TYPES(CYPOOL_CASE_AVG_ROWS_STRIDE2) }
    return 0;
}

static inline void cypool_argmax_cell(int dtype, const void *base, void *out, int64_t *index,
                                      const int64_t *tap_offset, Py_ssize_t n_taps,
                                      Py_ssize_t n, int64_t index_base, int stream)
{
    switch (dtype) { CYPOOL_MAX_TYPES(CYPOOL_CASE_ARGMAX_CELL) }
}

/* n_cells cells of n channels, cell i reading base + i * cell_step and writing
   out + i * n (cypool_max_cell and cypool_avg_cell a block at a time), asking first
   for elements [ahead[r] + i * cell_step, + cell_step) from base, r < n_ahead */
static inline void cypool_max_cells(int dtype, const void *base, void *out,
                                    const int64_t *tap_offset, Py_ssize_t n_taps,
                                    Py_ssize_t n, Py_ssize_t n_cells, Py_ssize_t cell_step,
                                    const int64_t *ahead, Py_ssize_t n_ahead, int stream)
{
    switch (dtype) { CYPOOL_MAX_TYPES(CYPOOL_CASE_MAX_CELLS) }
}
#define CYPOOL_CASE_MAX_CELLS_NAN_FREE(T, code)                                        \
    case code:                                                                         \
        cypool_max_cells_nan_free_##T((const T *)base, (T *)out, tap_offset, n_taps, n, \
                                      n_cells, cell_step);                             \
        break;
/* cypool_max_cells (no prefetches, no streaming) where no tap is NaN, floats only:
   other codes do nothing */
static inline void cypool_max_cells_nan_free(int dtype, const void *base, void *out,
                                             const int64_t *tap_offset, Py_ssize_t n_taps,
                                             Py_ssize_t n, Py_ssize_t n_cells,
                                             Py_ssize_t cell_step)
{
    switch (dtype) { CYPOOL_FLOAT_TYPES(CYPOOL_CASE_MAX_CELLS_NAN_FREE) }
}

/* floats only: other codes do nothing */
static inline void cypool_avg_cells(int dtype, const void *base, void *out,
                                    const int64_t *tap_offset, Py_ssize_t n_taps,
                                    Py_ssize_t n, Py_ssize_t n_cells, Py_ssize_t cell_step,
                                    const int64_t *ahead, Py_ssize_t n_ahead, double divisor,
                                    int stream)
{
    switch (dtype) { CYPOOL_FLOAT_TYPES(CYPOOL_CASE_AVG_CELLS) }
}

static inline void cypool_avg_cell(int dtype, const void *base, void *out,
                                   const int64_t *tap_offset, Py_ssize_t n_taps, Py_ssize_t n,
                                   double divisor, int stream)
{
    switch (dtype) { CYPOOL_FLOAT_TYPES(CYPOOL_CASE_AVG_CELL) }
}

#define CYPOOL_CASE_MAX_GRAD_CELL(T, code)                                             \
    case code:                                                                         \
        cypool_max_grad_cell_##T((const T *)x, (T *)dx, (const T *)g, tap_offset, n_taps, n); \
        break;
/* floats only: other codes do nothing */
static inline void cypool_max_grad_cell(int dtype, const void *x, void *dx, const void *g,
                                        const int64_t *tap_offset, Py_ssize_t n_taps,
                                        Py_ssize_t n)
{
    switch (dtype) { CYPOOL_FLOAT_TYPES(CYPOOL_CASE_MAX_GRAD_CELL) }
}

#define CYPOOL_CASE_GATHER_ROW_FEW(T, code)                                            \
    case code:                                                                         \
        cypool_gather_row_few_##T((T *)dst, (const T *)scaled, pair_row, n_pairs,      \
                                  slot_source, slot_base, slot_rel, slot_have,         \
                                  slot_run, n_slots, n, (T *)acc, stream);             \
        break;
#define CYPOOL_CASE_SCALE_ROW(T, code)                                                 \
    case code:                                                                         \
        cypool_scale_row_##T((T *)dst, (const T *)src, (const T *)scale, n);           \
        break;
#define CYPOOL_CASE_GATHER_BASES(T, code)                                              \
    case code:                                                                         \
        cypool_gather_bases_##T(slot_source, n_slots, n, base, rel, have, run);        \
        break;
static inline void cypool_gather_bases(int dtype, const int32_t *slot_source,
                                       Py_ssize_t n_slots, Py_ssize_t n, int32_t *base,
                                       int32_t *rel, uint16_t *have, int32_t *run)
{
    switch (dtype) { CYPOOL_FLOAT_TYPES(CYPOOL_CASE_GATHER_BASES) }
}
static inline void cypool_gather_row_few(int dtype, void *dst, const void *scaled,
                                         const int64_t *pair_row, Py_ssize_t n_pairs,
                                         const int32_t *slot_source, const int32_t *slot_base,
                                         const int32_t *slot_rel, const uint16_t *slot_have,
                                         const int32_t *slot_run, Py_ssize_t n_slots,
                                         Py_ssize_t n, void *acc, int stream)
{
    switch (dtype) { CYPOOL_FLOAT_TYPES(CYPOOL_CASE_GATHER_ROW_FEW) }
}
static inline void cypool_scale_row(int dtype, void *dst, const void *src, const void *scale,
                                    Py_ssize_t n)
{
    switch (dtype) { CYPOOL_FLOAT_TYPES(CYPOOL_CASE_SCALE_ROW) }
}

static inline void cypool_gather_row(int dtype, void *dst, const void *grad,
                                     const int64_t *pair_offset, const void *pair_scale,
                                     Py_ssize_t n_pairs, const int64_t *cover_first,
                                     const int64_t *cover_output, Py_ssize_t in_w,
                                     Py_ssize_t out_w, Py_ssize_t n, int64_t *offset,
                                     void *scale, int stream)
{
    switch (dtype) { CYPOOL_FLOAT_TYPES(CYPOOL_CASE_GATHER_ROW) }
}

/* ---- the argmax and max gradient of windows many rows tall, rows first -------------
 * Each window's argmax is its first row's first maximum among its rows' maxima (the
 * first maximum in row-major order, a NaN counting as the greatest and the first NaN
 * staying: SPEC), so a row's first maximum along W under each output column is found
 * once, into a ring of the last rows, and shared by every output row whose windows
 * take that row (5x5/1: one row pass and one pass over 5 row results a cell instead
 * of 25 taps).  max_pool_with_argmax stores each lane's maximum and flat index; the
 * max gradient adds each lane's gradient at its own tap by a gather and a scatter
 * (the lanes are distinct channels, so they never collide), output by output in
 * row-major order as elsewhere.  float32, channels a multiple of a vector's lanes;
 * cypool_ring_ok says whether this build has it.  AVX-512 picks lanes under mask
 * registers and adds by a gather and a scatter; other vector builds pick with lane
 * masks and add lane by lane (AVX2 has no scatter; cell by cell, SPPF's 5x5/1 max
 * gradient took 6x its floor there, its argmax 4x the max forward's time). */
typedef struct {
    void *value;     /* size slots of out_w * n: each row's first maxima (64-byte aligned) */
    int32_t *code;   /* ... and their taps' element offsets from the column's first tap */
    int64_t *row;    /* the row key each slot holds (-1: none) */
    Py_ssize_t size; /* slots: the most rows a window takes */
} cypool_ring;
#if defined(CYPOOL_HAVE_VECTORS)
#define CYPOOL_HAVE_RING 1
enum { cypool_ring_lanes = CYPOOL_VECTOR_BYTES / sizeof(float) };
typedef cypool_float_vec cypool_ring_value;
typedef cypool_float_mask cypool_ring_code; /* int32 lanes */
#if CYPOOL_VECTOR_BYTES == 64 && defined(__AVX512F__)
/* CYPOOL_ARGMAX_STEP under mask registers: a = v and o = delta in the lanes where v
   is taken over a (greater, or NaN while a is not) */
#define CYPOOL_RING_STEP(a, o, v, delta)                                               \
    do {                                                                               \
        __mmask16 take_ = _mm512_mask_cmp_ps_mask(                                     \
            _mm512_cmp_ps_mask((__m512)(a), (__m512)(a), _CMP_ORD_Q), (__m512)(v),     \
            (__m512)(a), _CMP_NLE_UQ);                                                 \
        (a) = (cypool_ring_value)_mm512_mask_blend_ps(take_, (__m512)(a), (__m512)(v)); \
        (o) = (cypool_ring_code)_mm512_mask_blend_epi32(take_, (__m512i)(o),           \
                                                        (__m512i)(delta));             \
    } while (0)
/* d[tap[l] + l] += gv[l] for each lane l (distinct channels: no collisions) */
#define CYPOOL_RING_ADD(d, tap, gv)                                                    \
    do {                                                                               \
        __m512i index_ = _mm512_add_epi32(                                             \
            (__m512i)(tap),                                                            \
            _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0));   \
        _mm512_i32scatter_ps((d), index_,                                              \
                             _mm512_add_ps(_mm512_i32gather_ps(index_, (d), 4),        \
                                           (__m512)(gv)), 4);                          \
    } while (0)
/* index[l] = base + l + tap[l] for each lane l, widened to int64 (CYPOOL_PUT: ``stream``
   in scope; cypool_index_vec, as index may be 8-byte aligned only) */
#define CYPOOL_RING_INDEX(index, base, tap)                                            \
    do {                                                                               \
        __m512i lane0_ = _mm512_add_epi64(_mm512_set1_epi64(base),                     \
                                          _mm512_set_epi64(7, 6, 5, 4, 3, 2, 1, 0));   \
        CYPOOL_PUT(cypool_index_vec, (index), (cypool_index_vec)_mm512_add_epi64(      \
            lane0_, _mm512_cvtepi32_epi64(_mm512_castsi512_si256((__m512i)(tap)))));   \
        CYPOOL_PUT(cypool_index_vec, (index) + 8, (cypool_index_vec)_mm512_add_epi64(  \
            _mm512_add_epi64(lane0_, _mm512_set1_epi64(8)),                            \
            _mm512_cvtepi32_epi64(_mm512_extracti64x4_epi64((__m512i)(tap), 1))));     \
    } while (0)
#else
#define CYPOOL_RING_STEP(a, o, v, delta) CYPOOL_ARGMAX_STEP(float, a, o, v, delta)
#define CYPOOL_RING_ADD(d, tap, gv)                                                    \
    do {                                                                               \
        for (int l_ = 0; l_ < cypool_ring_lanes; l_++)                                 \
            (d)[(tap)[l_] + l_] += (gv)[l_];                                           \
    } while (0)
#if CYPOOL_VECTOR_BYTES == 32 && defined(__AVX2__)
/* (AVX2: 3x3/1 over 256 channels took 1.19x the cell helpers' time lane by lane) */
#define CYPOOL_RING_INDEX(index, base, tap)                                            \
    do {                                                                               \
        __m256i lane0_ = _mm256_add_epi64(_mm256_set1_epi64x(base),                    \
                                          _mm256_set_epi64x(3, 2, 1, 0));              \
        CYPOOL_PUT(cypool_index_vec, (index), (cypool_index_vec)_mm256_add_epi64(      \
            lane0_, _mm256_cvtepi32_epi64(_mm256_castsi256_si128((__m256i)(tap)))));   \
        CYPOOL_PUT(cypool_index_vec, (index) + 4, (cypool_index_vec)_mm256_add_epi64(  \
            _mm256_add_epi64(lane0_, _mm256_set1_epi64x(4)),                           \
            _mm256_cvtepi32_epi64(_mm256_extracti128_si256((__m256i)(tap), 1))));      \
    } while (0)
#else
#define CYPOOL_RING_INDEX(index, base, tap)                                            \
    do {                                                                               \
        (void)stream; /* lane by lane: never streamed */                               \
        for (int l_ = 0; l_ < cypool_ring_lanes; l_++)                                 \
            (index)[l_] = (base) + l_ + (tap)[l_];                                     \
    } while (0)
#endif
#endif
/* U vectors of lanes at a time (4 in the loops below: four independent chains of
   compares in flight, as the cell helpers' CYPOOL_ARGMAX_BLOCK4), then one */
#define CYPOOL_RING_BLOCKS(n, c, BODY)                                                 \
    do {                                                                               \
        Py_ssize_t c = 0;                                                              \
        for (; c + 4 * cypool_ring_lanes <= (n); c += 4 * cypool_ring_lanes) BODY(4);  \
        for (; c < (n); c += cypool_ring_lanes) BODY(1);                               \
    } while (0)
/* a ring slot: for each output column ow and channel, the first maximum along W of
   the row at xr over the column's taps (values), and that tap's element offset from the
   column's first tap (codes); with ``next``, the same pixels of that row are asked
   for as they are reached (the next output row's new row: alone, the hardware
   prefetcher left the argmax of 8x40x40x256 5x5/1 at 1.6x its in-cache time) */
static void cypool_ring_row_float(const float *xr, float *value, int32_t *code,
                                  const int64_t *first_w, const int64_t *count_w,
                                  Py_ssize_t out_w, Py_ssize_t n, const float *next)
{
    const cypool_ring_code none = {0};
    Py_ssize_t fetched = 0; /* elements of next asked for */
    for (Py_ssize_t ow = 0; ow < out_w; ow++) {
        const float *base = xr + first_w[ow] * n;
        Py_ssize_t reach = (first_w[ow] + count_w[ow]) * n;
        if (next != NULL && reach > fetched) {
            cypool_prefetch(next, fetched * (Py_ssize_t)sizeof(float),
                            (reach - fetched) * (Py_ssize_t)sizeof(float));
            fetched = reach;
        }
#define CYPOOL_RING_ROW_BLOCK(U)                                                       \
        do {                                                                           \
            cypool_ring_value best[U];                                                 \
            cypool_ring_code at[U];                                                    \
            for (int u = 0; u < (U); u++) {                                            \
                best[u] = *(const cypool_ring_value *)(base + c + u * cypool_ring_lanes); \
                at[u] = none;                                                          \
            }                                                                          \
            for (int64_t t = 1; t < count_w[ow]; t++) {                                \
                cypool_ring_code delta = none + (int32_t)(t * n);                      \
                for (int u = 0; u < (U); u++) {                                        \
                    cypool_ring_value v = *(const cypool_ring_value *)(                \
                        base + t * n + c + u * cypool_ring_lanes);                     \
                    CYPOOL_RING_STEP(best[u], at[u], v, delta);                        \
                }                                                                      \
            }                                                                          \
            for (int u = 0; u < (U); u++) {                                            \
                Py_ssize_t at_ = ow * n + c + u * cypool_ring_lanes;                   \
                *(cypool_ring_value *)(value + at_) = best[u];                         \
                *(cypool_ring_code *)(code + at_) = at[u];                             \
            }                                                                          \
        } while (0)
        CYPOOL_RING_BLOCKS(n, c, CYPOOL_RING_ROW_BLOCK);
#undef CYPOOL_RING_ROW_BLOCK
    }
}
/* the ring's offsets (slot * out_w * n) of rows row_offset[0 .. n_rows) of x
   (consecutive, row_elements apart), each row's maxima found unless the ring holds
   them (rows are kept as key_base + row: planes must not share keys); the row after
   the last is prefetched (past the end of x on the last: a prefetch never faults) */
static void cypool_ring_rows_float(const float *x, const int64_t *row_offset,
                                   Py_ssize_t n_rows, Py_ssize_t row_elements,
                                   int64_t key_base, const int64_t *first_w,
                                   const int64_t *count_w, Py_ssize_t out_w, Py_ssize_t n,
                                   cypool_ring *ring, Py_ssize_t *slot_at)
{
    for (Py_ssize_t j = 0; j < n_rows; j++) {
        int64_t row = row_offset[j] / row_elements;
        Py_ssize_t slot = (Py_ssize_t)(row % ring->size);
        slot_at[j] = slot * out_w * n;
        if (ring->row[slot] != key_base + row) {
            cypool_ring_row_float(x + row_offset[j], (float *)ring->value + slot_at[j],
                                  ring->code + slot_at[j], first_w, count_w, out_w, n,
                                  j == n_rows - 1 ? x + row_offset[j] + row_elements : NULL);
            ring->row[slot] = key_base + row;
        }
    }
}
/* best[u], tap[u] = the first maximum of the rows' maxima at lane offset ``at`` + u
   vectors (at = ow * n + c) and its tap's element offset from the window's first tap */
#define CYPOOL_RING_COLUMN(U, ring, slot_at, n_rows, row_elements, at, best, tap)      \
    do {                                                                               \
        const float *value_ = (const float *)(ring)->value;                            \
        for (int u_ = 0; u_ < (U); u_++) {                                             \
            Py_ssize_t lane_ = (slot_at)[0] + (at) + u_ * cypool_ring_lanes;           \
            (best)[u_] = *(const cypool_ring_value *)(value_ + lane_);                 \
            (tap)[u_] = *(const cypool_ring_code *)((ring)->code + lane_);             \
        }                                                                              \
        for (Py_ssize_t j_ = 1; j_ < (n_rows); j_++) {                                 \
            int32_t down_ = (int32_t)(j_ * (row_elements));                            \
            for (int u_ = 0; u_ < (U); u_++) {                                         \
                Py_ssize_t lane_ = (slot_at)[j_] + (at) + u_ * cypool_ring_lanes;      \
                cypool_ring_value v_ = *(const cypool_ring_value *)(value_ + lane_);   \
                CYPOOL_RING_STEP((best)[u_], (tap)[u_], v_,                            \
                                 *(const cypool_ring_code *)((ring)->code + lane_)     \
                                     + down_);                                         \
            }                                                                          \
        }                                                                              \
    } while (0)
/* the out_w windows of one output row: rows row_offset[0 .. n_rows) of x by the W
   taps first_w[ow] + t, t < count_w[ow] (count_w[ow] >= 1).  Argmax: their maxima
   into out and flat indices (index_base + element offset in x) into index; gradient:
   dx[argmax] += g. */
static void cypool_argmax_ring_float(const float *x, float *out, int64_t *index,
                                     int64_t index_base, const int64_t *row_offset,
                                     Py_ssize_t n_rows, Py_ssize_t row_elements,
                                     int64_t key_base, const int64_t *first_w,
                                     const int64_t *count_w, Py_ssize_t out_w, Py_ssize_t n,
                                     cypool_ring *ring, int stream)
{
    Py_ssize_t slot_at[CYPOOL_GROUP_WINDOW];
    cypool_ring_rows_float(x, row_offset, n_rows, row_elements, key_base, first_w, count_w,
                           out_w, n, ring, slot_at);
    for (Py_ssize_t ow = 0; ow < out_w; ow++) {
        int64_t first = index_base + row_offset[0] + first_w[ow] * n;
#define CYPOOL_RING_ARGMAX_BLOCK(U)                                                    \
        do {                                                                           \
            cypool_ring_value best[U];                                                 \
            cypool_ring_code tap[U];                                                   \
            CYPOOL_RING_COLUMN(U, ring, slot_at, n_rows, row_elements, ow * n + c, best, tap); \
            for (int u = 0; u < (U); u++) {                                            \
                Py_ssize_t at_ = ow * n + c + u * cypool_ring_lanes;                   \
                CYPOOL_PUT(cypool_ring_value, out + at_, best[u]);                     \
                CYPOOL_RING_INDEX(index + at_, first + c + u * cypool_ring_lanes, tap[u]); \
            }                                                                          \
        } while (0)
        CYPOOL_RING_BLOCKS(n, c, CYPOOL_RING_ARGMAX_BLOCK);
#undef CYPOOL_RING_ARGMAX_BLOCK
    }
}
static void cypool_max_grad_ring_float(const float *x, float *dx, const float *g,
                                       const int64_t *row_offset, Py_ssize_t n_rows,
                                       Py_ssize_t row_elements, int64_t key_base,
                                       const int64_t *first_w, const int64_t *count_w,
                                       Py_ssize_t out_w, Py_ssize_t n, cypool_ring *ring)
{
    Py_ssize_t slot_at[CYPOOL_GROUP_WINDOW];
    cypool_ring_rows_float(x, row_offset, n_rows, row_elements, key_base, first_w, count_w,
                           out_w, n, ring, slot_at);
    for (Py_ssize_t ow = 0; ow < out_w; ow++) {
        float *d = dx + row_offset[0] + first_w[ow] * n;
#define CYPOOL_RING_GRAD_BLOCK(U)                                                      \
        do {                                                                           \
            cypool_ring_value best[U];                                                 \
            cypool_ring_code tap[U];                                                   \
            CYPOOL_RING_COLUMN(U, ring, slot_at, n_rows, row_elements, ow * n + c, best, tap); \
            (void)best;                                                                \
            for (int u = 0; u < (U); u++) {                                            \
                Py_ssize_t at_ = c + u * cypool_ring_lanes;                            \
                CYPOOL_RING_ADD(d + at_, tap[u],                                       \
                                *(const cypool_ring_value *)(g + ow * n + at_));       \
            }                                                                          \
        } while (0)
        CYPOOL_RING_BLOCKS(n, c, CYPOOL_RING_GRAD_BLOCK);
#undef CYPOOL_RING_GRAD_BLOCK
    }
}
#endif
static inline int cypool_ring_ok(int dtype, Py_ssize_t n)
{
#ifdef CYPOOL_HAVE_RING
    return dtype == 0 && n % cypool_ring_lanes == 0;
#else
    (void)dtype; (void)n;
    return 0;
#endif
}
static inline void cypool_argmax_ring(int dtype, const void *x, void *out, int64_t *index,
                                      int64_t index_base, const int64_t *row_offset,
                                      Py_ssize_t n_rows, Py_ssize_t row_elements,
                                      int64_t key_base, const int64_t *first_w,
                                      const int64_t *count_w, Py_ssize_t out_w, Py_ssize_t n,
                                      cypool_ring *ring, int stream)
{
#ifdef CYPOOL_HAVE_RING
    if (dtype == 0)
        cypool_argmax_ring_float((const float *)x, (float *)out, index, index_base,
                                 row_offset, n_rows, row_elements, key_base, first_w,
                                 count_w, out_w, n, ring, stream);
#else
    (void)dtype; (void)x; (void)out; (void)index; (void)index_base; (void)row_offset;
    (void)n_rows; (void)row_elements; (void)key_base; (void)first_w; (void)count_w;
    (void)out_w; (void)n; (void)ring; (void)stream;
#endif
}
static inline void cypool_max_grad_ring(int dtype, const void *x, void *dx, const void *g,
                                        const int64_t *row_offset, Py_ssize_t n_rows,
                                        Py_ssize_t row_elements, int64_t key_base,
                                        const int64_t *first_w, const int64_t *count_w,
                                        Py_ssize_t out_w, Py_ssize_t n, cypool_ring *ring)
{
#ifdef CYPOOL_HAVE_RING
    if (dtype == 0)
        cypool_max_grad_ring_float((const float *)x, (float *)dx, (const float *)g, row_offset,
                                   n_rows, row_elements, key_base, first_w, count_w, out_w,
                                   n, ring);
#else
    (void)dtype; (void)x; (void)dx; (void)g; (void)row_offset; (void)n_rows;
    (void)row_elements; (void)key_base; (void)first_w; (void)count_w; (void)out_w; (void)n;
    (void)ring;
#endif
}

/* ---- float16 <-> float32, bit for bit as NumPy's casts --------------------------------
 * NumPy's npy_halfbits_to_floatbits and npy_floatbits_to_halfbits (a NaN's payload kept
 * and never quieted, rounding to nearest even, overflow to inf), written without
 * branches so that compilers vectorise them: NumPy's own casts take about 1 ns an
 * element here, which made float16 pooling 27x its floor. */
static CYPOOL_INLINE void cypool_widen_half_lanes(const uint16_t *src, uint32_t *dst,
                                                  Py_ssize_t n)
{
    /* (selects written as masks: with ?: gcc saw control flow and did not vectorise) */
    for (Py_ssize_t i = 0; i < n; i++) {
        int32_t h = src[i], magnitude = h & 0x7fff;
        /* a subnormal half times 2**-24, exactly (a normal float) */
        union { float f; int32_t i; } tiny;
        tiny.f = (float)magnitude * 5.9604644775390625e-08f;
        int32_t special = (magnitude << 13) | 0x7f800000;       /* inf, NaN */
        int32_t normal = (magnitude << 13) + 0x38000000;
        int32_t subnormal = -(int32_t)(magnitude < 0x0400), huge = -(int32_t)(magnitude >= 0x7c00);
        int32_t bits = (tiny.i & subnormal) | (normal & ~subnormal);
        bits = (special & huge) | (bits & ~huge);
        dst[i] = (uint32_t)(bits | ((h & 0x8000) << 16));
    }
}
static CYPOOL_INLINE void cypool_narrow_half_lanes(const float *src, uint16_t *dst,
                                                  Py_ssize_t n)
{
    for (Py_ssize_t i = 0; i < n; i++) {
        uint32_t f, result;
        memcpy(&f, src + i, 4);
        uint32_t exponent = f & 0x7f800000u, significand = f & 0x007fffffu;
        /* NaN: the payload's top bits, kept a NaN; inf and overflow: inf */
        uint32_t nan = 0x7c00u + (significand >> 13);
        nan += nan == 0x7c00u;
        uint32_t huge = exponent == 0x7f800000u && significand ? nan : 0x7c00u;
        /* subnormal: the significand with its implicit bit, shifted 113 - e more, then
           rounded to even (the bits the shift drops are in f's low 11) */
        uint32_t e = exponent >> 23, shift = 113u - (e < 102u ? 102u : e > 112u ? 112u : e);
        uint32_t sub = (0x00800000u + significand) >> shift;
        sub += ((sub & 0x3fffu) != 0x1000u || (f & 0x7ffu)) ? 0x1000u : 0u;
        /* normal: rebias, round to even; a carry into the exponent is right (up to inf) */
        uint32_t normal = significand + (((significand & 0x3fffu) != 0x1000u) ? 0x1000u : 0u);
        normal = (normal >> 13) + ((exponent - 0x38000000u) >> 13);
        result = exponent >= 0x47800000u ? huge
               : exponent > 0x38000000u ? normal
               : exponent >= 0x33000000u ? sub >> 13
               : 0u;
        dst[i] = (uint16_t)(result + ((f & 0x80000000u) >> 16));
    }
}
/* Builds with F16C convert 8 lanes an instruction (the lanes above cost about a cycle
   an element, most of a float16 pooling's time); the instructions round to nearest
   even like NumPy and differ only on NaNs (they quiet signalling ones; NumPy keeps
   them), so a vector with a NaN goes through the lanes above. */
#if defined(__F16C__) && defined(__AVX2__)
#include <immintrin.h>
#endif
/* the float16 input is asked for this many elements ahead (8 KB; RGB 2x2/2 at one
   thread: none 3.1 ms, 2 KB 2.2, 4 KB 1.8, 8 KB 1.6, 16 KB 1.7), into every cache
   level: a non-temporal prefetch (locality 0) made the widening half as fast */
#define CYPOOL_HALF_AHEAD 4096
static CYPOOL_NOINLINE void cypool_widen_half(const uint16_t *src, uint32_t *dst, Py_ssize_t n)
{
    Py_ssize_t i = 0;
#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VL__)
    for (; i + 16 <= n; i += 16) { /* 16 lanes an instruction (8: 0.6x the speed) */
        if ((i & 31) == 0)
            __builtin_prefetch(src + i + CYPOOL_HALF_AHEAD, 0, 3);
        __m256i h = _mm256_loadu_si256((const __m256i *)(src + i));
        __m256i magnitude = _mm256_and_si256(h, _mm256_set1_epi16(0x7fff));
        if (_mm256_cmpgt_epi16_mask(magnitude, _mm256_set1_epi16(0x7c00)))
            cypool_widen_half_lanes(src + i, dst + i, 16);
        else
            _mm512_storeu_ps((float *)(dst + i), _mm512_cvtph_ps(h));
    }
#endif
#if defined(__F16C__) && defined(__AVX2__)
    for (; i + 8 <= n; i += 8) {
        if ((i & 31) == 0) /* a line a 32 elements, ahead of the hardware prefetcher */
            __builtin_prefetch(src + i + CYPOOL_HALF_AHEAD, 0, 3);
        __m128i h = _mm_loadu_si128((const __m128i *)(src + i));
        __m128i magnitude = _mm_and_si128(h, _mm_set1_epi16(0x7fff));
        if (_mm_movemask_epi8(_mm_cmpgt_epi16(magnitude, _mm_set1_epi16(0x7c00))))
            cypool_widen_half_lanes(src + i, dst + i, 8);
        else
            _mm256_storeu_ps((float *)(dst + i), _mm256_cvtph_ps(h));
    }
#endif
    cypool_widen_half_lanes(src + i, dst + i, n - i);
}
static CYPOOL_NOINLINE void cypool_narrow_half(const float *src, uint16_t *dst, Py_ssize_t n)
{
    Py_ssize_t i = 0;
#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VL__)
    for (; i + 16 <= n; i += 16) {
        __m512 f = _mm512_loadu_ps(src + i);
        if (_mm512_cmp_ps_mask(f, f, _CMP_UNORD_Q))
            cypool_narrow_half_lanes(src + i, dst + i, 16);
        else
            _mm256_storeu_si256(
                (__m256i *)(dst + i),
                _mm512_cvtps_ph(f, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    }
#endif
#if defined(__F16C__) && defined(__AVX2__)
    for (; i + 8 <= n; i += 8) {
        __m256 f = _mm256_loadu_ps(src + i);
        if (_mm256_movemask_ps(_mm256_cmp_ps(f, f, _CMP_UNORD_Q)))
            cypool_narrow_half_lanes(src + i, dst + i, 8);
        else
            _mm_storeu_si128((__m128i *)(dst + i),
                             _mm256_cvtps_ph(f, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    }
#endif
    cypool_narrow_half_lanes(src + i, dst + i, n - i);
}

/* ---- indices given back (max_pool_grad_with_argmax, max_unpool) -----------------------
 * bounds[0], bounds[1]: the least and the greatest of index[0 .. n) (IT_MAX and IT_MIN
 * for n = 0), two min/max reductions gcc vectorises (not with a third, conditional
 * one). */
#define CYPOOL_INDEX_BOUNDS(IT, IT_MAX, IT_MIN)                                        \
    static CYPOOL_NOINLINE void cypool_index_bounds_##IT(const IT *index, Py_ssize_t n,  \
                                                         int64_t *bounds)              \
    {                                                                                  \
        IT least = IT_MAX, most = IT_MIN;                                              \
        for (Py_ssize_t i = 0; i < n; i++) {                                           \
            IT j = index[i];                                                           \
            least = j < least ? j : least;                                             \
            most = j > most ? j : most;                                                \
        }                                                                              \
        bounds[0] = least;                                                             \
        bounds[1] = most;                                                              \
    }
CYPOOL_INDEX_BOUNDS(int32_t, INT32_MAX, INT32_MIN)
CYPOOL_INDEX_BOUNDS(int64_t, INT64_MAX, INT64_MIN)
/* one entry point for both, so that a module using neither gets no unused warning */
static inline void cypool_index_bounds(int wide, const void *index, Py_ssize_t n,
                                       int64_t *bounds)
{
    if (wide)
        cypool_index_bounds_int64_t((const int64_t *)index, n, bounds);
    else
        cypool_index_bounds_int32_t((const int32_t *)index, n, bounds);
}

#endif /* CYPOOL_ROW_SIMD_H */
