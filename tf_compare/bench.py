"""Benchmark cypool against tf.nn, PyTorch CPU, a NumPy baseline and the
memory-bandwidth floor, measured in the same run.

Method
------
* Each thread count runs in a worker subprocess (``--worker``) so that OpenMP,
  PyTorch and TensorFlow's thread pools are all set before they start.
* Contenders are interleaved: two warm-up rounds, then ``reps`` rounds in which
  every contender is timed once, each round starting with the next contender (the
  first of a round runs longest after its own last call); the median is reported.
  Before each timed call the contender is called once untimed (as in a loop of
  calls: its thread pool and memory are ready), then a read of 256 MB (eight times
  the L3) on one thread leaves the caches holding clean, unrelated lines, and last
  the same contender on a one-example, 8-pixel cut of the input wakes its threads
  again (a few KB; after the read's 7 ms a sleeping thread pool on this VM took up
  to ms to wake): the timed call reads cold inputs.  A read of 64 MB was not
  enough: this CPU's L3 keeps lines that were read again and again through one pass
  over twice its size, and a 13-33 MB input was partly found in it (SPPF 0.98 ms
  after 64 MB, 1.37 ms after 256 MB; 3-D 0.94 vs 1.4 ms).  Measured without the
  untimed call and the read: whichever contender ran first in a round was 0.1-0.4 ms
  slower than the next (which found the input in cache, and the other runtimes'
  threads no longer in its way), and a two-thread call right after a
  single-threaded one paid for waking the VM's idle second vCPU.
* Every contender allocates its output afresh, as a user's call does (cypool also
  with reused ``out=`` buffers).  Fresh NumPy arrays of some MB are backed by
  transparent huge pages where the kernel allows; their first faults can stall on
  memory compaction, which shows in the fresh-output column only.
* The floor is the time to read the op's inputs once and write its outputs once at
  the copy bandwidth (``np.copyto`` of a 256 MB buffer split over the threads, bytes
  read + written per second) measured in the case's own rounds: the copy is timed
  once per round among the contenders and its median gives the case's bandwidth.
  This shared VM's bandwidth drifts by 10-30% within minutes; one copy before and
  after all cases left each case's ratios with the drift of its minute in them.
* PyTorch runs on channels-last tensors (the NumPy array's own memory) except for
  the channels-first case; TF's SAME is matched by PyTorch's symmetric padding of
  k//2 (same output size here, comparable work). PyTorch's max gradient is its
  forward with indices plus ``aten.max_pool2d_with_indices_backward`` (MaxPoolGrad
  finds the maxima itself too); its average gradient is ``aten.avg_pool2d_backward``.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np

from tf_compare import USER_ONEDNN_SETTING, use_user_onednn_setting

# name, shape, dtype, data_format, op, ksize, strides, padding
CASES = [
    ("stem max 3x3/2", (32, 112, 112, 64), "float32", "NHWC", "max", 3, 2, "SAME"),
    ("stem avg 3x3/2", (32, 112, 112, 64), "float32", "NHWC", "avg", 3, 2, "SAME"),
    ("stem argmax 3x3/2", (32, 112, 112, 64), "float32", "NHWC", "argmax", 3, 2, "SAME"),
    ("stem max grad", (32, 112, 112, 64), "float32", "NHWC", "max_grad", 3, 2, "SAME"),
    ("stem avg grad", (32, 112, 112, 64), "float32", "NHWC", "avg_grad", 3, 2, "SAME"),
    ("VGG max 2x2/2", (32, 56, 56, 128), "float32", "NHWC", "max", 2, 2, "VALID"),
    ("RGB f32 max 2x2/2", (64, 224, 224, 3), "float32", "NHWC", "max", 2, 2, "VALID"),
    ("RGB u8 max 2x2/2", (64, 224, 224, 3), "uint8", "NHWC", "max", 2, 2, "VALID"),
    ("gray max 3x3/2", (64, 256, 256, 1), "float32", "NHWC", "max", 3, 2, "SAME"),
    ("NCHW max 3x3/2", (32, 64, 112, 112), "float32", "NCHW", "max", 3, 2, "SAME"),
    ("NCHW avg 3x3/2", (32, 64, 112, 112), "float32", "NCHW", "avg", 3, 2, "SAME"),
    ("SPPF max 5x5/1", (8, 40, 40, 256), "float32", "NHWC", "max", 5, 1, "SAME"),
    ("3-D max 2x2x2/2", (8, 32, 32, 32, 32), "float32", "NDHWC", "max", 2, 2, "VALID"),
    ("1-D max 4/4", (64, 4096, 32), "float32", "NWC", "max", 4, 4, "VALID"),
]
CONTENDERS = ["cypool", "cypool_out", "tf", "torch", "numpy"]


def _shape_for(shape, quick):
    return (max(shape[0] // 8, 1),) + tuple(shape[1:]) if quick else tuple(shape)


def _tiny_like(x, fmt):
    """The case's input cut to one example of 8 pixels a side (a few KB): the same
    contender's call on it wakes its threads right before a timed call."""
    index = [slice(0, 1)] + [slice(None)] * (x.ndim - 1)
    spatial = range(2, x.ndim) if fmt.startswith("NC") else range(1, x.ndim - 1)
    for axis in spatial:
        index[axis] = slice(0, 8)
    return np.ascontiguousarray(x[tuple(index)])


