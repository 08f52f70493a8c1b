"""``examples/ivr.py`` run against the simulator through a real server, with a scripted caller: an
incoming call whose keys are pressed at set times after the prompts it hears.  The whole dialogue is
checked from the program's output, and nothing is left behind afterwards."""
import importlib.util
import os

import gevent
from gevent.event import Event as GEvent

from ariproxy.client import Client
from tests.support.wait import wait_for

EXAMPLES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples")


def load_ivr():
    spec = importlib.util.spec_from_file_location("example_ivr", os.path.join(EXAMPLES, "ivr.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _target(event, cid):
    for field in ("playback", "recording"):
        if isinstance(event.body.get(field), dict):
            return event.body[field].get("target_uri") == "channel:" + cid
    return False


class ScriptedCaller:
    """Calls the application and acts on what it hears: ``script`` is a list of
    ``(event type, predicate(event, cid), action(sim, cid))``, run in order."""

    def __init__(self, proxy, script, caller="5551000"):
        self.proxy = proxy
        self.script = script
        self.caller = caller
        self.observer = Client(application=proxy.application, url=proxy.nats_url, timeout=3.0)
        self.events = self.observer.subscribe()
        self.observer.bus.flush()
        self.cid = None
        self.done = GEvent()

    def call(self):
        self.cid = self.proxy.sim.incoming_call(self.proxy.application, caller=self.caller)
        self._greenlet = gevent.spawn(self._run)
        return self.cid

    def _run(self):
        try:
            for event_type, pred, action in self.script:
                while True:
                    event = self.events.get(timeout=20)
                    if event.type == event_type and pred(event, self.cid):
                        action(self.proxy.sim, self.cid)
                        break
        finally:
            self.done.set()

    def close(self):
        self._greenlet.kill()
        self.observer.close()


def _run_ivr(proxy, capsys, script, bridge_to="Local/1000@default"):
    ivr = load_ivr()
    ready = GEvent()
    runner = gevent.spawn(ivr.main, ["--nats-url", proxy.nats_url, "--app", proxy.application, "--calls", "1",
                                     "--timeout", "30", "--bridge-to", bridge_to], ready=ready)
    assert ready.wait(10), "ivr.py did not start listening"
    caller = ScriptedCaller(proxy, script)
    try:
        cid = caller.call()
        ended = runner.get(timeout=30)
        assert caller.done.wait(10), "the scripted caller did not get through its script"
    finally:
        caller.close()
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("[call ")]
    # nothing left behind: every channel, bridge, playback and recording of the call is gone
    sim = proxy.sim
    wait_for(lambda: not sim.channels and not sim.bridges and not sim.playbacks and not sim.live_recordings, 10.0)
    return cid, ended, [line.split("] ", 1)[1] for line in lines]


def _menu(event, cid):
    return _target(event, cid) and event.body["playback"]["media_uri"] == "sound:conf-getpin"


def test_ivr_whole_dialogue(proxy_factory, capsys):
    proxy = proxy_factory(sim_options={"media_scale": 0.02})
    script = [
        # after the menu prompt (2.3 s) the caller keys in 1234
        ("PlaybackStarted", _menu, lambda sim, cid: sim.send_dtmf(cid, "1234", at=3.0, between=0.5)),
        # talks for 2 s after the beep, then ends the message with #
        ("RecordingStarted", _target, lambda sim, cid: (sim.speak(cid, 2.0), sim.send_dtmf(cid, "#", at=3.0))),
        # connected to the other party, talks a while, hangs up
        ("ChannelEnteredBridge", lambda e, cid: e["channel"]["id"] != cid,
         lambda sim, cid: sim.hangup(cid, at=5.0)),
    ]
    cid, ended, dialogue = _run_ivr(proxy, capsys, script)
    assert dialogue == [
        "call %s from 5551000" % cid,
        "answered",
        "code 1234 (complete after 1 play)",
        "message kept (key)",
        "read back 1 2 3 4",
        "dialling Local/1000@default",
        "connected",
        "caller hung up during connected",
        "call ended",
    ]
    assert ended == ["hungup"]
    assert len(proxy.sim.stored_recordings) == 1


def test_ivr_caller_hangs_up_during_the_menu(proxy_factory, capsys):
    proxy = proxy_factory(sim_options={"media_scale": 0.02})
    script = [("PlaybackStarted", _menu, lambda sim, cid: sim.hangup(cid, at=0.5))]
    cid, ended, dialogue = _run_ivr(proxy, capsys, script)
    assert dialogue == ["call %s from 5551000" % cid, "answered", "caller hung up during menu", "call ended"]
    assert ended == ["hungup"]


def test_ivr_wrong_code_then_busy_target(proxy_factory, capsys):
    proxy = proxy_factory(sim_options={"media_scale": 0.02})
    script = [
        ("PlaybackStarted", _menu, lambda sim, cid: sim.send_dtmf(cid, "12#", at=3.0, between=0.5)),   # too short
        ("PlaybackStarted", _menu, lambda sim, cid: sim.send_dtmf(cid, "4711", at=3.0, between=0.5)),  # replayed
        ("RecordingStarted", _target, lambda sim, cid: sim.send_dtmf(cid, "#", at=1.0)),
        ("StasisEnd", lambda e, cid: e["channel"]["id"] == cid, lambda sim, cid: None),
    ]
    cid, ended, dialogue = _run_ivr(proxy, capsys, script, bridge_to="Local/4000@default")
    assert dialogue == [
        "call %s from 5551000" % cid,
        "answered",
        "code 4711 (complete after 2 plays)",
        "message kept (key)",
        "read back 4 7 1 1",
        "dialling Local/4000@default",
        "not connected: LineBusy",
        "call ended",
    ]
    assert ended == ["not connected"]
