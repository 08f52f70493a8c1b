"""ariproxy.ari against the real simulator (ariproxy.sim): events, reconnects, errors, both REST transports."""
import logging

import gevent
import pytest
from gevent.event import Event

from ariproxy import errors
from ariproxy.ari import ARI
from tests.support.secrets import ARI_PASSWORD as PASSWORD
from tests.support.wait import wait_for

sim_module = pytest.importorskip("ariproxy.sim")


@pytest.fixture
def sim():
    simulator = sim_module.Simulator(host="127.0.0.1", port=0, username="asterisk", password=PASSWORD,
                                     playback_duration=0.05)
    simulator.start()
    yield simulator
    simulator.stop()


def _ari(sim, transport, **kw):
    kw.setdefault("timeout", 3.0)
    return ARI(sim.url, "asterisk", PASSWORD, app="test", connect_timeout=1.0, rest_transport=transport,
               reconnect_wait=(0.01, 0.05), **kw)


class Recorder:
    """Collects what an EventStream delivers."""

    def __init__(self):
        self.events, self.connects, self.disconnects = [], [], []

    def open(self, ari, **kw):
        return ari.events(self.events.append, on_connect=self.connects.append,
                          on_disconnect=lambda s, reason: self.disconnects.append(reason), **kw)

    def types(self):
        return [e.type for e in self.events]


@pytest.fixture(params=["http", "websocket"])
def transport(request):
    return request.param


@pytest.fixture
def connected(sim, transport):
    """An ARI with its events stream up and the REST transport under test active."""
    ari = _ari(sim, transport)
    rec = Recorder()
    stream = rec.open(ari)
    wait_for(lambda: stream.connected and ari.active_rest_transport == transport)
    yield ari, rec, stream
    ari.close()


def test_events_delivered(connected):
    ari, rec, stream = connected
    ari.call("channels", "originate", endpoint="Local/1000@default", app="test", channelId="ev-1")
    wait_for(lambda: "StasisStart" in rec.types())
    start = rec.events[rec.types().index("StasisStart")]
    assert start.application == "test" and start.body["channel"]["id"] in ("ev-1", "ev-1;2")
    assert isinstance(start.raw, bytes)
    assert "RESTResponse" not in rec.types()


def test_burst_of_events_in_order(sim, connected):
    ari, rec, stream = connected
    sent = sim.burst(300, app="test")
    wait_for(lambda: len(rec.events) >= len(sent) if isinstance(sent, list) else len(rec.events) >= 300)
    assert len(rec.events) == (len(sent) if isinstance(sent, list) else 300)


def test_reconnect_after_drop(sim, connected):
    ari, rec, stream = connected
    first = stream.connected_at
    sim.drop_websockets()
    wait_for(lambda: rec.disconnects)
    wait_for(lambda: len(rec.connects) == 2 and stream.connected)
    assert stream.connects == 2 and stream.connected_at >= first
    ari.call("channels", "originate", endpoint="Local/1000@default", app="test", channelId="after-drop")
    wait_for(lambda: "StasisStart" in rec.types())


@pytest.mark.parametrize("call, exc, status", [
    (("channels", "get", {"channelId": "does-not-exist"}), errors.NotFound, 404),
    (("channels", "answer", {"channelId": "does-not-exist"}), errors.NotFound, 404),
    (("playbacks", "get", {"playbackId": "nosuchplayback"}), errors.NotFound, 404),
    (("asterisk", "getGlobalVar", {"variable": ""}), errors.BadRequest, 400),
])
def test_errors_mapped(connected, call, exc, status):
    ari, rec, stream = connected
    resource, nickname, params = call
    with pytest.raises(exc) as info:
        ari.call(resource, nickname, **params)
    assert info.value.status == status
    assert info.value.message and info.value.reason


def test_conflict_mapped(connected):
    ari, rec, stream = connected
    ari.call("bridges", "create", type="mixing", bridgeId="b-dup")
    with pytest.raises(errors.Conflict) as info:
        ari.call("bridges", "create", type="mixing", bridgeId="b-dup")
    assert info.value.status == 409


def test_unauthorized_mapped(sim, caplog):
    caplog.set_level(logging.DEBUG)
    ari = ARI(sim.url, "asterisk", "wrong-" + PASSWORD, app="test", rest_transport="http")
    with pytest.raises(errors.Unauthorized) as info:
        ari.info()
    assert info.value.status == 401
    assert PASSWORD not in str(info.value) and PASSWORD not in caplog.text
    ari.close()


