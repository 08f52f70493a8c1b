"""ARI.start_call: a REST call over the events websocket that does not wait (the server's hot path).

Against the MiniAsterisk of test_ari_ws (wsproto on a real socket): answers,
errors, many in flight, timeouts, a drop with calls in flight, and the cases
where it declines so the caller uses call() (no websocket, a file answer).
"""
import gevent
import pytest
from gevent.event import AsyncResult

from ariproxy import errors
from ariproxy.ari import ARI
from tests.support.wait import wait_for
from tests.test_ari_ws import PASSWORD, MiniAsterisk


@pytest.fixture
def mini():
    server = MiniAsterisk().start()
    yield server
    server.stop()


@pytest.fixture
def ari(mini):
    client = ARI(mini.url, "asterisk", PASSWORD, app="test", timeout=2.0, connect_timeout=1.0,
                 rest_transport="websocket", reconnect_wait=(0.01, 0.05))
    client.events(lambda e: None)
    wait_for(lambda: client.can_start, 5)
    yield client
    client.close()


def _start(ari, resource, op, params, **kw):
    got = AsyncResult()
    calls = []

    def on_done(value, exc):
        calls.append(gevent.getcurrent())
        got.set((value, exc))
    assert ari.start_call(resource, op, params, on_done, **kw) is True
    return got, calls


def test_answers_and_errors_come_back_like_call(ari, mini):
    got, calls = _start(ari, "channels", "originate", {"endpoint": "Local/1000@default", "app": "test",
                                                       "variables": {"A": "1"}})
    value, exc = got.get(timeout=5)
    assert exc is None and value["body"] == {"variables": {"A": "1"}} and value["uri"] == "channels"
    got, _ = _start(ari, "channels", "get", {"channelId": "missing"})
    value, exc = got.get(timeout=5)
    assert isinstance(exc, errors.NotFound) and exc.message == "Channel not found" and value is None
    got, _ = _start(ari, "channels", "hangup", {"channelId": "c1"})
    assert got.get(timeout=5) == (None, None)
    assert ari.transport_stats["http"] == 0 and len(calls) == 1


def test_bad_parameters_raise_before_sending(ari, mini):
    with pytest.raises(errors.ValidationError):
        ari.start_call("channels", "get", {}, lambda v, e: None)
    with pytest.raises(errors.ValidationError):
        ari.start_call("channels", "nosuch", {}, lambda v, e: None)
    assert mini.requests == []


def test_many_in_flight_each_called_back_once(ari, mini):
    results = {}

    def make(i):
        return lambda value, exc: results.setdefault(i, []).append((value, exc))
    for i in range(100):
        assert ari.start_call("channels", "getChannelVar", {"channelId": "c%d" % i, "variable": "V"}, make(i))
    wait_for(lambda: len(results) == 100, 5)
    gevent.sleep(0.05)
    assert all(len(r) == 1 and r[0][1] is None and r[0][0]["uri"] == "channels/c%d/variable" % i
               for i, r in results.items())


def test_unanswered_call_times_out_once(ari, mini):
    mini.hold = True
    got, calls = _start(ari, "asterisk", "ping", {}, timeout=0.2)
    value, exc = got.get(timeout=5)
    assert isinstance(exc, errors.Timeout) and value is None
    gevent.sleep(0.3)
    assert len(calls) == 1


def test_drop_calls_back_every_call_in_flight_at_once(ari, mini):
    mini.hold = True
    pending = [_start(ari, "asterisk", "ping", {}, timeout=30) for _ in range(10)]
    wait_for(lambda: len(mini.requests) == 10, 5)
    mini.drop()
    for got, calls in pending:
        value, exc = got.get(timeout=5)
        assert isinstance(exc, errors.ARIConnectionError) and PASSWORD not in str(exc)
    wait_for(lambda: not ari.can_start or ari.active_rest_transport == "http", 5)


def test_declines_when_it_cannot_go_over_the_websocket(ari, mini):
    # a file answer stays on HTTP
    assert ari.start_call("recordings", "getStoredFile", {"recordingName": "r"}, lambda v, e: None) is False
    http_only = ARI(mini.url, "asterisk", PASSWORD, app="test2", rest_transport="http")
    try:
        assert not http_only.can_start
        assert http_only.start_call("asterisk", "ping", {}, lambda v, e: None) is False
    finally:
        http_only.close()
    assert mini.requests == []
