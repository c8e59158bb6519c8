"""The output cache: large outputs reuse freed blocks (NumPy's memory handler), every
kernel overwrites a reused block whole, views keep blocks alive, the limit, resizing,
concurrent callers and the argument checks."""
import os
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import cypool
from cypool import _output_cache

try:
    from numpy._core.multiarray import get_handler_name
except ImportError:  # NumPy 1.x
    from numpy.core.multiarray import get_handler_name

MB = 1 << 20


@pytest.fixture(autouse=True)
def fresh_cache():
    """Each test starts from an empty cache with the default limit, and restores it."""
    limit = cypool.output_cache()["max_bytes"]
    cypool.output_cache(0)
    cypool.output_cache(256 * MB)
    yield
    cypool.output_cache(0)
    cypool.output_cache(limit)


def _image(shape=(8, 64, 64, 64), dtype=np.float32, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(shape) * 8).astype(dtype)


def test_a_freed_output_is_reused_and_a_small_one_is_numpys():
    x = _image()
    first = cypool.max_pool(x, 2, 2, "VALID")              # 2 MB
    assert get_handler_name(first) == "cypool_output_cache"
    address, expected = first.ctypes.data, first.copy()
    del first
    assert cypool.output_cache()["blocks"] == 1
    second = cypool.max_pool(x, 2, 2, "VALID")
    assert second.ctypes.data == address
    assert cypool.output_cache()["blocks"] == 0
    np.testing.assert_array_equal(second, expected)
    small = cypool.max_pool(x[:1, :16, :16], 2, 2, "VALID")
    assert get_handler_name(small) == "default_allocator"


def _again_in_poisoned_blocks(op):
    """op() again after a first call, every block it gets back from the cache filled
    with 0xFF bytes (a NaN, or -1) first; asserts it got some."""
    first = op()
    reused = cypool.output_cache()["reused"]
    del first
    _output_cache.set_poison(0xFF)
    try:
        again = op()
    finally:
        _output_cache.set_poison(-1)
    assert cypool.output_cache()["reused"] > reused
    return again


FLOAT_OPS = ["max", "avg", "argmax", "argmax int32", "max grad", "avg grad",
             "grad with argmax"]


@pytest.mark.parametrize("what, dtype", [(what, dtype) for what in FLOAT_OPS
                                         for dtype in (np.float32, np.float64, np.float16)]
                         + [(what, dtype) for what in ("max", "argmax", "argmax int32")
                            for dtype in (np.uint8, np.int32)])
