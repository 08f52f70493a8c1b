"""Server behaviour beyond single kinds: announcements, routing between two servers, dialogs,
bad input, ARI outages, entity id changes, concurrency limit and graceful stop.

Driven with raw NATS messages through ariproxy.bus (not the project's client),
against real nats-servers and simulators.  Waits that prove an absence (no
second reply, no announcement) use a short bounded gather, never a sleep.
"""
import gevent
import gevent.event
import pytest

from ariproxy import jsonutil
from ariproxy.protocol import Announcement, Key, Request, Response
from ariproxy.server import ARI_DOWN, Server
from ariproxy.sim.server import Simulator
from tests.support.proxy import DEFAULT_APP as APP
from tests.support.wait import wait_for

NODE_A = "00:11:22:33:44:55"
NODE_B = "66:77:88:99:aa:bb"
ABSENCE = 0.2   # how long to listen for a message that must not come


def originate_payload(cid, app=APP):
    return {"originate_request": {"endpoint": "Local/1000@default", "app": app, "channelId": cid}}


def replies_to(bus, subject, payload, timeout=10):
    """Publish a request; wait (up to ``timeout``) for its first reply, then ABSENCE more for others.

    Returns every reply that came.  A plain ``gather(timeout=ABSENCE)`` would also count on
    the first reply making it within ABSENCE, which a loaded machine does not promise.
    """
    got = []
    second = gevent.event.Event()

    def on_reply(msg):
        got.append(msg)
        if len(got) > 1:
            second.set()
    inbox = bus.new_inbox()
    sub = bus.subscribe(inbox, on_reply)
    try:
        bus.flush()
        bus.publish(subject, payload, inbox)
        wait_for(lambda: got, timeout, message="no reply on %s" % subject)
        second.wait(ABSENCE)    # bounded wait for a reply that must not come
    finally:
        bus.unsubscribe(sub)
    return got


def collect(bus, subject):
    """Subscribe and return the list that fills with decoded JSON payloads."""
    got = []
    bus.subscribe(subject, lambda msg: got.append(jsonutil.loads(msg.data)))
    bus.flush()
    return got


# -- announcements ------------------------------------------------------------------------------------

def test_announces_periodically(proxy_factory):
    p = proxy_factory(announce_interval=0.05)
    got = collect(p.bus, "ari.announce")
    wait_for(lambda: len(got) >= 3, timeout=5)
    assert {Announcement.from_dict(a) for a in got} == {Announcement(p.node, APP)}


def test_ping_is_answered_by_every_server(proxy_factory):
    a = proxy_factory(entity_id=NODE_A)
    b = proxy_factory(nats=a, entity_id=NODE_B)
    got = collect(a.bus, "ari.announce")
    a.bus.publish("ari.ping", b'{"kind":"","key":null}')
    wait_for(lambda: {x["node"] for x in got} >= {NODE_A, NODE_B}, timeout=5)
    # the protocol's fields, plus the optional ones ariproxy adds (Go peers ignore them)
    assert all(x["application"] == APP and set(x) <= {"node", "application", "instance", "implementation",
                                                      "version", "duplicate"} for x in got)


# -- two servers ------------------------------------------------------------------------------------

@pytest.fixture
def pair(proxy_factory):
    a = proxy_factory(entity_id=NODE_A)
    b = proxy_factory(nats=a, entity_id=NODE_B)
    return a, b


def test_create_on_the_app_subject_reaches_exactly_one_server(pair):
    a, b = pair
    for i in range(3):
        cid = "q-%d" % i
        payload = Request("ChannelOriginate", Key(app=APP), "channel_originate", originate_payload(cid)).encode()
        replies = replies_to(a.bus, "ari.create." + APP, payload)
        assert len(replies) == 1
        key = Response.decode(replies[0].data).raise_for_error().key
        owner, other = (a, b) if key.node == NODE_A else (b, a)
        assert key == Key("channel", cid, owner.node, "", APP)
        assert cid in owner.sim.channels and cid not in other.sim.channels


