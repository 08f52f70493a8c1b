"""A simulated Asterisk speaking real ARI (HTTP + WebSocket) on loopback, for tests, benchmarks and demos.

    from ariproxy.sim import Simulator
    sim = Simulator(port=0, media_scale=0.01).start()   # returns once listening; serves in greenlets
    sim.url       # http://127.0.0.1:PORT/ari
    sim.ws_url    # ws://127.0.0.1:PORT/ari/events   (?app=a,b&subscribeAll=true|false)
    ...
    sim.stop()

Every operation of ARI's REST API is served, with Asterisk 22's status codes,
error messages and event order (checked against recordings of a real
Asterisk); REST requests over the events websocket (``RESTRequest`` ->
``RESTResponse``) are answered when the advertised ``version`` supports them
(20.14+, 21.9+, 22.4+).  Simulated dialplan: ``Local/<exten>@<context>``
answers and waits, except exten ``4000``/``busy`` (busy), ``3000``/``noanswer``
(rings until the originate timeout) and context ``broadcast`` (a
StasisBroadcast that apps may claim).

Fault controls: ``drop_websockets()``, ``refuse_connections(seconds)`` (``None``:
until ``accept_connections()``), ``restart(entity_id=None)``, ``set_delay(ms)``,
``fail_next(n)``, ``answer_next(status, body)``, ``send_raw(payload)``, ``burst(n, app=None)``, also over HTTP under ``/_sim/`` (see
``ariproxy.sim.server``).  Command line: ``python -m ariproxy.sim --port 8088
--app demo --entity-id 02:fc:00:00:00:01``.
"""
import os

from .model import Fault
from .server import Simulator, supports_rest_over_ws

__all__ = ["Simulator", "Fault", "supports_rest_over_ws", "random_entity_id"]


def random_entity_id():
    """A fresh locally administered unicast MAC address (``02:xx:xx:xx:xx:xx``): one entity id per simulator."""
    return "02:" + ":".join("%02x" % b for b in os.urandom(5))