def _normalise(value):
    """Drop what differs between two runs of the same call (ids, times)."""
    if isinstance(value, dict):
        return {k: _normalise(v) for k, v in value.items()
                if k not in ("id", "timestamp", "creationtime", "name", "startup_time", "last_reload_time")}
    if isinstance(value, list):
        return [_normalise(v) for v in value]
    return value


def _scenario(ari, tag):
    """A set of operations the server uses; returns what each gave (value or exception details)."""
    out = []

    def step(resource, nickname, **params):
        try:
            out.append(("ok", _normalise(ari.call(resource, nickname, **params))))
        except errors.ARIError as e:
            out.append((type(e).__name__, e.status, e.reason, e.message))

    step("asterisk", "getInfo", only="system")
    step("asterisk", "ping")
    step("asterisk", "setGlobalVar", variable="G_" + tag, value="v a/l?&=")
    step("asterisk", "getGlobalVar", variable="G_" + tag)
    # ':' and '@' are escaped in an HTTP path; the websocket uri carries them as they are.
    tag = "%s:1@x" % tag
    step("channels", "originate", endpoint="Local/1000@default", app="test", channelId="ch-" + tag,
         variables={"A": "1", "CALLERID(name)": "Alice"})
    step("channels", "get", channelId="ch-" + tag)
    step("channels", "answer", channelId="ch-" + tag)
    step("channels", "setChannelVar", channelId="ch-" + tag, variable="X", value="y z")
    step("channels", "getChannelVar", channelId="ch-" + tag, variable="X")
    step("channels", "getChannelVar", channelId="ch-" + tag, variable="NOPE_NOT_SET")
    step("bridges", "create", type="mixing", bridgeId="br-" + tag)
    step("bridges", "addChannel", bridgeId="br-" + tag, channel=["ch-" + tag])
    step("bridges", "play", bridgeId="br-" + tag, media=["sound:hello-world"], playbackId="pb-" + tag)
    step("bridges", "removeChannel", bridgeId="br-" + tag, channel="ch-" + tag)
    step("bridges", "destroy", bridgeId="br-" + tag)
    step("channels", "hangup", channelId="ch-" + tag)
    step("channels", "get", channelId="ch-" + tag)
    step("channels", "get", channelId="does-not-exist")
    step("playbacks", "control", playbackId="does-not-exist", operation="pause")
    return out


def test_both_transports_give_identical_results(sim):
    results = {}
    for transport in ("http", "websocket"):
        ari = _ari(sim, transport)
        stream = ari.events(lambda e: None)
        wait_for(lambda: ari.active_rest_transport == transport)
        del sim.requests[:]
        results[transport] = _scenario(ari, "t")
        # The simulator logs which way each request came.
        assert {r["via"] for r in sim.requests} == {"ws" if transport == "websocket" else "http"}
        assert len(sim.requests) == len(results[transport])
        stream.close()
        ari.close()
    assert results["http"] == results["websocket"]
    assert any(r[0] == "NotFound" for r in results["http"])


def test_auto_uses_websocket_on_a_recent_asterisk(sim):
    ari = _ari(sim, "auto")
    ari.events(lambda e: None)
    wait_for(lambda: ari.active_rest_transport == "websocket")
    before = ari.transport_stats["websocket"]
    assert ari.call("asterisk", "ping")["ping"] == "pong"
    assert ari.transport_stats["websocket"] == before + 1
    ari.close()


def test_auto_uses_http_on_an_old_asterisk():
    simulator = sim_module.Simulator(host="127.0.0.1", port=0, username="asterisk", password=PASSWORD,
                                     version="20.1.0")
    simulator.start()
    try:
        ari = _ari(simulator, "auto")
        stream = ari.events(lambda e: None)
        wait_for(lambda: stream.rest_decision is not None)
        assert stream.rest_decision == "http"
        ari.call("asterisk", "ping")
        assert ari.active_rest_transport == "http"
        assert ari.transport_stats["websocket"] == 0
        ari.close()
    finally:
        simulator.stop()


