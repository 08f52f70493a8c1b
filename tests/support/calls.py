"""Fixtures and helpers for the toolkit tests (``tests/test_ext_*.py``): a proxy on a fast simulator,
a client on it, answered calls, and subscription counts.

Import the fixtures into a test module (``from tests.support.calls import fast_proxy, client``).
"""
import pytest

from ariproxy.client import Client
from tests.support.wait import wait_for

__all__ = ["fast_proxy", "client", "answered_call", "subscription_count", "requests_to"]


@pytest.fixture
def fast_proxy(proxy_factory):
    """A serving proxy whose simulator plays media 100 times faster than real."""
    return proxy_factory(sim_options={"media_scale": 0.01})


@pytest.fixture
def client(fast_proxy):
    """A client of the fast proxy.  A child of it keeps the application's event subject subscribed at
    NATS for the whole test (as a running application does), so keys a test schedules right before a
    helper subscribes are not lost to a fresh NATS subscription still on its way."""
    c = Client(application=fast_proxy.application, url=fast_proxy.nats_url, timeout=3.0)
    anchor = c.new()
    anchor.subscribe("NoSuchEvent", strict=False)
    c.bus.flush()
    c._test_anchor = anchor
    wait_for(lambda: c.nodes(), 5.0)
    yield c
    anchor.close()
    c.close()


def answered_call(client, endpoint="Local/1000@default"):
    """An originated channel in Stasis (answered), as a handle of ``client``; its creation-time
    subscription is released, so subscription counts start from what the test makes."""
    ch = client.channels.originate(endpoint=endpoint)
    ch.wait("StasisStart", timeout=5)
    ch.close()
    return ch


def subscription_count(client):
    """(subscriptions the client holds, subscriptions routed on its connection, not counting the
    fixture's anchor)."""
    routed = sum(route.count for route in client._conn.router._routes.values())
    anchor = getattr(client, "_test_anchor", None)
    if anchor is not None and not anchor.closed:
        routed -= anchor.subscriptions
    return client.subscriptions, routed


def requests_to(sim, method, fragment):
    """The simulator's logged ARI requests of ``method`` whose path contains ``fragment``."""
    return [r for r in sim.requests if r["method"] == method and fragment in r["path"]]
