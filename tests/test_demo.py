"""``make run``'s command as a newcomer meets it: the demo call, then the CLI and the README's example against it.

Runs ``ari-proxy --embedded --foreground`` (the Makefile's ``run`` target, from this
virtualenv) in a subprocess with a clean environment, waits for the demo call to end,
checks the events it printed, then drives the running demo with ``ariproxy nodes``,
``ariproxy call`` and the README's client example, and stops it with Ctrl-C (SIGINT):
everything it started (simulator, bundled nats-server) is gone.
"""
import os
import re
import signal
import subprocess
import sys

import pytest

from tests.support.wait import wait_for
from tests.test_daemon import BIN, clean_env, gone, read

pytestmark = pytest.mark.timeout(180)

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BINDIR = os.path.dirname(sys.executable)
ARI_PROXY = os.path.join(BINDIR, "ari-proxy")
ARIPROXY = os.path.join(BINDIR, "ariproxy")
START = 60.0


def makefile_run_command():
    """The ``run`` target's command line from the Makefile, with $(VENV) this virtualenv."""
    with open(os.path.join(REPO, "Makefile")) as f:
        text = f.read()
    recipe = text.split("\nrun:", 1)[1].split("\n", 2)[1].strip()
    assert "--embedded" in recipe, "make run no longer asks for embedded mode: %r" % recipe
    words = recipe.replace("$(ARGS)", "").split()
    words[0] = words[0].replace("$(VENV)/bin/", "")
    return words


def readme_client_example():
    with open(os.path.join(REPO, "README.md")) as f:
        text = f.read()
    section = text.split("## Using the client", 1)[1]
    return section.split("```python\n", 1)[1].split("```", 1)[0]


@pytest.fixture
def demo(tmp_path):
    words = makefile_run_command()
    assert words[0] == "ari-proxy"
    program = [ARI_PROXY] if os.access(ARI_PROXY, os.X_OK) else [sys.executable, BIN]
    out_path, err_path = str(tmp_path / "stdout"), str(tmp_path / "stderr")
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        proc = subprocess.Popen(program + words[1:], cwd=REPO, env=clean_env(HOME=str(tmp_path)),
                                stdin=subprocess.DEVNULL, stdout=out, stderr=err)
    proc.out_path, proc.err_path = out_path, err_path
    yield proc
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def cli(*args, nats_url):
    program = [ARIPROXY] if os.access(ARIPROXY, os.X_OK) else [sys.executable, "-m", "ariproxy.cli"]
    return subprocess.run(program + list(args), env=clean_env(NATS_URL=nats_url), cwd=REPO,
                          capture_output=True, text=True, timeout=60)


def test_make_run_places_a_demo_call_then_serves_the_cli_and_the_readme_example(demo):
    def output():
        if demo.poll() is not None:
            raise AssertionError("make run's daemon exited with %s:\n%s\n%s"
                                 % (demo.returncode, read(demo.out_path), read(demo.err_path)))
        return read(demo.out_path)

    wait_for(lambda: "demo: Ctrl-C stops" in output(), START,
             message="the demo did not finish:\n%s\n%s" % (read(demo.out_path), read(demo.err_path)))
    out = output()
    assert "demo: the call was answered, played and hung up" in out
    event_lines = [line for line in out.splitlines() if line.startswith("demo:   ")]
    types = [line.split()[3] for line in event_lines]
    for wanted in ("StasisStart", "PlaybackStarted", "PlaybackFinished", "StasisEnd", "ChannelDestroyed"):
        assert wanted in types, out
    assert types.index("StasisStart") < types.index("PlaybackStarted") < types.index("PlaybackFinished") \
        < types.index("ChannelDestroyed")
    assert "media=sound:hello-world" in out

    nats_url = re.search(r"export NATS_URL=(\S+)", out).group(1)
    node = re.search(r"as node (\S+) on NATS", out).group(1)
    assert node != "02:fc:00:00:00:01"                      # a simulator of its own
    log = read(demo.err_path)
    assert "SIMULATED Asterisk" in log and "started the bundled nats-server" in log
    nats_pid = int(re.search(r"bundled nats-server at \S+ \(pid (\d+)", log).group(1))
    # it says what to run next: the CLI (run below as printed, with the NATS URL exported)
    assert re.search(r"ariproxy(\.cli)? nodes", out) and re.search(r"ariproxy(\.cli)? call Local/1000@default", out)

    nodes = cli("nodes", "--wait", "0.5", nats_url=nats_url)
    assert nodes.returncode == 0, nodes.stderr
    assert node in nodes.stdout and "demo" in nodes.stdout

    call = cli("call", "Local/1000@default", "--app", "demo", "--play", "sound:beep", nats_url=nats_url)
    assert call.returncode == 0, call.stdout + call.stderr
    assert "StasisStart" in call.stdout and "PlaybackFinished" in call.stdout and ": answered" in call.stderr
    busy = cli("call", "Local/4000@default", "--app", "demo", nats_url=nats_url)
    assert busy.returncode == 3 and ": busy" in busy.stderr

    example = subprocess.run([sys.executable, "-c", readme_client_example()], cwd=REPO,
                             env=clean_env(NATS_URL=nats_url), capture_output=True, text=True, timeout=60)
    assert example.returncode == 0, example.stdout + example.stderr

    demo.send_signal(signal.SIGINT)      # Ctrl-C
    assert demo.wait(timeout=30) == 0
    wait_for(lambda: gone(nats_pid), 15, message="the bundled nats-server outlived Ctrl-C")
    assert "embedded simulator stopped" in read(demo.err_path)
