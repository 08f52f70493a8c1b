#!/usr/bin/env python3
"""Bridge two calls: originate two Local channels, bridge them, wait until both are in, tear down.

    python examples/bridge.py --nats-url nats://127.0.0.1:4222 --app demo [--endpoint Local/1000@default]
"""
from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import logging  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # run from a checkout

import ariproxy.client  # noqa: E402

log = logging.getLogger("bridge")


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--nats-url", default=None, help="NATS URL (default: $NATS_URI/$NATS_URL or local)")
    p.add_argument("--app", default=None, help="ARI application (default: $ARI_APPLICATION)")
    p.add_argument("--endpoint", default="Local/1000@default", help="what to dial, twice")
    p.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for each step")
    return p.parse_args(argv)


def main(argv=None):
    """Run the scenario once; returns a summary dict (channel and bridge ids, events seen)."""
    args = parse_args(argv)
    t = args.timeout
    with ariproxy.client.Client(application=args.app, url=args.nats_url) as client:
        # Both channels are subscribed before their originate is sent (ids chosen here).
        alice = client.channels.originate(endpoint=args.endpoint)
        bob = client.channels.originate(endpoint=args.endpoint)
        for ch in (alice, bob):
            ch.wait("StasisStart", timeout=t)
            ch.answer()
        log.info("channels up: %r %r", alice, bob)

        bridge = client.bridges.create(type="mixing", name="example")
        with bridge.subscribe("ChannelEnteredBridge") as entered:
            bridge.add_channel(alice)
            bridge.add_channel(bob)
            inside = set()
            while inside != {alice.id, bob.id}:
                inside.add(entered.get(timeout=t)["channel"]["id"])
        members = bridge.data()["channels"]
        log.info("bridged in %r: %s", bridge, members)

        alice.hangup()
        bob.hangup()
        destroyed = [ch.wait("ChannelDestroyed", timeout=t) for ch in (alice, bob)]
        bridge.destroy()
        log.info("torn down")
        return {"channels": [alice.id, bob.id], "bridge": bridge.id, "members": members,
                "destroyed": [e["channel"]["id"] for e in destroyed]}


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    print(main())
