"""``python -m tests.support.blast URL SUBJECT N SIZE TIMEOUT``: N requests of about SIZE bytes at once.

A separate process, as a real burst comes from other machines (producers in the test process would
share its CPU with the server under test).  Four connections, one greenlet per request; prints a JSON
summary: ``answers`` (replies), ``errors`` (reply error text, first 30 characters -> count),
``exceptions`` (requests that got no reply: ``RequestTimeout``, ``ConnectionLost``...).
"""
from gevent import monkey

monkey.patch_all()

import json  # noqa: E402
import sys  # noqa: E402

import gevent  # noqa: E402

from ariproxy.bus import Bus, BusError  # noqa: E402
from ariproxy.protocol import Response  # noqa: E402


def main(argv):
    url, subject, n, size, timeout = argv[0], argv[1], int(argv[2]), int(argv[3]), float(argv[4])
    payload = ('{"kind":"ChannelHangup","key":{"kind":"channel","id":"nobody"},"channel_hangup":'
               '{"reason":"%s"}}' % ("x" * size)).encode()
    buses = [Bus(url, name="blast-%d" % i) for i in range(4)]
    for bus in buses:
        bus.connect()
    out = {"answers": 0, "errors": {}, "exceptions": {}}

    def send(bus):
        try:
            error = (Response.decode(bus.request(subject, payload, timeout=timeout).data).error or "ok")[:30]
            out["answers"] += 1
            out["errors"][error] = out["errors"].get(error, 0) + 1
        except BusError as e:
            out["exceptions"][type(e).__name__] = out["exceptions"].get(type(e).__name__, 0) + 1

    gevent.joinall([gevent.spawn(send, buses[i % len(buses)]) for i in range(n)])
    for bus in buses:
        bus.close()
    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1:])
