"""A 3-node NATS cluster (routes on loopback), two ari-proxy servers, three application instances.

Each server and each client is given ONE node's URL; the cluster tells them about the others
(INFO ``connect_urls``).  Killing the node a server is connected to, then the node a client is on:
both fail over, the clients' cluster view recovers (both servers announce again), and new calls
are still each handed to exactly one ``listen()`` instance.
"""
import collections

import gevent

from ariproxy.bus import Bus
from ariproxy.client import Client
from tests.support.wait import wait_for

APP = "clusterapp"
NODES = ("02:fc:00:00:00:0a", "02:fc:00:00:00:0b")


def _record(handled, i):
    """A two-argument listen handler that notes which instance got the call."""
    def handler(ch, ev):
        handled[ch.id].append(i)
    return handler


def _calls_each_handled_once(callers, handled, n, node):
    """Originate ``n`` calls on ``node`` (through rotating callers); each reaches exactly one listener."""
    ids = []
    for i in range(n):
        ch = callers[i % len(callers)].channels.originate(endpoint="Local/%d@default" % i, node=node)
        ids.append(ch.id)
    wait_for(lambda: all(handled.get(cid) for cid in ids), 20,
             message="not every call reached a listener: %r" % {cid: handled.get(cid) for cid in ids})
    gevent.sleep(0.2)   # (a duplicate, if any, would come right behind; none may)
    for cid in ids:
        assert len(handled[cid]) == 1, (cid, handled[cid])


def test_failover_of_a_server_and_of_a_client_across_the_cluster(nats_cluster, proxy_factory):
    cluster = nats_cluster
    proxies = [proxy_factory(nats=cluster.nodes[i], application=APP, entity_id=NODES[i]) for i in (0, 1)]
    buses, clients = [], []
    handled = collections.defaultdict(list)
    for i in range(3):
        bus = Bus(cluster.nodes[i].url, name="app-%d" % i, reconnect_wait=(0.05, 0.5))
        bus.connect()
        buses.append(bus)
        client = Client(application=APP, bus=bus, timeout=3.0, retries=1)
        # (the callers are these clients: include_own hands their own calls to the queue group too)
        client.listen(_record(handled, i), include_own=True)
        clients.append(client)
    try:
        for c in clients:
            c.ping(wait=10, count=2)
            wait_for(lambda c=c: len(c.nodes(APP)) == 2, 10)
        for b in buses + [p.server.bus for p in proxies]:
            wait_for(lambda b=b: len(b.servers) == 3, 10, message="%r did not learn the cluster" % b)
        for node in NODES:
            _calls_each_handled_once(clients, handled, 6, node)

        # the node server 0 (and client 0) is connected to dies
        cluster.nodes[0].kill()
        wait_for(lambda: proxies[0].server.bus.connected and buses[0].connected, 20, interval=0.05)
        assert proxies[0].server.bus.connected_url != cluster.nodes[0].url
        for c in clients:
            wait_for(lambda c=c: (c.ping(), len(c.nodes(APP)) == 2)[1], 10)
        for node in NODES:
            _calls_each_handled_once(clients, handled, 6, node)

        # then the node client 2 is on
        cluster.nodes[2].kill()
        wait_for(lambda: buses[2].connected and all(p.server.bus.connected for p in proxies), 20, interval=0.05)
        assert buses[2].connected_url == cluster.nodes[1].url
        for c in clients:
            wait_for(lambda c=c: (c.ping(), len(c.nodes(APP)) == 2)[1], 10)
        for node in NODES:
            _calls_each_handled_once(clients, handled, 6, node)
        # every instance took part (the queue group spreads calls), none lost its listener
        assert {i for ids in handled.values() for i in ids} == {0, 1, 2}
    finally:
        for c in clients:
            c.close()
        for b in buses:
            b.close()
