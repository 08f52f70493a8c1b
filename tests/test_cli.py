"""The ``ariproxy`` command line against real NATS + server + simulator (and a Go server made of recordings).

Most cases call ``ariproxy.cli.main(argv, out=...)`` in this process (fast); a few run the
installed console script in a subprocess, as a user would, for the exit status and stderr.
"""
import io
import json
import os
import subprocess
import sys

import gevent
import pytest

from ariproxy import cli
from ariproxy.bus import Bus
from ariproxy.client import Client
from tests.support.nats import free_port
from tests.support.wait import wait_for

pytestmark = pytest.mark.timeout(120)

SCRIPT = os.path.join(os.path.dirname(sys.executable), "ariproxy")


@pytest.fixture
def fast_proxy(proxy_factory):
    """A proxy whose simulator plays media 100 times faster."""
    return proxy_factory(sim_options={"media_scale": 0.01})


def run(*argv):
    """cli.main in this process: (status, stdout text)."""
    out = io.StringIO()
    status = cli.main(list(argv), out=out)
    return status, out.getvalue()


def script(*argv, env_extra=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ARI", "NATS", "MESSAGEBUS"))}
    env.update(env_extra or {})
    command = [SCRIPT] if os.access(SCRIPT, os.X_OK) else [sys.executable, "-m", "ariproxy.cli"]
    return subprocess.run(command + list(argv), env=env, capture_output=True, text=True, timeout=60)


# ------------------------------------------------------------------ nodes

def test_nodes_lists_the_proxy_and_filters_by_application(fast_proxy, capsys):
    status, out = run("--nats-url", fast_proxy.nats_url, "nodes", "--wait", "0.5")
    assert status == 0
    assert fast_proxy.node in out and fast_proxy.application in out and "LAST SEEN" in out
    status, out = run("nodes", "--nats-url", fast_proxy.nats_url, "--app", fast_proxy.application, "--json",
                      "--wait", "0.5")
    assert status == 0
    assert json.loads(out)[0]["node"] == fast_proxy.node and json.loads(out)[0]["application"] == "testapp"
    assert json.loads(out)[0]["implementation"] == "python"
    status, out = run("nodes", "--nats-url", fast_proxy.nats_url, "--app", "nosuchapp", "--wait", "0.5")
    assert status == 1 and out == ""
    err = capsys.readouterr().err
    assert "no proxy of application nosuchapp answered" in err and "testapp" in err


def test_nodes_without_any_proxy_and_without_nats(nats_server, capsys):
    status, out = run("nodes", "--nats-url", nats_server.url, "--wait", "0.3")
    assert status == 1 and "no proxy answered a ping" in capsys.readouterr().err
    for command in ("nodes", "events", "check", "shell"):
        status, _ = run(command, "--nats-url", "nats://127.0.0.1:%d" % free_port())
        assert status == 1 and "cannot connect to NATS at nats://127.0.0.1:" in capsys.readouterr().err, command


def test_unreachable_nats_from_the_console_script():
    result = script("nodes", env_extra={"NATS_URL": "nats://127.0.0.1:%d" % free_port()})
    assert result.returncode == 1
    assert result.stderr.startswith("ariproxy: cannot connect to NATS at nats://127.0.0.1:")
    assert "Traceback" not in result.stderr and "\033[" not in result.stdout + result.stderr  # no tty: no colour


def test_bad_usage_exits_2(capsys):
    assert run("frobnicate")[0] == 2
    assert run()[0] == 2
    assert run("nodes", "--timeout", "0")[0] == 2


# ------------------------------------------------------------------ call

def test_call_answered_busy_and_no_answer(fast_proxy, capsys):
    url = fast_proxy.nats_url
    status, out = run("call", "Local/1000@default", "--nats-url", url, "--app", "testapp",
                      "--play", "sound:hello-world")
    assert status == cli.EXIT_OK, capsys.readouterr().err
    types = [line.split()[2] for line in out.splitlines()]
    for wanted in ("StasisStart", "PlaybackStarted", "PlaybackFinished", "ChannelDestroyed"):
        assert wanted in types, out
    assert types.index("StasisStart") < types.index("PlaybackFinished") < types.index("ChannelDestroyed")
    assert ": answered" in capsys.readouterr().err
    assert not fast_proxy.sim.channels or all(c.destroyed for c in fast_proxy.sim.channels.values()
                                              if hasattr(c, "destroyed"))

    status, out = run("call", "Local/4000@default", "--nats-url", url, "--app", "testapp")
    assert status == cli.EXIT_BUSY and "dialstatus=BUSY" in out
    assert ": busy" in capsys.readouterr().err
    status, out = run("call", "Local/3000@default", "--nats-url", url, "--app", "testapp", "--ring-timeout", "1")
    assert status == cli.EXIT_NO_ANSWER and "ChannelDestroyed" in out
    assert ": no answer" in capsys.readouterr().err


def test_call_wait_follows_until_the_far_end_hangs_up(fast_proxy, capsys):
    """--wait: the application answering the call (here a listener) hangs up; the command then ends."""
    with Client(application="testapp", url=fast_proxy.nats_url) as app:
        app.listen(lambda channel, event: (channel.answer(), channel.hangup()))
        app.bus.flush()
        status, out = run("call", "Local/1000@default", "--nats-url", fast_proxy.nats_url, "--app", "testapp",
                          "--wait")
    assert status == 0 and "ChannelDestroyed" in out


def test_call_input_errors_and_no_proxy(nats_server, capsys):
    assert run("call", "nonsense", "--nats-url", nats_server.url, "--app", "a")[0] == 2
    assert "expected TECH/RESOURCE" in capsys.readouterr().err
    assert run("call", "Local/1@x", "--nats-url", nats_server.url)[0] == 2
    assert "needs an application" in capsys.readouterr().err
    assert run("call", "Local/1@x", "--nats-url", nats_server.url, "--app", "bad.app")[0] == 2
    status, _ = run("call", "Local/1000@default", "--nats-url", nats_server.url, "--app", "a")
    assert status == 1 and "no proxy of application a answered" in capsys.readouterr().err


# ------------------------------------------------------------------ request

def test_request_prints_the_reply_and_refuses_bad_input(fast_proxy, capsys):
    url = fast_proxy.nats_url
    status, out = run("request", "AsteriskInfo", "--nats-url", url, "--app", "testapp", "--node", fast_proxy.node)
    assert status == 0
    reply = json.loads(out)
    assert reply["error"] == "" and reply["data"]["asterisk"]["system"]["entity_id"] == fast_proxy.node
    status, out = run("request", "ChannelList", "--nats-url", url)
    assert status == 0 and json.loads(out)["error"] == ""
    status, out = run("request", "ChannelData", "--nats-url", url, "--key",
                      '{"kind":"channel","id":"nope","app":"testapp","node":"%s"}' % fast_proxy.node)
    assert status == 1 and "not found" in capsys.readouterr().err.lower()
    assert json.loads(out)["error"]

    assert run("request", "AsteriskInfo", "--nats-url", url, "--key", "{bad json")[0] == 2
    assert "--key is not valid JSON" in capsys.readouterr().err
    assert run("request", "ChannelAnswer", "--nats-url", url, "--payload", "[1,")[0] == 2
    assert "--payload is not valid JSON" in capsys.readouterr().err
    assert run("request", "ChannelLis", "--nats-url", url)[0] == 2
    assert "did you mean ChannelList" in capsys.readouterr().err
    assert run("request", "AsteriskInfo", "--nats-url", url, "--key", "[1]")[0] == 2


def test_request_with_a_payload_creates_through_the_proxy(fast_proxy):
    status, out = run("request", "ChannelOriginate", "--nats-url", fast_proxy.nats_url, "--app", "testapp",
                      "--payload", json.dumps({"originate_request": {
                          "endpoint": "Local/1000@default", "app": "testapp", "channelId": "cli-ch-1"}}))
    assert status == 0, out
    wait_for(lambda: "cli-ch-1" in fast_proxy.sim.channels, 10)


def test_request_without_any_proxy(nats_server, capsys):
    status, _ = run("request", "AsteriskInfo", "--nats-url", nats_server.url, "--timeout", "0.3")
    assert status == 1 and "no proxy answered AsteriskInfo" in capsys.readouterr().err


def test_request_against_a_go_server(nats_server, capsys):
    from tests.support import gowire
    gowire.go_wire_path()   # skips, naming the shared folder, when the recordings are absent
    bus = Bus(nats_server.url, name="fake-go-server")
    bus.connect()
    fake = gowire.FakeGoServer(bus, "00:11:22:33:44:55", "testapp").start()
    try:
        status, out = run("request", "AsteriskInfo", "--nats-url", nats_server.url, "--app", "testapp",
                          "--node", "00:11:22:33:44:55")
        assert status == 0 and json.loads(out)["error"] == ""
        assert [s for s, _ in fake.sent("AsteriskInfo")]
        status, out = run("request", "AriCall", "--nats-url", nats_server.url, "--app", "testapp", "--node",
                          "00:11:22:33:44:55", "--payload",
                          '{"resource":"asterisk","operation":"ping","params":{}}')
        assert status == 1 and "Not implemented" in out
        status, out = run("nodes", "--nats-url", nats_server.url, "--wait", "0.5", "--json")
        assert status == 0 and json.loads(out) == [{"node": "00:11:22:33:44:55", "application": "testapp",
                                                    "implementation": "go",
                                                    "last_seen": json.loads(out)[0]["last_seen"]}]
    finally:
        fake.stop()
        bus.close()


# ------------------------------------------------------------------ check

def test_check_ready_and_not_ready(fast_proxy, nats_server, capsys):
    status, out = run("check", "--nats-url", fast_proxy.nats_url, "--app", "testapp")
    assert status == 0 and out.startswith("ok: node %s application testapp" % fast_proxy.node)
    status, out = run("check", "--nats-url", fast_proxy.nats_url, "--node", fast_proxy.node)
    assert status == 0
    status, _ = run("check", "--nats-url", fast_proxy.nats_url, "--node", "02:00:00:00:00:99", "--wait", "0.3")
    assert status == 1 and "not ready" in capsys.readouterr().err
    status, _ = run("check", "--nats-url", nats_server.url, "--wait", "0.3")
    assert status == 1 and "not ready: no answer to a ping" in capsys.readouterr().err
    # ARI down: the proxy stops answering pings, so check says not ready
    fast_proxy.sim.refuse_connections(None)
    fast_proxy.sim.drop_websockets()
    try:
        wait_for(lambda: fast_proxy.server.state != "serving", 10)
        status, _ = run("check", "--nats-url", fast_proxy.nats_url, "--app", "testapp", "--wait", "0.5")
        assert status == 1
    finally:
        fast_proxy.sim.accept_connections()


# ------------------------------------------------------------------ events

def test_events_tails_live_with_filters(fast_proxy, capsys):
    url = fast_proxy.nats_url
    results = {}

    def tail(name, *argv):
        results[name] = run("events", "--nats-url", url, "--duration", "20", *argv)

    runners = [gevent.spawn(tail, "all", "--app", "testapp", "--count", "3"),
               gevent.spawn(tail, "typed", "--app", "testapp", "--type", "StasisStart", "--count", "1", "--json"),
               gevent.spawn(tail, "other-node", "--node", "02:00:00:00:00:99", "--duration", "1.5")]
    with Client(application="testapp", url=url) as client:
        # calls until both counted tails have what they wait for (they may subscribe after the first call)
        for _ in range(100):
            if all(r.dead for r in runners[:2]):
                break
            channel = client.channels.originate(endpoint="Local/1000@default")
            channel.wait("StasisStart", timeout=10)
            channel.hangup()
            channel.wait("ChannelDestroyed", timeout=10)
    gevent.joinall(runners, timeout=30)
    status, out = results["all"]
    assert status == 0 and len(out.splitlines()) == 3 and fast_proxy.node in out
    status, out = results["typed"]
    assert status == 0 and json.loads(out.splitlines()[0])["type"] == "StasisStart"
    status, out = results["other-node"]
    assert status == 0 and out == ""


def test_events_refuses_an_unknown_type(nats_server, capsys):
    assert run("events", "--nats-url", nats_server.url, "--type", "StasisStrat")[0] == 2
    assert "did you mean StasisStart" in capsys.readouterr().err
    assert run("events", "--nats-url", nats_server.url, "--dialog", "a.b")[0] == 2
