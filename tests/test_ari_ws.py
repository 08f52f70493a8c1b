"""ariproxy.ari's events websocket and REST-over-websocket against a tiny websocket server in this module.

The server (wsproto over a gevent StreamServer on a free port) answers
RESTRequest messages the way Asterisk does in the recordings, and can hold
answers back or drop every socket; the real simulator is used in
test_ari_sim.py.
"""
import base64
import json
import logging

import gevent
import pytest
from gevent.event import Event
from gevent.server import StreamServer
from wsproto import ConnectionType, WSConnection
from wsproto.events import (AcceptConnection, CloseConnection, Ping, RejectConnection, Request,
                            TextMessage)

from ariproxy import errors
from ariproxy.ari import ARI
from ariproxy.ari.operations import OPERATIONS
from ariproxy.ari.wsrest import encode_rest_request
from tests.support.secrets import ARI_PASSWORD as PASSWORD
from tests.support.wait import wait_for


class MiniAsterisk:
    """Accepts /ari/events websockets and answers RESTRequest like Asterisk (echoing what it parsed)."""

    def __init__(self):
        self.sockets = []
        self.requests = []          # RESTRequest messages received
        self.connects = []          # request targets of accepted websockets
        self.hold = False           # when True, RESTRequests get no answer
        self.server = StreamServer(("127.0.0.1", 0), self.handle)

    def start(self):
        self.server.start()
        self.port = self.server.server_port
        self.url = "http://127.0.0.1:%d/ari" % self.port
        return self

    def stop(self):
        self.drop()
        self.server.stop(timeout=1)

    def drop(self):
        for sock, _ in list(self.sockets):
            try:
                sock.close()
            except OSError:
                pass
        self.sockets = []

    def send_event(self, event):
        self.send_raw(json.dumps(event))

    def send_raw(self, text):
        for sock, conn in list(self.sockets):
            sock.sendall(conn.send(TextMessage(text)))

    def answer(self, message):
        body = {"method": message["method"], "uri": message["uri"],
                "query": message.get("query_strings", []),
                "body": json.loads(message["message_body"]) if message.get("message_body") else None}
        reply = {"type": "RESTResponse", "transaction_id": message.get("transaction_id", ""),
                 "request_id": message.get("request_id", ""), "status_code": 200, "reason_phrase": "OK",
                 "uri": message["uri"].split("?")[0], "content_type": "application/json",
                 "message_body": json.dumps(body), "application": "test",
                 "timestamp": "2026-11-29T04:20:54.398+0000", "asterisk_id": "02:fc:00:00:00:01"}
        if message["uri"].startswith("channels/missing"):
            reply.update(status_code=404, reason_phrase="Not Found",
                         message_body=json.dumps({"message": "Channel not found"}))
        elif message["method"] == "DELETE":
            reply.update(status_code=204, reason_phrase="No Content")
            del reply["message_body"], reply["content_type"]
        return reply

    def handle(self, sock, address):
        conn = WSConnection(ConnectionType.SERVER)
        entry = (sock, conn)
        try:
            while True:
                data = sock.recv(65536)
                if not data:
                    return
                conn.receive_data(data)
                for event in conn.events():
                    if isinstance(event, Request):
                        auth = dict(event.extra_headers).get(b"authorization", b"")
                        expected = b"Basic " + base64.b64encode(("asterisk:" + PASSWORD).encode())
                        if auth != expected:
                            sock.sendall(conn.send(RejectConnection(status_code=401)))
                            return
                        sock.sendall(conn.send(AcceptConnection()))
                        self.connects.append(event.target)
                        self.sockets.append(entry)
                    elif isinstance(event, TextMessage):
                        message = json.loads(event.data)
                        self.requests.append(message)
                        if not self.hold:
                            sock.sendall(conn.send(TextMessage(json.dumps(self.answer(message)))))
                    elif isinstance(event, Ping):
                        sock.sendall(conn.send(event.response()))
                    elif isinstance(event, CloseConnection):
                        sock.sendall(conn.send(event.response()))
                        return
        except Exception:
            # Plain HTTP (not an upgrade) or a broken client: just hang up, as a dead server would.
            return
        finally:
            if entry in self.sockets:
                self.sockets.remove(entry)
            sock.close()


@pytest.fixture
def mini():
    server = MiniAsterisk().start()
    yield server
    server.stop()


@pytest.fixture
def ari(mini):
    client = ARI(mini.url, "asterisk", PASSWORD, app="test", timeout=2.0, connect_timeout=1.0,
                 rest_transport="websocket", reconnect_wait=(0.01, 0.05))
    yield client
    client.close()


