"""Thread-count invariance, the thread-count API, threadpoolctl, concurrent callers,
and whether the build has OpenMP."""
import os
import shlex
import shutil
import subprocess
import sys
import sysconfig
import textwrap
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import cypool
import reference as R

# Medium inputs: well above the size below which cypool runs serially.
SHAPES = {
    "NWC": (4, 2048, 12), "NCW": (4, 12, 2048),
    "NHWC": (2, 64, 72, 8), "NCHW": (2, 8, 64, 72),
    "NDHWC": (2, 16, 18, 20, 6), "NCDHW": (2, 6, 16, 18, 20),
}


def _input(fmt, dtype=np.float32, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(SHAPES[fmt]) * 4
    if np.dtype(dtype).kind in "iu":
        x = np.round(x)  # many ties
        if np.dtype(dtype).kind == "u":
            x = np.abs(x)
    return x.astype(dtype)


def _all_ops(x, fmt, num_threads):
    """Every forward op on x, as a list of arrays."""
    n = len(fmt) - 2
    kw = dict(num_threads=num_threads)
    k, s = [3] * n, [2] * n
    res = [
        cypool.max_pool(x, k, s, "SAME", fmt, **kw),
        cypool.max_pool(x, 2, 1, "VALID", fmt, dilations=[2] * n, **kw),
        getattr(cypool, f"max_pool{n}d")(x, k, [1] * n, "SAME", fmt, **kw),
        cypool.pool(x, [2] * n, "MAX", [3] * n, "SAME", fmt, [2] * n, **kw),
        *cypool.max_pool_with_argmax(x, k, s, "SAME", fmt, **kw),
        *cypool.max_pool_with_argmax(x, 2, 2, "VALID", fmt, output_dtype=np.int32,
                                     include_batch_in_index=True, **kw),
    ]
    if x.dtype.kind == "f":
        res += [
            cypool.avg_pool(x, k, s, "SAME", fmt, **kw),
            cypool.avg_pool(x, [3] * n, [1] * n, "VALID", fmt, dilations=[2] * n, **kw),
            getattr(cypool, f"avg_pool{n}d")(x, k, [1] * n, "SAME", fmt, **kw),
            cypool.pool(x, [2] * n, "AVG", [1] * n, "SAME", fmt, **kw),
        ]
    return res


def _assert_all_equal(a, b):
    assert len(a) == len(b)
    for i, (u, v) in enumerate(zip(a, b)):
        assert u.dtype == v.dtype and u.shape == v.shape, i
        np.testing.assert_array_equal(u, v, err_msg=f"op #{i}")


# ------------------------------------------------------------------ fast NumPy check

def fast_pool(x, k, s, padding, fmt, kind):
    """Vectorised NumPy pooling for finite input without -0.0 and with no empty
    windows: a loop over window offsets in row-major order, padding as -inf (max) or
    0 (avg: x + 0 == x, so the sum is the in-bounds row-major sum)."""
    n = len(fmt) - 2
    cf = fmt[1] == "C"
    xl = np.moveaxis(x, 1, -1) if cf else x
    spatial = xl.shape[1:-1]
    geo = [R.out_size_and_pad(m, k, s, 1, padding) for m in spatial]
    outs = [o for o, _ in geo]
    pads = []
    for m, (o, pb) in zip(spatial, geo):
        pads.append((pb, max((o - 1) * s + k - m - pb, 0)))
    fill = -np.inf if kind == "max" else 0
    xp = np.pad(xl, [(0, 0)] + pads + [(0, 0)], constant_values=fill)
    ones = np.pad(np.ones(spatial, dtype=x.dtype), pads)
    acc, cnt = None, None
    for z in np.ndindex(*(k,) * n):
        sl = tuple(slice(zz, zz + (o - 1) * s + 1, s) for zz, o in zip(z, outs))
        v = xp[(slice(None),) + sl + (slice(None),)]
        c = ones[sl]
        if acc is None:
            acc, cnt = v.copy(), c.copy()
        elif kind == "max":
            acc = np.maximum(acc, v)
        else:
            acc = acc + v
            cnt = cnt + c
    if kind == "avg":
        acc = acc / cnt[None, ..., None]
    acc = acc.astype(x.dtype)
    return np.moveaxis(acc, -1, 1) if cf else acc


def test_fast_pool_agrees_with_reference():
    rng = np.random.default_rng(1)
    for fmt in ("NCW", "NHWC", "NCDHW"):
        n = len(fmt) - 2
        shape = (2, 3) + (5,) * n if fmt[1] == "C" else (2,) + (5,) * n + (3,)
        x = rng.standard_normal(shape).astype(np.float32)
        for pad in ("SAME", "VALID"):
            np.testing.assert_array_equal(fast_pool(x, 3, 2, pad, fmt, "max"),
                                          R.ref_max_pool(x, 3, 2, pad, fmt))
            np.testing.assert_array_equal(fast_pool(x, 3, 2, pad, fmt, "avg"),
                                          R.ref_avg_pool(x, 3, 2, pad, fmt))


# ------------------------------------------------------------------ invariance

@pytest.mark.parametrize("fmt", sorted(SHAPES))
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16, np.int32, np.uint8])
def test_thread_count_invariance(fmt, dtype):
    x = _input(fmt, dtype)
    one = _all_ops(x, fmt, 1)
    two = _all_ops(x, fmt, 2)
    _assert_all_equal(one, two)
    if dtype in (np.float32, np.float64):
        n = len(fmt) - 2
        np.testing.assert_array_equal(one[0], fast_pool(x, 3, 2, "SAME", fmt, "max"))
        avg = cypool.avg_pool(x, [3] * n, [2] * n, "SAME", fmt, num_threads=2)
        np.testing.assert_array_equal(avg, fast_pool(x, 3, 2, "SAME", fmt, "avg"))


