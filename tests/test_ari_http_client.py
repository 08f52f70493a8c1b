"""ariproxy.ari's own HTTP/1.1 client against a scripted server on a real socket.

The server reads each request head (and body by Content-Length) and writes
the bytes the test scripted, so chunked answers, answers without a length,
connections closed by the server and broken answers are all on the wire.
"""
import gevent
import pytest
from gevent.server import StreamServer

from ariproxy import errors
from ariproxy.ari import ARI
from tests.support.wait import wait_for


class ScriptedServer:
    """Answers each request with the next scripted item: bytes to write, or "close" to hang up."""

    def __init__(self):
        self.script = []
        self.requests = []      # (request head text, body bytes)
        self.connections = 0
        self.server = StreamServer(("127.0.0.1", 0), self.handle)

    def start(self):
        self.server.start()
        self.url = "http://127.0.0.1:%d/ari" % self.server.server_port
        return self

    def handle(self, sock, address):
        self.connections += 1
        buf = b""
        try:
            while True:
                while b"\r\n\r\n" not in buf:
                    data = sock.recv(65536)
                    if not data:
                        return
                    buf += data
                head, buf = buf.split(b"\r\n\r\n", 1)
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                while len(buf) < length:
                    buf += sock.recv(65536)
                body, buf = buf[:length], buf[length:]
                self.requests.append((head.decode(), body))
                answer = self.script.pop(0) if self.script else _ok(b'{"ok":true}')
                if answer == "close":
                    return
                sock.sendall(answer)
                if b"Connection: close" in answer:
                    return
        finally:
            sock.close()


def _ok(body, extra=b""):
    return (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n" + extra
            + b"Content-Length: %d\r\n\r\n" % len(body) + body)


@pytest.fixture
def server():
    s = ScriptedServer().start()
    yield s
    s.server.stop(timeout=1)


@pytest.fixture
def ari(server):
    client = ARI(server.url, "asterisk", "pw", app="t", rest_transport="http", timeout=2.0, connect_timeout=1.0,
                 http_client="native")
    assert client.http.client == "native"
    yield client
    client.close()


def test_keep_alive_reuses_one_connection_and_sends_one_well_formed_request(ari, server):
    for _ in range(5):
        assert ari.info() == {"ok": True}
    assert server.connections == 1
    ari.call("channels", "setChannelVar", channelId="c 1/x", variable="V", value="a b&c")
    head, body = server.requests[-1]
    assert head.startswith("POST /ari/channels/c%201%2Fx/variable?variable=V&value=a+b%26c HTTP/1.1\r\n")
    assert "Content-Length: 0" in head and "Authorization: Basic YXN0ZXJpc2s6cHc=" in head
    ari.call("channels", "setChannelVar", channelId="c1", variable="V", value="1")
    ari.request("POST", "/channels/c1/variables", body={"variables": {"A": "é"}})
    head, body = server.requests[-1]
    assert "Content-Type: application/json" in head and body == '{"variables":{"A":"é"}}'.encode()


def test_chunked_and_unsized_answers(ari, server):
    server.script = [
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"4;ext=1\r\n{\"a\"\r\n3\r\n:1}\r\n0\r\nX-Trailer: t\r\n\r\n",
        b"HTTP/1.0 200 OK\r\nConnection: close\r\nContent-Type: application/json\r\n\r\n{\"b\":2}",
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
    ]
    assert ari.info() == {"a": 1}
    assert ari.info() == {"b": 2}           # body up to the end of the connection
    assert ari.call("channels", "answer", channelId="c1") is None
    assert server.connections == 2


def test_connection_closed_by_the_server_while_idle_is_replaced(ari, server):
    server.script = [_ok(b'{"n":1}', b"Connection: close\r\n")]
    assert ari.info() == {"n": 1}
    assert ari.info() == {"ok": True}
    assert server.connections == 2


def test_stale_connection_retried_for_a_get_but_not_for_a_post(ari, server):
    assert ari.info() == {"ok": True}
    server.script = ["close"]                  # the server takes the request and hangs up
    assert ari.info() == {"ok": True}          # GET: tried again on a fresh connection
    assert server.connections == 2
    server.script = ["close"]
    with pytest.raises(errors.ARIConnectionError) as info:
        ari.call("channels", "answer", channelId="c1")
    assert "remote end closed connection" in str(info.value) and "pw" not in str(info.value)
    assert ari.info() == {"ok": True}


def test_broken_answers_are_connection_errors_and_the_client_recovers(ari, server):
    server.script = [b"SMTP ready\r\n\r\n", b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 10\r\n\r\n{\"x\""]
    with pytest.raises(errors.ARIConnectionError):
        ari.info()
    with pytest.raises(errors.ARIConnectionError):
        gevent.spawn(ari.info).get(timeout=5)    # truncated body, then the server hangs up
    assert ari.info() == {"ok": True}


def test_killed_caller_does_not_return_its_connection(ari, server):
    server.script = [b""]                       # no answer: the caller waits
    g = gevent.spawn(ari.info)
    wait_for(lambda: server.requests, timeout=5)    # the caller is now waiting for its answer
    g.kill()
    assert ari.info() == {"ok": True}
    assert server.connections == 2
