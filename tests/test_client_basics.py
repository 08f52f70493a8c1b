"""Client construction, configuration, reprs, subscriptions and routing rules (real nats-server)."""
import pytest

from ariproxy import errors
from ariproxy.bus import Bus
from ariproxy.client import Client
from ariproxy.jsonutil import dumps
from ariproxy.protocol import Key
from tests.support.secrets import NATS_PASSWORD
from tests.support.wait import wait_for


def test_environment_fallbacks(nats_server, monkeypatch):
    for name in ("NATS_URI", "NATS_URL", "MESSAGEBUS_URL", "ARI_APPLICATION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ARI_APPLICATION", "envapp")
    for var in ("MESSAGEBUS_URL", "NATS_URL", "NATS_URI"):
        monkeypatch.setenv(var, nats_server.url)
        with Client() as c:
            assert c.application == "envapp"
            assert c.bus.connected
        monkeypatch.delenv(var)
    # NATS_URI wins over the others
    monkeypatch.setenv("NATS_URI", nats_server.url)
    monkeypatch.setenv("MESSAGEBUS_URL", "nats://127.0.0.1:1")
    with Client(application="explicit") as c:
        assert c.application == "explicit" and c.bus.connected


def test_bad_configuration_is_refused_clearly(nats_server):
    with pytest.raises(errors.ProtocolError):
        Client(application="a.>", url=nats_server.url)
    with pytest.raises(errors.ValidationError):
        Client(url=nats_server.url, timeout=0)
    with pytest.raises(errors.ValidationError):
        Client(url=nats_server.url, retries=-1)
    with Client(url=nats_server.url) as c:
        with pytest.raises(errors.ValidationError):
            c.listen(lambda ch, ev: None)  # listen needs an application
        with pytest.raises(errors.ValidationError):
            c.request("NoSuchKind")


def test_reprs_are_readable_and_never_show_secrets(nats_factory):
    server = nats_factory(user="alice", password=NATS_PASSWORD)
    with Client(application="demo", url=server.auth_url) as c:
        text = repr(c)
        assert NATS_PASSWORD not in text and "demo" in text
        ch = c.channels.handle("c1", node="00:11:22:33:44:55", dialog="d1")
        assert repr(ch) == "<Channel 'c1' node=00:11:22:33:44:55 app=demo dialog=d1>"
        sub = ch.subscribe("StasisStart")
        assert repr(sub) == "<Subscription StasisStart channel:c1 open pending=0 dropped=0>"
        assert "Channels" in repr(c.channels)
        sub.close()
        assert "closed" in repr(sub)


def test_children_share_the_connection_and_count_references(nats_server):
    parent = Client(application="demo", url=nats_server.url)
    child = parent.new()
    other_app = parent.new(application="other")
    assert child.bus is parent.bus is other_app.bus
    assert (child.application, other_app.application) == ("demo", "other")
    assert child.cluster is parent.cluster
    parent.close()
    child.close()
    assert other_app.bus.connected
    other_app.close()
    assert other_app.bus.state == "closed"


def test_one_nats_subscription_per_subject(nats_server):
    with Client(application="demo", url=nats_server.url) as c:
        subs = [c.channels.handle("c%d" % i).subscribe() for i in range(50)]
        subs.append(c.subscribe("StasisStart"))
        dialog = c.subscribe(key=Key(dialog="d1"))
        assert c._conn.router.subjects() == ["ari.dialogevent.d1", "ari.event.demo.>"]
        for s in subs:
            s.close()
        assert c._conn.router.subjects() == ["ari.dialogevent.d1"]
        dialog.close()
        assert c._conn.router.subjects() == []


def test_events_fan_out_by_entity_and_type(nats_server):
    pub = Bus(nats_server.url, name="publisher")
    pub.connect()
    try:
        with Client(application="demo", url=nats_server.url) as c:
            ch1 = c.channels.handle("c1").subscribe()
            ch1_state = c.channels.handle("c1").subscribe("ChannelStateChange")
            ch2 = c.subscribe(key=c.channels.handle("c2"))  # a handle works as the key
            other_node = c.channels.handle("c1", node="ff:ff:ff:ff:ff:ff").subscribe()
            everything = c.subscribe()
            c.bus.flush()

            def event(etype, cid):
                return dumps({"type": etype, "application": "demo", "asterisk_id": "00:11:22:33:44:55",
                              "channel": {"id": cid, "name": "PJSIP/x", "state": "Up"}})
            pub.publish("ari.event.demo.00:11:22:33:44:55", event("ChannelStateChange", "c1"))
            pub.publish("ari.event.demo.00:11:22:33:44:55", event("ChannelVarset", "c1"))
            pub.publish("ari.event.demo.00:11:22:33:44:55", event("ChannelVarset", "c3"))
            pub.publish("ari.event.demo.00:11:22:33:44:55", b"not json")   # logged and dropped
            pub.publish("ari.event.other.00:11:22:33:44:55", event("ChannelVarset", "c1"))  # another app
            pub.flush()
            wait_for(lambda: everything.pending == 3, 5.0)
            assert [e.type for e in ch1.drain()] == ["ChannelStateChange", "ChannelVarset"]
            assert [e.type for e in ch1_state.drain()] == ["ChannelStateChange"]
            assert ch2.pending == 0 and other_node.pending == 0
            assert c._conn.router.stats["undecodable"] == 1
            with pytest.raises(errors.Timeout):
                ch2.get(timeout=0.01)
    finally:
        pub.close()


def test_broadcast_list_stops_when_every_known_server_answered(nats_server):
    """Two stand-in servers announce; a list returns their keys without waiting for the timeout."""
    buses = []
    answered = []
    for node in ("n1", "n2"):
        bus = Bus(nats_server.url, name="stand-in-" + node)
        bus.connect()

        def on_msg(msg, node=node, bus=bus):
            if msg.subject == "ari.ping":
                bus.publish("ari.announce", dumps({"node": node, "application": "demo"}))
            elif msg.reply:
                answered.append(node)
                msg.respond(dumps({"error": "", "keys": [{"kind": "channel", "id": "c-" + node, "node": node,
                                                          "app": "demo"}]}))
        bus.subscribe("ari.ping", on_msg)
        bus.subscribe("ari.get.demo", on_msg)
        bus.flush()
        buses.append(bus)
    try:
        # a generous timeout: a list that waited for it would take 30 s
        with Client(application="demo", url=nats_server.url, timeout=30.0) as c:
            wait_for(lambda: len(c.nodes()) == 2, 5.0)
            from gevent import Timeout as GTimeout
            with GTimeout(10):
                keys = sorted((h.id, h.node) for h in c.channels.list())
            assert keys == [("c-n1", "n1"), ("c-n2", "n2")]
    finally:
        for bus in buses:
            bus.close()
