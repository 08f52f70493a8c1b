"""The install survives setuptools >= 82, which no longer ships ``pkg_resources`` (pynats2 imports it).

A fresh virtualenv gets a current setuptools and this project (copied to a
temp dir, installed with its dependencies); there, plain ``import pynats2``
must fail (proof that the environment really lacks ``pkg_resources``) while
``ariproxy.bus`` imports and talks to a real nats-server.  Skipped only when
the package index cannot be reached.
"""
import os
import shutil
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NETWORK_ERRORS = ("NewConnectionError", "Temporary failure in name resolution", "Network is unreachable",
                  "Max retries exceeded", "ConnectTimeoutError", "No matching distribution found",
                  "Could not find a version that satisfies")

SCRIPT = r"""
import sys
from gevent import monkey; monkey.patch_all()
from ariproxy.bus import Bus
assert "pkg_resources" not in sys.modules, "the stand-in leaked into sys.modules"
bus = Bus(sys.argv[1], name="install-check")
bus.connect()   # pynats2 asks pkg_resources.get_distribution for its version here
bus.subscribe("echo", lambda msg: msg.respond(msg.data))
bus.flush()
assert bus.request("echo", b"works", timeout=5).data == b"works"
bus.close()
print("bus ok")
"""


def _run(cmd, timeout=300, **kwargs):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kwargs)


def _outer_pip_can_target():
    """pip >= 22.3 here can install into another interpreter (``--python``): the fresh venv then
    needs no pip of its own (ensurepip was most of this test's time)."""
    try:
        import pip
        return tuple(int(x) for x in pip.__version__.split(".")[:2]) >= (22, 3)
    except (ImportError, ValueError):
        return False


def _pip(python, *args):
    if _outer_pip_can_target():
        cmd = [sys.executable, "-m", "pip", "--python", python]
    else:
        cmd = [python, "-m", "pip"]
    out = _run(cmd + ["install", "-q", "--disable-pip-version-check", *args])
    if out.returncode != 0:
        text = out.stdout + out.stderr
        if any(marker in text for marker in NETWORK_ERRORS):
            pytest.skip("package index unreachable: %s" % text.strip().splitlines()[-1])
        raise AssertionError("pip install %s failed:\n%s" % (" ".join(args), text))


def _copy_project(dest):
    """setup.py, pyproject.toml, LICENSE, README.md and the package: enough to build, without touching
    the checkout."""
    os.makedirs(dest)
    for name in ("setup.py", "pyproject.toml", "LICENSE"):
        shutil.copy(os.path.join(REPO, name), dest)
    readme = os.path.join(REPO, "README.md")
    if os.path.exists(readme):
        shutil.copy(readme, dest)
    else:
        with open(os.path.join(dest, "README.md"), "w") as f:
            f.write("ariproxy\n")
    shutil.copytree(os.path.join(REPO, "ariproxy"), os.path.join(dest, "ariproxy"),
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))


def test_fresh_venv_with_setuptools_82_imports_and_uses_bus(tmp_path, nats_url):
    venv = tmp_path / "venv"
    out = _run([sys.executable, "-m", "venv", str(venv)] + (["--without-pip"] if _outer_pip_can_target() else []))
    assert out.returncode == 0, out.stderr
    python = str(venv / "bin" / "python")
    _pip(python, "setuptools>=82")
    project = str(tmp_path / "project")
    _copy_project(project)
    # the venv's own setuptools (>= 82) builds it: the environment a user gets today
    _pip(python, "--no-build-isolation", project)

    check = _run([python, "-c", "import pkg_resources"], cwd=str(tmp_path))
    assert check.returncode != 0, "setuptools >= 82 still ships pkg_resources: this test proves nothing"

    plain = _run([python, "-c", "import pynats2"], cwd=str(tmp_path))
    assert plain.returncode != 0 and "pkg_resources" in plain.stderr, plain.stdout + plain.stderr

    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    ours = _run([python, "-c", SCRIPT, nats_url], cwd=str(tmp_path), env=env, timeout=60)
    assert ours.returncode == 0 and "bus ok" in ours.stdout, ours.stdout + ours.stderr

    # both commands are installed; the metadata names the license and ships its text
    for command in ("ari-proxy", "ariproxy"):
        version = _run([str(venv / "bin" / command), "--version"], cwd=str(tmp_path), env=env, timeout=60)
        assert version.returncode == 0 and version.stdout.startswith(command + " "), version.stderr
    meta = _run([python, "-c", "import importlib.metadata as m; d = m.distribution('ariproxy'); "
                 "print(d.metadata['License'] or d.metadata['License-Expression']); "
                 "print(any(str(f).endswith('LICENSE') for f in d.files))"], cwd=str(tmp_path), env=env)
    assert meta.stdout.split() == ["Apache-2.0", "True"], meta.stdout + meta.stderr
