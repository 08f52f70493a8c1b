"""Load a real client badly, and see nothing else suffer.

(Stopping the server under load, with every accepted request answered, is
``tests/test_server_behaviour.py::test_graceful_stop_under_load_answers_every_accepted_request``.)

- an application with a subscription it never reads: its other subscriptions get every event, the
  connection is untouched, the unread queue stays bounded and counts what it dropped.
"""
from ariproxy.client import Client
from ariproxy.jsonutil import dumps
from tests.support.wait import wait_for


def test_slow_consumer_in_an_application_hurts_nobody_else(proxy):
    client = Client(application=proxy.application, url=proxy.nats_url, timeout=3.0)
    try:
        unread = client.subscribe("ChannelUserevent", queue_size=10)
        read = []
        reader = client.on("ChannelUserevent", lambda ev: read.append(ev.body["userevent"]["seq"]))
        subject = "ari.event.%s.%s" % (proxy.application, proxy.node)
        for i in range(500):
            proxy.bus.publish(subject, dumps({"type": "ChannelUserevent", "application": proxy.application,
                                              "asterisk_id": proxy.node, "eventname": "load",
                                              "userevent": {"seq": i}}))
        proxy.bus.flush()
        wait_for(lambda: len(read) == 500, 15)
        assert read == list(range(500))
        assert unread.pending == 10 and unread.dropped == 490
        assert [e.body["userevent"]["seq"] for e in unread.drain()] == list(range(490, 500))  # the newest kept
        assert client.bus.stats["reconnects"] == 0 and client.bus.stats["dropped"] == 0
        reader.close()
    finally:
        client.close()
