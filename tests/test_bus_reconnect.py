"""ariproxy.bus when servers die: reconnect, resubscribe, fail fast, pending buffer, clusters, stale pings."""
import os
import signal
import time

import gevent
import gevent.event
import pytest

from ariproxy.bus import Bus, BusError, ConnectionLost, NotConnected, PendingBufferFull
from tests.support.wait import wait_for


@pytest.fixture
def make_bus():
    buses = []

    def make(url, **kwargs):
        kwargs.setdefault("reconnect_wait", (0.01, 0.1))
        bus = Bus(url, **kwargs)
        buses.append(bus)
        bus.connect()
        return bus

    yield make
    for bus in buses:
        bus.close()


def test_server_killed_mid_traffic_and_restarted(nats_server, make_bus):
    events = []
    responder = make_bus(nats_server.url, name="responder")
    responder.subscribe("echo", lambda msg: msg.respond(msg.data))
    plain, queued = [], [[], []]
    responder.subscribe("plain", plain.append)
    workers = [make_bus(nats_server.url, name="worker%d" % i) for i in range(2)]
    for i, w in enumerate(workers):
        w.subscribe("jobs", queued[i].append, queue="workers")
        w.flush()
    responder.flush()
    client = make_bus(nats_server.url, name="client",
                      on_disconnect=lambda b: events.append("down"), on_connect=lambda b: events.append("up"))
    wait_for(lambda: events == ["up"])

    outcomes = []
    stop = []
    # after a failure a traffic greenlet waits for the test to reopen the gate: a request sent
    # between the client's and the responder's resubscription would rightly time out
    gate = gevent.event.Event()
    gate.set()

    def traffic():
        i = 0
        while not stop:
            i += 1
            started = time.monotonic()
            try:
                ok = client.request("echo", b"%d" % i, timeout=10).data == b"%d" % i
                outcomes.append(("ok" if ok else "mismatch", 0))
            except (NotConnected, ConnectionLost) as e:
                outcomes.append((type(e).__name__, time.monotonic() - started))
                gate.wait(30)

    traffic_greenlets = [gevent.spawn(traffic) for _ in range(5)]
    wait_for(lambda: len(outcomes) >= 200)
    gate.clear()
    nats_server.kill()
    wait_for(lambda: client.state == "reconnecting" and responder.state == "reconnecting")
    wait_for(lambda: sum(1 for o, _ in outcomes if o != "ok") == 5)  # each greenlet's request failed
    # a request during the outage fails at once instead of waiting out its 10 s timeout
    started = time.monotonic()
    with pytest.raises(NotConnected):
        client.request("echo", b"x", timeout=10)
    assert time.monotonic() - started < 5
    failures = [elapsed for o, elapsed in outcomes if o != "ok"]
    assert failures and max(failures) < 5  # in-flight ones failed at the drop, not at their timeout

    nats_server.start()
    for bus in [client, responder] + workers:
        wait_for(lambda: bus.connected, timeout=10)
        bus.flush()  # resubscriptions were sent before the PING: the server has them
    n = len(outcomes)
    gate.set()
    wait_for(lambda: sum(1 for o, _ in outcomes[n:] if o == "ok") >= 200, timeout=10)
    stop.append(True)
    gevent.joinall(traffic_greenlets, timeout=15, raise_error=True)
    assert "mismatch" not in {o for o, _ in outcomes}
    assert client.stats["reconnects"] == 1 and events[:3] == ["up", "down", "up"]

    # plain and queue subscriptions resumed with their groups
    client.publish("plain", b"after")
    for i in range(100):
        client.publish("jobs", b"%d" % i)
    wait_for(lambda: [m.data for m in plain] == [b"after"])
    wait_for(lambda: len(queued[0]) + len(queued[1]) == 100)
    assert sorted(int(m.data) for m in queued[0] + queued[1]) == list(range(100))


