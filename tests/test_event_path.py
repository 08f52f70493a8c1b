"""The event path on a simulator that drops slow readers as Asterisk does (issue: never lose an event silently).

- a 100,000-event burst reaches a NATS subscriber complete (each sequence number once) through a server on
  every REST transport while 20 requests at a time flow through the same server;
- a server whose reading stalls past Asterisk's write timeout finds the dead socket, reconnects, tells
  the applications with a gap marker (subscriptions get it, ``wait()`` raises ``EventGap``), and events
  after the reconnect arrive;
- a hung Asterisk (a socket that answers nothing and is never closed) is found by the ping deadline;
- events NATS could not take are counted and followed by a marker with their count.

The simulator runs in its own process where the test needs Asterisk to keep writing while the server
does not read (as a real Asterisk does).
"""
import os
import re
import signal
import subprocess
import sys

import gevent
import pytest

import ariproxy
from ariproxy import EventGap
from ariproxy.bus import Bus
from ariproxy.protocol import GAP_EVENT, Event, Key, Request, Response, subject
from tests.support.simproc import SimProcess, stop_process
from tests.support.wait import wait_for

APP = "burst"
NODE = "02:fc:00:00:00:01"
BIN = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "bin", "ari-proxy")
_SEQ = re.compile(rb'"seq":"(\d+)"')

TRANSPORTS = {"websocket": ("websocket", "requests"), "http-requests": ("http", "requests"),
              "http-native": ("http", "native")}


class SeqCounter:
    """Counts burst events by sequence number on a raw NATS subscription."""

    def __init__(self, bus, n, app=APP):
        self.n = n
        self.counts = bytearray(n)
        self.received = 0
        self.other = 0
        self.gaps = []
        self.sub = bus.subscribe("ari.event.%s.>" % app, self._on, max_pending=n + 1000)
        bus.flush()

    def _on(self, msg):
        m = _SEQ.search(msg.data)
        if m is None:
            if GAP_EVENT.encode() in msg.data:
                self.gaps.append(Event.decode(msg.data))
            else:
                self.other += 1
            return
        seq = int(m.group(1))
        if seq < self.n and self.counts[seq] < 255:
            self.counts[seq] += 1
        self.received += 1

    def missing(self):
        return [i for i, c in enumerate(self.counts) if c == 0]

    def duplicated(self):
        return [i for i, c in enumerate(self.counts) if c > 1]


@pytest.mark.parametrize("label", list(TRANSPORTS))
def test_burst_arrives_complete_with_requests_flowing(label, nats_server, tmp_path):
    """Simulator, server and subscriber each in their own process, as in production."""
    transport, http_client = TRANSPORTS[label]
    n = 100000
    sim = SimProcess(write_timeout_ms=100).start()
    log_file = str(tmp_path / "ari-proxy.log")
    proc = _daemon(sim, nats_server.url, log_file, "--rest-transport", transport, "--http-client", http_client,
                   "--max-concurrent", "1000")
    bus = None
    try:
        ready = "ARI REST requests go over the events websocket" if transport == "websocket" else "serving application"
        wait_for(lambda: ready in _log(log_file) or proc.poll() is not None, 30)
        assert proc.poll() is None, _log(log_file)
        bus = Bus(nats_server.url, name="event-path-test")
        bus.connect()
        counter = SeqCounter(bus, n)
        request = Request("AsteriskInfo", Key(node=NODE, app=APP)).encode()
        data_subject = subject("ari.", "data", APP, NODE)
        done = [False]
        answered, failed = [0], []

        def requester():
            while not done[0]:
                try:
                    resp = Response.decode(bus.request(data_subject, request, timeout=10).data)
                except Exception as e:      # noqa: BLE001 - a failed request is the finding
                    failed.append(repr(e))
                    continue
                if resp.error:
                    failed.append(resp.error)
                else:
                    answered[0] += 1

        workers = [gevent.spawn(requester) for _ in range(20)]
        wait_for(lambda: answered[0] >= 20, 20)
        sent = sim.control("burst", n=n, app=APP)["sent"]
        assert sent == n
        before = answered[0]
        try:
            wait_for(lambda: counter.received >= n or sim.state()["websocket_dropped"], 120, interval=0.05,
                     message="burst not received")
            wait_for(lambda: answered[0] > before + 20, 20)     # requests kept flowing through the burst
        finally:
            done[0] = True
            gevent.joinall(workers, timeout=15)
        state = sim.state()
        assert state["websocket_dropped"] == 0, "the simulator gave the server's websocket up: %s\n%s" % (
            state["websockets"], _log(log_file)[-3000:])
        assert counter.missing() == [] and counter.duplicated() == []
        assert counter.received == n and counter.gaps == []
        assert failed == []
        log = _log(log_file)
        assert "websocket for app %s down" % APP not in log and "backlog full" not in log
    finally:
        if bus is not None:
            bus.close()
        stop_process(proc)
        sim.stop()


def _daemon(sim, nats_url, log_file, *extra):
    env = dict(os.environ)
    for name in ("ARI_URL", "ARI_HTTP_URL", "NATS_URL", "NATS_URI", "MESSAGEBUS_URL", "ARIPROXY_CONFIG"):
        env.pop(name, None)
    args = [sys.executable, BIN, "--foreground", "--no-config", "--ari-url", sim.url, "--application", APP,
            "--nats-url", nats_url, "--log-file", log_file, "--announce-interval", "60",
            "--entity-check-interval", "60"] + list(extra)
    return subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env=env)