def test_broadcast_list_is_answered_by_both(pair):
    a, b = pair
    a.ok("ChannelOriginate", Key(node=NODE_A, app=APP), "channel_originate", originate_payload("on-a"), cls="create")
    b.ok("ChannelOriginate", Key(node=NODE_B, app=APP), "channel_originate", originate_payload("on-b"), cls="create")
    for subject in ("ari.get", "ari.get." + APP):
        replies = a.bus.gather(subject, b'{"kind":"ChannelList","key":{}}', timeout=2, max_replies=2)
        keys = [k for r in replies for k in Response.decode(r.data).raise_for_error().keys]
        assert len(replies) == 2
        assert Key("channel", "on-a", NODE_A, "", APP) in keys and Key("channel", "on-b", NODE_B, "", APP) in keys


def test_broadcast_data_without_node_gets_one_reply_per_server(pair):
    """As the Go servers do: the owner answers the entity, the other one its 404 (a gather counts both)."""
    a, b = pair
    b.ok("ChannelOriginate", Key(node=NODE_B, app=APP), "channel_originate", originate_payload("onB"), cls="create")
    replies = a.bus.gather("ari.data." + APP, b'{"kind":"ChannelData","key":{"kind":"channel","id":"onB"}}',
                           timeout=2, max_replies=2)
    responses = sorted((Response.decode(r.data) for r in replies), key=lambda r: r.error)
    assert len(responses) == 2
    assert responses[0].error == "" and responses[0].data["channel"]["key"]["node"] == NODE_B
    assert responses[1].error.startswith("Non-2XX response: 404 Not Found")


def test_exact_node_request_is_answered_by_that_node(pair):
    a, b = pair
    for target in (a, b):
        replies = replies_to(a.bus, "ari.data.%s.%s" % (APP, target.node), b'{"kind":"AsteriskInfo","key":{}}')
        assert len(replies) == 1
        assert Response.decode(replies[0].data).data["asterisk"]["system"]["entity_id"] == target.node


def test_broadcast_naming_another_node_is_left_to_that_node(pair):
    a, b = pair
    request = Request("AsteriskInfo", Key(node=NODE_B)).encode()
    replies = replies_to(a.bus, "ari.data", request)
    assert len(replies) == 1
    assert Response.decode(replies[0].data).data["asterisk"]["system"]["entity_id"] == NODE_B
    wait_for(lambda: a.server.stats["ignored"] == 1, timeout=5)
    # another app's request on the bare subject: nobody of ours answers
    assert a.bus.gather("ari.data", Request("AsteriskInfo", Key(app="otherapp")).encode(), timeout=ABSENCE) == []


# -- dialogs --------------------------------------------------------------------------------------

def test_dialog_events_flow_until_the_entity_is_destroyed(proxy):
    p = proxy
    dialog_events = collect(p.bus, "ari.dialogevent.dlg-1")
    all_events = collect(p.bus, "ari.event.%s.%s" % (APP, p.node))
    before = len(p.server.dialog_bindings)
    p.ok("ChannelOriginate", p.key(dialog="dlg-1"), "channel_originate", originate_payload("dch"))
    wait_for(lambda: any(e["type"] == "StasisStart" for e in dialog_events), timeout=5)
    assert all(e["dialog"] == "dlg-1" and e["application"] == APP and e["asterisk_id"] == p.node
               for e in dialog_events)
    assert len(p.server.dialog_bindings) > before

    # a playback bound through the dialog too; its end drops its binding
    p.ok("ChannelPlay", p.key("channel", "dch", dialog="dlg-1"), "channel_play",
         {"playback_id": "dpb", "media_uri": "sound:beep"})
    wait_for(lambda: any(e["type"] == "PlaybackFinished" for e in dialog_events), timeout=5)
    wait_for(lambda: not p.server.dialog_bindings.entity_dialogs("playback", "dpb"), timeout=5)

    p.ok("ChannelHangup", p.key("channel", "dch", dialog="dlg-1"), "channel_hangup", {"reason": "normal"})
    wait_for(lambda: any(e["type"] == "ChannelDestroyed" and e["channel"]["id"] == "dch" for e in dialog_events),
             timeout=5)
    wait_for(lambda: len(p.server.dialog_bindings) == before, timeout=5)

    # a new channel without the dialog: its events reach the app subject only
    count = len(dialog_events)
    p.ok("ChannelOriginate", p.key(), "channel_originate", originate_payload("plain"))
    wait_for(lambda: any(e["type"] == "StasisStart" and e["channel"]["id"] == "plain" for e in all_events), timeout=5)
    p.bus.flush()
    assert len(dialog_events) == count
    assert all("dialog" not in e for e in all_events)


