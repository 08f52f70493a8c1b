"""Issue 14, item 10: what goes wrong is said as it is.

A websocket handshake that fails logs its cause; a REST answer cut partway through its body is
reported as such (``ARIAnswerCut``, "ARI answer cut short"), not as "ARI connection is down"; a
5,000-digit integer gets a clean error that does not tell the caller to call
``sys.set_int_max_str_digits()``.
"""
import logging

import pytest
from gevent.server import StreamServer

from ariproxy import errors
from ariproxy.ari.client import ARI
from ariproxy.protocol import Request, Response
from ariproxy.server import Server
from ariproxy.server.handlers import error_response_text
from tests.support.wait import wait_for


@pytest.fixture
def junk_server():
    """``junk_server(answer)``: a TCP server that reads a request and answers ``answer`` bytes, then closes."""
    servers = []

    def make(answer):
        def handle(sock, _addr):
            try:
                sock.recv(65536)
                sock.sendall(answer)
            finally:
                sock.close()
        srv = StreamServer(("127.0.0.1", 0), handle)
        srv.start()
        servers.append(srv)
        return srv

    yield make
    for srv in servers:
        srv.stop(timeout=1)


CUT = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n"
       b'{"system":{"entity_id":')


@pytest.mark.parametrize("client", ["native", "requests"])
def test_rest_answer_cut_mid_body_is_reported_as_cut(junk_server, client):
    srv = junk_server(CUT)
    ari = ARI(url="http://127.0.0.1:%d/ari" % srv.server_port, app="x", rest_transport="http", http_client=client)
    try:
        with pytest.raises(errors.ARIAnswerCut) as info:
            ari.info()
    finally:
        ari.close()
    text = error_response_text(info.value)
    assert text.startswith("ARI answer cut short") and "connection is down" not in text
    assert isinstance(errors.error_from_text(text), errors.ARIAnswerCut)
    # still an ARIConnectionError for callers that handle those
    assert isinstance(info.value, errors.ARIConnectionError)


def test_failed_websocket_handshake_logs_its_cause(sim, junk_server, nats_url, caplog):
    bad = junk_server(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
    server = Server(ari_url=sim.url, ari_ws_url="ws://127.0.0.1:%d/ari/events" % bad.server_port,
                    application="diag", nats_url=nats_url)
    with caplog.at_level(logging.INFO):
        server.start()
        try:
            record = wait_for(lambda: next((r for r in caplog.records if "handshake failed" in r.getMessage()),
                                           None), 15)
        finally:
            server.stop(timeout=2)
    assert record.levelno == logging.WARNING
    assert "Invalid WebSocket Header" in record.getMessage()


def test_describe_names_the_cause():
    try:
        try:
            [][0]
        except IndexError:
            raise ValueError("bad status line")
    except ValueError as e:
        assert errors.describe(e) == "ValueError: bad status line (from IndexError: list index out of range)"


def test_5000_digit_integers_give_a_clean_error(proxy):
    huge = "1" * 5000
    raw = ('{"kind":"ChannelHangup","key":{"kind":"channel","id":"c1","node":"%s","app":"%s"},"x":%s}'
           % (proxy.node, proxy.application, huge)).encode()
    resp = Response.decode(proxy.send_raw(proxy.subject("command"), raw).data)
    assert resp.error.startswith("bad request") and "digits" in resp.error
    assert "set_int_max_str_digits" not in resp.error
    # as a parameter value (a string of digits, and a JSON integer just under the interpreter's limit)
    for value in (huge, int("9" * 4000)):
        resp = proxy.request("ChannelPlay", proxy.key("channel", "c1"), "channel_play",
                             {"playback_id": "p1", "media_uri": "sound:x", "skipms": value})
        assert resp.error and "set_int_max_str_digits" not in resp.error
        assert len(resp.error) < 400
    proxy.ok("AsteriskInfo")
