"""ari-py's event API and object model on both backends, and StasisStart distribution over the proxy.

Each test with ``backend`` runs over ``nats`` (a real ari-proxy server on a real nats-server and
simulator) and ``http`` (straight at a simulator).  The client under test is ``ari.connect`` with
the backend's URL; the test plays the caller through the simulator's own ARI.
"""
import logging

import gevent
import pytest
import requests

from ariproxy.compat import ari
from ariproxy.compat.events import Dispatcher, ObjectMap
from tests.compat_programs.harness import APP, Backend, backend, http_backend, nats_backend  # noqa: F401
from tests.support.wait import wait_for


def _connect(backend, **options):
    if backend.proxy is not None:
        return ari.connect(backend.proxy.nats_url, app=APP, **options)
    return ari.connect(backend.sim.base_url + "/", "asterisk", "asterisk", **options)


@pytest.fixture
def running(backend):
    """``running()`` -> a connected client whose run(apps='hello') loop is up; all closed at teardown."""
    made = []

    def start(**options):
        client = _connect(backend, **options)
        loop = gevent.spawn(client.run, apps=APP)
        made.append((client, loop))
        wait_for(lambda: client.running or loop.dead, 10.0)
        if loop.dead:
            loop.get()
        return client
    yield start
    for client, loop in made:
        client.close()
        loop.join(10)
        assert loop.dead
        loop.get()  # run() returned normally


def test_stasis_start_objects_args_and_replacement(backend, running):
    client = running()
    got, raw = [], []

    def on_start(objs, event, tag, extra=None):
        got.append((objs, event, tag, extra))

    def raw_cb(event):
        raw.append(event["type"])

    client.on_channel_event("StasisStart", on_start, "t1", extra=2)
    client.on_event("StasisStart", raw_cb)
    client.on_event("StasisStart", raw_cb)  # the same function again replaces it (ari-py)
    chan = backend.incoming(args="a,b")
    wait_for(lambda: got and raw, 10.0)
    objs, event, tag, extra = got[0]
    assert (tag, extra) == ("t1", 2)
    assert event["type"] == "StasisStart" and event["args"] == ["a", "b"]
    # StasisStart has two Channel fields (channel, replace_channel): a dict as ari-py gives, that also
    # acts as its channel for programs written when it had one
    assert isinstance(objs, ObjectMap) and isinstance(objs, dict)
    assert isinstance(objs["channel"], ari.Channel) and objs.get("channel").id == chan
    assert objs.id == chan and objs.json["id"] == chan
    objs.answer()
    wait_for(lambda: backend.sim.channels[chan]["state"] == "Up", 10.0)
    backend.incoming()
    wait_for(lambda: len(got) == 2, 10.0)
    wait_for(lambda: len(raw) == 2, 10.0)
    assert raw == ["StasisStart", "StasisStart"]


def test_single_field_events_give_the_object_and_close_removes(backend, running):
    client = running()
    states, entered = [], []
    sub = client.on_channel_event("ChannelStateChange", lambda ch, ev: states.append(ch))
    client.on_bridge_event("ChannelEnteredBridge", lambda br, ev: entered.append((br, ev["channel"]["id"])))
    starts = []
    client.on_channel_event("StasisStart", lambda objs, ev: starts.append(objs["channel"]))
    chan = backend.incoming()
    wait_for(lambda: starts, 10.0)
    channel = starts[0]
    channel.answer()
    wait_for(lambda: any(c.id == chan for c in states), 10.0)
    assert isinstance(states[-1], ari.Channel)
    bridge = client.bridges.create(type="mixing")
    assert isinstance(bridge, ari.Bridge) and bridge.json["bridge_type"] == "mixing"
    bridge.addChannel(channel=channel.id)
    wait_for(lambda: entered, 10.0)
    assert isinstance(entered[0][0], ari.Bridge) and entered[0][0].id == bridge.id and entered[0][1] == chan
    sub.close()
    sub.close()  # idempotent
    destroyed = []
    client.on_channel_event("ChannelDestroyed", lambda ch, ev: destroyed.append(ch.id))
    other = backend.incoming()
    wait_for(lambda: len(starts) == 2, 10.0)
    starts[1].answer()  # a ChannelStateChange nobody listens to any more
    starts[1].hangup()
    wait_for(lambda: other in destroyed, 10.0)  # dispatched in order: the state change came before
    assert [c.id for c in states if c.id == other] == []


