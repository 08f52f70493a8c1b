"""A simulated Asterisk speaking real ARI (HTTP + WebSocket) on loopback, for tests, benchmarks and demos.

    from ariproxy.sim import Simulator
    sim = Simulator(port=0).start()     # sim.url, sim.ws_url
    ...
    sim.stop()
"""
from .model import Fault
from .server import Simulator, supports_rest_over_ws

__all__ = ["Simulator", "Fault", "supports_rest_over_ws"]
