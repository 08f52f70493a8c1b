"""Hostile input, property based (hypothesis): arbitrary JSON and bytes at a real server and a real client.

- as requests on a server's exact subjects (every class): each one gets a reply that decodes, and
  the server serves a normal request afterwards;
- as announcements, as events, and as replies to the client's requests: the client never raises
  anything but ``ariproxy.errors`` exceptions, its subscriptions and cluster view keep working.

Small runs (a few dozen examples each, no deadline) so the file stays fast on a loaded machine.
"""
import pytest
from hypothesis import given, strategies as st

from ariproxy import errors
from ariproxy.client import Client
from ariproxy.jsonutil import dumps
from ariproxy.protocol import KINDS, Key, Response
from tests.support.hostile import encodable, json_values, small_runs
from tests.support.proxy import make_proxy
from tests.support.wait import wait_for

SETTINGS = small_runs(60)

FAKE_APP = "fakeapp"
FAKE_NODE = "fake-node"

field_names = st.sampled_from(["kind", "key", "node", "app", "dialog", "id", "channel_originate",
                               "channel_play", "bridge_create", "AriCall", "payload", "timeout", "ari_call"])
keys = st.fixed_dictionaries({}, optional={
    "kind": st.sampled_from(["channel", "bridge", "playback", "", "x"]) | json_values,
    "id": st.text(max_size=20) | json_values, "node": st.text(max_size=20) | json_values,
    "app": st.text(max_size=20) | json_values, "dialog": st.text(max_size=300) | json_values})


@st.composite
def requests(draw):
    """Request-shaped objects with wrong types in every field (or anything at all)."""
    if draw(st.integers(0, 4)) == 0:
        return draw(json_values)
    obj = {"kind": draw(st.sampled_from(sorted(KINDS)) | json_values), "key": draw(keys | json_values)}
    obj.update(draw(st.dictionaries(field_names, json_values, max_size=3)))
    return obj


@pytest.fixture(scope="module")
def hostile_proxy():
    p = make_proxy(application="hostile")
    yield p
    p.close()


def _check_reply(proxy, cls, data):
    msg = proxy.bus.request(proxy.subject(cls), data, timeout=10)
    resp = Response.decode(msg.data)       # a reply that decodes, error or not
    assert isinstance(resp, Response)
    return resp


@SETTINGS
@given(obj=requests(), cls=st.sampled_from(["get", "data", "command", "create"]))
def test_arbitrary_json_requests_get_a_reply(hostile_proxy, obj, cls):
    try:
        data = dumps(obj)
    except (TypeError, ValueError, UnicodeEncodeError):
        return
    if len(data) > 512 * 1024:
        return
    _check_reply(hostile_proxy, cls, data)


@SETTINGS
@given(data=st.binary(max_size=2048), cls=st.sampled_from(["get", "data", "command", "create"]))
def test_arbitrary_bytes_requests_get_an_error_reply(hostile_proxy, data, cls):
    resp = _check_reply(hostile_proxy, cls, data)
    if not data.lstrip().startswith(b"{"):
        assert resp.error


@pytest.mark.parametrize("data", [
    b"[" * 100000,                                        # nested deeper than any parser's stack
    b'{"kind":"AsteriskInfo","key":' * 5000 + b"{}" + b"}" * 5000,
    b'{"kind":"ChannelData","key":{"id":"%s"}}' % (b"x" * (1024 * 1024 - 200)),   # near max_payload
    b'{"kind":"AsteriskInfo","key":{"app":"hostile","node":"n","dialog":"' + b"d" * 300 + b'"}}',
    b"\xff\xfe\x00garbage",
    b'{"kind":"\\ud800","key":{"dialog":"\\udfff"}}',      # lone surrogates in JSON escapes
])
def test_huge_deep_and_broken_requests_get_an_error_reply(hostile_proxy, data):
    resp = _check_reply(hostile_proxy, "data", data)
    assert resp.error
    assert len(resp.error) < 2000


def test_server_still_serves_after_the_hostile_input(hostile_proxy):
    # (runs after the property tests in this module's order)
    hostile_proxy.ok("AsteriskInfo")
    stats = hostile_proxy.server.stats
    assert stats["bus"]["reconnects"] == 0 and hostile_proxy.server.state == "serving"


# -- the client's side ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def client_side(hostile_proxy):
    client = Client(application=FAKE_APP, url=hostile_proxy.nats_url, timeout=2.0, retries=0)
    events = client.subscribe()
    answers = []
    # a fake server of FAKE_APP on FAKE_NODE that answers whatever the test says
    responder = hostile_proxy.bus.subscribe("ari.*.%s.%s" % (FAKE_APP, FAKE_NODE),
                                            lambda msg: msg.respond(answers[-1]) if answers else None)
    hostile_proxy.bus.flush()
    yield client, events, answers
    responder.unsubscribe()
    client.close()


payloads = st.binary(max_size=1024) | json_values.map(
    lambda v: dumps(v) if encodable(v) else b"null") | st.builds(
    lambda extra: dumps(dict({"error": "", "keys": []}, **extra)) if encodable(extra) else b"{}",
    st.dictionaries(st.sampled_from(["error", "keys", "key", "entity", "data", "result"]), json_values,
                    max_size=3))



@SETTINGS
@given(data=payloads)
def test_arbitrary_replies_give_clean_errors(client_side, data):
    client, _events, answers = client_side
    answers.append(data)
    for kind, key in (("ChannelData", Key("channel", "c1", FAKE_NODE, "", FAKE_APP)),
                      ("ChannelList", Key(node=FAKE_NODE, app=FAKE_APP))):
        try:
            client.request(kind, key)
        except errors.AriProxyError:
            pass    # NotFound, ARIError, ProtocolError...: all clean


@SETTINGS
@given(data=payloads)
def test_arbitrary_announcements_and_events_do_not_break_the_client(hostile_proxy, client_side, data):
    client, events, _answers = client_side
    bus = hostile_proxy.bus
    bus.publish("ari.announce", data)
    bus.publish("ari.event.%s.%s" % (FAKE_APP, FAKE_NODE), data)
    good = {"type": "ChannelUserevent", "application": FAKE_APP, "asterisk_id": FAKE_NODE,
            "eventname": "probe", "userevent": {}}
    bus.publish("ari.event.%s.%s" % (FAKE_APP, FAKE_NODE), dumps(good))
    bus.flush()

    def probe_seen():
        while True:
            event = events.get_nowait()
            if event is None:
                return False
            if event.type == "ChannelUserevent" and event.body.get("eventname") == "probe":
                return True

    wait_for(probe_seen, 10)
    assert isinstance(client.nodes(), list)
    assert client.bus.connected
