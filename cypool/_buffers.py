"""Moving arrays between a caller's layout and the kernels' canonical 5-D view.

Shared by the forward and gradient ops: a C-ordered input reshapes to the canonical
``(planes, D, H, W, C)`` view for free (channels-first included); other inputs are
copied once; half-precision floats are widened to float32 so that they accumulate
in float32 and are rounded once on the way out.
"""
import numpy as np

from cypool._geometry import check_out, compute_dtype


# From this many bytes moved (inputs and outputs), a kernel writes its output with
# non-temporal stores: such an output would not stay in a cache of tens of MB anyway,
# and streaming it skips reading every line before it is written.  Measured on SPPF
# (26 MB moved, a 32 MB L3): 16 MB beat 32 MB cold (1.8 -> 1.4 ms) and in a chain of
# three pools each reading the last one's output (5.3 -> 4.4 ms).
STREAM_BYTES = 16 << 20


def streams(*arrays):
    """True when a kernel over ``arrays`` should stream its output (STREAM_BYTES)."""
    return sum(a.nbytes for a in arrays) >= STREAM_BYTES


def canonical_input(arr, canonical_shape):
    """A C-contiguous array of the compute dtype, viewed as ``canonical_shape``."""
    work = np.ascontiguousarray(arr, dtype=compute_dtype(arr.dtype))
    return work.reshape(canonical_shape)


class OutputBuffer:
    """The array a kernel writes and the array the caller gets back.

    With ``out=`` the kernel writes into the caller's buffer when the dtypes agree;
    half-precision results go through a float32 scratch array rounded at ``finish``.
    """

    def __init__(self, out, shape, dtype, canonical_shape, inputs=(), name="out"):
        dtype = np.dtype(dtype)
        if out is None:
            self.result = np.empty(shape, dtype=dtype)
        else:
            self.result = check_out(out, shape, dtype, name)
            for arr in inputs:
                if arr is not None and np.shares_memory(self.result, arr):
                    raise ValueError(f"{name} must not share memory with the inputs")
        work = compute_dtype(dtype)
        self.widened = work != dtype
        if self.widened:
            self.kernel = np.empty(canonical_shape, dtype=work)
        else:
            self.kernel = self.result.reshape(canonical_shape)

    def finish(self):
        if self.widened:  # round once to the caller's half precision
            np.copyto(self.result, self.kernel.reshape(self.result.shape), casting="unsafe")
        return self.result


def split_pair_out(out, what):
    """An ``out=`` for an op returning (values, indices): None or a 2-tuple of arrays."""
    if out is None:
        return None, None
    if isinstance(out, tuple) and len(out) == 2:
        return out
    raise TypeError(f"out must be a tuple (values, {what}) of two ndarrays, got "
                    f"{type(out).__name__}")
