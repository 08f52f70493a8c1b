"""The server on its own: raw NATS requests through ariproxy.bus against a real simulator."""
from ariproxy.protocol import Announcement, Key, Response


def test_asterisk_info_round_trip(proxy):
    resp = proxy.ok("AsteriskInfo")
    assert resp.data["asterisk"]["system"]["entity_id"] == proxy.node


def test_ping_gets_an_announcement(proxy):
    got = []
    sub = proxy.bus.subscribe("ari.announce", lambda msg: got.append(Announcement.decode(msg.data)))
    proxy.bus.flush()
    proxy.bus.publish("ari.ping", b'{"kind":"","key":null}')
    from tests.support.wait import wait_for
    wait_for(lambda: got, timeout=5)
    assert got[0] == Announcement(proxy.node, proxy.application)
    sub.unsubscribe()
