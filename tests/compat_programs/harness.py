"""Running ari-py programs in tests: both backends, the two-line adaptation, in-process runs.

- ``Backend``: what a program connects to: ``nats`` (a real ari-proxy server for app ``hello``
  on a real nats-server and simulator) or ``http`` (a simulator, straight).  ``.connect_line``
  is the connect call the program gets; ``.sim`` the simulated Asterisk behind it; ``.driver``
  an ``ariproxy.ari.ARI`` on that simulator for the test's own calls (incoming calls, DTMF).
- ``adapt(source, connect_line)``: the program with its ``import ari`` and ``ari.connect(...)``
  lines replaced, and nothing else (checked).
- fixtures ``nats_backend`` / ``http_backend`` (one per test module) and ``backend`` (each test
  runs with both, on a simulator without channels or bridges); import them into the test module.
- ``Program``: an adapted program run in a greenlet of the test process; what it prints is
  kept in ``.lines``; ``stop()`` closes its client (``run()`` returns) and re-raises its error.
"""
import os
import re

import gevent
import pytest

from ariproxy.ari import ARI
from ariproxy.sim import Simulator
from tests.support.nats import NatsServer, free_port
from tests.support.proxy import make_proxy
from tests.support.wait import wait_for

HERE = os.path.dirname(os.path.abspath(__file__))
APP = "hello"
IMPORT_LINE = "from ariproxy.compat import ari"
_IMPORT = re.compile(r"^import ari\s*$")
_CONNECT = re.compile(r"^(\s*\w+\s*=\s*)ari\.connect\(.*\)\s*$")


def source_of(name):
    with open(os.path.join(HERE, name)) as f:
        return f.read()


def adapt(source, connect_line):
    """``source`` with ``import ari`` -> the compat import and its connect call -> ``connect_line``."""
    lines = source.split("\n")
    out, changed = [], 0
    for line in lines:
        if _IMPORT.match(line):
            out.append(IMPORT_LINE)
            changed += 1
            continue
        m = _CONNECT.match(line)
        if m:
            out.append(m.group(1) + connect_line)
            changed += 1
            continue
        out.append(line)
    assert changed == 2, "expected one import and one connect line, changed %d" % changed
    assert sum(a != b for a, b in zip(lines, out)) == 2 and len(lines) == len(out)
    return "\n".join(out)


class Backend:
    """One way to reach Asterisk (see the module docstring)."""

    def __init__(self, name, sim, connect_line, proxy=None):
        self.name = name
        self.sim = sim
        self.connect_line = connect_line
        self.proxy = proxy
        self.driver = ARI(sim.url, app=APP, rest_transport="http")

    def __repr__(self):
        return "<Backend %s>" % self.name

    def incoming(self, args="incoming", endpoint="Local/1000@default"):
        """A call into Stasis(hello, args); returns its channel id (the ;1 half)."""
        return self.driver.call("channels", "originate", endpoint=endpoint, app=APP, appArgs=args)["id"]

    def dtmf(self, channel_id, digits):
        """The caller presses ``digits`` (ChannelDtmfReceived on the channel)."""
        self.driver.call("channels", "sendDTMF", channelId=channel_id, dtmf=digits, between=1, duration=1)

    def requests_since(self, start=0):
        return self.sim.requests[start:]

    def wait_request(self, method, path, start=0, query=None, timeout=10.0):
        """The first ARI request ``method path`` (with ``query`` pairs) logged since index ``start``."""
        def find():
            for entry in self.sim.requests[start:]:
                if entry["method"] == method and entry["path"] == path and \
                        (query is None or all(q in entry["query"] for q in query)):
                    return entry
            return None
        return wait_for(find, timeout, message="no %s %s %s within %.0fs; saw %s" % (
            method, path, query or "", timeout,
            ["%s %s" % (e["method"], e["path"]) for e in self.sim.requests[start:][-15:]]))

    def reset(self):
        """Hang up every channel and destroy every bridge of the simulator."""
        for ch in list(self.sim.channels):
            try:
                self.driver.call("channels", "hangup", channelId=ch)
            except Exception:
                pass
        for br in list(self.sim.bridges):
            try:
                self.driver.call("bridges", "destroy", bridgeId=br)
            except Exception:
                pass
        wait_for(lambda: not self.sim.channels and not self.sim.bridges, 10.0)

    def close(self):
        self.driver.close()


def nats_connect_line(url):
    return "ari.connect(%r, app=%r)" % (url, APP)


def http_connect_line(sim):
    return "ari.connect(%r, 'asterisk', 'asterisk')" % (sim.base_url + "/")


class Program:
    """An adapted program running in a greenlet (see the module docstring)."""

    def __init__(self, name, backend, wait_running=True):
        self.name = name
        self.lines = []
        self.source = adapt(source_of(name), backend.connect_line)
        self.namespace = {"__name__": "__main__", "__file__": os.path.join(HERE, name), "print": self._print}
        code = compile(self.source, os.path.join(HERE, name), "exec")
        self.greenlet = gevent.spawn(exec, code, self.namespace)
        if wait_running:
            wait_for(lambda: self.greenlet.dead or (self.client is not None and self.client.running), 10.0,
                     message="%s did not reach client.run()" % name)
            if self.greenlet.dead:
                self.greenlet.get()

    def _print(self, *args, **kwargs):
        self.lines.append(kwargs.get("sep", " ").join(str(a) for a in args))

    @property
    def client(self):
        return self.namespace.get("client")

    def wait_line(self, prefix, timeout=10.0):
        """The first printed line starting with ``prefix``."""
        return wait_for(lambda: next((l for l in self.lines if l.startswith(prefix)), None), timeout,
                        message="%s never printed %r; printed %s" % (self.name, prefix, self.lines))

    def finish(self, timeout=10.0):
        """Wait for a program without an event loop to end; re-raise its exception."""
        self.greenlet.join(timeout)
        assert self.greenlet.dead, "%s still running after %.0fs" % (self.name, timeout)
        self.greenlet.get()

    def stop(self, timeout=10.0):
        """Close its client; ``run()`` returns and the program ends; re-raise its exception."""
        if self.client is not None:
            self.client.close()
        self.finish(timeout)


@pytest.fixture(scope="module")
def nats_backend():
    nats = NatsServer(monitor_port=free_port()).start()
    proxy = make_proxy(nats=nats, application=APP, sim_options={"media_scale": 0.01})
    backend = Backend("nats", proxy.sim, nats_connect_line(proxy.nats_url), proxy=proxy)
    yield backend
    backend.close()
    proxy.close()
    nats.cleanup()


@pytest.fixture(scope="module")
def http_backend():
    sim = Simulator(media_scale=0.01).start()
    backend = Backend("http", sim, http_connect_line(sim))
    yield backend
    backend.close()
    sim.stop()


@pytest.fixture(params=["nats", "http"])
def backend(request):
    b = request.getfixturevalue(request.param + "_backend")
    b.reset()
    yield b
    b.reset()
