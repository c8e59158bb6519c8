"""Scale: 64-bit indexing past 2**31 elements, no memory growth over repeated calls,
and a light import (no TensorFlow / PyTorch)."""
import gc
import os
import subprocess
import sys
import textwrap
import tracemalloc

import numpy as np
import pytest

import cypool

# (1, 65538, 32768, 1) uint8: 2_147_549_184 elements (> 2**31 = 2_147_483_648), ~2.15 GB.
# The last output row of a 2x2/2 VALID pool reads input rows 65536-65537, whose flat
# indices are all >= 2**31.
BIG_H, BIG_W = 65538, 32768


@pytest.fixture(scope="module")
def big_input():
    n = BIG_H * BIG_W
    assert n > 2**31
    rng = np.random.default_rng(2024)
    x = np.empty((1, BIG_H, BIG_W, 1), dtype=np.uint8)
    flat = x.reshape(-1)
    step = 1 << 28
    for start in range(0, n, step):
        stop = min(start + step, n)
        flat[start:stop] = np.frombuffer(rng.bytes(stop - start), dtype=np.uint8)
    # plant a unique maximum near the very end, and a run of ties
    x[0, BIG_H - 1, BIG_W - 3, 0] = 255
    x[0, BIG_H - 2, BIG_W - 4:BIG_W - 2, 0] = 0
    x[0, BIG_H - 1, BIG_W - 4, 0] = 0
    yield x
    del x, flat
    gc.collect()


def _windows(x, rows, cols):
    """The 2x2 windows of output cells (rows[i], cols[i]) as an (m, 4) row-major array."""
    r0, c0 = 2 * rows, 2 * cols
    return np.stack([x[0, r0, c0, 0], x[0, r0, c0 + 1, 0],
                     x[0, r0 + 1, c0, 0], x[0, r0 + 1, c0 + 1, 0]], axis=1)


def _flat_index(rows, cols, which):
    """Flat index in x[0] (H, W, C=1) of window cell ``which`` (0..3, row-major)."""
    r = 2 * rows.astype(np.int64) + which // 2
    c = 2 * cols.astype(np.int64) + which % 2
    return r * BIG_W + c


