"""NATS misbehaving under a real server and real clients: killed and restarted mid-call, stalled.

- ``kill -9`` of nats-server with calls in progress, then a restart on the same port: the request in
  flight fails at once with ``ConnectionLost``, requests during the outage fail fast (``NotConnected``),
  server and client reconnect by themselves, event subscriptions and ``listen()``'s queue group
  resume, and afterwards every reply reaches the request it answers;
- nats-server stopped (SIGSTOP) for 5 s then resumed: short pings find the stale connection on both sides,
  both reconnect, nothing is left blocked.
"""
import os
import signal
import time

import gevent
import pytest

from ariproxy import errors
from ariproxy.bus import Bus, BusError, ConnectionLost, NotConnected
from ariproxy.client import Client
from tests.support.wait import wait_for

APP = "faultapp"


def _client(url, **bus_options):
    bus = Bus(url, name="fault-client", reconnect_wait=(0.05, 0.5), **bus_options)
    bus.connect()
    return Client(application=APP, bus=bus, timeout=3.0, retries=0), bus


def _wait_serving(client, proxy, timeout=20):
    """Both sides back: the client sees the server's announcement and a request goes through."""
    def ok():
        if not (client.bus.connected and proxy.server.bus.connected):
            return False
        try:
            client.ping()
            return client.asterisk.info(node=proxy.node) if hasattr(client, "asterisk") else True
        except (errors.AriProxyError, BusError):
            return False
    wait_for(ok, timeout, interval=0.05, message="server and client not serving again")


def test_nats_killed_and_restarted_mid_call(proxy_factory):
    p = proxy_factory(application=APP)
    client, bus = _client(p.nats_url)
    try:
        wait_for(lambda: client.nodes(), 10)
        handled = []
        # (the calls are this client's own originates: include_own hands them to its listener too)
        listener = client.listen(lambda ch, ev: handled.append(ch.id), include_own=True)
        starts = client.subscribe("StasisStart")
        before = client.channels.originate(endpoint="Local/1000@default")
        wait_for(lambda: before.id in handled, 10)

        # a request held by Asterisk when NATS dies fails at once, and clearly
        p.sim.set_delay(60000)
        held = gevent.spawn(client.request, "ChannelData", before.key, timeout=30)
        wait_for(lambda: p.server.stats["in_flight"] >= 1, 10)
        p.nats.kill()
        held.join(10)
        assert held.ready() and isinstance(held.exception, ConnectionLost), repr(held.exception)
        p.sim.set_delay(0)

        # during the outage: fast failures, not timeouts
        started = time.monotonic()
        with pytest.raises(BusError) as info:
            client.request("ChannelData", before.key, timeout=10)
        assert isinstance(info.value, (NotConnected, ConnectionLost))
        assert time.monotonic() - started < 5, "a request during the outage waited for its timeout"

        p.nats.start()
        wait_for(lambda: bus.connected and p.server.bus.connected, 20, interval=0.05)
        wait_for(lambda: bus.stats["reconnects"] >= 1 and p.server.stats["bus"]["reconnects"] >= 1, 5)
        _wait_serving(client, p)

        # subscriptions and the listen() queue group resumed
        while starts.get_nowait() is not None:
            pass
        after = client.channels.originate(endpoint="Local/1000@default")
        wait_for(lambda: after.id in handled, 15)
        event = starts.wait("StasisStart", timeout=10)
        assert event.body["channel"]["id"] == after.id
        assert handled.count(after.id) == 1

        # replies reach the request they answer (ids chosen per request, many at once)
        channels = [client.channels.originate(endpoint="Local/%d@default" % i) for i in range(5)]
        jobs = [gevent.spawn(lambda c=c: (c.id, client.request("ChannelData", c.key).entity))
                for c in channels for _ in range(10)]
        gevent.joinall(jobs, timeout=30)
        for job in jobs:
            cid, entity = job.get(block=False)
            assert entity.value["id"] == cid
        listener.close()
    finally:
        p.sim.set_delay(0)
        client.close()
        bus.close()


def test_nats_stalled_then_resumed(proxy_factory):
    # pings every 0.2 s: two unanswered and the connection is stale (instead of 5 s pings in production)
    p = proxy_factory(application=APP, nats_ping_interval=0.2)
    client, bus = _client(p.nats_url, ping_interval=0.2, connect_timeout=1.0)
    stopped = False
    try:
        wait_for(lambda: client.nodes(), 10)
        sub = client.subscribe("StasisStart")
        stalled_at = time.monotonic()
        os.kill(p.nats.pid, signal.SIGSTOP)
        stopped = True
        # a request sent into the stall ends (error) instead of hanging
        job = gevent.spawn(client.request, "AsteriskInfo", p.key(), timeout=20)
        wait_for(lambda: not bus.connected and not p.server.bus.connected, 15, interval=0.02,
                 message="the stale connection was not found by pings")
        job.join(15)
        assert job.ready() and isinstance(job.exception, BusError), repr(job.exception)
        # the stall lasts 5 s (the fault's length, not a synchronisation): reconnect attempts meanwhile
        # reach a process that accepts TCP but never answers, and must give up and try again
        gevent.sleep(max(0.0, stalled_at + 5.0 - time.monotonic()))
        assert not bus.connected and not p.server.bus.connected
        os.kill(p.nats.pid, signal.SIGCONT)
        stopped = False
        wait_for(lambda: bus.connected and p.server.bus.connected, 20, interval=0.05)
        _wait_serving(client, p)
        ch = client.channels.originate(endpoint="Local/1000@default")
        assert sub.wait("StasisStart", timeout=10).body["channel"]["id"] == ch.id
        assert p.server.stats["in_flight"] == 0
        assert bus.stats["requests_in_flight"] == 0
    finally:
        if stopped:
            os.kill(p.nats.pid, signal.SIGCONT)
        client.close()
        bus.close()
