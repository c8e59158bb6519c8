"""The thread count every kernel call uses.

Precedence: the call's ``num_threads=`` keyword, then ``set_num_threads()``, then
OpenMP's own budget (``OMP_NUM_THREADS``, or a threadpoolctl limit in force).
Small jobs run on one thread: starting a team costs more than they do.
"""
from cypool._geometry import check_int
from cypool._openmp_helpers import omp_max_threads

# Below this many input+output elements a call runs serially.
SERIAL_WORK = 1 << 15

_default_threads = None


def _check_threads(n, name):
    return check_int(n, name, 1, "a positive int or None")


def set_num_threads(n):
    """Set the default thread count of cypool's kernels (None: follow OpenMP)."""
    global _default_threads
    _default_threads = None if n is None else _check_threads(n, "n")


def get_num_threads():
    """The thread count a call without ``num_threads=`` uses."""
    return _default_threads if _default_threads is not None else max(omp_max_threads(), 1)


def effective_threads(num_threads, work):
    """Threads for one kernel call doing ``work`` element visits."""
    n = get_num_threads() if num_threads is None else _check_threads(num_threads, "num_threads")
    return 1 if work < SERIAL_WORK else n
