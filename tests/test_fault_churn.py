"""Churn a real server and a real client must survive with nothing left behind.

- 10,000 requests whose reply subjects nobody listens to, then a normal request: answered;
- a client opening and closing 10,000 ``Client.new()`` children, each with a subscription of its
  own: no NATS subscription left at the nats-server (its monitoring endpoint ``/subsz``), no route
  left in the client, and the Python heap does not grow with the number of children.
"""
import gc

from ariproxy.client import Client
from ariproxy.protocol import Key, Request
from tests.support.nats import NatsServer, free_port
from tests.support.wait import wait_for


def test_flood_of_requests_nobody_waits_for_then_a_normal_request(proxy):
    subject = proxy.subject("data")
    for i in range(10000):
        data = Request("ChannelData", proxy.key("channel", "flood-%d" % i)).encode()
        proxy.bus.publish(subject, data, reply="_INBOX.nobody-listens.%d" % i)
    proxy.bus.flush(timeout=30)
    # requests come in over several connections (nats_intake_connections), so the normal request can
    # overtake the flood's tail and find max_concurrent reached: that is an at-once "busy", which a
    # caller retries; it must never be left without an answer, and a retry gets the real one
    answers = []

    def answered():
        resp = proxy.request("AsteriskInfo", timeout=30)
        answers.append(resp.error)
        return not resp.error

    wait_for(answered, 60, interval=0.05, message="the normal request never got a real answer")
    assert all(error.startswith("busy") for error in answers[:-1]), answers
    wait_for(lambda: proxy.server.stats["requests"] >= 10000 + len(answers), 60)
    wait_for(lambda: proxy.server.stats["in_flight"] == 0, 60)
    assert proxy.server.stats["bus"]["reconnects"] == 0
    proxy.ok("AsteriskInfo")


def _subscriptions(nats):
    return nats.monitor("subsz")["num_subscriptions"]


def test_ten_thousand_children_leave_no_subscription_and_no_memory(proxy_factory):
    nats = NatsServer(monitor_port=free_port()).start()
    try:
        p = proxy_factory(nats=nats, application="churn")
        client = Client(application="churn", url=nats.url, timeout=3.0)
        try:
            wait_for(lambda: client.nodes(), 10)
            baseline = _subscriptions(nats)

            def churn(n, start):
                for i in range(start, start + n):
                    child = client.new()
                    child.subscribe("ChannelDtmfReceived", key=Key(dialog="churn-%d" % i))  # its own NATS sub
                    child.close()

            churn(1000, 0)          # warm-up: caches, free lists
            client.bus.flush()
            gc.collect()
            objects = len(gc.get_objects())
            churn(9000, 1000)
            client.bus.flush()
            gc.collect()
            grown = len(gc.get_objects()) - objects
            assert grown < 2000, "%d more objects after 9,000 children" % grown
            wait_for(lambda: _subscriptions(nats) == baseline, 10,
                     message="subscriptions left at the nats-server: %d, were %d" % (_subscriptions(nats),
                                                                                     baseline))
            assert client._conn.router.subjects() == []
            assert client._conn.users == 1
            assert client.bus.stats["subscriptions"] == 1   # the cluster view's announcements, nothing else
            # and the parent still works
            assert client.asterisk.info(node=p.node)
        finally:
            client.close()
    finally:
        nats.cleanup()
