"""The simulator gives up a slow reader's websocket as Asterisk does (``websocket_write_timeout``).

Asterisk 22 (fixtures/asterisk/README.md, item 12): a frame that cannot be written within the write
timeout marks the socket closed; every later event for it is dropped, nothing is sent to the peer (no
close frame, no FIN), and the TCP connection stays open until the peer next writes.
"""
import socket
import struct

import gevent
import pytest
import requests
import websocket

from ariproxy import jsonutil
from ariproxy.ari.wsframes import OP_PING, encode_frame
from ariproxy.sim import Simulator
from tests.support.wait import wait_for

APP = "slow"


def _connect(sim, app=APP, rcvbuf=None):
    """An events websocket whose socket we read by hand (or not at all)."""
    ws = websocket.create_connection("%s?app=%s" % (sim.ws_url, app), header=["Authorization: Basic YXN0ZXJpc2s6YXN0ZXJpc2s="],
                                     skip_utf8_validation=True)
    wait_for(lambda: app in sim.asterisk.apps and sim.asterisk.apps[app].socket is not None)
    sock = ws.sock
    if rcvbuf:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    return ws, sock


def _server_socket(sim, app=APP):
    return sim.asterisk.apps[app].socket


def _parse(data):
    """(complete text payloads, bytes of a cut frame left over) from unmasked server frames."""
    out = []
    pos = 0
    while len(data) - pos >= 2:
        n = data[pos + 1] & 0x7F
        head = 2
        if n == 126:
            if len(data) - pos < 4:
                break
            n = struct.unpack("!H", data[pos + 2:pos + 4])[0]
            head = 4
        elif n == 127:
            if len(data) - pos < 10:
                break
            n = struct.unpack("!Q", data[pos + 2:pos + 10])[0]
            head = 10
        if len(data) - pos < head + n:
            break
        out.append((data[pos] & 0x0F, data[pos + head:pos + head + n]))
        pos += head + n
    return out, len(data) - pos


def _read_available(sock, quiet=0.5):
    """Everything the socket has until it stays quiet for ``quiet`` s (or the peer closed): (bytes, eof)."""
    chunks = []
    sock.settimeout(quiet)
    try:
        while True:
            data = sock.recv(1 << 20)
            if not data:
                return b"".join(chunks), True
            chunks.append(data)
    except socket.timeout:
        return b"".join(chunks), False


@pytest.fixture
def slow_sim():
    sim = Simulator(port=0, websocket_write_timeout=100).start()
    yield sim
    sim.stop()


def test_default_write_timeout_is_asterisks():
    assert Simulator().websocket_write_timeout == 100


def test_a_reader_that_stops_reading_loses_the_socket_silently(slow_sim):
    sim = slow_sim
    ws, sock = _connect(sim, rcvbuf=64 * 1024)
    n = 50000
    assert sim.burst(n, app=APP) == n          # all queued: nothing has been written yet
    server_ws = _server_socket(sim)
    wait_for(lambda: server_ws.write_failed, timeout=10, message="the write timeout never fired")
    # From now on the socket drops everything it is given, and counts it.
    dropped_before = sim.websocket_dropped
    assert sim.burst(10, app=APP) == 0
    assert sim.websocket_dropped == dropped_before + 10
    # The peer gets what was written before the cut, then nothing: no close frame, no FIN.
    data, eof = _read_available(sock)
    assert not eof
    frames, cut = _parse(data)
    assert frames and all(op == 0x1 for op, _ in frames), "no close frame may follow the events"
    seqs = [int(jsonutil.loads(p)["userevent"]["seq"]) for _, p in frames]
    assert seqs == list(range(len(seqs))), "events before the cut arrive complete and in order"
    assert len(seqs) < n
    # every event the reader did not get is counted as dropped by the simulator
    assert sim.websocket_dropped == n - len(seqs) + 10
    assert sim.asterisk.apps[APP].socket is server_ws    # still registered: the TCP connection is open
    # The peer's next write (a ping) is when Asterisk notices and closes the connection.
    sock.settimeout(5)
    sock.sendall(encode_frame(OP_PING, b"hi"))
    rest, eof = _read_available(sock, quiet=5)
    assert eof and rest == b"", "a write-closed socket answers nothing (no pong), it is closed"
    wait_for(lambda: APP not in sim.asterisk.apps or sim.asterisk.apps[APP].socket is None)
    assert sim.websocket_dropped == n - len(seqs) + 10     # counted after the socket is gone too
    ws.sock = None


def test_a_reader_that_keeps_up_loses_nothing(slow_sim):
    sim = slow_sim
    ws, sock = _connect(sim)
    n = 20000
    assert sim.burst(n, app=APP, rate=50000) == n
    got = []
    sock.settimeout(10)
    buf = b""
    while len(got) < n:
        data = sock.recv(1 << 20)
        assert data, "connection closed after %d events" % len(got)
        buf += data
        frames, cut = _parse(buf)
        got.extend(int(jsonutil.loads(p)["userevent"]["seq"]) for _, p in frames)
        buf = buf[len(buf) - cut:] if cut else b""
    assert got == list(range(n))
    assert not _server_socket(sim).write_failed and sim.websocket_dropped == 0
    ws.close()


def test_silence_control_and_write_timeout_over_http(slow_sim):
    sim = slow_sim
    ws, sock = _connect(sim)
    base = sim.base_url + "/_sim/"
    assert requests.post(base + "write_timeout", params={"ms": "250"}).json()["ms"] == 250
    assert _server_socket(sim).write_timeout == 0.25
    assert requests.post(base + "silence", params={"app": "other"}).json()["silenced"] == 0
    assert requests.post(base + "silence", params={"app": APP}).json()["silenced"] == 1
    assert requests.post(base + "burst", params={"n": "5", "app": APP}).json()["sent"] == 0
    state = requests.get(base + "state").json()
    assert state["websocket_dropped"] == 5 and state["websockets"][0]["write_failed"] is True
    data, eof = _read_available(sock, quiet=0.3)
    assert data == b"" and not eof
    # REST over the socket is not answered either: the request is what makes the simulator close it
    sock.sendall(encode_frame(0x1, jsonutil.dumps({"type": "RESTRequest", "request_id": "1", "method": "GET",
                                                   "uri": "asterisk/ping"})))
    rest, eof = _read_available(sock, quiet=5)
    assert eof and rest == b""
    assert requests.post(base + "write_timeout", params={"ms": "0"}).json()["ms"] == 0
    ws.sock = None


def test_no_write_timeout_waits_for_the_reader(sim_factory):
    sim = sim_factory(websocket_write_timeout=0)
    ws, sock = _connect(sim, rcvbuf=64 * 1024)
    n = 100000                                             # ~19 MB: more than the kernel buffers hold
    sim.burst(n, app=APP)
    server_ws = _server_socket(sim)
    wait_for(lambda: server_ws._writing, timeout=10)       # the writer is blocked on the full socket
    gevent.sleep(0.3)       # the stimulus: a reader stalled 3x longer than Asterisk's default would allow
    assert server_ws._writing and not server_ws.write_failed
    got = 0
    buf = b""
    sock.settimeout(10)
    while got < n:
        buf += sock.recv(1 << 20)
        frames, cut = _parse(buf)
        got += len(frames)
        buf = buf[len(buf) - cut:] if cut else b""
    assert got == n and sim.websocket_dropped == 0
    ws.close()