def test_publishes_buffered_while_disconnected_then_refused_past_the_bound(nats_server, make_bus):
    got = []
    # the publisher subscribes itself: on reconnect SUBs go out before the buffered PUBs,
    # so every buffered message must come back, in order
    publisher = make_bus(nats_server.url, name="publisher", pending_buffer=2000)
    publisher.subscribe("buffered", got.append)
    publisher.flush()
    nats_server.kill()
    wait_for(lambda: publisher.state == "reconnecting")
    for i in range(10):
        publisher.publish("buffered", b"%03d" % i)  # ~25 bytes each on the wire
    with pytest.raises(PendingBufferFull):
        for i in range(1000):
            publisher.publish("buffered", b"x" * 100)
    assert 2000 - 120 <= publisher.stats["pending_bytes"] <= 2000  # full: one more 120-byte PUB would not fit
    buffered = publisher.stats["out_msgs"]
    nats_server.start()
    wait_for(lambda: publisher.connected, timeout=10)
    publisher.flush()
    assert publisher.stats["pending_bytes"] == 0
    data = [m.data for m in got]
    assert len(data) == buffered
    assert data[:10] == [b"%03d" % i for i in range(10)] and set(data[10:]) == {b"x" * 100}


def test_cluster_node_killed_traffic_resumes_via_another(nats_cluster, make_bus):
    node0, node1, node2 = nats_cluster.nodes
    responder = make_bus(node2.url, name="responder")
    responder.subscribe("echo", lambda msg: msg.respond(msg.data))
    responder.flush()
    # the client knows only node0: the others come from the server's INFO connect_urls
    client = make_bus(node0.url, name="client")
    assert client.connected_url == node0.url
    wait_for(lambda: len(client.servers) == 3)

    def request_ok():
        try:
            return client.request("echo", b"hop", timeout=0.5).data == b"hop"
        except BusError:
            return False

    wait_for(request_ok, timeout=10)  # interest in the client's inbox crosses the route asynchronously
    node0.kill()
    wait_for(lambda: client.connected and client.connected_url != node0.url, timeout=10)
    assert client.connected_url in (node1.url, node2.url)
    wait_for(request_ok, timeout=10)
    assert client.stats["reconnects"] == 1


def test_unanswered_pings_trigger_reconnect(nats_server, make_bus):
    bus = make_bus(nats_server.url, ping_interval=0.05, max_pings_out=2, connect_timeout=2)
    os.kill(nats_server.pid, signal.SIGSTOP)  # frozen: the socket stays open, nothing answers
    try:
        wait_for(lambda: bus.state == "reconnecting", timeout=10)
        with pytest.raises(NotConnected):
            bus.request("x", b"", timeout=5)
    finally:
        os.kill(nats_server.pid, signal.SIGCONT)

    def usable():
        # 50 ms pings: a loaded machine may stall long enough for one more (rightful) reconnect
        try:
            bus.flush()
            return True
        except BusError:
            return False
    wait_for(usable, timeout=15)
    assert bus.stats["reconnects"] >= 1


def test_reconnect_disabled_closes_on_drop(nats_server, make_bus):
    bus = make_bus(nats_server.url, reconnect=False)
    nats_server.kill()
    wait_for(lambda: bus.state == "closed")
    with pytest.raises(NotConnected):
        bus.publish("x", b"")


def test_publishes_queued_for_the_writer_survive_a_drop(nats_server, make_bus):
    got = []
    bus = make_bus(nats_server.url)
    bus.subscribe("kept", got.append)
    bus.flush()
    for i in range(10):
        bus.publish("kept", b"%d" % i)  # queued for the writer greenlet, which has not run yet
    bus._lost(bus._conn, "simulated socket error")  # what the reader/writer do on a dead socket
    assert bus.state == "reconnecting" and bus.stats["pending_bytes"] > 0
    wait_for(lambda: bus.connected, timeout=10)
    bus.flush()
    assert [m.data for m in got] == [b"%d" % i for i in range(10)]
