"""A simulated Asterisk in its own process (``python -m ariproxy.sim``), as a real Asterisk is.

In-process simulators share the test's CPU and event loop with the server under test, so they cannot
show what Asterisk does to a reader that stalls: a simulator in another process keeps writing while
the test process is busy or blocked, and gives the socket up after its write timeout as Asterisk does.

``SimProcess(port=0, write_timeout_ms=100, entity_id=...)``: ``.start()`` returns once it listens;
``.url`` / ``.ws_url`` / ``.base_url``; ``.control(action, **params)`` calls ``/_sim/<action>`` and
returns the JSON answer; ``.stop()`` ends it by PID.  Fixture ``sim_process`` (stopped at teardown).
"""
import os
import signal
import socket
import subprocess
import sys
import time

import pytest
import requests

from .nats import _die_with_parent, free_port

HOST = "127.0.0.1"
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class SimProcess:
    """One ``python -m ariproxy.sim`` process on 127.0.0.1 (see the module docstring)."""

    def __init__(self, port=0, write_timeout_ms=100, entity_id="02:fc:00:00:00:01", extra_args=()):
        self.port = port or free_port()
        self.write_timeout_ms = write_timeout_ms
        self.entity_id = entity_id
        self.extra_args = list(extra_args)
        self._proc = None
        self._session = requests.Session()

    url = property(lambda self: "http://%s:%d/ari" % (HOST, self.port))
    ws_url = property(lambda self: "ws://%s:%d/ari/events" % (HOST, self.port))
    base_url = property(lambda self: "http://%s:%d" % (HOST, self.port))
    pid = property(lambda self: self._proc.pid if self._proc else None)

    def start(self, timeout=15.0):
        env = dict(os.environ)
        env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
        args = [sys.executable, "-m", "ariproxy.sim", "--host", HOST, "--port", str(self.port),
                "--entity-id", self.entity_id, "--websocket-write-timeout", str(self.write_timeout_ms)]
        self._proc = subprocess.Popen(args + self.extra_args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL, env=env, preexec_fn=_die_with_parent)
        deadline = time.monotonic() + timeout
        while True:
            if self._proc.poll() is not None:
                raise RuntimeError("simulator process exited with %s" % self._proc.returncode)
            try:
                socket.create_connection((HOST, self.port), timeout=0.5).close()
                return self
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError("simulator process not listening within %.0fs" % timeout)
                time.sleep(0.02)    # (another process: nothing to wait on but its port)

    def control(self, action, timeout=60, **params):
        """POST ``/_sim/<action>`` with ``params``; the JSON answer."""
        r = self._session.post(self.base_url + "/_sim/" + action, params=params, timeout=timeout)
        r.raise_for_status()
        return r.json()

    def state(self):
        return self._session.get(self.base_url + "/_sim/state", timeout=10).json()

    def stop(self):
        self._session.close()
        proc, self._proc = self._proc, None
        if proc is not None:
            stop_process(proc)


def stop_process(proc, timeout=15):
    """End a child we started, by PID: SIGTERM, then SIGKILL after ``timeout`` seconds."""
    if proc.poll() is not None:
        return
    os.kill(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(5)


@pytest.fixture
def sim_process():
    """A started simulator process (write timeout 100 ms, as Asterisk's default)."""
    sp = SimProcess().start()
    yield sp
    sp.stop()