def test_auto_probe_without_answer_means_http():
    # An unparsable version makes the client probe; this simulated Asterisk ignores the probe.
    simulator = sim_module.Simulator(host="127.0.0.1", port=0, username="asterisk", password=PASSWORD,
                                     version="GIT-master-1a2b3c")
    simulator.start()
    try:
        ari = _ari(simulator, "auto")
        stream = ari.events(lambda e: None, probe_timeout=0.2)
        wait_for(lambda: stream.rest_decision is not None)
        assert stream.rest_decision == "http" and stream.ws_requests_sent == 1
        assert ari.active_rest_transport == "http"
        ari.call("asterisk", "ping")
        assert [r["via"] for r in simulator.requests][-1] == "http"
        ari.close()
    finally:
        simulator.stop()


def test_100_concurrent_requests_over_the_websocket(sim):
    ari = _ari(sim, "websocket")
    ari.events(lambda e: None)
    wait_for(lambda: ari.active_rest_transport == "websocket")
    for i in range(100):
        ari.call("asterisk", "setGlobalVar", variable="V%d" % i, value="value-%d" % i)
    jobs = [gevent.spawn(ari.call, "asterisk", "getGlobalVar", variable="V%d" % i) for i in range(100)]
    gevent.joinall(jobs, timeout=10, raise_error=True)
    assert [j.value for j in jobs] == [{"value": "value-%d" % i} for i in range(100)]
    assert ari.transport_stats["http"] == 0
    ari.close()


def test_drop_with_requests_in_flight(sim, caplog):
    caplog.set_level(logging.DEBUG)
    ari = _ari(sim, "websocket", timeout=30.0)
    rec = Recorder()
    stream = rec.open(ari)
    wait_for(lambda: ari.active_rest_transport == "websocket")
    sim.set_delay(60000)        # answers held until set_delay(0)
    sent_before = ari.transport_stats["websocket"]
    jobs = [gevent.spawn(ari.call, "asterisk", "ping") for _ in range(20)]
    wait_for(lambda: ari.transport_stats["websocket"] == sent_before + 20)
    all_done = Event()
    gevent.spawn(lambda: (gevent.joinall(jobs), all_done.set()))
    sim.drop_websockets()
    # well before the 30 s timeout, and with every answer still held: they failed at the drop
    assert all_done.wait(10), "in-flight requests must fail at once, not after the delay or timeout"
    assert all(isinstance(j.exception, errors.ARIConnectionError) for j in jobs)
    sim.set_delay(0)
    # HTTP takes over at once; the websocket comes back and takes over again.
    if ari.active_rest_transport == "http":
        http_before = ari.transport_stats["http"]
        ari.call("asterisk", "ping")
        assert ari.transport_stats["http"] == http_before + 1
    wait_for(lambda: len(rec.connects) == 2 and ari.active_rest_transport == "websocket")
    ws_before = ari.transport_stats["websocket"]
    assert ari.call("asterisk", "ping")["ping"] == "pong"
    assert ari.transport_stats["websocket"] == ws_before + 1
    assert PASSWORD not in caplog.text
    assert all(PASSWORD not in str(j.exception) for j in jobs)
    ari.close()


def test_binary_stays_on_http(sim):
    ari = _ari(sim, "websocket")
    ari.events(lambda e: None)
    wait_for(lambda: ari.active_rest_transport == "websocket")
    ari.call("channels", "originate", endpoint="Local/1000@default", app="test", channelId="rec-ch")
    wait_for(lambda: "rec-ch" in sim.channels)
    ari.call("channels", "answer", channelId="rec-ch")
    ari.call("channels", "record", channelId="rec-ch", name="rec-bin", format="wav")
    ari.call("recordings", "stop", recordingName="rec-bin")
    wait_for(lambda: "rec-bin" in sim.stored_recordings)
    del sim.requests[:]
    data = ari.call("recordings", "getStoredFile", recordingName="rec-bin")
    assert isinstance(data, bytes) and data[:4] == b"RIFF"
    assert ari.request("GET", "/recordings/stored/rec-bin/file") == data
    assert [(r["path"], r["via"]) for r in sim.requests] == [("/recordings/stored/rec-bin/file", "http")] * 2
    ari.close()


def test_credentials_absent_from_logs_and_errors(sim, caplog):
    caplog.set_level(logging.DEBUG)
    ari = _ari(sim, "auto")
    rec = Recorder()
    rec.open(ari)
    wait_for(lambda: ari.active_rest_transport == "websocket")
    with pytest.raises(errors.NotFound) as info:
        ari.call("channels", "get", channelId="nope")
    sim.drop_websockets()
    wait_for(lambda: len(rec.connects) == 2)
    text = caplog.text + str(info.value) + repr(ari) + repr(info.value)
    assert PASSWORD not in text
    ari.close()