def _copy_call(threads, nbytes=256 << 20):
    """A copy of ``nbytes`` split over ``threads`` Python threads (np.copyto releases
    the GIL), and the bytes it reads + writes."""
    src = np.ones(nbytes // 4, np.float32)
    dst = np.empty_like(src)
    chunks = np.array_split(np.arange(src.size), threads)

    def copy():
        if threads == 1:
            np.copyto(dst, src)
            return
        workers = [threading.Thread(target=np.copyto, args=(dst[c[0]:c[-1] + 1],
                                                            src[c[0]:c[-1] + 1]))
                   for c in chunks]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
    copy()  # its pages faulted in
    return copy, 2 * src.nbytes


# ---------------------------------------------------------------- contenders

def _cypool_call(case, x, threads, reuse=False):
    """cypool's call for ``case``; ``reuse``: writing into the same out= buffers each
    time (a pipeline's steady state: no fresh pages to fault in and zero)."""
    import cypool
    _, _, _, fmt, op, k, s, pad = case
    if op == "max":
        call = lambda **kw: cypool.max_pool(x, k, s, pad, fmt, num_threads=threads, **kw)  # noqa: E731
    elif op == "avg":
        call = lambda **kw: cypool.avg_pool(x, k, s, pad, fmt, num_threads=threads, **kw)  # noqa: E731
    elif op == "argmax":
        call = lambda **kw: cypool.max_pool_with_argmax(  # noqa: E731
            x, k, s, pad, fmt, num_threads=threads, **kw)
    else:
        y = cypool.max_pool(x, k, s, pad, fmt)
        g = np.ones_like(y)
        if op == "max_grad":
            call = lambda **kw: cypool.max_pool_grad(  # noqa: E731
                x, y, g, k, s, pad, fmt, num_threads=threads, **kw)
        else:
            call = lambda **kw: cypool.avg_pool_grad(  # noqa: E731
                x.shape, g, k, s, pad, fmt, num_threads=threads, **kw)
    if not reuse:
        return call
    out = call()
    return lambda: call(out=out)


def _tf_call(case, x):
    import tensorflow as tf
    _, _, _, fmt, op, k, s, pad = case
    if fmt.startswith("NC"):
        return None, "TF's CPU kernels refuse channels-first"
    t = tf.constant(x)
    n = x.ndim - 2
    if op == "max":
        fn = lambda: tf.nn.max_pool(t, k, s, pad)  # noqa: E731
    elif op == "avg":
        fn = lambda: tf.nn.avg_pool(t, k, s, pad)  # noqa: E731
    elif op == "argmax":
        fn = lambda: tf.nn.max_pool_with_argmax(t, k, s, pad)  # noqa: E731
    else:
        y = tf.nn.max_pool(t, k, s, pad)
        g = tf.ones_like(y)
        full = [1] + [k] * n + [1], [1] + [s] * n + [1]
        if op == "max_grad":
            fn = lambda: tf.raw_ops.MaxPoolGrad(orig_input=t, orig_output=y, grad=g,  # noqa
                                                ksize=full[0], strides=full[1], padding=pad)
        else:
            fn = lambda: tf.raw_ops.AvgPoolGrad(orig_input_shape=list(x.shape), grad=g,  # noqa
                                                ksize=full[0], strides=full[1], padding=pad)
    try:
        fn()
    except Exception as exc:  # e.g. a dtype TF's kernel lacks
        return None, f"TF: {type(exc).__name__}: {str(exc).splitlines()[0][:80]}"
    return fn, ""


def _torch_call(case, x):
    import torch
    import torch.nn.functional as F
    _, _, _, fmt, op, k, s, pad = case
    n = x.ndim - 2
    t = torch.from_numpy(x)
    if not fmt.startswith("NC"):  # the array's own channels-last memory
        t = t.permute(0, n + 1, *range(1, n + 1))
    p = k // 2 if pad == "SAME" else 0
    max_fn = {1: F.max_pool1d, 2: F.max_pool2d, 3: F.max_pool3d}[n]
    avg_fn = {1: F.avg_pool1d, 2: F.avg_pool2d, 3: F.avg_pool3d}[n]
    if op == "max":
        fn = lambda: max_fn(t, k, s, p)  # noqa: E731
    elif op == "avg":
        fn = lambda: avg_fn(t, k, s, p)  # noqa: E731
    elif op == "argmax":
        fn = lambda: max_fn(t, k, s, p, return_indices=True)  # noqa: E731
    elif op == "max_grad":  # like MaxPoolGrad, which finds the maxima itself
        y, idx = F.max_pool2d(t, k, s, p, return_indices=True)
        g = torch.ones_like(y)

        def fn():
            _, idx = F.max_pool2d(t, k, s, p, return_indices=True)
            return torch.ops.aten.max_pool2d_with_indices_backward(
                g, t, [k, k], [s, s], [p, p], [1, 1], False, idx)
    else:
        y = F.avg_pool2d(t, k, s, p)
        g = torch.ones_like(y)
        fn = lambda: torch.ops.aten.avg_pool2d_backward(  # noqa: E731
            g, t, [k, k], [s, s], [p, p], False, True, None)
    try:
        fn()
    except Exception as exc:
        return None, f"torch: {type(exc).__name__}: {str(exc).splitlines()[0][:80]}"
    return fn, ""


def _numpy_call(case, x):
    """The plain-NumPy way: a padded sliding-window view reduced over the window."""
    from numpy.lib.stride_tricks import sliding_window_view
    _, _, _, fmt, op, k, s, pad = case
    if op not in ("max", "avg") or fmt != "NHWC" or x.nbytes > 64 << 20:
        return None, "NumPy baseline only for small NHWC max/avg (too slow otherwise)"
    if op == "avg" or pad != "VALID" and x.dtype.kind not in "f":
        return None, "NumPy baseline: max only"

    def fn():
        xp = x
        if pad == "SAME":
            out_h, out_w = -(-x.shape[1] // s), -(-x.shape[2] // s)
            th = max((out_h - 1) * s + k - x.shape[1], 0)
            tw = max((out_w - 1) * s + k - x.shape[2], 0)
            xp = np.pad(x, ((0, 0), (th // 2, th - th // 2), (tw // 2, tw - tw // 2), (0, 0)),
                        constant_values=-np.inf)
        win = sliding_window_view(xp, (k, k), axis=(1, 2))[:, ::s, ::s]
        return win.max(axis=(-2, -1))
    return fn, ""


_EVICT = None


def _clean_caches(nbytes=256 << 20):
    """Read ``nbytes`` (more than the caches hold) on this thread: no dirty line of
    the last call is left for the next one to write back.  One thread: with the read
    split over two Python threads, the next two-thread call of any contender ran up
    to 15x slower on this VM (RGB uint8 0.42 -> 6.2 ms, VGG 1.6 -> 2.1 ms); the wake
    call after it readies the contender's threads instead."""
    global _EVICT
    if _EVICT is None:
        _EVICT = np.ones(nbytes // 8, np.int64)
    np.bitwise_or.reduce(_EVICT)


def run_worker(threads, quick=False, names=None, reps=None, progress=True):
    """Time every case at ``threads`` threads in this process; returns result dicts."""
    os.environ["OMP_NUM_THREADS"] = str(threads)
    use_user_onednn_setting(os.environ)  # TF as the user runs it, oneDNN or not
    import cypool
    cypool.set_num_threads(threads)
    have = {}
    try:
        import tensorflow as tf
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(1)
        have["tf"] = (f"{tf.__version__}, TF_ENABLE_ONEDNN_OPTS="
                      f"{USER_ONEDNN_SETTING or 'unset (TF default)'}")
    except ImportError:
        pass
    try:
        import torch
        torch.set_num_threads(threads)
        have["torch"] = torch.__version__
    except ImportError:
        pass
    copy, copy_bytes = _copy_call(threads)
    reps = reps or (3 if quick else 9)
    rng = np.random.default_rng(0)
    results = []
    cases = [c for c in CASES if not names or any(n.lower() in c[0].lower() for n in names)]
    for i, case in enumerate(cases):
        name, shape, dtype, fmt, op, k, s, pad = case
        shape = _shape_for(shape, quick)
        x = (rng.random(shape, dtype=np.float32) * 200).astype(dtype)
        tiny = _tiny_like(x, fmt)
        calls = {"cypool": _cypool_call(case, x, threads),
                 "cypool_out": _cypool_call(case, x, threads, reuse=True), "copy": copy}
        wake = {"cypool": _cypool_call(case, tiny, threads),
                "cypool_out": _cypool_call(case, tiny, threads, reuse=True),
                "copy": lambda: None}
        notes = {}
        for who, maker in (("tf", _tf_call), ("torch", _torch_call), ("numpy", _numpy_call)):
            if who in ("tf", "torch") and who not in have:
                notes[who] = f"{who} not installed"
                continue
            fn, why = maker(case, x)
            if fn is None:
                notes[who] = why
            else:
                calls[who] = fn
                wake[who] = maker(case, tiny)[0] or (lambda: None)
        out = calls["cypool"]()
        out_arrays = out if isinstance(out, tuple) else (out,)
        out_bytes = sum(a.nbytes for a in out_arrays)
        in_bytes = x.nbytes
        if op.endswith("grad"):  # reads x (max) and grad, writes dx
            grad_bytes = cypool.max_pool(x, k, s, pad, fmt).nbytes
            in_bytes = (x.nbytes if op == "max_grad" else 0) + grad_bytes
            out_bytes = x.nbytes
        moved = in_bytes + out_bytes
        for _ in range(2):  # warm up (first calls fault in new memory, incl. huge pages)
            for fn in calls.values():
                fn()
        times = {who: [] for who in calls}
        order = list(calls.items())
        for rep in range(reps):  # interleaved rounds, each starting one contender later
            for who, fn in order[rep % len(order):] + order[:rep % len(order)]:
                fn()  # as in a loop of calls: this contender's threads and memory ready
                _clean_caches()
                wake[who]()  # its threads awake again, a few KB touched
                t = time.perf_counter()
                fn()
                times[who].append(time.perf_counter() - t)
        bandwidth = copy_bytes / float(np.median(times["copy"]))  # this case's minutes
        row = {"case": name, "shape": list(shape), "dtype": dtype, "data_format": fmt,
               "op": op, "threads": threads, "floor_ms": moved / bandwidth * 1e3,
               "bandwidth_gbs": bandwidth / 1e9, "notes": notes}
        for who in CONTENDERS:
            row[f"{who}_ms"] = float(np.median(times[who]) * 1e3) if who in times else None
        results.append(row)
        del calls, x, out, out_arrays
        if progress:
            print(f"PROGRESS {i + 1}/{len(cases)} {name} threads={threads}", file=sys.stderr,
                  flush=True)
    del copy
    training = time_training_steps(quick) if not names or "train" in names else None
    if progress:
        print(f"PROGRESS {len(cases)}/{len(cases)} training step threads={threads}",
              file=sys.stderr, flush=True)
    return {"threads": threads, "versions": have, "results": results,
            "bandwidth_gbs": [min(r["bandwidth_gbs"] for r in results),
                              max(r["bandwidth_gbs"] for r in results)] if results else None,
            "training": training}


def time_training_steps(quick=False, reps=None):
    """Median ms of one Keras training step (conv, max pool 3x3/2, conv, avg pool 2x2/2,
    dense; SGD inside tf.function), pooling with tf.nn and with cypool.tf; None
    without TensorFlow.  cypool.tf pays a NumPy round trip per pooling op."""
    try:
        import tensorflow as tf
        import cypool.tf as ctf
    except ImportError:
        return None
    keras = tf.keras
    batch = 4 if quick else 32
    rng = np.random.default_rng(0)
    x = tf.constant(rng.standard_normal((batch, 112, 112, 16)).astype(np.float32))
    labels = tf.constant(rng.integers(0, 10, batch))
    steps = {}
    for who, nn in (("tf.nn", tf.nn), ("cypool.tf", ctf)):
        keras.utils.set_random_seed(0)
        model = keras.Sequential([
            keras.Input((112, 112, 16)),
            keras.layers.Conv2D(32, 3, padding="same", activation="relu"),
            keras.layers.Lambda(lambda t, nn=nn: nn.max_pool2d(t, 3, 2, "SAME")),
            keras.layers.Conv2D(32, 3, padding="same", activation="relu"),
            keras.layers.Lambda(lambda t, nn=nn: nn.avg_pool2d(t, 2, 2, "VALID")),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(10),
        ])
        loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        optimizer = keras.optimizers.SGD(0.01)

        @tf.function
        def step(model=model, loss_fn=loss_fn, optimizer=optimizer):
            with tf.GradientTape() as tape:
                loss = loss_fn(labels, model(x, training=True))
            grads = tape.gradient(loss, model.trainable_variables)
            optimizer.apply_gradients(zip(grads, model.trainable_variables))
            return loss

        steps[who] = step
    for step in steps.values():  # trace and warm up
        step()
        step()
    times = {who: [] for who in steps}
    for _ in range(reps or (3 if quick else 7)):  # interleaved
        for who, step in steps.items():
            t = time.perf_counter()
            float(step())
            times[who].append(time.perf_counter() - t)
    return {"shape": [batch, 112, 112, 16],
            **{f"{who}_ms": float(np.median(v) * 1e3) for who, v in times.items()}}


def format_training_line(run):
    t = run.get("training")
    if not t:
        return None
    return (f"{run['threads']} thread(s): Keras training step (conv 3x3x32, max pool 3x3/2 "
            f"SAME, conv, avg pool 2x2/2, dense; input {tuple(t['shape'])} float32, "
            f"tf.function): tf.nn pooling {t['tf.nn_ms']:.1f} ms, cypool.tf pooling "
            f"{t['cypool.tf_ms']:.1f} ms ({t['cypool.tf_ms'] / t['tf.nn_ms']:.2f}x)")


def run_benchmarks(threads=(1, None), quick=False, names=None, progress=None, repeat=1):
    """Run a worker subprocess per thread count (None: all cores), ``repeat`` times
    over (thread counts alternating); merge the results (merge_repeats)."""
    counts = list(dict.fromkeys(os.cpu_count() or 1 if t is None else t for t in threads))
    done = {t: [] for t in counts}
    n_workers = repeat * len(counts)
    for n in range(n_workers):
        t = counts[n % len(counts)]
        with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as f:
            path = f.name
        cmd = [sys.executable, "-m", "tf_compare.bench", "--worker", "--threads", str(t),
               "--json", path] + (["--quick"] if quick else []) + (
               ["--cases", *names] if names else [])
        env = dict(os.environ, OMP_NUM_THREADS=str(t), TF_CPP_MIN_LOG_LEVEL="3")
        use_user_onednn_setting(env)  # the worker reads the user's setting from it
        proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True, env=env)
        for line in proc.stderr:
            if line.startswith("PROGRESS") and progress:
                done_cases, total = line.split()[1].split("/")
                progress(n, n_workers, int(done_cases), int(total),
                         line.split(" ", 2)[2].strip())
        if proc.wait() != 0:
            raise RuntimeError(f"benchmark worker for {t} threads failed")
        with open(path) as f:
            done[t].append(json.load(f))
        os.unlink(path)
    return [merge_repeats(done[t]) for t in counts]


def _median(values):
    values = [v for v in values if v is not None]
    return float(np.median(values)) if values else None


def merge_repeats(workers):
    """One thread count's worker results, repeated runs in separate processes, as one:
    every time the median over the runs, and ``cypool_floor_range`` the least and most
    of cypool/floor in a run (on this shared VM the same case moved by 20-30% from
    one run to the next).  One run is returned as it is."""
    if len(workers) == 1:
        return workers[0]
    merged = dict(workers[0], repeats=len(workers))
    if merged["bandwidth_gbs"]:  # None: no case ran (--cases train)
        merged["bandwidth_gbs"] = [min(w["bandwidth_gbs"][0] for w in workers),
                                   max(w["bandwidth_gbs"][1] for w in workers)]
    rows = []
    for i, row in enumerate(workers[0]["results"]):
        runs = [w["results"][i] for w in workers]
        row = dict(row)
        for key in row:
            if key.endswith("_ms") or key == "bandwidth_gbs":
                row[key] = _median(r[key] for r in runs)
        ratios = [r["cypool_ms"] / r["floor_ms"] for r in runs]
        row["cypool_floor_range"] = [min(ratios), max(ratios)]
        rows.append(row)
    merged["results"] = rows
    trainings = [w["training"] for w in workers if w.get("training")]
    if trainings:
        merged["training"] = dict(trainings[0], **{
            key: _median(t[key] for t in trainings)
            for key in trainings[0] if key.endswith("_ms")})
    return merged


def _ratio(a, b):
    return f"{a / b:.2f}" if a and b else "n/a"


def _range(row):
    """cypool/floor's least and most over repeated runs as " (least-most)", or ""."""
    low_high = row.get("cypool_floor_range")
    return f" ({low_high[0]:.2f}-{low_high[1]:.2f})" if low_high else ""


def _ms(v):
    return f"{v:.2f}" if v is not None else "n/a"


def format_bench_table(runs):
    lines = ["| case | threads | floor ms | cypool ms | cypool out= ms | TF ms | PyTorch ms | "
             "NumPy ms | cypool/floor | out=/floor | cypool/PyTorch | cypool/TF |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for run in runs:
        for r in run["results"]:
            lines.append(
                f"| {r['case']} {tuple(r['shape'])} {r['dtype']} | {r['threads']} | "
                f"{r['floor_ms']:.2f} | {_ms(r['cypool_ms'])} | {_ms(r.get('cypool_out_ms'))} | "
                f"{_ms(r['tf_ms'])} | {_ms(r['torch_ms'])} | {_ms(r['numpy_ms'])} | "
                f"{_ratio(r['cypool_ms'], r['floor_ms'])}{_range(r)} | "
                f"{_ratio(r.get('cypool_out_ms'), r['floor_ms'])} | "
                f"{_ratio(r['cypool_ms'], r['torch_ms'])} | {_ratio(r['cypool_ms'], r['tf_ms'])} |")
    return "\n".join(lines)


def summary_lines(runs):
    """Geometric means of the ratios, per thread count."""
    lines = []
    for run in runs:
        rs = run["results"]
        if not rs:  # only the training step ran, or no case matched --cases
            continue

        def gmean(key, who="cypool_ms", ops=None):
            v = [r[who] / r[key] for r in rs
                 if r.get(key) and r.get(who) and (ops is None or r.get("op") in ops)]
            return float(np.exp(np.mean(np.log(v)))) if v else float("nan")
        forward = ("max", "avg")  # issue 5's forward goal: max and average pools
        low, high = run["bandwidth_gbs"]
        runs_note = f", medians of {run['repeats']} runs" if run.get("repeats") else ""
        lines.append(f"{run['threads']} thread(s){runs_note}, copy bandwidth "
                     f"{low:.1f}-{high:.1f} GB/s over the cases: geometric mean cypool/floor "
                     f"{gmean('floor_ms'):.2f} (out= {gmean('floor_ms', 'cypool_out_ms'):.2f}; "
                     f"forward max/avg {gmean('floor_ms', ops=forward):.2f}), "
                     f"cypool/PyTorch {gmean('torch_ms'):.2f}, cypool/TF {gmean('tf_ms'):.2f}")
    lines += [line for line in map(format_training_line, runs) if line]
    return lines


def plot_bench(runs, path):
    """A PNG of time / floor per case and contender (None without matplotlib)."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    fig, axes = plt.subplots(1, len(runs), figsize=(7 * len(runs), 6), squeeze=False)
    for ax, run in zip(axes[0], runs):
        rs = run["results"]
        names = [r["case"] for r in rs]
        ypos = np.arange(len(rs))
        for j, who in enumerate(["cypool", "torch", "tf"]):
            vals = [r[f"{who}_ms"] / r["floor_ms"] if r.get(f"{who}_ms") else 0 for r in rs]
            ax.barh(ypos + (j - 1) * 0.27, vals, height=0.27, label=who)
        ax.axvline(1.0, color="k", lw=0.8)
        ax.set_xscale("log")
        ax.set_yticks(ypos, names)
        ax.invert_yaxis()
        ax.set_xlabel("time / memory-bandwidth floor (log; lower is better)")
        ax.set_title(f"{run['threads']} thread(s)")
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--threads", type=int, nargs="*", default=None)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--cases", nargs="*", help="substrings of case names")
    parser.add_argument("--json", help="write the results here")
    parser.add_argument("--repeat", type=int, default=1,
                        help="runs per thread count, merged (medians and ranges)")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error(f"--repeat: expected a count >= 1, got {args.repeat}")
    if args.worker:
        result = run_worker(args.threads[0], args.quick, args.cases)
        with open(args.json, "w") as f:
            json.dump(result, f)
        return 0
    runs = run_benchmarks(args.threads or (1, None), args.quick, args.cases,
                          progress=lambda *a: print(f"  {a[4]}", file=sys.stderr),
                          repeat=args.repeat)
    print(format_bench_table(runs))
    print("\n".join(summary_lines(runs)))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(runs, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
