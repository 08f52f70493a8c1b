"""The client end to end: real nats-server, real ari-proxy server(s), real simulators.

The two example programs run as tests; two Asterisk nodes (lists gather from
both, creates land on one, handles follow their node); listen() with three
instances hands each of 30 calls to exactly one; a child's close removes
its subscriptions at the NATS server and leaves the parent's working; a
request to a dead node raises Timeout; retries; subscription overflow.
"""
import importlib.util
import logging
import os
import time

import gevent
import pytest
from gevent.event import Event as GEvent

from ariproxy import errors
from ariproxy.bus import Bus
from ariproxy.client import Client
from ariproxy.protocol import Key
from tests.support.nats import free_port
from tests.support.wait import wait_for

EXAMPLES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples")
NODE_B = "02:fc:00:00:00:02"


def load_example(name):
    spec = importlib.util.spec_from_file_location("example_" + name, os.path.join(EXAMPLES, name + ".py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def client(proxy):
    c = Client(application=proxy.application, url=proxy.nats_url, timeout=3.0)
    wait_for(lambda: c.nodes(), 5.0)
    yield c
    c.close()


# ------------------------------------------------------------------ examples

def test_hello_example_answers_plays_and_hangs_up(proxy, client):
    hello = load_example("hello")
    ready = GEvent()
    runner = gevent.spawn(hello.main, ["--nats-url", proxy.nats_url, "--app", proxy.application, "--calls", "1",
                                       "--timeout", "20"], ready=ready)
    assert ready.wait(10), "hello.py did not start listening"
    finished = client.subscribe("PlaybackFinished")
    ch = client.channels.originate(endpoint="Local/1000@default")
    with ch.subscribe("ChannelStateChange", "ChannelDestroyed") as events:
        destroyed = ch.wait("ChannelDestroyed", timeout=15)
        seen = [e.type for e in events.drain()]
    assert runner.get(timeout=10) == 1
    assert destroyed["channel"]["id"] == ch.id
    pb = finished.get(timeout=1)
    assert pb["playback"]["target_uri"] == "channel:%s" % ch.id
    assert pb["playback"]["media_uri"] == "sound:hello-world"
    assert "ChannelStateChange" in seen  # answered


def test_hello_example_places_its_own_call_and_exits(proxy):
    # what `make run` tells newcomers to try: the program answers the call it placed itself, then exits
    hello = load_example("hello")
    handled = hello.main(["--nats-url", proxy.nats_url, "--app", proxy.application, "--call", "Local/1000@default",
                          "--timeout", "20"])
    assert handled == 1
    done = [(r["method"], r["path"].split("/")[3:4]) for r in proxy.sim.requests if r["path"].startswith("/channels/")]
    assert ("POST", ["answer"]) in done and ("POST", ["play"]) in done and ("DELETE", []) in done, done


def test_bridge_example(proxy):
    bridge = load_example("bridge")
    summary = bridge.main(["--nats-url", proxy.nats_url, "--app", proxy.application, "--timeout", "10"])
    assert sorted(summary["members"]) == sorted(summary["channels"])
    assert summary["destroyed"] == summary["channels"]
    assert summary["bridge"] not in proxy.sim.asterisk.bridges


# ------------------------------------------------------------------ two nodes

def test_two_nodes_list_create_and_follow(proxy_factory):
    a = proxy_factory()
    b = proxy_factory(nats=a, entity_id=NODE_B)
    with Client(application=a.application, url=a.nats_url, timeout=3.0) as c:
        wait_for(lambda: len(c.nodes()) == 2, 5.0)
        assert {n.node for n in c.nodes()} == {a.node, b.node}
        on_a = c.channels.originate(endpoint="Local/1000@default", node=a.node)
        on_b = c.channels.originate(endpoint="Local/1000@default", node=b.node)
        assert (on_a.node, on_b.node) == (a.node, b.node)
        assert on_a.id in a.sim.asterisk.channels and on_a.id not in b.sim.asterisk.channels
        assert on_b.id in b.sim.asterisk.channels and on_b.id not in a.sim.asterisk.channels

        # a list gathers from both
        listed = {(h.id, h.node) for h in c.channels.list()}
        assert (on_a.id, a.node) in listed and (on_b.id, b.node) in listed

        # a create without a node lands on exactly one server
        anywhere = c.bridges.create()
        assert anywhere.node in (a.node, b.node)
        owners = [p for p in (a, b) if anywhere.id in p.sim.asterisk.bridges]
        assert len(owners) == 1 and owners[0].node == anywhere.node

        # a handle follows its node; one with no node is answered by the owner (the other says 404)
        on_b.wait("StasisStart", timeout=5)
        on_b.answer()
        assert b.sim.asterisk.channels[on_b.id].state == "Up"
        nodeless = c.channels.handle(on_b.id)
        assert nodeless.data()["id"] == on_b.id
        assert nodeless.node == b.node  # locked in from the answer
        pb = c.channels.handle(on_a.id).play("sound:beep")  # a create on an entity: node locked first
        assert pb.node == a.node
        pb.wait("PlaybackFinished", timeout=5)
        with pytest.raises(errors.NotFound):
            c.channels.handle("no-such-channel").data()


# ------------------------------------------------------------------ listen

def test_listen_three_instances_each_call_handled_once(proxy):
    handled = []
    instances = [Client(application=proxy.application, url=proxy.nats_url, timeout=3.0) for _ in range(3)]
    caller = Client(application=proxy.application, url=proxy.nats_url, timeout=3.0)
    try:
        listeners = []
        for i, inst in enumerate(instances):
            listeners.append(inst.listen(lambda ch, ev, i=i: handled.append((i, ch.id, ev.type))))
        for inst in instances:
            inst.bus.flush()
        wait_for(lambda: caller.nodes(), 5.0)
        calls = [caller.channels.originate(endpoint="Local/1000@default") for _ in range(30)]
        ids = {ch.id for ch in calls}
        wait_for(lambda: ids <= {h[1] for h in handled}, 10.0)
        for ch in calls:
            ch.hangup()
        for ch in calls:
            ch.wait("ChannelDestroyed", timeout=5)
        for inst in instances:
            inst.bus.flush()
        counts = {}
        for _, cid, etype in handled:
            assert etype == "StasisStart"
            counts[cid] = counts.get(cid, 0) + 1
        assert all(counts[cid] == 1 for cid in ids), counts
        assert all(n == 1 for n in counts.values()), counts
        assert sum(l.handled for l in listeners) == len(handled)
    finally:
        for inst in instances + [caller]:
            inst.close()


# ------------------------------------------------------------------ children

def _client_subjects(nats, name):
    conns = nats.monitor("connz?subs=1").get("connections") or []
    for conn in conns:
        if conn.get("name") == name:
            return set(conn.get("subscriptions_list") or [])
    return None


def test_child_close_releases_only_its_subscriptions(nats_factory, proxy_factory):
    nats = nats_factory(monitor_port=free_port())
    p = proxy_factory(nats=nats)
    parent = Client(application=p.application, url=p.nats_url, timeout=3.0, name="parent-under-test")
    try:
        wait_for(lambda: parent.nodes(), 5.0)
        parent_sub = parent.subscribe("StasisStart")
        child = parent.new()
        assert child.bus is parent.bus
        assert child.nodes() == parent.nodes() or child.nodes()
        child_app = child.subscribe("StasisStart")                     # same subject as the parent's
        child_dialog = child.subscribe(key=Key(dialog="child-dialog"))   # a subject only the child uses
        child.on("StasisEnd", lambda e: None)
        parent.bus.flush()
        app_subject = "ari.event.%s.>" % p.application
        subjects = _client_subjects(nats, "parent-under-test")
        assert {app_subject, "ari.dialogevent.child-dialog"} <= subjects

        child.close()
        assert child_app.closed and child_dialog.closed
        parent.bus.flush()
        wait_for(lambda: "ari.dialogevent.child-dialog" not in _client_subjects(nats, "parent-under-test"), 5.0)
        assert app_subject in _client_subjects(nats, "parent-under-test")

        ch = parent.channels.originate(endpoint="Local/1000@default")
        event = parent_sub.get(timeout=5)
        while event["channel"]["id"] != ch.id:
            event = parent_sub.get(timeout=5)
        assert child_app.pending == 0  # closed: nothing more delivered to the child
        ch.hangup()
    finally:
        parent.close()
    # the last client closed the shared connection
    assert parent.bus.state == "closed"


def test_connection_is_closed_with_its_last_user(proxy):
    parent = Client(application=proxy.application, url=proxy.nats_url)
    child = parent.new()
    parent.close()
    assert child.bus.connected
    assert child.asterisk.info()["system"]["entity_id"] == proxy.node
    child.close()
    assert child.bus.state == "closed"
    with pytest.raises(errors.AriProxyError):
        child.channels.list()


# ------------------------------------------------------------------ failures

def test_request_to_a_dead_node_raises_timeout(proxy):
    timeout, retries = 0.3, 1
    attempts = []       # a listener that never answers sees every attempt
    proxy.bus.subscribe("ari.command.%s.de:ad:00:00:00:00" % proxy.application, attempts.append)
    proxy.bus.flush()
    with Client(application=proxy.application, url=proxy.nats_url, timeout=timeout, retries=retries) as c:
        ch = c.channels.handle("some-channel", node="de:ad:00:00:00:00")
        started = time.monotonic()
        with pytest.raises(errors.Timeout):
            ch.answer()
        elapsed = time.monotonic() - started
        wait_for(lambda: len(attempts) == retries + 1, timeout=5)
        assert elapsed >= timeout * (retries + 1) * 0.9
        # each attempt waits its own timeout, no more (slack for a loaded machine)
        assert elapsed < timeout * (retries + 1) + 5.0
        assert len({m.data for m in attempts}) == 1      # the same request each time


def test_request_is_retried_after_a_timeout(nats_server):
    seen = []
    bus = Bus(nats_server.url, name="forgetful-server")
    bus.connect()

    def on_request(msg):
        seen.append(msg.data)
        if len(seen) % 2 == 0:  # every second attempt is answered
            msg.respond(b'{"error":""}')

    bus.subscribe("ari.command.app.node1", on_request)
    bus.flush()
    try:
        # the first attempt must time out, the second must not: 1 s leaves a loaded machine room
        with Client(application="app", url=nats_server.url, timeout=1.0, retries=1) as c:
            c.channels.handle("c1", node="node1").answer()
            assert len(seen) == 2 and seen[0] == seen[1]
        with Client(application="app", url=nats_server.url, timeout=0.3, retries=0) as c:
            with pytest.raises(errors.Timeout):
                c.channels.handle("c1", node="node1").answer()
    finally:
        bus.close()


def test_errors_are_exceptions_with_the_server_message(client):
    with pytest.raises(errors.NotFound) as info:
        client.channels.get("no-such-channel")
    assert "404" in str(info.value)
    br = client.bridges.create()
    with pytest.raises(errors.ARIError):
        br.add_channel("no-such-channel")
    br.destroy()


def test_subscription_overflow_drops_the_oldest_and_logs_once(proxy, client, caplog):
    sub = client.subscribe("ChannelUserevent", queue_size=10)
    client.bus.flush()
    caplog.set_level(logging.WARNING, logger="ariproxy.client.events")
    sent = proxy.sim.burst(100, app=proxy.application)
    assert sent == 100
    wait_for(lambda: sub.dropped + sub.pending >= 100, 10.0)
    assert sub.pending == 10 and sub.dropped == 90
    assert [sub.get(0)["userevent"]["seq"] for _ in range(10)] == [str(i) for i in range(90, 100)]
    warnings = [r for r in caplog.records if "dropping the oldest" in r.getMessage()]
    assert len(warnings) == 1


def test_events_reach_entity_dialog_and_callback_subscribers(client):
    got = []
    cb = client.on("ChannelStateChange", got.append)
    ch = client.channels.originate(endpoint="Local/1000@default", dialog="dlg-e2e")
    assert ch.dialog == "dlg-e2e"
    dialog_sub = client.subscribe(key=Key(dialog="dlg-e2e"))
    ch.wait("StasisStart", timeout=5)
    ch.answer()
    wait_for(lambda: any(e["channel"]["id"] == ch.id for e in got), 5.0)
    assert dialog_sub.wait("ChannelStateChange", timeout=5)["channel"]["id"] == ch.id
    cb.close()
    ch.hangup()
    assert ch.wait("ChannelDestroyed", timeout=5)["channel"]["id"] == ch.id
    # the creation subscription ended with the channel; its queue stays readable
    assert ch._early.closed


def test_staged_play_locks_the_node_then_executes(client):
    ch = client.channels.originate(endpoint="Local/1000@default")
    ch.wait("StasisStart", timeout=5)
    staged = client.channels.handle(ch.id).stage_play("sound:beep")
    assert staged.handle.node == ch.node
    pb = staged.execute()
    assert pb.wait("PlaybackFinished", timeout=5)["playback"]["id"] == pb.id
    ch.hangup()


def test_staged_originate_subscribes_before_the_call_exists(client):
    staged = client.channels.stage_originate(endpoint="Local/1000@default", dialog="dlg-stage")
    ch = staged.handle
    assert ch.node and ch.dialog == "dlg-stage"
    with ch.subscribe("StasisStart") as started:
        assert staged.execute() is ch
        assert started.get(timeout=5)["channel"]["id"] == ch.id
    ch.hangup()
    ch.wait("ChannelDestroyed", timeout=5)


def test_listened_call_sees_events_that_came_right_after_stasis_start(nats_server):
    """StasisStart and the next events arrive together on two NATS subscriptions: the handler's
    channel still gets them (the router remembers recent events for listened calls)."""
    from ariproxy.jsonutil import dumps
    results = []
    pub = Bus(nats_server.url, name="publisher")
    pub.connect()
    try:
        with Client(application="demo", url=nats_server.url) as c:
            def handler(ch, event):
                results.append(ch.wait("ChannelVarset", timeout=5)["value"])

            listener = c.listen(handler)
            c.bus.flush()
            for i in range(20):
                cid = "call-%d" % i
                base = {"application": "demo", "asterisk_id": "00:11:22:33:44:55",
                        "channel": {"id": cid, "name": "PJSIP/x", "state": "Ring"}}
                pub.publish("ari.event.demo.00:11:22:33:44:55", dumps(dict(base, type="StasisStart", args=[])))
                pub.publish("ari.event.demo.00:11:22:33:44:55",
                            dumps(dict(base, type="ChannelVarset", variable="X", value=cid)))
            pub.flush()
            wait_for(lambda: len(results) == 20, 10.0)
            assert sorted(results) == sorted("call-%d" % i for i in range(20))
            listener.close()
    finally:
        pub.close()


def test_client_survives_a_nats_restart(proxy, client):
    sub = client.subscribe("StasisStart")
    proxy.nats.restart()
    wait_for(lambda: client.bus.connected and proxy.server.state == "serving", 15.0)

    def works():
        try:
            return client.asterisk.info(node=proxy.node)
        except errors.AriProxyError:
            return None
    wait_for(works, 15.0, interval=0.1)
    ch = client.channels.originate(endpoint="Local/1000@default")
    event = sub.get(timeout=10)
    gaps = 0
    while event.type == "AriProxyEventGap" or event["channel"]["id"] != ch.id:
        gaps += event.type == "AriProxyEventGap"
        event = sub.get(timeout=10)
    assert gaps >= 1        # the subscription was told that events may have been lost meanwhile
    assert client.nodes()  # announced again after the reconnect
    ch.hangup()
