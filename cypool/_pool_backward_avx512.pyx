# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
# cython: initializedcheck=False
# The same kernels as _pool_backward.pyx, compiled for AVX-512 (F, BW, VL; setup.py) with
# 64-byte vectors; cypool._kernels loads this module when the CPU has them.  No FMA.
include "_pool_backward.pyx"
