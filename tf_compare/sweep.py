"""python -m tf_compare.sweep: cypool alone against the memory-bandwidth floor over
shapes the benchmark leaves out (dtypes, few channels, channels-first averages,
stride-1 windows, 3-D, stride-1 argmax, gradients of few channels), to find the slow
corners.

Each case: the median of 7 calls, each after the benchmark's 256 MB read that leaves
the caches clean; floor = the case's input and output bytes at the copy bandwidth of
the benchmark's ``np.copyto`` (64 MB over the threads) measured once at the start (so
ratios carry the VM's drift over the sweep's minute or two; the benchmark measures the
copy among the contenders). One thread unless ``--threads`` says otherwise.
"""
import argparse
import sys
import time

import numpy as np

import cypool
from tf_compare.bench import _clean_caches, _copy_call, _median


def _random(shape, dtype, rng):
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        return rng.standard_normal(shape).astype(dtype)
    info = np.iinfo(dtype)
    return rng.integers(info.min, info.max, shape, dtype=dtype, endpoint=True)


def sweep_cases(threads):
    """(name, shape, dtype, make) for each case; make(x) gives the timed call and the
    bytes it reads (its outputs' bytes are added to them)."""
    def fwd(op, k, s, pad, fmt=None):
        pool = cypool.max_pool if op == "max" else cypool.avg_pool
        return lambda x: (lambda: pool(x, k, s, pad, fmt, num_threads=threads), x.nbytes)

    def argmax(k, s, pad):  # the values and int64 indices are its outputs
        return lambda x: (lambda: cypool.max_pool_with_argmax(x, k, s, pad,
                                                              num_threads=threads), x.nbytes)

    def grad(op, k, s, pad):
        def make(x):
            y = cypool.max_pool(x, k, s, pad)
            if op == "max":  # reads x, the forward's output and the gradient
                return (lambda: cypool.max_pool_grad(x, y, y, k, s, pad, num_threads=threads),
                        x.nbytes + 2 * y.nbytes)
            return (lambda: cypool.avg_pool_grad(x.shape, y, k, s, pad, num_threads=threads),
                    y.nbytes)
        return make

    cases = []
    for dtype in ("uint8", "int16", "float16", "float32", "float64"):
        cases.append((f"max 2x2/2 {dtype}", (64, 224, 224, 3), dtype, fwd("max", 2, 2, "VALID")))
        cases.append((f"max 3x3/2 {dtype}", (16, 112, 112, 64), dtype, fwd("max", 3, 2, "SAME")))
        if dtype.startswith("float"):
            cases.append((f"avg 3x3/2 {dtype}", (16, 112, 112, 64), dtype,
                          fwd("avg", 3, 2, "SAME")))
    for channels in (1, 2, 4, 8, 16, 32):
        shape = (8, 256, 256, channels)
        cases.append((f"max 3x3/2 C={channels}", shape, "float32", fwd("max", 3, 2, "SAME")))
        cases.append((f"avg 3x3/1 C={channels}", shape, "float32", fwd("avg", 3, 1, "SAME")))
    cases += [
        ("avg 2x2/2 RGB", (64, 224, 224, 3), "float32", fwd("avg", 2, 2, "VALID")),
        ("NCHW avg 3x3/2", (16, 64, 112, 112), "float32", fwd("avg", 3, 2, "SAME", "NCHW")),
        ("NCHW avg 2x2/2", (16, 64, 112, 112), "float32", fwd("avg", 2, 2, "VALID", "NCHW")),
        ("NCHW max 3x3/1", (8, 64, 112, 112), "float32", fwd("max", 3, 1, "SAME", "NCHW")),
        ("NCHW max 5x5/1", (4, 64, 112, 112), "float32", fwd("max", 5, 1, "SAME", "NCHW")),
        ("NCDHW max 2x2x2/2", (4, 32, 32, 64, 64), "float32",
         fwd("max", 2, 2, "VALID", "NCDHW")),
        ("NCDHW avg 2x2x2/2", (4, 32, 32, 64, 64), "float32",
         fwd("avg", 2, 2, "VALID", "NCDHW")),
        ("NDHWC max 3x3x3/2", (4, 32, 64, 64, 32), "float32", fwd("max", 3, 2, "SAME")),
        ("NDHWC avg 2x2x2/2", (4, 32, 64, 64, 32), "float32", fwd("avg", 2, 2, "VALID")),
        ("avg 5x5/1 C=64", (4, 112, 112, 64), "float32", fwd("avg", 5, 1, "SAME")),
        ("1-D avg 4/4", (64, 4096, 32), "float32", fwd("avg", 4, 4, "VALID")),
        ("1-D max 3/1", (64, 4096, 32), "float32", fwd("max", 3, 1, "SAME")),
        ("argmax 3x3/1 C=64", (16, 56, 56, 64), "float32", argmax(3, 1, "SAME")),
        ("argmax 5x5/1 SPPF", (8, 40, 40, 256), "float32", argmax(5, 1, "SAME")),
        ("max grad 3x3/2 float64", (16, 112, 112, 64), "float64", grad("max", 3, 2, "SAME")),
        ("max grad 3x3/2 C=3", (32, 128, 128, 3), "float32", grad("max", 3, 2, "SAME")),
        ("avg grad 3x3/2 C=3", (32, 128, 128, 3), "float32", grad("avg", 3, 2, "SAME")),
        ("max grad 5x5/1 SPPF", (8, 40, 40, 256), "float32", grad("max", 5, 1, "SAME")),
    ]
    return cases


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--cases", nargs="*", help="substrings of case names")
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    copy, copy_bytes = _copy_call(args.threads, 64 << 20)
    copy_times = []
    for _ in range(5):
        start = time.perf_counter()
        copy()
        copy_times.append(time.perf_counter() - start)
    bandwidth = copy_bytes / _median(copy_times)
    print(f"copy bandwidth {bandwidth / 1e9:.1f} GB/s, {args.threads} thread(s)")
    print(f"{'case':28s} {'shape':22s} {'ms':>8s} {'floor ms':>9s} {'ratio':>6s}")
    for name, shape, dtype, make in sweep_cases(args.threads):
        if args.cases and not any(s in name for s in args.cases):
            continue
        x = _random(shape, dtype, rng)
        call, read_bytes = make(x)
        result = call()
        outputs = result if isinstance(result, tuple) else (result,)
        floor = (read_bytes + sum(o.nbytes for o in outputs)) / bandwidth
        times = []
        for _ in range(7):
            _clean_caches()
            start = time.perf_counter()
            call()
            times.append(time.perf_counter() - start)
        t = _median(times)
        print(f"{name:28s} {str(shape):22s} {t * 1e3:8.2f} {floor * 1e3:9.2f} "
              f"{t / floor:6.2f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
