"""Native ARI transport: the operations table, REST calls (HTTP or the events websocket), the events stream.

    from ariproxy.ari import ARI
    ari = ARI("http://127.0.0.1:8088/ari", "asterisk", "asterisk", app="demo")
    ari.call("channels", "originate", endpoint="Local/1000@default", app="demo")
    stream = ari.events(on_event)        # reconnects by itself; stream.close()

Calls block the calling greenlet (use gevent monkey patching).
"""
from ariproxy.ari.operations import OPERATIONS, API_VERSION, Operation, Param, PreparedRequest, operation_for
from ariproxy.ari.client import ARI, REST_TRANSPORTS, websocket_rest_supported
from ariproxy.ari.http import HTTP_CLIENTS


def __getattr__(name):
    # EventStream pulls in websocket-client; import it only when asked for.
    if name == "EventStream":
        from ariproxy.ari.events import EventStream
        return EventStream
    raise AttributeError(name)


__all__ = ["ARI", "OPERATIONS", "API_VERSION", "Operation", "Param", "PreparedRequest", "EventStream",
           "operation_for", "REST_TRANSPORTS", "HTTP_CLIENTS", "websocket_rest_supported"]