def _stream(ari, **kw):
    got, connects, disconnects = [], [], []
    stream = ari.events(got.append, on_connect=lambda s: connects.append(s),
                        on_disconnect=lambda s, reason: disconnects.append(reason), **kw)
    return stream, got, connects, disconnects


def test_encode_rest_request_like_the_recordings():
    op = OPERATIONS[("channels", "originate")]
    raw = encode_rest_request("req-6", op.prepare({"endpoint": "Local/1000@default", "app": "test",
                                                   "channelId": "ws-orig-1", "variables": {"FROM_WS": "yes"}}))
    assert json.loads(raw) == {
        "type": "RESTRequest", "request_id": "req-6", "method": "POST", "uri": "channels",
        "query_strings": [{"name": "endpoint", "value": "Local/1000@default"}, {"name": "app", "value": "test"},
                          {"name": "channelId", "value": "ws-orig-1"}],
        "content_type": "application/json", "message_body": '{"variables":{"FROM_WS":"yes"}}'}
    # Asterisk's router percent-decodes each segment of the websocket uri as it does for HTTP,
    # so the uri is escaped like the HTTP path; query values are not decoded, so they go as they are.
    raw = encode_rest_request("r", OPERATIONS[("channels", "getChannelVar")].prepare(
        {"channelId": "a b;2/x?y+z", "variable": "CALLERID(name)&x=1"}))
    assert json.loads(raw)["uri"] == "channels/a%20b%3B2%2Fx%3Fy%2Bz/variable"
    assert json.loads(raw)["query_strings"] == [{"name": "variable", "value": "CALLERID(name)&x=1"}]


def test_events_are_delivered_in_order_and_rest_responses_are_not(ari, mini):
    stream, got, connects, _ = _stream(ari)
    wait_for(lambda: stream.connected and connects)
    assert mini.connects == ["/ari/events?app=test&subscribeAll=false"]
    for i in range(50):
        mini.send_event({"type": "ChannelVarset", "variable": "N", "value": str(i), "application": "test",
                         "timestamp": "2026-11-29T04:20:54.398+0000", "asterisk_id": "02:fc:00:00:00:01"})
    assert ari.call("asterisk", "ping")["uri"] == "asterisk/ping"
    wait_for(lambda: len(got) == 50)
    assert [e.body["value"] for e in got] == [str(i) for i in range(50)]
    assert all(e.type == "ChannelVarset" and e.application == "test" for e in got)
    assert isinstance(got[0].raw, bytes)
    assert stream.stats["rest_responses"] >= 1
    assert not any(e.type == "RESTResponse" for e in got)
    assert connects == [stream] and stream.connected_at is not None


def test_rest_over_websocket_parameters_and_errors(ari, mini):
    stream, *_ = _stream(ari)
    wait_for(lambda: ari.active_rest_transport == "websocket")
    answer = ari.call("channels", "originate", endpoint="Local/1000@default", app="test",
                      variables={"A": "1"}, timeout=30)
    assert answer == {"method": "POST", "uri": "channels",
                      "query": [{"name": "endpoint", "value": "Local/1000@default"},
                                {"name": "app", "value": "test"}, {"name": "timeout", "value": "30"}],
                      "body": {"variables": {"A": "1"}}}
    assert ari.call("channels", "hangup", channelId="c1") is None
    with pytest.raises(errors.NotFound) as info:
        ari.call("channels", "get", channelId="missing")
    assert (info.value.status, info.value.reason, info.value.message) == (404, "Not Found", "Channel not found")
    assert ari.transport_stats["http"] == 0


def test_many_requests_in_flight_are_matched(ari, mini):
    stream, *_ = _stream(ari)
    wait_for(lambda: ari.active_rest_transport == "websocket")
    jobs = [gevent.spawn(ari.call, "channels", "getChannelVar", channelId="c%d" % i, variable="V%d" % i)
            for i in range(100)]
    gevent.joinall(jobs, timeout=10, raise_error=True)
    for i, job in enumerate(jobs):
        assert job.value["uri"] == "channels/c%d/variable" % i
        assert job.value["query"] == [{"name": "variable", "value": "V%d" % i}]
    assert len({m["request_id"] for m in mini.requests}) == 100
    assert ari.transport_stats["http"] == 0


def test_unanswered_request_times_out(ari, mini):
    stream, *_ = _stream(ari)
    wait_for(lambda: ari.active_rest_transport == "websocket")
    mini.hold = True
    with pytest.raises(errors.Timeout):
        ari.call("asterisk", "ping", _timeout=0.2)


