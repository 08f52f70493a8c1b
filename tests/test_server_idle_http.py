"""Pooled ARI HTTP connections that Asterisk closed (http.conf session_keep_alive) are closed, not left in
CLOSE-WAIT until next used."""
import gevent
import pytest

from ariproxy.bus import Bus
from ariproxy.protocol import Key, Request, Response, subject
from ariproxy.server import Server
from ariproxy.sim import Simulator
from tests.support.wait import wait_for

APP = "idle"


def close_wait_sockets_to(port):
    """Sockets on this host in CLOSE-WAIT towards ``port`` (from /proc/net/tcp)."""
    count = 0
    with open("/proc/net/tcp") as f:
        next(f)
        for line in f:
            fields = line.split()
            remote, state = fields[2], fields[3]
            if state == "08" and int(remote.split(":")[1], 16) == port:
                count += 1
    return count


@pytest.mark.parametrize("http_client", ["requests", "native"])
def test_connections_asterisk_closed_are_closed(http_client, nats_server):
    sim = Simulator(port=0, http_keep_alive=0.3).start()
    srv = Server(ari_url=sim.url, application=APP, nats_url=nats_server.url, rest_transport="http",
                 ari_http_client=http_client, announce_interval=60, entity_check_interval=60)
    srv.reap_interval = 0.1
    bus = Bus(nats_server.url)
    try:
        srv.start()
        assert srv.wait_ready(10)
        bus.connect()
        req = Request("AsteriskInfo", Key(node=srv.node, app=APP)).encode()
        subj = subject("ari.", "data", APP, srv.node)
        replies = gevent.joinall([gevent.spawn(bus.request, subj, req, 10) for _ in range(20)], raise_error=True)
        assert all(not Response.decode(g.value.data).error for g in replies)
        # Asterisk closes the idle ones; the server closes its ends soon after, without being used again
        wait_for(lambda: srv.stats["http_reaped"] > 0 and close_wait_sockets_to(sim.port) == 0, 15,
                 message="sockets left in CLOSE-WAIT: %d" % close_wait_sockets_to(sim.port))
        # and the pool still works
        assert not Response.decode(bus.request(subj, req, timeout=10).data).error
    finally:
        bus.close()
        srv.stop(timeout=5)
        sim.stop()
