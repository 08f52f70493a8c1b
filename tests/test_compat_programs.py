"""ari-py programs, with only their import and connect lines changed, over the proxy and straight.

Each program of ``tests/compat_programs/`` runs twice: ``nats``, through a real ari-proxy
server (app ``hello``) on a real nats-server and simulator, and ``http``, with an ``http://``
URL straight at a simulator, as it ran with ari-py.  The test plays the caller (calls into
Stasis, DTMF) through the simulator's own ARI and checks what the program asked Asterisk to do.
"""
from tests.compat_programs.harness import (APP, Program, adapt, backend, http_backend, nats_backend,  # noqa: F401
                                           source_of)
from tests.support.wait import wait_for


def test_adapt_changes_exactly_the_import_and_the_connect_line():
    source = source_of("originate_connect.py")
    adapted = adapt(source, "ari.connect('nats://127.0.0.1:4222', app='hello')")
    diff = [(a, b) for a, b in zip(source.split("\n"), adapted.split("\n")) if a != b]
    assert diff == [("import ari", "from ariproxy.compat import ari"),
                    ("client = ari.connect('http://localhost:8088/', 'hey', 'peekaboo')",
                     "client = ari.connect('nats://127.0.0.1:4222', app='hello')")]


def test_stasis_start_handler_answers_and_plays(backend):
    """hello_dtmf.py (ari-py's example.py): answer + hello-world; digits played back; # leaves Stasis."""
    prog = Program("hello_dtmf.py", backend)
    mark = len(backend.sim.requests)
    chan = backend.incoming()
    prog.wait_line("answered %s" % chan)
    backend.wait_request("POST", "/channels/%s/answer" % chan, mark)
    backend.wait_request("POST", "/channels/%s/play" % chan, mark, query=[("media", "sound:hello-world")])
    backend.dtmf(chan, "7")
    prog.wait_line("digit 7 on %s" % chan)
    backend.wait_request("POST", "/channels/%s/play" % chan, mark, query=[("media", "sound:digits/7")])
    backend.dtmf(chan, "#")
    prog.wait_line("bye %s" % chan)
    backend.wait_request("POST", "/channels/%s/continue" % chan, mark)
    prog.stop()


def test_playback_object_steered_by_dtmf(backend):
    """playback_control.py (ari-py's playback_example.py): the returned Playback's control/stop."""
    prog = Program("playback_control.py", backend)
    mark = len(backend.sim.requests)
    chan = backend.incoming()
    line = prog.wait_line("playing ")
    playback_id = line.split()[1]
    assert line.endswith(chan)
    backend.dtmf(chan, "5")
    prog.wait_line("pause %s" % playback_id)
    backend.wait_request("POST", "/playbacks/%s/control" % playback_id, mark, query=[("operation", "pause")])
    backend.dtmf(chan, "#")
    prog.wait_line("stopped %s" % playback_id)
    backend.wait_request("DELETE", "/playbacks/%s" % playback_id, mark)
    backend.wait_request("POST", "/channels/%s/continue" % chan, mark)
    prog.stop()


def test_holding_bridge_found_or_created_and_tone_per_channel(backend):
    """holding_bridge.py (ari-py's bridge_example.py): bridge.on_event plays to the bridge."""
    prog = Program("holding_bridge.py", backend)
    bridge_id = prog.wait_line("new bridge ").split()[-1]
    assert backend.sim.bridges[bridge_id]["bridge_type"] == "holding"
    mark = len(backend.sim.requests)
    first, second = backend.incoming(), backend.incoming()
    prog.wait_line("tone for %s" % first)
    prog.wait_line("tone for %s" % second)
    wait_for(lambda: set(backend.sim.bridges[bridge_id]["channels"]) == {first, second}, 10.0)
    backend.wait_request("POST", "/bridges/%s/play" % bridge_id, mark, query=[("media", "sound:ascending-2tone")])
    prog.stop()
    # a second run finds the bridge instead of making another
    again = Program("holding_bridge.py", backend)
    assert again.wait_line("reusing bridge ").split()[-1] == bridge_id
    again.stop()


def test_originate_and_bridge_two_channels(backend):
    """originate_connect.py (ari-py's originate_example.py): two channels in one mixing bridge."""
    prog = Program("originate_connect.py", backend)
    holding_id = prog.wait_line("holding bridge ").split()[2]
    incoming = backend.incoming()
    outgoing = prog.wait_line("dialing ").split()[1]
    assert prog.wait_line("dialing ").endswith(incoming)
    line = prog.wait_line("connected ")
    assert line.split()[1:3] == [incoming, outgoing]
    mixing_id = line.split()[-1]
    wait_for(lambda: set(backend.sim.bridges.get(mixing_id, {}).get("channels", ())) == {incoming, outgoing}, 10.0)
    assert backend.sim.bridges[mixing_id]["bridge_type"] == "mixing"
    assert holding_id != mixing_id
    assert backend.sim.channels[outgoing]["name"].startswith("SIP/blink")
    # the caller hangs up: the program hangs up the other side and destroys the mixing bridge
    backend.driver.call("channels", "hangup", channelId=incoming)
    wait_for(lambda: outgoing not in backend.sim.channels and mixing_id not in backend.sim.bridges, 10.0)
    prog.stop()