def _max_gradients(x, num_threads):
    """Every op whose gradient runs the max-gradient kernel, on a batch-1 NHWC x
    (too few planes for the threads: the kernel splits each plane's rows)."""
    rng = np.random.default_rng(3)
    kw = dict(num_threads=num_threads)
    def grad_of(y):
        return rng.standard_normal(y.shape).astype(x.dtype)
    res = []
    for k, s in ((3, 2), (2, 2), (5, 1)):
        y = cypool.max_pool(x, k, s, "SAME")
        res.append(cypool.max_pool_grad(x, y, grad_of(y), k, s, "SAME", **kw))
    y = cypool.adaptive_max_pool(x, (7, 5))  # bins of uneven size, overlapping
    res.append(cypool.adaptive_max_pool_grad(x, grad_of(y), (7, 5), **kw))
    y, rows, cols = cypool.fractional_max_pool(x, [1, 1.5, 1.5, 1], True, True, seed=4)
    res.append(cypool.fractional_max_pool_grad(x, y, grad_of(y), rows, cols, True, **kw))
    y = cypool.spatial_pyramid_pool(x, (1, 2, 3))
    res.append(cypool.spatial_pyramid_pool_grad(x, grad_of(y), (1, 2, 3), **kw))
    return res


def test_max_gradients_split_rows_invariantly(monkeypatch):
    monkeypatch.setattr("cypool._threads.SERIAL_WORK", 0)
    x = np.round(np.random.default_rng(2).standard_normal((1, 33, 29, 8)) * 2)
    x = x.astype(np.float32)  # ties
    base = _max_gradients(x, 1)
    for threads in (2, 3):
        got = _max_gradients(x, threads)
        for i, (u, v) in enumerate(zip(base, got)):
            assert u.tobytes() == v.tobytes(), (threads, i)


def test_more_threads_than_cores_and_work_items():
    x = _input("NHWC", np.float32)
    base = _all_ops(x, "NHWC", 1)
    _assert_all_equal(base, _all_ops(x, "NHWC", 7))
    tiny = np.random.default_rng(0).standard_normal((1, 3, 3, 1)).astype(np.float32)
    np.testing.assert_array_equal(cypool.max_pool(tiny, 2, 1, "SAME", num_threads=16),
                                  R.ref_max_pool(tiny, 2, 1, "SAME", "NHWC"))


# ------------------------------------------------------------------ thread-count API

@pytest.fixture
def restore_threads():
    yield
    cypool.set_num_threads(None)


def test_set_get_num_threads_round_trip(restore_threads):
    cypool.set_num_threads(None)
    default = cypool.get_num_threads()
    assert isinstance(default, int) and default >= 1
    for n in (1, 2, 3, 8):
        cypool.set_num_threads(n)
        assert cypool.get_num_threads() == n
    cypool.set_num_threads(np.int64(2))
    assert cypool.get_num_threads() == 2
    cypool.set_num_threads(None)
    assert cypool.get_num_threads() == default


def test_set_num_threads_results_identical(restore_threads):
    x = _input("NCHW", np.float32, seed=4)
    cypool.set_num_threads(1)
    one = _all_ops(x, "NCHW", None)
    cypool.set_num_threads(2)
    two = _all_ops(x, "NCHW", None)
    # the keyword overrides the default and gives the same bits
    kw = _all_ops(x, "NCHW", 1)
    _assert_all_equal(one, two)
    _assert_all_equal(one, kw)


def test_threadpoolctl_limits(restore_threads):
    threadpoolctl = pytest.importorskip("threadpoolctl", reason="threadpoolctl not installed")
    cypool.set_num_threads(None)
    x = _input("NDHWC", np.float64, seed=5)
    free = _all_ops(x, "NDHWC", None)
    with threadpoolctl.threadpool_limits(limits=1):
        if cypool.openmp_enabled():
            # cypool follows OpenMP's budget, which threadpoolctl sets to 1
            assert cypool.get_num_threads() == 1
        limited = _all_ops(x, "NDHWC", None)
    with threadpoolctl.threadpool_limits(limits=1, user_api="openmp"):
        limited_omp = _all_ops(x, "NDHWC", None)
    _assert_all_equal(free, limited)
    _assert_all_equal(free, limited_omp)


