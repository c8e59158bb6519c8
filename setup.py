"""Build cypool's Cython extensions.

OpenMP is probed by compiling, linking and running a tiny program with the
compiler that will build the extensions; without it the kernels build serial.
Environment variables:
  CYPOOL_NO_OPENMP=1     build without OpenMP even where the compiler has it
  CYPOOL_MARCH_NATIVE=1  add -march=native, only when set in os.environ (not portable)
"""
import os
import platform
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import textwrap

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

OPENMP_TEST = textwrap.dedent("""
    #include <omp.h>
    #include <stdio.h>
    int main(void) {
        int n = 0;
        #pragma omp parallel reduction(+:n)
        n += 1;
        printf("%d\\n", n > 0 && omp_get_max_threads() > 0);
        return 0;
    }
""")


def _flag(name):
    return os.environ.get(name, "").strip().lower() not in ("", "0", "false", "no")


def openmp_flags(compiler):
    """(compile_args, link_args) for OpenMP, or None when it does not work here."""
    if _flag("CYPOOL_NO_OPENMP"):
        print("cypool: OpenMP disabled by CYPOOL_NO_OPENMP")
        return None
    if compiler.compiler_type == "msvc":
        candidates = [(["/openmp"], [])]
    elif sys.platform == "darwin":
        candidates = [(["-Xpreprocessor", "-fopenmp"], ["-lomp"]), (["-fopenmp"], ["-fopenmp"])]
    else:
        candidates = [(["-fopenmp"], ["-fopenmp"])]
    tmp = tempfile.mkdtemp(prefix="cypool_omp_")
    try:
        src = os.path.join(tmp, "omp_test.c")
        with open(src, "w") as f:
            f.write(OPENMP_TEST)
        for cflags, lflags in candidates:
            try:
                objs = compiler.compile([src], output_dir=tmp, extra_postargs=cflags)
                exe = os.path.join(tmp, "omp_test")
                compiler.link_executable(objs, exe, extra_postargs=lflags)
                out = subprocess.run([exe], capture_output=True, text=True, timeout=60)
                if out.returncode == 0 and out.stdout.strip() == "1":
                    print(f"cypool: building with OpenMP ({' '.join(cflags)})")
                    return cflags, lflags
            except Exception as exc:  # compile, link or run failed: try the next
                print(f"cypool: OpenMP probe with {cflags} failed: {exc}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("cypool: WARNING: the compiler has no working OpenMP; building serial kernels")
    return None


def compiler_accepts(compiler, flags):
    """True when ``compiler`` compiles a trivial file with ``flags``."""
    tmp = tempfile.mkdtemp(prefix="cypool_flag_")
    try:
        src = os.path.join(tmp, "flag_test.c")
        with open(src, "w") as f:
            f.write("int main(void) { return 0; }\n")
        compiler.compile([src], output_dir=tmp, extra_postargs=flags)
        return True
    except Exception:
        return False
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


class BuildExt(build_ext):
    def finalize_options(self):
        super().finalize_options()
        if self.parallel is None:  # the modules compile independently: use every core
            self.parallel = os.cpu_count() or 1

    def build_extensions(self):
        omp = openmp_flags(self.compiler)
        msvc = self.compiler.compiler_type == "msvc"
        # No contraction into FMA anywhere: averages and gradients must round like TF.
        # -fno-wrapv undoes the -fwrapv of Python's own flags, which CPython needs
        # and the kernels do not: wrapping index arithmetic kept gcc from its best
        # loops (measured: the stem average 4.2 -> 3.6 ms, the max 3.7 -> 3.45 ms).
        opt = (["/O2", "/fp:precise"] if msvc
               else ["-O3", "-ffp-contract=off", "-fno-wrapv"])
        if _flag("CYPOOL_MARCH_NATIVE") and not msvc:
            opt.append("-march=native")  # opt-in from os.environ only
        isa_flags = {
            "avx2": ["/arch:AVX2"] if msvc else ["-mavx2", "-mf16c"],
            "avx512": (["/arch:AVX512"] if msvc
                       else ["-mavx2", "-mf16c", "-mavx512f", "-mavx512bw", "-mavx512vl",
                             "-mavx512dq"]),
        }
        accepted = {name: compiler_accepts(self.compiler, flags)
                    for name, flags in isa_flags.items()}
        kept = []
        for ext in self.extensions:
            isa = []
            variant = ext.name.rsplit("_", 1)[-1]
            if variant in isa_flags:
                if not accepted[variant]:
                    print(f"cypool: skipping {ext.name}: the compiler has no {variant.upper()}")
                    continue
                isa = isa_flags[variant]
            ext.extra_compile_args = opt + isa + (omp[0] if omp else [])
            ext.extra_link_args = omp[1] if omp else []
            kept.append(ext)
        self.extensions = kept
        super().build_extensions()


X86 = platform.machine().lower() in ("x86_64", "amd64", "i686", "x86")
MODULES = ["_openmp_helpers", "_output_cache", "_pool_forward", "_pool_backward"]
if X86:  # the same kernels again, built for AVX2 and AVX-512 and chosen at import time
    MODULES += [f"_pool_{part}_{isa}" for isa in ("avx2", "avx512")
                for part in ("forward", "backward")]
extensions = [
    Extension(
        f"cypool.{name}",
        [f"cypool/{name}.pyx"],
        include_dirs=[np.get_include(), "cypool"],
        depends=["cypool/_row_simd.h", "cypool/_output_cache.h"],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
    )
    for name in MODULES
]

setup(
    ext_modules=cythonize(extensions, language_level=3,
                          compiler_directives={"embedsignature": True}),
    cmdclass={"build_ext": BuildExt},
)