def _sample_cells(out_h, out_w):
    rng = np.random.default_rng(7)
    rows = np.concatenate([rng.integers(0, out_h, 300), [0, 0, out_h - 1, out_h - 1,
                                                          out_h - 2, out_h // 2]])
    cols = np.concatenate([rng.integers(0, out_w, 300), [0, out_w - 1, 0, out_w - 1,
                                                          out_w - 1, out_w // 2]])
    return rows, cols


@pytest.mark.slow
def test_more_than_2_31_elements_max_and_argmax(big_input):
    x = big_input
    out_h, out_w = BIG_H // 2, BIG_W // 2

    out = cypool.max_pool(x, 2, 2, "VALID")
    assert out.shape == (1, out_h, out_w, 1) and out.dtype == np.uint8
    rows, cols = _sample_cells(out_h, out_w)
    win = _windows(x, rows, cols)
    np.testing.assert_array_equal(out[0, rows, cols, 0], win.max(axis=1))
    # whole first and last output rows, vectorised
    for r in (0, out_h - 1):
        blk = x[0, 2 * r:2 * r + 2, :, 0].reshape(2, out_w, 2).max(axis=(0, 2))
        np.testing.assert_array_equal(out[0, r, :, 0], blk)
    assert out[0, out_h - 1, out_w - 2, 0] == 255

    out2, arg = cypool.max_pool_with_argmax(x, 2, 2, "VALID")
    assert arg.dtype == np.int64 and arg.shape == out.shape
    for r in range(0, out_h, 4096):  # in blocks: assert_array_equal's temporaries are GBs
        assert np.array_equal(out2[:, r:r + 4096], out[:, r:r + 4096]), r
    del out, out2
    gc.collect()
    which = win.argmax(axis=1)  # first maximum in row-major order
    np.testing.assert_array_equal(arg[0, rows, cols, 0], _flat_index(rows, cols, which))
    for r in (0, out_h - 1):
        w = x[0, 2 * r:2 * r + 2, :, 0].reshape(2, out_w, 2).transpose(1, 0, 2).reshape(-1, 4)
        expected = _flat_index(np.full(out_w, r), np.arange(out_w), w.argmax(axis=1))
        np.testing.assert_array_equal(arg[0, r, :, 0], expected)
    last_row = arg[0, out_h - 1, :, 0]
    assert last_row.min() >= 2**31
    assert arg.max() > 2**31
    assert arg[0, out_h - 1, out_w - 2, 0] == (BIG_H - 1) * BIG_W + BIG_W - 3
    # the very last window: its index points at its maximum
    assert x.reshape(-1)[arg[0, out_h - 1, out_w - 1, 0]] == x[0, -2:, -2:, 0].max()
    # every index points at the reported maximum (check a strided subset of rows)
    sub = arg[0, ::997, :, 0]
    vals = x.reshape(-1)[sub]
    np.testing.assert_array_equal(
        vals, x[0, :2 * out_h, :, 0].reshape(out_h, 2, out_w, 2)[::997].max(axis=(1, 3)))


# ------------------------------------------------------------------ memory growth

def _rss_bytes():
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, AttributeError):
        return None


def test_repeated_calls_do_not_grow_memory():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((8, 128, 128, 16)).astype(np.float32)     # 8 MB
    xcf = np.ascontiguousarray(np.moveaxis(x, -1, 1))
    grad_free_ops = [
        lambda: cypool.max_pool(x, 2, 2, "VALID"),                    # 2 MB out
        lambda: cypool.avg_pool(xcf, 3, 2, "SAME", "NCHW"),
        lambda: cypool.max_pool_with_argmax(x, 2, 2, "SAME"),         # 2 + 4 MB out
        lambda: cypool.pool(x, [2, 2], "AVG", [2, 2], "SAME", dilations=[2, 2]),
        lambda: cypool.max_pool(list(x[:1, :8, :8]), 2, 2, "VALID"),  # list conversion
    ]

    def run(times):
        for _ in range(times):
            for op in grad_free_ops:
                op()
        # error paths must not leak either
        for _ in range(times):
            with pytest.raises(ValueError):
                cypool.max_pool(x, 0, 2, "VALID")

    run(5)  # warm up (thread pools, caches)
    gc.collect()
    rss0 = _rss_bytes()
    tracemalloc.start()
    snap0 = tracemalloc.take_snapshot()
    run(50)
    gc.collect()
    snap1 = tracemalloc.take_snapshot()
    tracemalloc.stop()
    rss1 = _rss_bytes()
    traced = sum(s.size_diff for s in snap1.compare_to(snap0, "filename"))
    # a leaked output per call would be >= 50 * 2 MB = 100 MB
    assert traced < 16 * 2**20, f"tracemalloc grew by {traced / 2**20:.1f} MB"
    if rss0 is not None:
        assert rss1 - rss0 < 48 * 2**20, f"RSS grew by {(rss1 - rss0) / 2**20:.1f} MB"


def test_int32_argmax_needs_no_int64_temporary():
    x = np.random.default_rng(0).standard_normal((8, 64, 64, 64)).astype(np.float32)
    cypool.max_pool_with_argmax(x, 2, 2, "VALID", output_dtype=np.int32)  # warm up
    tracemalloc.start()
    values, index = cypool.max_pool_with_argmax(x, 2, 2, "VALID", output_dtype=np.int32)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    outputs = values.nbytes + index.nbytes                        # 2 MB + 2 MB
    # an int64 copy of the indices would add 4 MB; per-thread rows are some kB
    assert peak < outputs + 2**20, f"peak {peak / 2**20:.1f} MB for {outputs / 2**20} MB"
    np.testing.assert_array_equal(
        index, cypool.max_pool_with_argmax(x, 2, 2, "VALID")[1].astype(np.int32))


# ------------------------------------------------------------------ light import

def test_import_does_not_pull_tensorflow_or_torch():
    code = textwrap.dedent("""
        import sys
        import cypool
        import numpy as np
        cypool.max_pool(np.ones((1, 2, 2, 1)), 2, 2, "VALID")
        heavy = sorted(m for m in sys.modules
                       if m.split(".")[0] in ("tensorflow", "torch", "keras", "jax"))
        print(repr(heavy))
    """)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, cwd=root)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip().splitlines()[-1] == "[]"