def test_omp_num_threads_env_in_subprocess():
    code = textwrap.dedent("""
        import numpy as np, cypool
        x = np.random.default_rng(0).standard_normal((2, 64, 72, 8)).astype(np.float32)
        a = cypool.avg_pool(x, 3, 2, "SAME")
        b = cypool.avg_pool(x, 3, 2, "SAME", num_threads=2)
        assert np.array_equal(a, b)
        print(cypool.get_num_threads())
    """)
    env = dict(os.environ, OMP_NUM_THREADS="1")
    res = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, timeout=120, cwd=os.path.dirname(os.path.dirname(
                             os.path.abspath(__file__))))
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip().splitlines()[-1] == "1"


# ------------------------------------------------------------------ concurrency

def test_concurrent_calls_from_python_threads():
    fmts = ["NHWC", "NCHW", "NDHWC", "NCW"]
    jobs = []
    for i, fmt in enumerate(fmts * 2):
        x = _input(fmt, np.float32 if i % 2 == 0 else np.float64, seed=10 + i)
        jobs.append((fmt, x, _all_ops(x, fmt, 1)))

    def run(job):
        fmt, x, _ = job
        return [_all_ops(x, fmt, None) for _ in range(3)]

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(run, jobs))
    for (fmt, x, expected), got in zip(jobs, results):
        for rep in got:
            _assert_all_equal(expected, rep)
        np.testing.assert_array_equal(expected[0], fast_pool(x, 3, 2, "SAME", fmt, "max"))


@pytest.mark.parametrize("op", ["max", "max float16", "argmax", "max grad", "avg grad"])
def test_kernels_release_the_gil(op):
    """While a kernel runs on one Python thread, another Python thread keeps running:
    its longest pause stays far below the kernel's time (a kernel holding the GIL
    would pause it for all of that time)."""
    import threading
    import time
    dtype = np.float16 if "float16" in op else np.float32
    x = np.random.default_rng(0).standard_normal((16, 112, 112, 64)).astype(dtype)
    y = cypool.max_pool(x, 3, 2, "SAME")
    calls = {
        "max": lambda: cypool.max_pool(x, 3, 1, "SAME", num_threads=1),
        "max float16": lambda: cypool.max_pool(x, 3, 1, "SAME", num_threads=1),
        "argmax": lambda: cypool.max_pool_with_argmax(x, 3, 1, "SAME", num_threads=1),
        "max grad": lambda: cypool.max_pool_grad(x, y, y, 3, 2, "SAME", num_threads=1),
        "avg grad": lambda: cypool.avg_pool_grad(x.shape, y, 3, 2, "SAME", num_threads=1),
    }
    call = calls[op]
    call()  # warm: outputs cached, pages mapped
    spans = []

    def worker():
        for _ in range(5):
            start = time.perf_counter()
            call()
            spans.append(time.perf_counter() - start)

    thread = threading.Thread(target=worker)
    longest, last = 0.0, time.perf_counter()
    thread.start()
    while thread.is_alive():
        now = time.perf_counter()
        longest, last = max(longest, now - last), now
    thread.join()
    assert longest < 0.5 * max(spans), (longest, spans)


def test_concurrent_calls_with_out_buffers():
    x = _input("NHWC", np.float32, seed=3)
    expected = cypool.avg_pool(x, 2, 2, "VALID", num_threads=1)
    bufs = [np.empty_like(expected) for _ in range(8)]

    def run(buf):
        for _ in range(5):
            got = cypool.avg_pool(x, 2, 2, "VALID", out=buf, num_threads=2)
            assert got is buf
        return buf

    with ThreadPoolExecutor(max_workers=4) as pool:
        for buf in pool.map(run, bufs):
            np.testing.assert_array_equal(buf, expected)


# ------------------------------------------------------------------ OpenMP in the build

def _find_cc():
    cc = sysconfig.get_config_var("CC")
    candidates = []
    if cc:
        candidates.append(shlex.split(cc)[0])
    candidates += [os.environ.get("CC", ""), "cc", "gcc", "clang"]
    for c in candidates:
        if c and shutil.which(c):
            return shutil.which(c)
    return None


def test_openmp_enabled_when_compiler_supports_it(tmp_path):
    assert isinstance(cypool.openmp_enabled(), bool)
    if os.environ.get("CYPOOL_NO_OPENMP") == "1":
        assert cypool.openmp_enabled() is False, (
            "CYPOOL_NO_OPENMP=1 is set, so the build should be serial (was the package "
            "built without it?)")
        return
    cc = _find_cc()
    if cc is None:
        pytest.skip("no C compiler found: cannot probe -fopenmp support")
    src = tmp_path / "probe.c"
    src.write_text("#include <omp.h>\nint main(void) {\n"
                   "    int n = 0;\n#pragma omp parallel reduction(+:n)\n    n += 1;\n"
                   "    return omp_get_max_threads() > 0 && n > 0 ? 0 : 1;\n}\n")
    res = subprocess.run([cc, "-fopenmp", str(src), "-o", str(tmp_path / "probe")],
                         capture_output=True, text=True, timeout=120)
    if res.returncode != 0:
        pytest.skip(f"{cc} cannot build with -fopenmp here; nothing to compare "
                    f"({res.stderr.strip()[:200]})")
    assert cypool.openmp_enabled() is True
