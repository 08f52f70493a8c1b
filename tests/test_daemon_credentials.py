"""Wrong ARI or NATS credentials: the daemon exits non-zero at once with a clear message (a misconfigured
init script fails visibly), keeps retrying only when told to, and never logs the password."""
import os
import subprocess
import sys

import pytest

from ariproxy.sim import Simulator
from tests.support.secrets import ARI_PASSWORD as ARI_SECRET, NATS_PASSWORD as NATS_SECRET, WRONG_PASSWORD
from tests.support.wait import wait_for

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(REPO, "bin", "ari-proxy")


def clean_env():
    env = dict(os.environ)
    for name in list(env):
        if name.startswith(("ARI_", "ARIPROXY_", "NATS_")) or name == "MESSAGEBUS_URL":
            env.pop(name)
    return env


@pytest.fixture
def guarded_sim():
    sim = Simulator(port=0, password=ARI_SECRET).start()
    yield sim
    sim.stop()


def run_daemon(*args, timeout=60):
    return subprocess.run([sys.executable, BIN, "--foreground", "--no-config"] + list(args), env=clean_env(),
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout)


def test_wrong_ari_password_exits_non_zero_with_a_clear_message(guarded_sim, nats_server):
    wrong = "not-the-" + ARI_SECRET
    done = run_daemon("--ari-url", guarded_sim.url, "--ari-password", wrong, "--nats-url", nats_server.url)
    out = done.stdout + done.stderr
    assert done.returncode != 0, out
    assert "credentials were refused" in out and "ari_password" in out
    assert wrong not in out and ARI_SECRET not in out


def test_wrong_nats_password_exits_non_zero_with_a_clear_message(guarded_sim, nats_factory):
    nats = nats_factory(user="proxy", password=NATS_SECRET)
    url = "nats://proxy:wrong-%s@127.0.0.1:%d" % (NATS_SECRET, nats.port)
    done = run_daemon("--ari-url", guarded_sim.url, "--ari-password", ARI_SECRET, "--nats-url", url)
    out = done.stdout + done.stderr
    assert done.returncode != 0, out
    assert "credentials were refused" in out and "NATS" in out
    assert NATS_SECRET not in out and ARI_SECRET not in out


def test_retry_auth_failures_keeps_trying(guarded_sim, nats_server, tmp_path):
    log_file = str(tmp_path / "ari-proxy.log")
    proc = subprocess.Popen([sys.executable, BIN, "--foreground", "--no-config", "--ari-url", guarded_sim.url,
                             "--ari-password", WRONG_PASSWORD, "--nats-url", nats_server.url, "--retry-auth-failures",
                             "--log-file", log_file], env=clean_env(), stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        def log():
            try:
                with open(log_file) as f:
                    return f.read()
            except OSError:
                return ""
        wait_for(lambda: log().count("credentials refused (attempt") >= 2 or proc.poll() is not None, 30)
        assert proc.poll() is None, log()
    finally:
        proc.terminate()
        proc.wait(15)
