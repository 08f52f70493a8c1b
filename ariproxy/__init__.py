"""ariproxy: Asterisk ARI over NATS (ari-proxy v5 compatible server and client).

The application must monkey-patch with gevent before importing anything that
opens sockets::

    from gevent import monkey; monkey.patch_all()
    import ariproxy

    client = ariproxy.Client(application="demo", url="nats://127.0.0.1:4222")
"""
from ariproxy.errors import (  # noqa: F401
    AriProxyError, ARIConnectionError, ARIError, BadRequest, Busy, Conflict, EventGap, NotFound,
    NotImplementedByServer, ProtocolError, ServerError, Timeout, Unprocessable, ValidationError,
)

__version__ = "0.1.0"


def __getattr__(name):
    # lazy, so `import ariproxy` before gevent's patching imports no socket code
    if name == "Client":
        from ariproxy.client import Client
        return Client
    raise AttributeError("module 'ariproxy' has no attribute %r" % name)