def test_dialog_binding_is_undone_when_the_create_fails(proxy):
    p = proxy
    r = p.request("ChannelPlay", p.key("channel", "no-such-channel", dialog="dlg-x"), "channel_play",
                  {"playback_id": "never", "media_uri": "sound:beep"})
    assert r.error.startswith("Non-2XX response: 404")
    assert not p.server.dialog_bindings.entity_dialogs("playback", "never")


# -- events ---------------------------------------------------------------------------------------

def test_events_without_entities_and_unknown_types_are_published(proxy):
    p = proxy
    events = collect(p.bus, "ari.event.%s.%s" % (APP, p.node))
    ast = p.sim.asterisk
    ast.emit("ApplicationReplaced", {}, apps=[APP])
    ast.emit("ChannelToneDetected", {"channel": {"id": "x1", "name": "PJSIP/x"}, "future_field": [1, 2]}, apps=[APP])
    ast.emit("SomethingNew", {"weird": {"nested": None}}, apps=[APP])
    wait_for(lambda: len(events) >= 3, timeout=5)
    assert [e["type"] for e in events] == ["ApplicationReplaced", "ChannelToneDetected", "SomethingNew"]
    assert events[1]["future_field"] == [1, 2]
    assert all(e["asterisk_id"] == p.node and e["application"] == APP for e in events)
    assert p.server.state == "serving"


def test_event_burst_reaches_nats_in_order(proxy):
    p = proxy
    events = collect(p.bus, "ari.event.%s.>" % APP)
    sent = p.sim.burst(500, app=APP)
    wait_for(lambda: len(events) == sent, timeout=10)
    assert [int(e["userevent"]["seq"]) for e in events] == list(range(sent))


# -- bad input ------------------------------------------------------------------------------------

BAD_REQUESTS = [
    ("non-JSON", b"this is not json", "bad request"),
    ("not an object", b"[1,2,3]", "bad request"),
    ("invalid UTF-8", b'{"kind":"\xff"}', "bad request"),
    ("unknown kind", b'{"kind":"NoSuchKind","key":{}}', "Not implemented"),
    ("empty kind", b'{"kind":"","key":{}}', "Not implemented"),
    ("missing payload", b'{"kind":"ChannelOriginate","key":{}}', "bad request"),
    ("payload of the wrong type", b'{"kind":"ChannelOriginate","key":{},"channel_originate":"x"}', "bad request"),
    ("null key where an id is needed", b'{"kind":"ChannelData","key":null}', "bad request"),
    ("key of the wrong type", b'{"kind":"ChannelData","key":"chan-1"}', "bad request"),
    ("hostile dialog token", b'{"kind":"ChannelSubscribe","key":{"kind":"channel","id":"c","dialog":"x.>"}}',
     "bad request"),
    ("hostile app token", b'{"kind":"AsteriskInfo","key":{"app":"a b"}}', "bad request"),
    ("hostile node token", b'{"kind":"AsteriskInfo","key":{"node":"*"}}', "bad request"),
    ("unknown ARI operation", b'{"kind":"AriCall","key":{},"ari_call":{"resource":"x","operation":"y"}}',
     "bad request"),
    ("deeply nested", b'{"kind":"ChannelData","key":' + b"[" * 100000 + b"]" * 100000 + b"}", "bad request"),
]


@pytest.mark.parametrize("payload,expected", [pytest.param(p, e, id=name) for name, p, e in BAD_REQUESTS])
def test_bad_requests_get_error_replies_and_serving_goes_on(proxy, payload, expected):
    reply = proxy.send_raw(proxy.subject("data"), payload)
    error = Response.decode(reply.data).error
    assert error.startswith(expected), error
    assert proxy.ok("AsteriskInfo").data["asterisk"]["system"]["entity_id"] == proxy.node


