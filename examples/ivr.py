#!/usr/bin/env python3
"""An IVR on the ariproxy toolkit: answer, menu, 4-digit code, a message ended by #, the code read
back, then the caller is connected to another endpoint.  A hang-up at any step ends the call cleanly.

Each step prints one line (``[call N] ...``), so a run is a readable dialogue:

    python examples/ivr.py --nats-url nats://127.0.0.1:4222 --app demo --bridge-to Local/1000@default

Calls are shared among every running copy (NATS queue group).
"""
from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import itertools  # noqa: E402
import logging  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402

from gevent.event import Event  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # run from a checkout

import ariproxy.client  # noqa: E402
from ariproxy.errors import AriProxyError, HungUp, NotFound  # noqa: E402
from ariproxy.ext import (BridgeMonitor, CallNotAnswered, audiouri, bridge, channel_life, originate, play,  # noqa: E402
                          prompt, record)

log = logging.getLogger("ivr")

MENU = "sound:conf-getpin"            # "please enter the conference pin number"
LEAVE_MESSAGE = "sound:vm-intro"      # "please leave your message after the tone"
YOU_ENTERED = "sound:you-entered"
GOODBYE = "sound:vm-goodbye"
CONNECTING = "sound:pls-hold-while-try"


def run_call(number, channel, event, client, bridge_to, say):
    """One call, start to end; returns how it ended ("done", "hungup", "no code", "not connected")."""
    caller = (event.body.get("channel") or {}).get("caller", {}).get("number") or "unknown"
    say("call %s from %s" % (channel.id, caller))
    state = {"step": "answer", "leg": None, "bridge": None}
    try:
        with channel_life(channel) as call:         # the caller hanging up raises HungUp in here
            outcome = converse(call.channel, client, bridge_to, say, state)
        # the dialogue is over: now the caller's own hang-up is no surprise
        _quietly(channel.hangup, "the caller")
        return outcome
    except HungUp as exc:
        if exc.id != channel.id:
            raise
        say("caller hung up during %s" % state["step"])
        return "hungup"
    finally:
        if state["leg"] is not None:
            _quietly(state["leg"].hangup, "the other side")
        if state["bridge"] is not None:
            _quietly(state["bridge"].destroy, "the bridge")
        say("call ended")


def converse(ch, client, bridge_to, say, state):
    """The dialogue itself (blocks; a hang-up of ``ch`` interrupts it with HungUp)."""
    ch.answer()
    say("answered")

    state["step"] = "menu"
    code = prompt(ch, MENU, max_digits=4, match=r"\d{4}", first_digit_timeout=5, inter_digit_timeout=3, replays=2)
    say("code %s (%s after %d play%s)" % (code.digits or "-", code.status, code.plays, "s" if code.plays > 1 else ""))
    if not code.ok:
        play(ch, GOODBYE, timeout=10)
        say("no code: goodbye")
        return "no code"

    state["step"] = "message"
    play(ch, LEAVE_MESSAGE, timeout=30)
    msg = record(ch, beep=True, terminate_on="#", max_duration=120, max_silence=10)
    say("message %s (%s)" % ("kept" if msg.kept else "not kept", msg.reason))

    state["step"] = "read back"
    play(ch, YOU_ENTERED, audiouri.digits(code.digits), timeout=30)
    say("read back %s" % " ".join(code.digits))

    state["step"] = "connect"
    say("dialling %s" % bridge_to)
    play(ch, CONNECTING, timeout=10)
    try:
        state["leg"] = leg = originate(client, bridge_to, timeout=30)
    except CallNotAnswered as exc:
        say("not connected: %s" % type(exc).__name__)
        play(ch, GOODBYE, timeout=10)
        return "not connected"
    try:
        state["bridge"] = bridge(ch, leg)
    except HungUp as exc:
        if exc.id != leg.id:
            raise
        say("the other side hung up")
        return "done"
    say("connected")

    state["step"] = "connected"
    with BridgeMonitor(state["bridge"]) as mon:
        mon.wait(lambda m: len(m.members) < 2)
    say("the other side hung up")
    return "done"


def _quietly(action, what):
    try:
        action()
    except NotFound:
        pass
    except AriProxyError as exc:
        log.info("cleaning up %s: %s", what, exc)


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--nats-url", default=None, help="NATS URL (default: $NATS_URI/$NATS_URL or local)")
    p.add_argument("--app", default=None, help="ARI application (default: $ARI_APPLICATION)")
    p.add_argument("--bridge-to", default="Local/1000@default", help="endpoint the caller is connected to")
    p.add_argument("--calls", type=int, default=0, help="exit after this many calls (0: run forever)")
    p.add_argument("--timeout", type=float, default=None, help="give up after this many seconds")
    return p.parse_args(argv)


def main(argv=None, ready=None, out=None):
    """Serve calls; returns the list of how each call ended.  ``ready`` (a gevent Event) is set once
    listening; ``out`` receives each dialogue line (default: print)."""
    args = parse_args(argv)
    ended = []
    finished = Event()
    counter = itertools.count(1)
    write = out or (lambda line: print(line, flush=True))

    def on_call(channel, event, client):
        number = next(counter)

        def say(text):
            write("[call %d] %s" % (number, text))
        result = "failed"
        try:
            result = run_call(number, channel, event, client, args.bridge_to, say)
        finally:
            ended.append(result)
            if args.calls and len(ended) >= args.calls:
                finished.set()

    with ariproxy.client.Client(application=args.app, url=args.nats_url) as client:
        with client.listen(on_call, child=True) as listener:
            log.info("listening for calls to %s", client.application)
            if ready is not None:
                ready.set()
            try:
                finished.wait(args.timeout)
            except KeyboardInterrupt:
                pass
            listener.join(5)
    return ended


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    main()
