"""The examples in the public docstrings run and print what they say."""
import doctest

import pytest

import cypool.extras
import cypool.gradients
import cypool.pooling


@pytest.mark.parametrize("module", [cypool.pooling, cypool.gradients, cypool.extras],
                         ids=lambda m: m.__name__)
def test_docstring_examples(module):
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0
    assert result.failed == 0


def _readme_blocks():
    import pathlib
    import re
    text = (pathlib.Path(__file__).parent.parent / "README.md").read_text()
    return re.findall(r"```python\n(.*?)```", text, re.S)


@pytest.mark.parametrize("index", range(len(_readme_blocks())))
def test_readme_python_blocks_run(index, monkeypatch, tmp_path):
    import pathlib
    # run where examples/ resolves but files the blocks write land in a temp dir
    (tmp_path / "examples").symlink_to(pathlib.Path(__file__).parent.parent / "examples")
    monkeypatch.chdir(tmp_path)
    exec(compile(_readme_blocks()[index], f"README block {index}", "exec"), {})


def test_ci_runs_the_readme_test_command():
    import pathlib
    root = pathlib.Path(__file__).parent.parent
    readme = (root / "README.md").read_text()
    ci_command = (root / ".ci" / "run").read_text().strip().splitlines()[-1]
    assert "python -m pytest" in ci_command
    assert f"\n{ci_command}\n" in readme