def _log(path):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def test_a_stalled_reader_is_found_reconnected_and_the_gap_announced(nats_server, tmp_path):
    sim = SimProcess(write_timeout_ms=100).start()
    log_file = str(tmp_path / "ari-proxy.log")
    proc = _daemon(sim, nats_server.url, log_file)
    client = None
    try:
        wait_for(lambda: "serving application" in _log(log_file) or proc.poll() is not None, 30)
        assert proc.poll() is None, _log(log_file)
        client = ariproxy.Client(application=APP, url=nats_server.url)
        gaps = []
        client.on_gap(gaps.append)
        waiting = client.subscribe("StasisStart")
        # The server stops reading (a stalled process), Asterisk keeps writing until its write timeout.
        os.kill(proc.pid, signal.SIGSTOP)
        try:
            sim.control("burst", n=150000, app=APP)
            wait_for(lambda: any(ws["write_failed"] for ws in sim.state()["websockets"]), 60, interval=0.05,
                     message="the simulator never gave the stalled reader's socket up")
        finally:
            os.kill(proc.pid, signal.SIGCONT)
        # The server finds out, reconnects and announces the gap.
        with pytest.raises(EventGap) as info:
            waiting.wait("StasisStart", timeout=30)
        marker = info.value
        assert marker.source == "ari" and marker.node == NODE and marker.events_lost is None
        assert marker.broken_at and marker.restored_at and marker.reason
        wait_for(lambda: gaps, 10)
        assert gaps[0].type == GAP_EVENT and gaps[0]["source"] == "ari"
        log = _log(log_file)
        assert "ARI websocket for app %s down" % APP in log and "gap marker published" in log
        assert sim.state()["websocket_dropped"] > 0
        # Events after the reconnect arrive.
        wait_for(lambda: any(not ws["write_failed"] for ws in sim.state()["websockets"]), 20)
        after = client.subscribe("ChannelUserevent", queue_size=1000)
        assert sim.control("burst", n=100, app=APP)["sent"] == 100
        seqs = [int(after.wait("ChannelUserevent", timeout=20)["userevent"]["seq"]) for _ in range(100)]
        assert sorted(seqs) == list(range(100))
    finally:
        if client is not None:
            client.close()
        stop_process(proc)
        sim.stop()


def test_a_hung_asterisk_is_found_by_the_ping_deadline(proxy_factory):
    p = proxy_factory(application=APP, events_ping_interval=0.2, events_pong_timeout=0.5)
    counter = SeqCounter(p.bus, 10)
    assert p.sim.silence_websockets(APP, close_on_read=False) == 1
    # nothing closes the socket: only the server's own deadline can tell it is dead
    wait_for(lambda: p.server.stats["ari_pong_timeouts"] >= 1, 20)
    wait_for(lambda: p.server.stats["ari_reconnects"] >= 1 and p.server.state == "serving", 20)
    wait_for(lambda: counter.gaps, 10)
    gap = counter.gaps[0]
    assert gap["source"] == "ari" and "ping" in gap["reason"] and gap["events_lost"] is None
    assert p.sim.burst(10, app=APP) == 10
    wait_for(lambda: counter.received == 10, 10)
    assert counter.missing() == []


def test_requests_are_refused_while_the_events_socket_is_dead(proxy_factory):
    p = proxy_factory(application=APP, events_ping_interval=0.2, events_pong_timeout=0.5)
    p.sim.silence_websockets(APP, close_on_read=False)
    p.sim.refuse_connections()      # it cannot come back yet
    try:
        wait_for(lambda: p.server.state == "ari-down", 20)
        resp = p.request("AsteriskInfo")
        assert resp.error == "ARI connection is down"
    finally:
        p.sim.accept_connections()
    wait_for(lambda: p.server.state == "serving", 20)
    assert not p.request("AsteriskInfo").error


def test_events_nats_did_not_take_are_counted_and_announced(proxy_factory, caplog):
    p = proxy_factory(application=APP, nats_pending_buffer=64 * 1024)
    p.bus.close()
    p.nats.stop()
    wait_for(lambda: not p.server.bus.connected, 10)
    # far more than the 64 KiB the server's connection may buffer while NATS is away
    assert p.sim.burst(3000, app=APP) == 3000
    wait_for(lambda: p.server.stats["events"] + p.server.stats["events_unpublished"] >= 3000, 20)
    lost = p.server.stats["events_unpublished"]
    assert lost > 0
    errors_logged = [r for r in caplog.records if "NATS is not taking events" in r.getMessage()]
    assert len(errors_logged) == 1, "logged once per outage, not once per event"
    p.nats.start()
    wait_for(lambda: p.server.stats["event_gaps"] >= 1, 30)
    assert any("%d event(s) were lost" % lost in r.getMessage() for r in caplog.records)


def test_a_client_cut_off_from_nats_is_told_events_may_be_lost(proxy):
    client = ariproxy.Client(application=proxy.application, url=proxy.nats_url)
    try:
        sub = client.subscribe("StasisStart")
        gaps = []
        client.on_gap(gaps.append)
        proxy.nats.kill()           # kill -9: both the server and the client lose NATS
        proxy.nats.start()
        with pytest.raises(EventGap) as info:
            sub.wait("StasisStart", timeout=30)
        assert info.value.source == "client" and info.value.events_lost is None
        wait_for(lambda: gaps, 10)
        assert gaps[0]["source"] == "client"
    finally:
        client.close()
