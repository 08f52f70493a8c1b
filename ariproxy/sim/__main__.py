"""Command line: ``python -m ariproxy.sim --port 8088 --app demo --entity-id 02:fc:00:00:00:01``.

Serves until interrupted (SIGINT/SIGTERM).
"""
from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import logging  # noqa: E402
import signal  # noqa: E402
import sys  # noqa: E402

import gevent  # noqa: E402
from gevent.event import Event  # noqa: E402

from ariproxy.sim import Simulator, random_entity_id  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m ariproxy.sim", description="Simulated Asterisk ARI server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8088)
    parser.add_argument("--app", action="append", default=[],
                        help="application name the caller intends to use (informational; apps register "
                             "when a websocket connects)")
    parser.add_argument("--entity-id", default=None,
                        help="Asterisk entity id (default: a random 02:xx:xx:xx:xx:xx, one per simulator)")
    parser.add_argument("--username", default="asterisk")
    parser.add_argument("--password", default="asterisk")
    parser.add_argument("--version", default="22.10.1", help="Asterisk version to advertise")
    parser.add_argument("--playback-duration", type=float, default=0.05,
                        help="seconds a sound of unknown length plays")
    parser.add_argument("--media-scale", type=float, default=1.0,
                        help="multiplier for media lengths and timers (0.01 = 100x faster)")
    parser.add_argument("--endpoint", action="append", default=[], help="Tech/resource endpoint to offer")
    parser.add_argument("--websocket-write-timeout", type=float, default=100, metavar="MS",
                        help="ms a websocket frame may take to be written before Asterisk gives the socket up "
                             "(ari.conf websocket_write_timeout; default 100 as Asterisk's; 0: no limit)")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    endpoints = [tuple(e.split("/", 1)) for e in args.endpoint if "/" in e]
    if args.entity_id is None:
        args.entity_id = random_entity_id()
    sim = Simulator(host=args.host, port=args.port, entity_id=args.entity_id, username=args.username,
                    password=args.password, version=args.version, playback_duration=args.playback_duration,
                    media_scale=args.media_scale, endpoints=endpoints,
                    websocket_write_timeout=args.websocket_write_timeout)
    sim.start()
    logging.getLogger("ariproxy.sim").info("simulated Asterisk %s (entity %s) on %s, websocket %s?app=%s",
                                           args.version, args.entity_id, sim.url, sim.ws_url,
                                           ",".join(args.app) or "<app>")
    done = Event()
    gevent.signal_handler(signal.SIGINT, done.set)
    gevent.signal_handler(signal.SIGTERM, done.set)
    done.wait()
    sim.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
