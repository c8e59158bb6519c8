"""cypool: fast CPU pooling for NumPy arrays with tf.nn's exact semantics.

Max, average and argmax pooling in 1-D, 2-D and 3-D, channels-last and
channels-first, with the arguments and results of ``tf.nn.max_pool``,
``tf.nn.avg_pool``, ``tf.nn.pool`` and ``tf.nn.max_pool_with_argmax``, computed by
Cython kernels that release the GIL and run in parallel with OpenMP.
"""
from cypool._buffers import output_cache
from cypool._openmp_helpers import openmp_enabled
from cypool._threads import get_num_threads, set_num_threads
from cypool.gradients import avg_pool_grad, max_pool_grad, max_pool_grad_with_argmax
from cypool.pooling import (
    avg_pool, avg_pool1d, avg_pool2d, avg_pool3d, max_pool, max_pool1d, max_pool2d,
    max_pool3d, max_pool_with_argmax, pool,
)

from cypool.extras import *  # noqa: F401,F403  (global, adaptive, SPP, unpool, ...)
from cypool import extras as _extras

__version__ = "0.1.0"

__all__ = [
    "max_pool", "avg_pool", "max_pool1d", "max_pool2d", "max_pool3d", "avg_pool1d",
    "avg_pool2d", "avg_pool3d", "pool", "max_pool_with_argmax",
    "max_pool_grad", "avg_pool_grad", "max_pool_grad_with_argmax",
    "openmp_enabled", "get_num_threads", "set_num_threads", "output_cache",
] + list(_extras.__all__)
