"""pytest fixtures for the simulated Asterisk (``ariproxy.sim``).

- ``sim``: a started Simulator on a free loopback port with media 100x faster than real
  (``media_scale=0.01``), stopped at teardown.
- ``sim_factory``: ``sim_factory(**kwargs)`` starts more (e.g. other entity ids); all stopped at teardown.
- ``sim_events``: ``sim_events(sim, app="test")`` opens an events websocket (websocket-client) and
  returns an ``EventCollector`` (``.wait_for(type, timeout, pred)``, ``.events``, ``.types()``, ``.close()``).

Register with ``pytest_plugins = ["tests.support.sim"]``.
"""
import base64

import gevent
import pytest
import websocket
from gevent.event import Event

from ariproxy import jsonutil
from ariproxy.sim import Simulator

from .wait import wait_for


class EventCollector:
    """Reads one events websocket in a greenlet and keeps every parsed event (and RESTResponses)."""

    def __init__(self, url, app, subscribe_all=False, username="asterisk", password="asterisk"):
        query = "app=%s&subscribeAll=%s" % (app, "true" if subscribe_all else "false")
        self.ws = websocket.create_connection("%s?%s" % (url, query), skip_utf8_validation=True,
                                              header=["Authorization: Basic " + _basic(username, password)])
        self.events = []
        self.closed = Event()
        self._reader = gevent.spawn(self._read)

    def _read(self):
        try:
            while True:
                data = self.ws.recv()
                if not data:
                    break
                self.events.append(jsonutil.loads(data))
        except Exception:  # the socket closed or was dropped: that ends the collection
            pass
        finally:
            self.closed.set()

    def types(self, include=None):
        return [e["type"] for e in self.events if include is None or e["type"] in include]

    def wait_for(self, event_type, timeout=5.0, pred=None, start=0):
        """The first event of ``event_type`` (from index ``start``) matching ``pred``; fails after timeout."""
        def find():
            for e in self.events[start:]:
                if e.get("type") == event_type and (pred is None or pred(e)):
                    return e
            return None
        return wait_for(find, timeout, message="no %s event within %.1fs (got %s)" % (
            event_type, timeout, [e.get("type") for e in self.events[-20:]]))

    def send(self, obj):
        self.ws.send(jsonutil.dumps(obj).decode())

    def close(self):
        # the reader greenlet owns recv: send the close frame, let it see the answer, then drop the socket
        try:
            self.ws.send_close()
        except Exception:
            pass
        self.closed.wait(2)
        self.ws.shutdown()
        self._reader.join(2)


def _basic(user, password):
    return base64.b64encode(("%s:%s" % (user, password)).encode()).decode()


@pytest.fixture
def sim_factory():
    started = []

    def make(**kwargs):
        kwargs.setdefault("port", 0)
        s = Simulator(**kwargs).start()
        started.append(s)
        return s
    yield make
    for s in started:
        s.stop()


@pytest.fixture
def sim(sim_factory):
    """A started simulator with fast media (``media_scale=0.01``)."""
    return sim_factory(media_scale=0.01)


@pytest.fixture
def sim_events():
    opened = []

    def open_events(simulator, app="test", subscribe_all=False):
        ws_count = len(simulator.sockets)
        c = EventCollector(simulator.ws_url, app, subscribe_all)
        # registered: the simulator serves one more socket and knows the app
        wait_for(lambda: len(simulator.sockets) > ws_count
                 and all(name in simulator.asterisk.apps for name in app.split(",")), 5.0)
        opened.append(c)
        return c
    yield open_events
    for c in opened:
        c.close()