def test_go_stage_external_media_shape_is_served(proxy):
    """The Go client's StageExternalMedia sends ChannelStageOriginate with a channel_external_media payload."""
    r = proxy.ok("ChannelStageOriginate", proxy.key(), "channel_external_media",
                 {"options": {"channelId": "ext-9", "app": APP, "external_host": "127.0.0.1:9997", "format": "ulaw"}},
                 cls="create")
    assert r.key == Key("channel", "ext-9", proxy.node, "", APP)


def test_request_without_reply_subject_is_executed(proxy):
    proxy.bus.publish(proxy.subject("create"), Request("ChannelOriginate", proxy.key(), "channel_originate",
                                                      originate_payload("noreply")).encode())
    wait_for(lambda: "noreply" in proxy.sim.channels, timeout=5)


# -- ARI outages ----------------------------------------------------------------------------------

def test_ari_websocket_down_fails_fast_then_service_resumes(proxy):
    p = proxy
    announcements = collect(p.bus, "ari.announce")
    p.sim.refuse_connections()      # until accept_connections: the outage outlasts the checks below
    wait_for(lambda: p.server.state == "ari-down", timeout=5)
    r = p.request("AsteriskInfo")
    assert r.error == ARI_DOWN
    # pings are not answered while ARI is down
    seen = len(announcements)
    p.bus.publish("ari.ping", b"{}")
    p.bus.flush()
    assert p.bus.gather("ari.announce.never", b"", timeout=ABSENCE) == []   # bounded wait
    assert len(announcements) == seen
    # back: serving, and announced again
    p.sim.accept_connections()
    wait_for(lambda: p.server.state == "serving", timeout=10)
    wait_for(lambda: len(announcements) > seen, timeout=5)
    assert p.ok("AsteriskInfo").data["asterisk"]["system"]["entity_id"] == p.node


def test_requests_in_flight_when_ari_drops_get_an_error_at_once(proxy_factory):
    p = proxy_factory(rest_transport="websocket")
    wait_for(lambda: p.server.ari.active_rest_transport == "websocket", timeout=5)
    p.sim.set_delay(60000)      # answers held until set_delay(0)
    results = []
    workers = [gevent.spawn(lambda: results.append(p.request("AsteriskInfo", timeout=10))) for _ in range(5)]
    wait_for(lambda: p.server.stats["in_flight"] == 5, timeout=5)
    p.sim.drop_websockets()
    gevent.joinall(workers, timeout=10)
    p.sim.set_delay(0)
    assert len(results) == 5
    assert all(r.error.startswith("ARI connection is down") for r in results), [r.error for r in results]
    wait_for(lambda: p.server.state == "serving", timeout=10)
    p.ok("AsteriskInfo")


def test_new_entity_id_is_served_and_announced(proxy):
    p = proxy
    announcements = collect(p.bus, "ari.announce")
    old = p.node
    p.sim.restart(entity_id=NODE_B)
    wait_for(lambda: p.server.node == NODE_B, timeout=10)
    wait_for(lambda: (NODE_B, APP) in [(a["node"], a["application"]) for a in announcements], timeout=5)
    r = Response.decode(p.bus.request("ari.data.%s.%s" % (APP, NODE_B), b'{"kind":"AsteriskInfo","key":{}}',
                                      timeout=2).data)
    assert r.data["asterisk"]["system"]["entity_id"] == NODE_B
    assert p.bus.gather("ari.data.%s.%s" % (APP, old), b'{"kind":"AsteriskInfo","key":{}}', timeout=ABSENCE) == []
    assert p.server.state == "serving" and p.server.stats["entity_changes"] == 1


def test_exit_on_entity_change_stops_with_status_1(proxy_factory):
    p = proxy_factory(exit_on_entity_change=True)
    p.sim.restart(entity_id=NODE_B)
    assert p.server.wait_stopped(10)
    assert p.server.exit_status == 1


