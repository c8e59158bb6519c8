/* cypool's output cache: a NumPy data-memory handler (NEP 49) that keeps large
   freed blocks for reuse.

   A new array of some MB gets fresh pages from the OS (glibc maps blocks of 32 MB
   and more anew and unmaps them on free), and the OS zeroes each page on first
   touch: for an argmax's int64 indices or a gradient that costs about as much as
   the pooling.  cypool allocates its large outputs with this handler; a freed block
   waits here (up to a limit in bytes, the least recently freed dropped first) for a
   later output it fits.  An array keeps its handler, so its block comes back here
   when the array and every view of it are gone.

   Each block carries a header just before its data: the pointer malloc gave and the
   block's capacity, so that realloc and free need no size from NumPy. */
#include <Python.h>
#include <pythread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#if defined(__linux__)
#include <sys/mman.h>
#include <unistd.h>
#endif
#ifdef _WIN32
#include <windows.h>
#else
#include <time.h>
#endif
#if defined(__unix__) || defined(__APPLE__)
#include <pthread.h>
#define CYPOOL_HAVE_ATFORK 1
#endif
#include "numpy/arrayobject.h"

/* blocks of at least this many bytes are kept; cypool asks for its outputs of at
   least this size from the cache (_buffers.py) */
#define CYPOOL_CACHE_MIN_BYTES ((size_t)1 << 20)
#define CYPOOL_CACHE_SLOTS 16
#define CYPOOL_BLOCK_ALIGN 64 /* the kernels' vector stores */
#define CYPOOL_BLOCK_ROUND ((size_t)2 << 20) /* capacities in huge-page steps */
/* a cached block serves requests it holds with at most half their size (and the
   rounding) to spare */
#define CYPOOL_CACHE_FITS(capacity, n)                                                 \
    ((capacity) >= (n) && (capacity) - (n) <= (n) / 2 + CYPOOL_BLOCK_ROUND)

typedef struct {
    void *raw;
    size_t capacity;
} cypool_block_header;

static struct {
    PyThread_type_lock lock;
    size_t limit, bytes;
    size_t reused; /* blocks handed out again, a count for users and tests */
    int poison;    /* >= 0: a taken block is filled with this byte first (tests) */
    int n;
    void *block[CYPOOL_CACHE_SLOTS]; /* oldest first */
} cypool_cache;

static inline cypool_block_header *cypool_header(void *block)
{
    return (cypool_block_header *)block - 1;
}

static void *cypool_block_new(size_t capacity)
{
    size_t extra = sizeof(cypool_block_header) + CYPOOL_BLOCK_ALIGN;
    if (capacity == 0) capacity = 1;
    if (capacity > SIZE_MAX - extra) return NULL;
    void *raw = malloc(capacity + extra);
    if (raw == NULL) return NULL;
    uintptr_t data = ((uintptr_t)raw + sizeof(cypool_block_header) + CYPOOL_BLOCK_ALIGN - 1)
                     & ~(uintptr_t)(CYPOOL_BLOCK_ALIGN - 1);
    void *block = (void *)data;
    cypool_header(block)->raw = raw;
    cypool_header(block)->capacity = capacity;
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    /* as NumPy's own allocator does for arrays of 4 MB and more */
    if (capacity >= ((size_t)4 << 20)) {
        uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
        uintptr_t start = (data + page - 1) & ~(page - 1);
        uintptr_t end = (data + capacity) & ~(page - 1);
        if (end > start) madvise((void *)start, end - start, MADV_HUGEPAGE);
    }
#endif
    return block;
}

static void cypool_block_release(void *block) { free(cypool_header(block)->raw); }

/* drop the oldest blocks until `keep` more bytes and one more block fit (or, with
   keep == 0, until the cache is within its limit); called with the lock held, the
   dropped blocks returned in `dropped` to be released after it */
