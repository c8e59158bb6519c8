# cython: language_level=3
"""Large outputs from cypool's output cache (NumPy's data-memory handler, NEP 49).

_output_cache.h has the handler: freed blocks of MIN_BYTES or more wait there, up to
a limit in bytes, for a later output they fit, so that an output's pages are not
faulted in and zeroed by the OS on every call.
"""
import numpy as np

cimport numpy as cnp
from cpython.pycapsule cimport PyCapsule_New

cnp.import_array()

cdef extern from "_output_cache.h":
    size_t CYPOOL_CACHE_MIN_BYTES
    void* cypool_cache_handler_address "(&cypool_cache_handler)"
    bint cypool_cache_init(size_t limit)
    void cypool_cache_hold_lock_for(double seconds) nogil
    size_t cypool_cache_set_limit(size_t limit) nogil
    void cypool_cache_state(size_t* limit, size_t* nbytes, int* blocks, size_t* reused) nogil
    void cypool_cache_set_poison(int poison) nogil

cdef extern from "numpy/arrayobject.h":
    object PyDataMem_SetHandler(object handler)

MIN_BYTES = CYPOOL_CACHE_MIN_BYTES

if not cypool_cache_init(0):
    raise MemoryError("cypool: no lock (or fork handler) for the output cache")

_handler = PyCapsule_New(cypool_cache_handler_address, "mem_handler", NULL)


def empty(shape, dtype):
    """``np.empty(shape, dtype)`` whose memory comes from (and returns to) the cache."""
    previous = PyDataMem_SetHandler(_handler)
    try:
        return np.empty(shape, dtype=dtype)
    finally:
        PyDataMem_SetHandler(previous)


def set_limit(size_t limit):
    """Keep at most ``limit`` bytes of freed blocks (dropping the oldest beyond it);
    the previous limit."""
    return cypool_cache_set_limit(limit)


def state():
    """(limit, bytes held, blocks held, blocks reused so far)."""
    cdef size_t limit, nbytes, reused
    cdef int blocks
    cypool_cache_state(&limit, &nbytes, &blocks, &reused)
    return limit, nbytes, blocks, reused


def set_poison(int byte):
    """For tests: fill each reused block with ``byte`` (0-255) first; -1: do not."""
    if not -1 <= byte <= 255:
        raise ValueError(f"byte must be in [-1, 255], got {byte}")
    cypool_cache_set_poison(byte)


def _hold_lock_for_test(double seconds):
    """For a test: hold the cache's lock for ``seconds``, the GIL released."""
    with nogil:
        cypool_cache_hold_lock_for(seconds)