def test_object_on_event_only_for_that_object(backend, running):
    client = running()
    started = []
    client.on_channel_event("StasisStart", lambda objs, ev: started.append(objs["channel"]))
    first, second = backend.incoming(), backend.incoming()
    wait_for(lambda: len(started) == 2, 10.0)
    mine = next(c for c in started if c.id == first)
    dtmf = []
    mine.on_event("ChannelDtmfReceived", lambda ch, ev, label: dtmf.append((ch.id, ev["digit"], label)), "x")
    backend.dtmf(second, "1")
    backend.dtmf(first, "2")
    wait_for(lambda: dtmf, 10.0)
    backend.dtmf(first, "3")
    wait_for(lambda: len(dtmf) == 2, 10.0)
    assert dtmf == [(first, "2", "x"), (first, "3", "x")]


def test_a_failing_callback_is_logged_and_the_loop_goes_on(backend, running, caplog):
    client = running()
    calls = []

    def broken(objs, event):
        calls.append("broken")
        raise RuntimeError("callback bug")

    client.on_channel_event("StasisStart", broken)
    client.on_channel_event("StasisStart", lambda objs, ev: calls.append("next"))
    with caplog.at_level(logging.ERROR, logger="ariproxy.compat"):
        backend.incoming()
        wait_for(lambda: calls.count("next") == 1, 10.0)
        backend.incoming()
        wait_for(lambda: calls.count("next") == 2, 10.0)
    assert calls == ["broken", "next", "broken", "next"]
    failures = [r for r in caplog.records if "Event listener threw exception" in r.getMessage()]
    assert len(failures) == 2 and "callback bug" in failures[0].exc_text


def test_custom_exception_handler(backend, running):
    client = running()
    seen = []
    client.exception_handler = seen.append
    client.on_event("StasisStart", lambda ev: 1 / 0)
    backend.incoming()
    wait_for(lambda: seen, 10.0)
    assert isinstance(seen[0], ZeroDivisionError)


def test_callbacks_run_one_at_a_time(backend, running):
    client = running()
    active, most, done = [0], [0], []

    def slow(objs, event):
        active[0] += 1
        most[0] = max(most[0], active[0])
        objs.answer()  # a blocking call inside the callback lets other greenlets run meanwhile
        gevent.sleep(0)
        active[0] -= 1
        done.append(objs.id)

    client.on_channel_event("StasisStart", slow)
    for _ in range(4):
        backend.incoming()
    wait_for(lambda: len(done) == 4, 10.0)
    assert most[0] == 1


def test_playback_recording_and_device_state_objects(backend, running):
    client = running()
    started, finished, recordings, states = [], [], [], []
    client.on_channel_event("StasisStart", lambda objs, ev: started.append(objs["channel"]))
    client.on_playback_event("PlaybackFinished", lambda pb, ev: finished.append(pb))
    client.on_live_recording_event("RecordingFinished", lambda rec, ev: recordings.append(rec))
    client.on_device_state_event("DeviceStateChanged", lambda ds, ev: states.append(ds))
    backend.incoming()
    wait_for(lambda: started, 10.0)
    channel = started[0]
    channel.answer()
    playback = channel.play(media="sound:hello-world")
    assert isinstance(playback, ari.Playback) and playback.json["media_uri"] == "sound:hello-world"
    wait_for(lambda: any(p.id == playback.id for p in finished), 10.0)
    with pytest.raises(requests.HTTPError) as exc:
        playback.stop()  # finished: gone
    assert exc.value.response.status_code == 404
    live = channel.record(name="compat-rec", format="wav", maxDurationSeconds=1)
    assert isinstance(live, ari.LiveRecording) and live.id == "compat-rec"
    live.stop()
    wait_for(lambda: any(r.id == "compat-rec" for r in recordings), 10.0)
    stored = client.recordings.getStored(recordingName="compat-rec")
    assert isinstance(stored, ari.StoredRecording) and stored.id == "compat-rec"
    assert any(s.id == "compat-rec" for s in client.recordings.listStored())
    stored.deleteStored()
    with pytest.raises(requests.HTTPError):
        client.recordings.getStored(recordingName="compat-rec")
    client.applications.subscribe(applicationName=APP, eventSource="deviceState:Stasis:compat")
    client.deviceStates.update(deviceName="Stasis:compat", deviceState="INUSE")
    wait_for(lambda: states, 10.0)
    assert isinstance(states[0], ari.DeviceState) and states[0].id == "Stasis:compat"
    assert states[0].json["state"] == "INUSE"
    channel.setChannelVar(variable="COLOR", value="blue")
    assert channel.getChannelVar(variable="COLOR") == {"value": "blue"}


