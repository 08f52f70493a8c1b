#!/usr/bin/env python3
"""Hello world: answer each new call, play ``sound:hello-world``, wait for it to end, hang up.

Calls are distributed among every running copy of this program (NATS queue
group): start several and each call is answered once.  Something has to place
the calls: ``--call ENDPOINT`` places one itself once listening (and exits
after it), or, from another terminal, ``ariproxy call Local/1000@default --app
demo --wait`` (against ``make run``).

    python examples/hello.py --nats-url nats://127.0.0.1:4222 --app demo --call Local/1000@default
    python examples/hello.py --app demo [--calls N]       # serve calls placed by others
"""
from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import logging  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402

from gevent.event import Event  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # run from a checkout

import ariproxy.client  # noqa: E402

log = logging.getLogger("hello")


def answer_call(channel, event):
    """One call: answer, play, wait for the end of the playback, hang up."""
    log.info("call %s from %s", channel.id, event.body.get("channel", {}).get("caller", {}).get("number", "?"))
    channel.answer()
    playback = channel.play("sound:hello-world")  # subscribed before the request: nothing missed
    playback.wait("PlaybackFinished", timeout=60)
    channel.hangup()
    log.info("call %s done", channel.id)


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--nats-url", default=None, help="NATS URL (default: $NATS_URI/$NATS_URL or local)")
    p.add_argument("--app", default=None, help="ARI application (default: $ARI_APPLICATION)")
    p.add_argument("--calls", type=int, default=None,
                   help="exit after this many calls (default: 1 with --call, else 0: run forever)")
    p.add_argument("--call", metavar="ENDPOINT", default=None,
                   help="once listening, place one call to ENDPOINT (e.g. Local/1000@default) into the app")
    p.add_argument("--timeout", type=float, default=None, help="give up after this many seconds")
    return p.parse_args(argv)


def main(argv=None, ready=None):
    """Serve calls; returns how many were handled.  ``ready`` (a gevent Event) is set once listening."""
    args = parse_args(argv)
    if args.calls is None:
        args.calls = 1 if args.call else 0
    done = []
    finished = Event()

    def on_call(channel, event):
        try:
            answer_call(channel, event)
        finally:
            done.append(channel.id)
            if args.calls and len(done) >= args.calls:
                finished.set()

    with ariproxy.client.Client(application=args.app, url=args.nats_url) as client:
        # the call --call places is this program's own: listen() skips those unless include_own
        with client.listen(on_call, include_own=bool(args.call)):
            log.info("listening for calls to %s", client.application)
            if ready is not None:
                ready.set()
            if args.call:
                log.info("placing a call to %s into %s", args.call, client.application)
                client.channels.originate(endpoint=args.call)
            try:
                finished.wait(args.timeout)
            except KeyboardInterrupt:
                pass
    return len(done)


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    print("%d call(s) handled" % main())