static int cypool_cache_evict(size_t keep, void **dropped)
{
    int n_dropped = 0;
    while (cypool_cache.n > 0
           && (cypool_cache.bytes + keep > cypool_cache.limit
               || (keep > 0 && cypool_cache.n == CYPOOL_CACHE_SLOTS))) {
        void *oldest = cypool_cache.block[0];
        cypool_cache.bytes -= cypool_header(oldest)->capacity;
        cypool_cache.n--;
        memmove(cypool_cache.block, cypool_cache.block + 1, cypool_cache.n * sizeof(void *));
        dropped[n_dropped++] = oldest;
    }
    return n_dropped;
}

/* release every cached block, the limit kept; how many there were */
static int cypool_cache_drain(void)
{
    void *dropped[CYPOOL_CACHE_SLOTS + 1];
    PyThread_acquire_lock(cypool_cache.lock, WAIT_LOCK);
    size_t limit = cypool_cache.limit;
    cypool_cache.limit = 0;
    int n_dropped = cypool_cache_evict(0, dropped);
    cypool_cache.limit = limit;
    PyThread_release_lock(cypool_cache.lock);
    for (int i = 0; i < n_dropped; i++) cypool_block_release(dropped[i]);
    return n_dropped;
}

/* the cached block that fits n bytes best, taken out of the cache, or NULL */
static void *cypool_cache_take(size_t n)
{
    void *found = NULL;
    PyThread_acquire_lock(cypool_cache.lock, WAIT_LOCK);
    int best = -1;
    for (int i = 0; i < cypool_cache.n; i++) {
        size_t capacity = cypool_header(cypool_cache.block[i])->capacity;
        if (CYPOOL_CACHE_FITS(capacity, n)
            && (best < 0 || capacity < cypool_header(cypool_cache.block[best])->capacity))
            best = i;
    }
    if (best >= 0) {
        found = cypool_cache.block[best];
        cypool_cache.bytes -= cypool_header(found)->capacity;
        cypool_cache.n--;
        memmove(cypool_cache.block + best, cypool_cache.block + best + 1,
                (cypool_cache.n - best) * sizeof(void *));
        cypool_cache.reused++;
    }
    int poison = cypool_cache.poison;
    PyThread_release_lock(cypool_cache.lock);
    if (found != NULL && poison >= 0) memset(found, poison, cypool_header(found)->capacity);
    return found;
}

/* a freed block: kept when it is large and fits the limit, else released */
static void cypool_cache_put(void *block)
{
    void *dropped[CYPOOL_CACHE_SLOTS + 1];
    int n_dropped = 0;
    size_t capacity = cypool_header(block)->capacity;
    if (capacity < CYPOOL_CACHE_MIN_BYTES) {
        cypool_block_release(block);
        return;
    }
    PyThread_acquire_lock(cypool_cache.lock, WAIT_LOCK);
    if (capacity > cypool_cache.limit) {
        dropped[n_dropped++] = block;
    } else {
        n_dropped = cypool_cache_evict(capacity, dropped);
        cypool_cache.block[cypool_cache.n++] = block;
        cypool_cache.bytes += capacity;
    }
    PyThread_release_lock(cypool_cache.lock);
    for (int i = 0; i < n_dropped; i++) cypool_block_release(dropped[i]);
}

/* ---- the handler's functions ------------------------------------------------------ */
static void *cypool_cache_malloc(void *ctx, size_t size)
{
    (void)ctx;
    if (size < CYPOOL_CACHE_MIN_BYTES) return cypool_block_new(size);
    void *block = cypool_cache_take(size);
    if (block != NULL) return block;
    size_t rounded = (size + CYPOOL_BLOCK_ROUND - 1) & ~(CYPOOL_BLOCK_ROUND - 1);
    if (rounded < size) rounded = size; /* no rounding near SIZE_MAX */
    block = cypool_block_new(rounded);
    if (block == NULL && cypool_cache_drain() > 0) /* out of memory: the cache's first */
        block = cypool_block_new(rounded);
    if (block == NULL && rounded > size) block = cypool_block_new(size);
    return block;
}

static void *cypool_cache_calloc(void *ctx, size_t nelem, size_t elsize)
{
    if (elsize != 0 && nelem > SIZE_MAX / elsize) return NULL;
    void *block = cypool_cache_malloc(ctx, nelem * elsize);
    if (block != NULL) memset(block, 0, nelem * elsize);
    return block;
}