def test_event_registration_errors_as_ari_py(backend):
    client = _connect(backend)
    try:
        with pytest.raises(ValueError):
            client.on_sound_event("PlaybackStarted", lambda *a: None)  # no Sound field in any event
        with pytest.raises(ValueError):
            client.on_channel_event("PlaybackStarted", lambda *a: None)
        with pytest.raises(TypeError):
            client.on_event("StasisStart", "not callable")
        with pytest.raises(TypeError):
            client.channels.get("positional-id")  # operations take keyword parameters only
        with pytest.raises(ari.ParameterError):
            client.channels.get()  # channelId is required
        mailbox = ari.Mailbox(client, {"name": "m1"})
        with pytest.raises(RuntimeError):
            mailbox.on_event("Anything", lambda *a: None)
    finally:
        client.close()


def test_run_returns_on_close_and_close_is_idempotent(backend):
    client = _connect(backend)
    loop = gevent.spawn(client.run, apps=[APP])
    wait_for(lambda: client.running, 10.0)
    client.close()
    loop.join(10)
    assert loop.dead and loop.exception is None
    client.close()
    assert client.closed and not client.running
    with pytest.raises(Exception):
        client.channels.list()


# -------------------------------------------------------------------------- proxy only: distribution

@pytest.mark.parametrize("distribute", [True, False])
def test_stasis_start_reaches_one_running_copy(nats_backend, distribute):
    nats_backend.reset()
    copies = [ari.connect(nats_backend.proxy.nats_url, app=APP, distribute=distribute) for _ in range(3)]
    seen = [[] for _ in copies]
    loops = []
    try:
        for i, client in enumerate(copies):
            client.on_channel_event("StasisStart", lambda objs, ev, i=i: seen[i].append(objs.id))
            loops.append(gevent.spawn(client.run, apps=APP))
        wait_for(lambda: all(c.running for c in copies), 10.0)
        calls = [nats_backend.incoming() for _ in range(6)]
        if distribute:
            wait_for(lambda: sum(len(s) for s in seen) == 6, 10.0)
            everything = [c for s in seen for c in s]
            assert sorted(everything) == sorted(calls)  # each call reached exactly one copy
        else:
            wait_for(lambda: all(len(s) == 6 for s in seen), 10.0)
            assert all(sorted(s) == sorted(calls) for s in seen)
    finally:
        for client in copies:
            client.close()
        for loop in loops:
            loop.join(10)


def test_distribution_off_by_environment(nats_backend, monkeypatch):
    monkeypatch.setenv(ari.DISTRIBUTE_ENV, "0")
    client = ari.connect(nats_backend.proxy.nats_url, app=APP)
    try:
        assert not client._dispatcher.distributed
    finally:
        client.close()
    monkeypatch.delenv(ari.DISTRIBUTE_ENV)
    client = ari.connect(nats_backend.proxy.nats_url, app=APP)
    try:
        assert client._dispatcher.distributed
    finally:
        client.close()


def test_distribute_needs_nats(http_backend):
    with pytest.raises(ValueError):
        ari.connect(http_backend.sim.base_url + "/", "asterisk", "asterisk", distribute=True)


# -------------------------------------------------------------------------- the dispatcher's ordering

def _channel(model, as_json, node):
    return ari.Channel(None, as_json, node)


def test_events_of_a_won_call_that_came_first_are_replayed_to_its_handler():
    """With distribution, a call's events (ordered source) may be dispatched before its StasisStart
    (queue group) reaches this copy; object listeners the handler registers still get them."""
    d = Dispatcher(lambda exc: (_ for _ in ()).throw(exc))
    d.distributed = True
    got = []

    def on_start(objs, event):
        got.append(("start", objs.id))
        objs["channel"].id  # noqa: B018
        d.add("ChannelDtmfReceived", lambda ch, ev: got.append(("dtmf", ev["digit"])), model="Channel",
              factory=_channel, bound=("Channel", "c1"))
        d.add("StasisStart", lambda ch, ev: got.append(("again", ch.id)), model="Channel", factory=_channel,
              bound=("Channel", "c1"))

    d.add("StasisStart", on_start, model="Channel", factory=_channel)
    start = {"type": "StasisStart", "channel": {"id": "c1"}, "args": []}
    d.dispatch("all", start)
    d.dispatch("all", {"type": "ChannelDtmfReceived", "channel": {"id": "c1"}, "digit": "4"})
    d.dispatch("all", {"type": "ChannelDtmfReceived", "channel": {"id": "c2"}, "digit": "9"})
    assert got == []  # client-wide StasisStart listeners hear only the queue group's copy
    d.dispatch("start", start)
    assert got == [("start", "c1"), ("dtmf", "4")]
    d.dispatch("all", {"type": "ChannelDtmfReceived", "channel": {"id": "c1"}, "digit": "5"})
    assert got[-1] == ("dtmf", "5")
    # listeners bound to a channel are dropped once it is destroyed
    d.dispatch("all", {"type": "ChannelDestroyed", "channel": {"id": "c1"}})
    assert d.count() == 1


