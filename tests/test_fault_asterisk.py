"""Asterisk misbehaving, seen from an application (the client), with full recovery afterwards.

Answers 500 (``fail_next``), answers slowly (2 s, past the client's 1 s timeout), refuses connections for 10 s
and drops the websocket, restarts with a new entity id: each gives the caller a clear exception and
the next call after the fault works.  (The server side of the same faults, on the raw protocol, is in
``tests/test_server_behaviour.py``.)
"""
import time

import gevent
import pytest

from ariproxy import errors
from ariproxy.client import Client
from tests.support.wait import wait_for

NEW_NODE = "02:fc:00:00:00:99"


@pytest.fixture
def client(proxy):
    c = Client(application=proxy.application, url=proxy.nats_url, timeout=1.0, retries=0)
    wait_for(lambda: c.nodes(), 10)
    yield c
    c.close()


def test_asterisk_faults_give_clear_errors_then_recover(proxy, client):
    node = proxy.node
    assert client.asterisk.info(node=node)

    proxy.sim.fail_next(2)
    for _ in range(2):
        with pytest.raises(errors.ARIError) as info:
            client.asterisk.info(node=node)
        assert info.value.status == 500
    assert client.asterisk.info(node=node)

    proxy.sim.set_delay(2000)
    try:
        with pytest.raises(errors.Timeout):
            client.asterisk.info(node=node)
    finally:
        proxy.sim.set_delay(0)
    wait_for(lambda: proxy.server.stats["in_flight"] == 0, 10)
    assert client.asterisk.info(node=node)

    refused_at = time.monotonic()
    proxy.sim.refuse_connections()          # drops the websocket too
    wait_for(lambda: proxy.server.state == "ari-down", 10)
    with pytest.raises(errors.ARIConnectionError):
        client.asterisk.info(node=node)
    # the outage lasts 10 s (the fault's length, not a synchronisation): the server keeps retrying with
    # backoff, and callers keep getting the same clear error at once all along
    gevent.sleep(max(0.0, refused_at + 10.0 - time.monotonic()))
    assert proxy.server.state == "ari-down"
    with pytest.raises(errors.ARIConnectionError):
        client.asterisk.info(node=node)
    proxy.sim.accept_connections()
    wait_for(lambda: proxy.server.state == "serving", 15)
    assert client.asterisk.info(node=node)

    proxy.sim.restart(entity_id=NEW_NODE)
    wait_for(lambda: proxy.server.node == NEW_NODE, 20)
    client.ping()
    wait_for(lambda: any(n.node == NEW_NODE for n in client.nodes()), 10)
    assert client.asterisk.info(node=NEW_NODE)["system"]["entity_id"] == NEW_NODE