static void cypool_cache_free(void *ctx, void *block, size_t size)
{
    (void)ctx;
    (void)size; /* the header has it */
    if (block != NULL) cypool_cache_put(block);
}

static void *cypool_cache_realloc(void *ctx, void *block, size_t new_size)
{
    if (block == NULL) return cypool_cache_malloc(ctx, new_size);
    size_t capacity = cypool_header(block)->capacity;
    if (new_size <= capacity) {
        /* shrunk to less than half a cached size: a smaller block, the large one back */
        if (capacity >= CYPOOL_CACHE_MIN_BYTES && new_size < capacity / 2) {
            void *smaller = cypool_cache_malloc(ctx, new_size);
            if (smaller != NULL) {
                memcpy(smaller, block, new_size);
                cypool_cache_put(block);
                return smaller;
            }
        }
        return block;
    }
    void *moved = cypool_cache_malloc(ctx, new_size);
    if (moved == NULL) return NULL; /* the old block stays valid, as realloc's does */
    memcpy(moved, block, capacity);
    cypool_cache_put(block);
    return moved;
}

static PyDataMem_Handler cypool_cache_handler = {
    "cypool_output_cache",
    1,
    {NULL, cypool_cache_malloc, cypool_cache_calloc, cypool_cache_realloc, cypool_cache_free},
};

/* ---- for the module --------------------------------------------------------------- */
#ifdef CYPOOL_HAVE_ATFORK
/* A fork waits for the lock and both processes release it: a child never starts with
   the cache half updated by another thread of the parent, or its lock held. */
static void cypool_cache_before_fork(void) { PyThread_acquire_lock(cypool_cache.lock, WAIT_LOCK); }
static void cypool_cache_after_fork(void) { PyThread_release_lock(cypool_cache.lock); }
#endif

static int cypool_cache_init(size_t limit)
{
    cypool_cache.lock = PyThread_allocate_lock();
    cypool_cache.limit = limit;
    cypool_cache.poison = -1;
    if (cypool_cache.lock == NULL) return 0;
#ifdef CYPOOL_HAVE_ATFORK
    if (pthread_atfork(cypool_cache_before_fork, cypool_cache_after_fork,
                       cypool_cache_after_fork) != 0)
        return 0;
#endif
    return 1;
}

/* set the limit (dropping blocks beyond it); the previous limit */
static size_t cypool_cache_set_limit(size_t limit)
{
    void *dropped[CYPOOL_CACHE_SLOTS + 1];
    PyThread_acquire_lock(cypool_cache.lock, WAIT_LOCK);
    size_t previous = cypool_cache.limit;
    cypool_cache.limit = limit;
    int n_dropped = cypool_cache_evict(0, dropped);
    PyThread_release_lock(cypool_cache.lock);
    for (int i = 0; i < n_dropped; i++) cypool_block_release(dropped[i]);
    return previous;
}

/* for a test: hold the lock for `seconds` (called without the GIL), as another
   thread could when this one forks */
static void cypool_cache_hold_lock_for(double seconds)
{
    PyThread_acquire_lock(cypool_cache.lock, WAIT_LOCK);
#ifdef _WIN32
    Sleep((DWORD)(seconds * 1000));
#else
    struct timespec wait = {(time_t)seconds, (long)((seconds - (double)(time_t)seconds) * 1e9)};
    nanosleep(&wait, NULL);
#endif
    PyThread_release_lock(cypool_cache.lock);
}

static void cypool_cache_state(size_t *limit, size_t *bytes, int *blocks, size_t *reused)
{
    PyThread_acquire_lock(cypool_cache.lock, WAIT_LOCK);
    *limit = cypool_cache.limit;
    *bytes = cypool_cache.bytes;
    *blocks = cypool_cache.n;
    *reused = cypool_cache.reused;
    PyThread_release_lock(cypool_cache.lock);
}

static void cypool_cache_set_poison(int poison)
{
    PyThread_acquire_lock(cypool_cache.lock, WAIT_LOCK);
    cypool_cache.poison = poison;
    PyThread_release_lock(cypool_cache.lock);
}
