"""python -m tf_compare: check cypool against tf.nn, then benchmark it.

1. Conformance: every cypool op against the installed TensorFlow on a seeded grid
   plus random cases (or, without TensorFlow, against the golden files), compared
   as SPEC.md requires; a per-op table, failures and documented divergences.
2. Speed: cypool against tf.nn, PyTorch, NumPy and the memory-bandwidth floor, at 1
   thread and at all threads (tf_compare/bench.py says how it is measured).
3. Report: the tables on the terminal and a report folder (markdown, JSON and a PNG
   chart when matplotlib is installed).
"""
import argparse
import datetime
import json
import os
import platform
import sys
import time

from tf_compare import bench
from tf_compare.cases import ALL_OPS, generate_cases
from tf_compare.conformance import (
    case_description, format_table, op_label, run_case, summarise,
)


def progress_bar(done, total, label="", width=30, stream=sys.stderr):
    """A one-line progress bar (a plain line per 10% when not on a terminal)."""
    frac = done / total if total else 1.0
    if stream.isatty():
        bar = "#" * int(width * frac) + "-" * (width - int(width * frac))
        stream.write(f"\r[{bar}] {done}/{total} {label[:50]:<50}")
        if done == total:
            stream.write("\n")
    elif done == total or done % max(total // 10, 1) == 0:
        stream.write(f"  {done}/{total} {label}\n")
    stream.flush()


def conformance(args):
    """Run the conformance cases; returns (mode, cases, rows)."""
    try:
        from tf_compare.tf_ops import run_tf, tensorflow
        tf = tensorflow()
        mode = (f"live against TensorFlow {tf.__version__} "
                "(Eigen kernels: TF_ENABLE_ONEDNN_OPTS=0)")
        n_random = 40 if args.quick else 400
        cases = generate_cases(args.seed, n_random=n_random, ops=args.ops, quick=args.quick)
        outputs = None
    except ImportError:
        from tf_compare.golden import read_golden
        print("TensorFlow is not installed: checking the golden files in tests/golden/ "
              "instead.\nFor live checks: pip install \".[tf]\"", file=sys.stderr)
        cases, outputs, version = read_golden()
        if args.ops:
            keep = [i for i, c in enumerate(cases) if c["op"] in args.ops]
            cases, outputs = [cases[i] for i in keep], [outputs[i] for i in keep]
        mode = f"golden files (TensorFlow {version})"
    rows = []
    print(f"Conformance: {len(cases)} cases, {mode}", file=sys.stderr)
    for i, case in enumerate(cases):
        try:
            expected = outputs[i] if outputs is not None else run_tf(case)
        except Exception as exc:  # TF refused a draw: not cypool's failure, but shown
            rows.append({"exact": False, "max_abs": 0.0, "max_ulp": 0, "ok": True,
                         "why": f"TF refused: {exc}"})
        else:
            rows.append(run_case(case, expected))
        progress_bar(i + 1, len(cases), op_label(case))
    return mode, cases, rows


def conformance_report(mode, cases, rows):
    lines = [f"Conformance ({mode}): exact = identical values; avg float32/float64 must "
             "be bit-exact too; divergences are SPEC.md's documented differences.", "",
             format_table(summarise(cases, rows)), ""]
    failures = [(c, r) for c, r in zip(cases, rows) if not r["ok"]]
    lines.append(f"Failures: {len(failures)}")
    lines += [f"- {case_description(c)}: {r}" for c, r in failures[:50]]
    kinds = {}
    for c, r in zip(cases, rows):
        if c["divergence"]:
            k = kinds.setdefault(c["divergence"], [0, 0])
            k[0] += 1
            k[1] += r["exact"]
    lines.append("")
    lines.append("Documented divergences exercised (cases, of which still identical to TF):")
    lines += [f"- {kind}: {n} ({same})" for kind, (n, same) in sorted(kinds.items())]
    return "\n".join(lines), len(failures)


def machine_line():
    import numpy as np
    import cypool
    from cypool import _kernels
    return (f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
            f"Python {platform.python_version()}, NumPy {np.__version__}, cypool "
            f"{cypool.__version__} (OpenMP {cypool.openmp_enabled()}, kernels {_kernels.ISA})")


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m tf_compare", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a run of under a minute")
    parser.add_argument("--no-bench", action="store_true", help="conformance only")
    parser.add_argument("--bench-only", action="store_true", help="benchmark only")
    parser.add_argument("--ops", nargs="*", choices=ALL_OPS, help="conformance ops to run")
    parser.add_argument("--cases", nargs="*", help="benchmark cases (substrings of names)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random cases")
    parser.add_argument("--threads", type=int, nargs="*",
                        help="benchmark thread counts (default: 1 and all cores)")
    parser.add_argument("--repeat", type=int, default=1,
                        help="benchmark runs per thread count, merged: medians, and the "
                             "range of cypool/floor (this VM's runs differ by 20-30%%)")
    parser.add_argument("--json", help="write every result to this JSON file")
    parser.add_argument("--report-dir", default="tf_compare_report")
    parser.add_argument("--regenerate-golden", action="store_true",
                        help="rewrite tests/golden/ from the installed TensorFlow")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error(f"--repeat: expected a count >= 1, got {args.repeat}")
    if args.regenerate_golden:
        from tf_compare.golden import write_golden
        path, n = write_golden(progress=lambda d, t: progress_bar(d, t, "golden"))
        print(f"Wrote {n} cases to {path}")
        return 0
    os.makedirs(args.report_dir, exist_ok=True)
    started = time.time()
    report = [f"# tf_compare report, {datetime.datetime.now():%Y-%m-%d %H:%M}", "",
              f"Machine: {machine_line()}", f"Command: python -m tf_compare "
              f"{' '.join(argv if argv is not None else sys.argv[1:])}", ""]
    results = {"machine": machine_line()}
    failures = 0
    if not args.bench_only:
        mode, cases, rows = conformance(args)
        text, failures = conformance_report(mode, cases, rows)
        print("\n" + text)
        report += ["## Conformance", "", text, ""]
        results["conformance"] = {"mode": mode, "table": summarise(cases, rows),
                                  "failures": failures}
    if not args.no_bench:
        threads = args.threads or [1, None]
        print(f"\nBenchmark ({'quick: batch / 8, ' if args.quick else ''}threads "
              f"{[t or os.cpu_count() for t in threads]}"
              f"{f', {args.repeat} runs each' if args.repeat > 1 else ''}; takes "
              f"{'about 20 s' if args.quick else 'a few minutes'} a run)", file=sys.stderr)
        runs = bench.run_benchmarks(
            threads, quick=args.quick, names=args.cases, repeat=args.repeat,
            progress=lambda r, nr, d, t, label: progress_bar(
                r * t + d, nr * t, label))
        table = bench.format_bench_table(runs)
        summary = bench.summary_lines(runs)
        print("\n" + table + "\n\n" + "\n".join(summary))
        png = bench.plot_bench(runs, os.path.join(args.report_dir, "bench.png"))
        versions = runs[0]["versions"] if runs else {}
        report += ["## Benchmark", "", (bench.__doc__ or "").strip(), "",
                   f"Contender versions: {versions}", "", table, "", *summary, ""]
        if png:
            report.append("![time / floor per case](bench.png)")
        results["bench"] = runs
    with open(os.path.join(args.report_dir, "report.md"), "w") as f:
        f.write("\n".join(report) + "\n")
    with open(os.path.join(args.report_dir, "results.json"), "w") as f:
        json.dump(results, f, indent=1, default=float)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1, default=float)
    print(f"\nReport: {os.path.abspath(args.report_dir)}/report.md "
          f"({time.time() - started:.0f} s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
