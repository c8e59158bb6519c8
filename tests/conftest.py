"""Shared pytest / hypothesis setup for cypool's tests.

Hypothesis profile: HYPOTHESIS_PROFILE=ci (default) or dev.
"""
import os
import sys
from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

sys.path.insert(0, os.path.dirname(__file__))  # so tests can `import reference`

# SPEC.md's reference is TF's default Eigen CPU kernels; on CPUs where TF turns oneDNN on
# (AVX-512 machines) its float32 average gradients add in another order. Pin Eigen before
# any test imports TensorFlow.
os.environ["TF_ENABLE_ONEDNN_OPTS"] = "0"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

settings.register_profile(
    "ci", max_examples=60, deadline=None, derandomize=False, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "dev", max_examples=300, deadline=None, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(params=[False, True], ids=["cached", "streamed"])
def output_streaming(request, monkeypatch):
    """Run a test with outputs written through the cache and with non-temporal stores
    (which cypool uses for outputs of over cypool._buffers.STREAM_BYTES)."""
    import cypool._buffers
    monkeypatch.setattr(cypool._buffers, "STREAM_BYTES", 0 if request.param else 1 << 62)
    return request.param


def kernel_builds():
    """The kernel builds, the portable one first (cypool._kernels.BUILDS)."""
    from cypool import _kernels
    return ["baseline"] + [name for name, _ in reversed(_kernels.BUILDS)]


def use_kernel_build(monkeypatch, variant):
    """Run cypool on ``variant``'s kernel build for the rest of the test; skips, saying
    why, where that build is not compiled or this CPU cannot run it.  Returns its
    (forward, backward) modules."""
    import importlib
    from cypool import _kernels
    suffix = "" if variant == "baseline" else f"_{variant}"
    try:
        forward = importlib.import_module(f"cypool._pool_forward{suffix}")
        backward = importlib.import_module(f"cypool._pool_backward{suffix}")
    except ImportError:
        pytest.skip(f"the {variant} kernel build is not compiled on this platform")
    needs = dict(_kernels.BUILDS).get(variant, ())
    features = _kernels._cpu_features()
    if not all(features.get(feature, False) for feature in needs):
        pytest.skip(f"this CPU lacks {needs}: the {variant} build cannot run here")
    monkeypatch.setattr(_kernels, "forward", forward)
    monkeypatch.setattr(_kernels, "backward", backward)
    return forward, backward


CHANNELS_LAST = {1: "NWC", 2: "NHWC", 3: "NDHWC"}
CHANNELS_FIRST = {1: "NCW", 2: "NCHW", 3: "NCDHW"}
ALL_FORMATS = [CHANNELS_LAST[n] for n in (1, 2, 3)] + [CHANNELS_FIRST[n] for n in (1, 2, 3)]


def fmt_for(n_spatial, channels_first):
    return (CHANNELS_FIRST if channels_first else CHANNELS_LAST)[n_spatial]


def full_shape(batch, spatial, channels, data_format):
    if data_format[1] == "C":
        return (batch, channels, *spatial)
    return (batch, *spatial, channels)


def full_form(values, data_format):
    """A length-N spatial list as the length-N+2 form (1s for batch/channel)."""
    values = list(values)
    if data_format[1] == "C":
        return [1, 1] + values
    return [1] + values + [1]


def explicit_padding(pads, data_format):
    """Length-N spatial (before, after) pairs as the API's N+2 list of [b, a] pairs."""
    pairs = [[int(b), int(a)] for b, a in pads]
    if data_format[1] == "C":
        return [[0, 0], [0, 0]] + pairs
    return [[0, 0]] + pairs + [[0, 0]]


@dataclass
class Case:
    """One pooling problem, in both the reference's and the API's terms."""
    x: np.ndarray
    data_format: str
    ksize: tuple          # spatial
    strides: tuple        # spatial
    dilations: tuple      # spatial
    padding: object       # 'SAME' / 'VALID' / list of spatial (before, after)

    @property
    def n_spatial(self):
        return len(self.ksize)

    @property
    def api_padding(self):
        if isinstance(self.padding, str):
            return self.padding
        return explicit_padding(self.padding, self.data_format)

    def api_args(self):
        """ksize, strides, padding and data_format as the API's positional arguments."""
        return (list(self.ksize), list(self.strides), self.api_padding, self.data_format)

    def ref_args(self):
        return dict(ksize=self.ksize, strides=self.strides, padding=self.padding,
                    data_format=self.data_format, dilations=self.dilations)


def make_values(rng, shape, dtype, style):
    """Random values of ``dtype``: 'small' ints (many ties) or 'wide' (few ties)."""
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        if style == "small":
            return rng.integers(-3, 4, size=shape).astype(dtype)
        return (rng.standard_normal(size=shape) * 10).astype(dtype)
    info = np.iinfo(dtype)
    if style == "small":
        lo = max(int(info.min), -3)
        return rng.integers(lo, lo + 7, size=shape, endpoint=False).astype(dtype)
    return rng.integers(info.min, info.max, size=shape, dtype=dtype, endpoint=True)


# float16 bit patterns the widening and rounding must keep: signalling and quiet NaNs
# with payloads, infinities, the least subnormals, signed zeros
HALF_SPECIALS = np.array([0x7c01, 0xfe00, 0x7d55, 0x7c00, 0xfc00, 0x0001, 0x83ff, 0x8000],
                         np.uint16)


def with_half_specials(x, rng):
    """A copy of float16 ``x`` with a fifth of its elements set to HALF_SPECIALS."""
    x = x.copy()
    bits = x.reshape(-1).view(np.uint16)
    picks = rng.integers(0, bits.size, bits.size // 5)
    bits[picks] = HALF_SPECIALS[rng.integers(0, HALF_SPECIALS.size, picks.size)]
    return x


@st.composite
def cases(draw, n_spatial=None, dtypes=(np.float32,), allow_empty=True, allow_dilation=True,
          channels_first=None, max_dim=None):
    """A random small pooling problem (every padding kind, both layouts, dilation).

    Categorical choices come from hypothesis; sizes come from a NumPy generator seeded by
    hypothesis, so their distribution is controlled (hypothesis's integer draws favour
    boundary values, which made most problems trivial): a zero-size dim about 1 time
    in 20, windows that mostly fit the input, explicit padding a third of the time.
    The falsifying Case is printed in full, so a failure is reproducible as is.
    """
    n = draw(st.sampled_from([1, 2, 3])) if n_spatial is None else n_spatial
    cf = draw(st.booleans()) if channels_first is None else channels_first
    data_format = fmt_for(n, cf)
    kind = draw(st.sampled_from(["SAME", "VALID", "EXPLICIT"]))
    dilate = allow_dilation and draw(st.booleans())
    dtype = draw(st.sampled_from(list(dtypes)))
    style = draw(st.sampled_from(["small", "wide"]))
    rng = np.random.default_rng(draw(st.integers(0, 2**63 - 1)))

    top = max_dim or {1: 14, 2: 8, 3: 5}[n]
    batch = int(rng.integers(1, 4))
    # 1-4 channels mostly; sometimes more (cypool has channel-count specialised kernels)
    channels = int(rng.choice([1, 1, 2, 2, 3, 3, 4, 4, 5, 8, 9, 17]))
    spatial = [int(rng.integers(1, top + 1)) for _ in range(n)]
    if allow_empty and rng.random() < 1 / 20:
        which = int(rng.integers(0, n + 2))  # batch, a spatial dim or the channels
        if which == 0:
            batch = 0
        elif which == n + 1:
            channels = 0
        else:
            spatial[which - 1] = 0
    spatial = tuple(spatial)
    ksize, dilations = [], []
    for m in spatial:
        k = int(rng.integers(1, 5))
        d = int(rng.integers(1, 4)) if dilate else 1
        # mostly keep the effective window within the input (+1): fewer empty outputs
        if rng.random() < 0.8:
            while d > 1 and (k - 1) * d + 1 > max(m, 1) + 1:
                d -= 1
            while k > 1 and (k - 1) * d + 1 > max(m, 1) + 1:
                k -= 1
        ksize.append(k)
        dilations.append(d)
    ksize, dilations = tuple(ksize), tuple(dilations)
    strides = tuple(int(rng.choice([1, 1, 1, 2, 2, 2, 3, 3, 5])) for _ in range(n))
    if kind == "EXPLICIT" and 0 not in spatial:
        padding = [(int(rng.integers(0, k)), int(rng.integers(0, k))) for k in ksize]
    else:
        padding = "VALID" if kind == "VALID" else "SAME"
    shape = full_shape(batch, spatial, channels, data_format)
    x = make_values(rng, shape, dtype, style)
    return Case(x, data_format, ksize, strides, dilations, padding)