def test_empty_entity_id_is_fatal(nats_server):
    sim = Simulator(entity_id="").start()
    try:
        srv = Server(ari_url=sim.url, application=APP, nats_url=nats_server.url)
        srv.start()
        assert srv.wait_stopped(10)
        assert srv.state == "failed" and srv.exit_status == 1 and not srv.wait_ready(0)
    finally:
        sim.stop()


def test_start_waits_for_ari_and_nats_to_come_up(nats_factory):
    from tests.support.nats import NatsServer
    nats = NatsServer()
    sim = Simulator().start()
    sim.refuse_connections(0.5)
    srv = Server(ari_url=sim.url, application=APP, nats_url=nats.url)
    srv.connect_backoff = (0.05, 0.2)
    try:
        srv.start()
        wait_for(lambda: srv.state == "connecting" and srv.node, timeout=10)   # ARI came up, NATS not yet
        nats.start()
        assert srv.wait_ready(10)
        assert srv.state == "serving"
    finally:
        srv.stop()
        sim.stop()
        nats.cleanup()


# -- concurrency and stopping -----------------------------------------------------------------------

def test_past_max_concurrent_requests_are_refused_busy(proxy_factory):
    p = proxy_factory(max_concurrent=2)
    p.sim.set_delay(60000)   # the first two stay in flight (until set_delay(0)) while the other four arrive
    results = []
    workers = [gevent.spawn(lambda: results.append(p.request("AsteriskInfo", timeout=10))) for _ in range(6)]
    wait_for(lambda: len(results) == 4, timeout=10)
    assert p.server.stats["in_flight"] == 2
    p.sim.set_delay(0)
    gevent.joinall(workers, timeout=10)
    errors = sorted(r.error.split(":")[0] for r in results)
    assert errors.count("") == 2 and errors.count("busy") == 4, errors
    p.ok("AsteriskInfo")


def test_graceful_stop_under_load_answers_every_accepted_request(proxy_factory):
    p = proxy_factory(max_concurrent=10000)
    p.sim.set_delay(20)
    answered = []
    unanswered = []

    def client():
        while True:
            try:
                # 3 s: an accepted request whose reply came after a client gave up would break the
                # count below on a loaded machine; the request sent after the unsubscribe waits it out
                msg = p.bus.request(p.subject("data"), b'{"kind":"AsteriskInfo","key":{}}', timeout=3.0)
            except Exception:
                unanswered.append(1)
                return
            answered.append(Response.decode(msg.data))

    workers = [gevent.spawn(client) for _ in range(30)]
    wait_for(lambda: len(answered) >= 60, timeout=10)
    p.server.stop(timeout=5)
    gevent.joinall(workers, timeout=10)
    stats = p.server.stats
    assert p.server.state == "stopped" and p.server.exit_status == 0
    # every request the server took got its reply, and the clients saw exactly those replies
    assert stats["accepted"] == stats["replies"] == len(answered)
    assert all(r.error == "" for r in answered)
    assert len(unanswered) == 30            # each client stopped on a request sent after the unsubscribe


def test_nats_restart_resubscribes_and_announces(proxy):
    p = proxy
    p.nats.restart()
    wait_for(lambda: p.server.bus.connected and p.bus.connected, timeout=15)
    announcements = collect(p.bus, "ari.announce")
    p.bus.publish("ari.ping", b"{}")
    wait_for(lambda: (p.node, APP) in [(a["node"], a["application"]) for a in announcements], timeout=10)
    assert p.ok("AsteriskInfo").data["asterisk"]["system"]["entity_id"] == p.node
    assert p.server.state == "serving"


def test_reply_over_max_payload_becomes_an_error_reply(nats_factory, proxy_factory):
    nats = nats_factory(max_payload=4096)
    p = proxy_factory(nats=nats)
    for i in range(40):
        p.ok("ChannelOriginate", p.key(), "channel_originate", originate_payload("big-%02d" % i))
    r = p.request("ChannelList", Key())
    assert r.error.startswith("response too large"), r.error
    assert p.ok("AsteriskInfo")
