"""SIGTERM to a daemon under load: every request it accepted is answered, and it exits 0.

The daemon is a real ``bin/ari-proxy`` process; the load is 200 requests held by Asterisk (the
simulator answers after a delay) plus requesters that keep sending until the end.  A request the
server took in gets its ARI answer (when ``shutdown_timeout`` leaves time for it) or an error reply
saying the server is shutting down; none is left to the caller's own timeout.
"""
import signal

import gevent
import pytest

from ariproxy.bus import Bus, RequestTimeout
from ariproxy.protocol import Key, Request, Response
from ariproxy.protocol.subjects import subject
from tests.support.wait import wait_for
from tests.test_daemon import ARI_SECRET, START, clean_env, daemon_factory, read  # noqa: F401 (a fixture)

APP = "sigterm"
NODE = "02:fc:00:00:00:07"
HELD = 200


@pytest.mark.parametrize("delay_ms, shutdown_timeout, finished", [(1500, 20, True), (30000, 1, False)])
def test_sigterm_under_load_answers_every_accepted_request(daemon_factory, nats_server, delay_ms,
                                                           shutdown_timeout, finished):
    from ariproxy.sim import Simulator
    sim = Simulator(host="127.0.0.1", port=0, entity_id=NODE, password=ARI_SECRET)
    sim.start()
    bus = Bus(nats_server.url, name="sigterm-test")
    try:
        d = daemon_factory("--ari-url", sim.url, "--application", APP, "--nats-url", nats_server.url,
                           "--shutdown-timeout", str(shutdown_timeout), "--rest-transport", "http",
                           env=clean_env(ARI_PASSWORD=ARI_SECRET))
        d.start("--foreground")
        d.ready_line()
        bus.connect()
        request = Request("AsteriskInfo", Key(node=NODE, app=APP)).encode()
        data = subject("ari.", "data", APP, NODE)
        outcomes = {"ok": 0, "shutting down": 0, "ari down": 0, "other": [], "timeouts": 0}

        def one():
            try:
                resp = Response.decode(bus.request(data, request, timeout=60).data)
            except RequestTimeout:
                outcomes["timeouts"] += 1
                return
            if not resp.error:
                outcomes["ok"] += 1
            elif "shutting down" in resp.error:
                outcomes["shutting down"] += 1
            elif "ARI connection is down" in resp.error:
                outcomes["ari down"] += 1
            else:
                outcomes["other"].append(resp.error)

        # warm: the server answers
        one()
        assert outcomes["ok"] == 1, outcomes
        seen = len(sim.requests)
        sim.set_delay(delay_ms)
        held = [gevent.spawn(one) for _ in range(HELD)]
        # every one of them reached Asterisk: the server took them all in
        wait_for(lambda: len(sim.requests) - seen >= HELD, 30, message="requests did not reach the simulator")
        d.proc.send_signal(signal.SIGTERM)
        assert d.proc.wait(timeout=START + shutdown_timeout) == 0, read(d.log_file)[-3000:]
        gevent.joinall(held, timeout=70)
        assert all(g.ready() for g in held)
        assert outcomes["timeouts"] == 0 and outcomes["other"] == [], outcomes
        if finished:
            # shutdown_timeout left Asterisk time to answer: every held request got its real answer
            assert outcomes["ok"] == 1 + HELD, outcomes
        else:
            # Asterisk held them past shutdown_timeout: each one was told, none left to time out
            assert outcomes["shutting down"] == HELD, outcomes
        log = d.log()
        assert "SIGTERM: stopping" in log
    finally:
        bus.close()
        sim.set_delay(0)
        sim.stop()
