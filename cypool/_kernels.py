"""Pick the kernel build for this CPU: AVX-512, AVX2 or baseline.

All builds come from the same .pyx files and give bit-identical results (no FMA, no
fast-math; see setup.py).  ``CYPOOL_ISA`` (baseline, avx2 or avx512) caps the choice:
``CYPOOL_ISA=baseline`` forces the portable build.
"""
import importlib
import os

from cypool import _pool_backward, _pool_forward

# the builds, best first, with the CPU features each needs (NumPy's names)
# (F16C: the float16 conversions; every AVX2 CPU has it, and /arch:AVX2 assumes it)
BUILDS = [("avx512", ("AVX512F", "AVX512BW", "AVX512VL", "AVX512DQ", "F16C")),
          ("avx2", ("AVX2", "F16C"))]


def _cpu_features():
    try:
        from numpy._core._multiarray_umath import __cpu_features__
    except ImportError:  # NumPy 1.x
        try:
            from numpy.core._multiarray_umath import __cpu_features__
        except ImportError:
            return {}
    return __cpu_features__


def _candidates(requested):
    names = [name for name, _ in BUILDS]
    if requested in names:
        return BUILDS[names.index(requested):]
    return [] if requested == "baseline" else BUILDS


def _load():
    features = _cpu_features()
    for name, needs in _candidates(os.environ.get("CYPOOL_ISA", "").strip().lower()):
        if not all(features.get(feature, False) for feature in needs):
            continue
        try:
            return (name, importlib.import_module(f"cypool._pool_forward_{name}"),
                    importlib.import_module(f"cypool._pool_backward_{name}"))
        except ImportError:  # not built here (non-x86 or an old compiler)
            continue
    return "baseline", _pool_forward, _pool_backward


# the chosen build's name and modules
ISA, forward, backward = _load()