def test_a_reused_block_is_overwritten_whole(what, dtype):
    # outputs of 1 MB and more (float16 results: their float32 scratch too)
    x = _image((4, 130, 130, 32 * max(1, 4 // np.dtype(dtype).itemsize)), dtype)
    y, index = cypool.max_pool_with_argmax(x, 3, 2, "SAME")
    g = np.ones_like(y) if np.dtype(dtype).kind == "f" else None
    ops = {
        "max": lambda: cypool.max_pool(x, 3, 2, "SAME"),
        "avg": lambda: cypool.avg_pool(x, 3, 2, "SAME"),
        "argmax": lambda: cypool.max_pool_with_argmax(x, 3, 2, "SAME"),
        "argmax int32": lambda: cypool.max_pool_with_argmax(x, 3, 2, "SAME",
                                                            output_dtype=np.int32),
        "max grad": lambda: cypool.max_pool_grad(x, y, g, 3, 2, "SAME"),
        "avg grad": lambda: cypool.avg_pool_grad(x.shape, g, 3, 2, "SAME"),
        "grad with argmax": lambda: cypool.max_pool_grad_with_argmax(x, g, index, 3, 2,
                                                                     "SAME"),
    }
    expected = ops[what]()
    result = _again_in_poisoned_blocks(ops[what])
    for got, want in zip(result if isinstance(result, tuple) else (result,),
                         expected if isinstance(expected, tuple) else (expected,)):
        np.testing.assert_array_equal(got, want)


def test_a_view_keeps_its_block():
    x = _image()
    view = cypool.max_pool(x, 2, 2, "VALID")[1:]
    kept = view.copy()
    other = cypool.max_pool(-x, 2, 2, "VALID")            # must not get view's block
    assert not np.shares_memory(other, view)
    np.testing.assert_array_equal(view, kept)
    base = view.base
    del view
    assert cypool.output_cache()["blocks"] == 0             # the base still lives
    del base
    assert cypool.output_cache()["blocks"] == 1


def test_the_limit_drops_the_oldest_blocks_and_zero_turns_the_cache_off():
    x = _image((6, 64, 64, 64))
    outputs = [cypool.max_pool(x[:4] + i, 2, 2, "VALID") for i in range(3)]  # 2 MB each
    addresses = [a.ctypes.data for a in outputs]
    cypool.output_cache(5 * MB)
    del outputs[:]                                          # freed oldest first
    state = cypool.output_cache()
    assert (state["blocks"], state["bytes"]) == (2, 4 * MB)
    again = cypool.max_pool(x[:4], 2, 2, "VALID")
    assert again.ctypes.data in addresses[1:]
    cypool.output_cache(0)
    assert cypool.output_cache()["bytes"] == cypool.output_cache()["blocks"] == 0
    del again
    assert cypool.output_cache()["blocks"] == 0
    big = cypool.max_pool(np.concatenate([x] * 4), 2, 2, "VALID")   # 6 MB > 5 MB limit
    cypool.output_cache(5 * MB)
    del big
    assert cypool.output_cache()["blocks"] == 0


def test_resizing_a_cached_output_keeps_its_data():
    x = _image()
    out = cypool.max_pool(x, 2, 2, "VALID")
    kept = out.copy()
    out.resize((16,) + out.shape[1:], refcheck=False)      # grows: a new block
    np.testing.assert_array_equal(out[:8], kept)
    blocks = cypool.output_cache()["blocks"]
    out.resize((2,) + out.shape[1:], refcheck=False)       # to a quarter: a new block
    np.testing.assert_array_equal(out, kept[:2])
    assert cypool.output_cache()["blocks"] == blocks + 1   # the large one back
    out.resize((1,) + out.shape[1:], refcheck=False)       # by half: in place
    np.testing.assert_array_equal(out, kept[:1])
    del out
    assert cypool.output_cache()["blocks"] >= 1


@pytest.mark.skipif(sys.maxsize < 2**62, reason="needs a 64-bit address space")
def test_out_of_memory_gives_the_cached_blocks_back_first():
    cypool.max_pool(_image(), 2, 2, "VALID")                # freed: a 2 MB block cached
    assert cypool.output_cache()["blocks"] == 1
    with pytest.raises(MemoryError):
        _output_cache.empty((1 << 60,), np.uint8)
    state = cypool.output_cache()
    assert (state["blocks"], state["max_bytes"]) == (0, 256 * MB)


def test_concurrent_callers_get_their_own_blocks():
    xs = [_image((2 + i % 3, 64, 64, 64), seed=i) for i in range(6)]
    expected = [cypool.max_pool(x, 2, 2, "VALID") for x in xs]

    def work(i):
        for _ in range(20):
            got = cypool.max_pool(xs[i], 2, 2, "VALID", num_threads=1)
            np.testing.assert_array_equal(got, expected[i])
        return True

    with ThreadPoolExecutor(4) as pool:
        assert all(pool.map(work, range(6)))
    state = cypool.output_cache()
    assert state["bytes"] <= state["max_bytes"] and state["blocks"] <= 16


@pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork is POSIX only")
def test_a_fork_waits_while_another_thread_holds_the_lock():
    # Without the fork handlers the child would start with the lock held (or the
    # cache half updated) and hang on its first large output.
    code = textwrap.dedent("""
        import os, threading, time
        import numpy as np
        import cypool
        from cypool import _output_cache
        x = np.ones((8, 64, 64, 64), np.float32)
        holder = threading.Thread(target=_output_cache._hold_lock_for_test, args=(0.5,))
        holder.start()
        time.sleep(0.1)                            # the holder has the lock now
        pid = os.fork()
        if pid == 0:
            a = cypool.max_pool(x, 2, 2, "VALID")  # 2 MB each: through the cache
            b = cypool.max_pool(x, 2, 2, "VALID")
            ok = a.ctypes.data != b.ctypes.data and a[0, 0, 0, 0] == b[0, 0, 0, 0] == 1
            del a, b
            os._exit(0 if ok and cypool.output_cache()["blocks"] == 2 else 3)
        holder.join()
        for _ in range(200):
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                print(os.waitstatus_to_exitcode(status))
                break
            time.sleep(0.05)
        else:
            os.kill(pid, 9)
            print("the child hung")
    """)
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "0"


@pytest.mark.parametrize("bad, error", [(-1, ValueError), (1.5, TypeError),
                                        (True, TypeError), ("1", TypeError)])
def test_bad_limits_are_rejected(bad, error):
    with pytest.raises(error, match="max_bytes"):
        cypool.output_cache(bad)


@pytest.mark.parametrize("value, expected", [("0", "0"), (" 1048576 ", "1048576"),
                                             ("", str(256 * MB)), ("lots", "ValueError")])
def test_the_environment_variable_sets_the_limit(value, expected):
    code = textwrap.dedent("""
        try:
            import cypool
            print(cypool.output_cache()["max_bytes"])
        except ValueError as err:
            assert "CYPOOL_OUTPUT_CACHE" in str(err), err
            print("ValueError")
    """)
    env = dict(os.environ, CYPOOL_OUTPUT_CACHE=value)
    run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == expected