def test_stasis_start_after_the_queue_groups_copy_is_not_given_to_the_handlers_own_listeners():
    d = Dispatcher(lambda exc: (_ for _ in ()).throw(exc))
    d.distributed = True
    got = []

    def on_start(objs, event):
        got.append("start")
        d.add("StasisStart", lambda ch, ev: got.append("again"), model="Channel", factory=_channel,
              bound=("Channel", "c1"))

    d.add("StasisStart", on_start, model="Channel", factory=_channel)
    start = {"type": "StasisStart", "channel": {"id": "c1"}, "args": []}
    d.dispatch("start", start)
    d.dispatch("all", start)
    assert got == ["start"]


# -------------------------------------------------------------------------- errors as ari-py code expects

def test_http_error_carries_a_response_like_requests(backend):
    client = _connect(backend)
    try:
        with pytest.raises(requests.HTTPError) as exc:
            client.bridges.get(bridgeId="no-such-bridge")
        response = exc.value.response
        assert response.status_code == requests.codes.not_found and response.reason == "Not Found"
        assert "not found" in response.json()["message"].lower()
        assert not response.ok
    finally:
        client.close()


def test_unreachable_servers_raise_requests_connection_errors():
    from tests.support.nats import free_port
    port = free_port()  # nothing listens there
    with pytest.raises(requests.exceptions.ConnectionError):
        ari.connect("nats://127.0.0.1:%d" % port, app=APP)
    client = ari.connect("http://127.0.0.1:%d/" % port, "asterisk", "asterisk")
    try:
        with pytest.raises(requests.exceptions.ConnectionError):
            client.channels.list()
    finally:
        client.close()
    with pytest.raises(ValueError):
        ari.connect("ftp://127.0.0.1/")
    with pytest.raises(ValueError):
        ari.connect("")


def test_ari_base_url_as_ari_py_joins_it():
    from ariproxy.compat.backends import ari_base_url, is_nats_url
    assert ari_base_url("http://localhost:8088/") == "http://localhost:8088/ari"
    assert ari_base_url("http://localhost:8088") == "http://localhost:8088/ari"
    assert ari_base_url("http://localhost:8088/ari") == "http://localhost:8088/ari"
    assert ari_base_url("http://localhost:8088/ari/") == "http://localhost:8088/ari"
    assert ari_base_url("https://pbx.example/asterisk/") == "https://pbx.example/asterisk/ari"
    assert is_nats_url("nats://a:4222,nats://b:4222") and is_nats_url("tls://a:4222")
    assert not is_nats_url("http://localhost:8088/")


def test_on_object_event_uses_the_given_factory(backend, running):
    client = running()
    made = []

    def factory(cli, as_json):
        made.append(as_json["id"])
        return ari.model.Channel(cli, as_json)

    got = []
    client.on_object_event("StasisStart", lambda objs, ev: got.append(objs["channel"]), factory, "Channel")
    chan = backend.incoming()
    wait_for(lambda: got, 10.0)
    assert made == [chan] and got[0].id == chan and got[0].client is client


def test_application_from_the_environment(nats_backend, monkeypatch):
    nats_backend.reset()
    monkeypatch.setenv("ARI_APPLICATION", APP)
    client = ari.connect(nats_backend.proxy.nats_url)
    got = []
    loop = gevent.spawn(client.run)  # apps default to the application
    try:
        assert client.app == APP and client._backend.client.application == APP
        client.on_channel_event("StasisStart", lambda objs, ev: got.append(objs.id))
        wait_for(lambda: client.running, 10.0)
        chan = nats_backend.incoming()
        wait_for(lambda: got == [chan], 10.0)
    finally:
        client.close()
        loop.join(10)
    assert loop.dead and loop.exception is None