def test_originate_and_play(backend):
    """originate_play.py: originate from a handler, play, hang up both on PlaybackFinished."""
    prog = Program("originate_play.py", backend)
    caller = backend.incoming(args="originate")
    out = prog.wait_line("originated ").split()[1]
    line = prog.wait_line("playing ")
    playback_id = line.split()[1]
    assert line.endswith(out)
    prog.wait_line("finished %s" % playback_id)
    wait_for(lambda: out not in backend.sim.channels and caller not in backend.sim.channels, 10.0)
    prog.stop()


def test_cleanup_of_leftover_channels_and_bridges(backend):
    """cleanup_leftovers.py: lists, hangs up and destroys; no run() loop."""
    for _ in range(3):  # into the dialplan: over http no application is connected now
        backend.driver.call("channels", "originate", endpoint="Local/1000@default", extension="1000",
                            context="default")
    for kind in ("mixing", "holding"):
        backend.driver.call("bridges", "create", type=kind)
    wait_for(lambda: len(backend.sim.channels) >= 3 and len(backend.sim.bridges) == 2, 10.0)
    prog = Program("cleanup_leftovers.py", backend, wait_running=False)
    prog.finish()
    hung_up = int(prog.lines[0].split()[2])
    assert hung_up >= 3  # the Local ;2 halves may go with their ;1 before they are hung up themselves
    assert prog.lines[0].endswith("destroyed 2 bridges")
    assert prog.lines[1] == "left: 0 channels, 0 bridges"
    assert prog.client.closed


def test_http_error_404_for_a_missing_channel(backend):
    """missing_channel.py: requests.HTTPError with response.status_code 404; TypeError for a bad parameter."""
    prog = Program("missing_channel.py", backend, wait_running=False)
    prog.finish()
    assert prog.lines == ["get: 404", "stale hangup: 404", "bad parameter: TypeError"]


def _subscribed(monitor_port, subject):
    import json
    import urllib.request
    with urllib.request.urlopen("http://127.0.0.1:%d/subsz?subs=1" % monitor_port, timeout=5) as resp:
        subs = json.loads(resp.read()).get("subscriptions_list") or []
    return any(s.get("subject") == subject for s in subs)


def test_a_separate_process_run_in_a_thread_closed_from_the_main_thread(backend, tmp_path):
    """dtmf_until_enter.py (ari-py's cleanup_example.py) as its own process: the compat import
    patches gevent itself, the main thread waits in sys.stdin.readline() while calls are handled,
    the listener's close() works, and client.close() from the main thread ends run()."""
    import subprocess
    import sys

    import gevent

    path = tmp_path / "dtmf_until_enter.py"
    path.write_text(adapt(source_of("dtmf_until_enter.py"), backend.connect_line))
    proc = subprocess.Popen([sys.executable, str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, bufsize=1)
    lines = []
    reader = gevent.spawn(lambda: [lines.append(l.rstrip("\n")) for l in proc.stdout])
    try:
        wait_for(lambda: "Press enter to exit" in lines or proc.poll() is not None, 30.0)
        assert proc.poll() is None, proc.stderr.read()
        if backend.proxy is not None:
            wait_for(lambda: _subscribed(backend.proxy.nats.monitor_port, "ari.event.%s.>" % APP), 30.0)
        else:
            wait_for(lambda: APP in backend.sim.applications, 30.0)
        mark = len(backend.sim.requests)
        chan = backend.incoming()
        wait_for(lambda: "answered %s" % chan in lines, 30.0, message="printed %s" % lines)
        backend.dtmf(chan, "3")
        wait_for(lambda: "digit 3" in lines, 30.0, message="printed %s" % lines)
        backend.dtmf(chan, "#")
        wait_for(lambda: "done listening to %s" % chan in lines, 30.0, message="printed %s" % lines)
        backend.wait_request("POST", "/channels/%s/continue" % chan, mark)
        proc.stdin.write("\n")
        proc.stdin.flush()
        wait_for(lambda: proc.poll() is not None, 30.0)
        reader.join(5)
        assert proc.returncode == 0, proc.stderr.read()
        assert lines[-1] == "Application finished"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
