"""ariproxy: Asterisk ARI over NATS (ari-proxy v5 compatible server and client).

The application must monkey-patch with gevent before importing anything that
opens sockets::

    from gevent import monkey; monkey.patch_all()
    import ariproxy

    client = ariproxy.Client(application="demo", url="nats://127.0.0.1:4222")

Interactively: ``ariproxy shell`` (or ``ariproxy.interactive()`` first thing in a
Python prompt) keeps gevent's loop running while the prompt waits.
"""
from ariproxy.errors import (  # noqa: F401
    AriProxyError, ARIConnectionError, ARIError, BadRequest, Busy, Conflict, EventGap, NotFound,
    NotImplementedByServer, ProtocolError, ServerError, Timeout, Unprocessable, ValidationError,
)

__version__ = "0.1.0"


#: names imported on first use, so ``import ariproxy`` before gevent's patching imports no socket code
_LAZY = {
    "Client": ("ariproxy.client", "Client"),
    "Subscription": ("ariproxy.client", "Subscription"),
    "Event": ("ariproxy.client.event", "ClientEvent"),
    "NotConnected": ("ariproxy.bus", "NotConnected"),
    "BusError": ("ariproxy.bus", "BusError"),
    "ConnectionLost": ("ariproxy.bus", "ConnectionLost"),
    "interactive": ("ariproxy.interactive", "interactive"),
}


def __getattr__(name):
    if name in _LAZY:
        import importlib
        module, attr = _LAZY[name]
        value = getattr(importlib.import_module(module), attr)
        globals()[name] = value
        return value
    raise AttributeError("module 'ariproxy' has no attribute %r" % name)


def __dir__():
    """Tab completion on ``ariproxy.`` shows the lazy names too."""
    return sorted(set(globals()) | set(_LAZY))
