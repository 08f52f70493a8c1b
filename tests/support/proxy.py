"""An ari-proxy server in the test process, on a real nats-server and a real simulator.

Fixtures (registered through ``tests/conftest.py``'s ``pytest_plugins``):

- ``proxy``: a serving :class:`Proxy` (nats-server + simulator + ``Server``);
- ``proxy_factory``: ``proxy_factory(**options) -> Proxy``; pass ``nats=`` an
  earlier proxy's ``.nats`` (or a NatsServer) to put several servers on one
  NATS (two-node setups), ``entity_id=`` for each simulator, and any
  ``Server`` keyword (``rest_transport``, ``max_concurrent``, ...).
  Everything it started is stopped at teardown (processes by PID).

The server logs in to its simulator as ``PROXY_ARI_USER`` with ``ARI_PASSWORD`` and, on a nats-server
of its own, as ``PROXY_NATS_USER`` with ``NATS_PASSWORD`` (tests/support/secrets.py), so the secret
check searches every proxy test's output for credentials the server really uses.  Everyone else keeps
the simulator's ``asterisk:asterisk`` and connects to that nats-server without credentials
(``no_auth_user``), as before.

A Proxy has ``.server``, ``.sim``, ``.nats`` (the NatsServer), ``.nats_url``,
``.bus`` (a raw, connected ``ariproxy.bus.Bus`` for driving the server),
``.node``, ``.application``, ``.prefix`` and helpers that send raw protocol
requests: ``request(kind, key, payload_field, payload, cls=..., scope=...)``
returns the decoded ``protocol.Response``.  Every helper blocks the calling
greenlet up to its timeout.
"""
import pytest

from ariproxy.bus import Bus
from ariproxy.protocol import KINDS, Key, Request, Response, subject
from ariproxy.server import Server
from ariproxy.sim.server import Simulator
from tests.support.nats import NatsServer
from tests.support.secrets import ARI_PASSWORD, NATS_PASSWORD, PROXY_ARI_USER, PROXY_NATS_USER

__all__ = ["Proxy", "make_proxy", "proxy", "proxy_factory", "DEFAULT_APP"]

DEFAULT_APP = "testapp"
READY_TIMEOUT = 10.0

# Fast enough for tests, never a busy loop.
_TEST_SERVER_DEFAULTS = {"announce_interval": 60.0, "entity_check_interval": 10.0, "shutdown_timeout": 5.0,
                         "ari_username": PROXY_ARI_USER, "ari_password": ARI_PASSWORD}

# A nats-server of a proxy's own: the server under test logs in, every other client needs no credentials.
_NATS_AUTH = """authorization {
  users = [
    {user: "%s", password: "%s"}
    {user: "anyone", password: "unused-GpV4cN8s"}
  ]
}
no_auth_user: "anyone"
""" % (PROXY_NATS_USER, NATS_PASSWORD)


class Proxy:
    """One serving server with its simulator, on a NATS server (see the module docstring)."""

    def __init__(self, server, sim, nats, bus, owns_nats):
        self.server = server
        self.sim = sim
        self.nats = nats
        self.bus = bus
        self._owns_nats = owns_nats

    def __repr__(self):
        return "<Proxy %s node=%s nats=%s>" % (self.application, self.node, self.nats_url)

    @property
    def nats_url(self):
        return self.nats.url

    @property
    def node(self):
        return self.server.node

    @property
    def application(self):
        return self.server.application

    @property
    def prefix(self):
        return self.server.prefix

    def subject(self, cls, scope="exact"):
        """A request subject of this server: ``scope`` ``exact`` (app.node), ``app`` or ``all``."""
        if scope == "exact":
            return subject(self.prefix, cls, self.application, self.node)
        if scope == "app":
            return subject(self.prefix, cls, self.application)
        return subject(self.prefix, cls)

    def key(self, kind="", id="", dialog=""):
        """A Key addressed to this server."""
        return Key(kind, id, self.node, dialog, self.application)

    def send_raw(self, subject_, payload, timeout=2.0):
        """Publish raw bytes as a request; returns the reply Msg (RequestTimeout if none)."""
        return self.bus.request(subject_, payload, timeout=timeout)

    def request(self, kind, key=None, payload_field=None, payload=None, cls=None, scope="exact", timeout=2.0):
        """Send a protocol Request (class from the kinds table unless given); returns the Response."""
        if cls is None:
            spec = KINDS.get(kind)
            cls = spec.cls if spec is not None else "command"
        if cls == "get-list":
            cls = "get"
        if key is None:
            key = self.key()
        payload_bytes = Request(kind, key, payload_field, payload).encode()
        msg = self.bus.request(self.subject(cls, scope), payload_bytes, timeout=timeout)
        return Response.decode(msg.data)

    def ok(self, kind, key=None, payload_field=None, payload=None, **kwargs):
        """Like ``request`` but fails the test when the response carries an error."""
        resp = self.request(kind, key, payload_field, payload, **kwargs)
        assert not resp.error, "%s failed: %s" % (kind, resp.error)
        return resp

    def close(self):
        """Stop the server, its bus and simulator (and NATS when this proxy started it)."""
        try:
            self.bus.close()
        finally:
            try:
                if self.server.state not in ("stopped", "failed"):
                    self.server.stop(timeout=5.0)
            finally:
                try:
                    self.sim.stop()
                finally:
                    if self._owns_nats:
                        self.nats.cleanup()


def make_proxy(nats=None, entity_id="02:fc:00:00:00:01", application=DEFAULT_APP, sim_options=None,
               ready_timeout=READY_TIMEOUT, **server_options):
    """Start (nats-server if not given) + simulator + Server; block until serving; return a Proxy."""
    owns_nats = False
    if nats is None:
        nats = NatsServer(config=_NATS_AUTH).start()
        owns_nats = True
    elif isinstance(nats, Proxy):
        nats = nats.nats
    nats_url = nats.url
    if nats.config == _NATS_AUTH:
        nats_url = nats_url.replace("nats://", "nats://%s:%s@" % (PROXY_NATS_USER, NATS_PASSWORD))
    sim_options = dict(sim_options or {})
    sim_options["users"] = dict(sim_options.get("users") or {}, **{PROXY_ARI_USER: (ARI_PASSWORD, False)})
    sim = Simulator(entity_id=entity_id, **sim_options)
    sim.start()
    options = dict(_TEST_SERVER_DEFAULTS)
    options.update(server_options)
    options.setdefault("nats_url", nats_url)
    server = Server(ari_url=sim.url, application=application, **options)
    bus = None
    try:
        server.start()
        if not server.wait_ready(ready_timeout):
            raise RuntimeError("ari-proxy server not serving within %.0fs (state %s)" % (ready_timeout, server.state))
        bus = Bus(nats.url, name="ariproxy-test-driver")
        bus.connect()
    except Exception:
        if bus is not None:
            bus.close()
        server.stop(timeout=2.0)
        sim.stop()
        if owns_nats:
            nats.cleanup()
        raise
    return Proxy(server, sim, nats, bus, owns_nats)


@pytest.fixture
def proxy_factory():
    """``proxy_factory(**options) -> Proxy`` (see ``make_proxy``); all closed at teardown."""
    made = []

    def make(**options):
        p = make_proxy(**options)
        made.append(p)
        return p

    yield make
    # Servers first, then the NATS servers they share.
    for p in reversed(made):
        p.close()


@pytest.fixture
def proxy(proxy_factory):
    """A serving ari-proxy server (app ``testapp``) on its own nats-server and simulator."""
    return proxy_factory()
