"""tf_compare: cypool's conformance suite and benchmark against tf.nn.

`python -m tf_compare` checks every cypool op against the installed TensorFlow
(or, without TF, against the golden files in tests/golden/) and benchmarks cypool
against tf.nn, PyTorch and the memory-bandwidth floor.
"""
import os

# SPEC.md's reference is TF's default Eigen CPU kernels. On CPUs where TF turns oneDNN on
# (AVX-512 machines, for one), its pooling gradients add in another order, so conformance
# pins Eigen before TF is imported. The benchmark times TF as the user runs it
# (USER_ONEDNN_SETTING: None = TF's own default).
USER_ONEDNN_SETTING = os.environ.get("TF_ENABLE_ONEDNN_OPTS")
os.environ["TF_ENABLE_ONEDNN_OPTS"] = "0"


def use_user_onednn_setting(environ):
    """Put the user's own TF_ENABLE_ONEDNN_OPTS back into ``environ`` (for timing TF)."""
    environ.pop("TF_ENABLE_ONEDNN_OPTS", None)
    if USER_ONEDNN_SETTING is not None:
        environ["TF_ENABLE_ONEDNN_OPTS"] = USER_ONEDNN_SETTING