def test_drop_fails_requests_in_flight_at_once_and_reconnects(ari, mini, caplog):
    caplog.set_level(logging.DEBUG)
    stream, got, connects, disconnects = _stream(ari)
    wait_for(lambda: ari.active_rest_transport == "websocket")
    mini.hold = True
    jobs = [gevent.spawn(ari.call, "asterisk", "ping", _timeout=30) for _ in range(10)]
    wait_for(lambda: len(mini.requests) == 10)
    done = Event()
    gevent.spawn(lambda: (gevent.joinall(jobs), done.set()))
    mini.drop()
    assert done.wait(5), "requests in flight must fail when the websocket drops, not wait for their timeout"
    assert all(isinstance(j.exception, errors.ARIConnectionError) for j in jobs)
    wait_for(lambda: disconnects)
    wait_for(lambda: len(connects) == 2 and ari.active_rest_transport == "websocket")
    mini.hold = False
    assert ari.call("asterisk", "ping")["uri"] == "asterisk/ping"
    assert PASSWORD not in caplog.text
    assert all(PASSWORD not in str(j.exception) for j in jobs)


def test_wrong_password_is_retried_without_leaking(mini, caplog):
    caplog.set_level(logging.DEBUG)
    client = ARI(mini.url, "asterisk", "wrong-" + PASSWORD, app="test", rest_transport="websocket",
                 reconnect_wait=(0.01, 0.02))
    stream = client.events(lambda e: None)
    wait_for(lambda: "401" in caplog.text)
    assert not stream.connected
    assert PASSWORD not in caplog.text and PASSWORD not in repr(stream)
    client.close()


def test_close_is_clean(ari, mini):
    stream, got, connects, disconnects = _stream(ari)
    wait_for(lambda: stream.connected)
    stream.close()
    assert not stream.connected and stream.closed
    wait_for(lambda: not mini.sockets)
    assert disconnects == []
    assert ari.active_rest_transport == "http"


@pytest.mark.parametrize("version, supported", [
    ("22.10.1", True), ("22.4.0", True), ("22.3.9", False), ("21.9.0", True), ("21.8.2", False),
    ("20.14.0", True), ("20.13.1", False), ("23.0.0", True), ("18.26.0", False), ("16.30.0", False),
    ("GIT-master-abc123", None), ("", None), (None, None),
])
def test_websocket_rest_support_by_version(version, supported):
    from ariproxy.ari import websocket_rest_supported
    assert websocket_rest_supported(version) is supported


def test_auto_probes_when_the_version_is_unknown(mini):
    # The tiny server answers no HTTP (so /asterisk/info fails) but does answer RESTRequest:
    # the probe over the websocket decides.
    client = ARI(mini.url, "asterisk", PASSWORD, app="test", rest_transport="auto", connect_timeout=1.0,
                 reconnect_wait=(0.01, 0.05))
    client.events(lambda e: None, probe_timeout=2.0)
    wait_for(lambda: client.active_rest_transport == "websocket")
    assert mini.requests[0]["uri"] == "asterisk/ping"
    client.close()


def _varset(i):
    return {"type": "ChannelVarset", "variable": "N", "value": str(i), "application": "test",
            "timestamp": "2026-11-29T04:20:54.398+0000", "asterisk_id": "02:fc:00:00:00:01"}


def test_callbacks_may_call_ari_over_the_same_websocket_and_may_fail(ari, mini):
    answers = []

    def on_event(event):
        # A REST call from the callback is answered through the reader this callback does not block.
        answers.append(ari.call("channels", "get", channelId="c" + event.body["value"])["uri"])
        if event.body["value"] == "1":
            raise RuntimeError("handler bug")

    stream = ari.events(on_event)
    wait_for(lambda: ari.active_rest_transport == "websocket")
    for i in range(3):
        mini.send_event(_varset(i))
    wait_for(lambda: len(answers) == 3)
    assert answers == ["channels/c0", "channels/c1", "channels/c2"]
    assert stream.stats["callback_errors"] == 1 and stream.connected


def test_undecodable_frames_are_skipped(ari, mini, caplog):
    got = []
    stream = ari.events(got.append)
    wait_for(lambda: stream.connected)
    mini.send_raw("hello, not json")
    mini.send_raw("[1,2,3]")
    mini.send_raw('{"type": "RESTResponse", "request_id": "nobody-waits", "status_code": 200}')
    mini.send_event(_varset(7))
    wait_for(lambda: got)
    assert [e.body["value"] for e in got] == ["7"]
    assert stream.stats["bad_frames"] == 2 and stream.stats["rest_responses"] == 1
    assert stream.connected and stream.connects == 1
