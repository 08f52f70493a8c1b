"""The generic request kind ``AriCall``: any ARI operation the Go kinds do not cover.

The Go kinds leave out part of ARI (channel move/redirect/progress/
rtp_statistics/transfer_progress, channel and bridge variables in bulk,
bridge variables, application event filters, asterisk ping, endpoint
sendMessage/refer, events userEvent/claim, the stored recording file, ...).
Rather than inventing a kind per operation, one kind carries the operation
by name::

    {"kind": "AriCall",
     "key": {"kind": "channel", "id": "c1", "node": "00:11:22:33:44:55", "app": "demo"},
     "ari_call": {"resource": "channels", "operation": "move",
                  "params": {"channelId": "c1", "app": "other"}}}

- ``resource`` and ``operation`` are the Asterisk spec's resource file name
  and operation nickname (``channels``/``move``, ``bridges``/``setBridgeVar``,
  ``recordings``/``getStoredFile``); ``params`` holds every parameter (path,
  query and body alike) under its spec name.  The server places them.
- The key routes the request like any other (exact subject with app and
  node) and, with a dialog, binds the dialog to the key's entity.
- Subject class: ``data`` for read operations (GET), ``command`` for other
  operations on a named entity (key with an id: the owning server answers,
  the rest say not found, as for Go's commands), ``create`` for other
  operations without one (the queue group runs it exactly once).
- Response: ``{"error": "", "data": {"ari_call": {"result": <ARI's JSON or null>}}}``;
  a binary body (the stored recording file) comes as
  ``{"ari_call": {"content_type": "audio/wav", "body_base64": "..."}}``
  (NATS payload limits apply: 1 MB by default).  Errors as for any kind.
- A Go ari-proxy server does not know the kind: on every subject it serves
  (get, data, command, create at all three levels) it answers
  ``{"error": "Not implemented"}``, which the client raises as
  ``NotImplementedByServer`` ("the server does not support this operation").

No I/O.
"""
import base64

from ariproxy.errors import ProtocolError

from .kinds import AriCall
from .messages import Key, Request, Response
from .operations import ARI_OPERATIONS, is_read_operation
from .wire import json_type, short

__all__ = ["spec_for", "GENERIC_KIND", "GENERIC_PAYLOAD_FIELD", "GENERIC_SPEC", "GenericSpec", "generic_request",
           "generic_class", "generic_response", "generic_result"]

GENERIC_KIND = "AriCall"
GENERIC_PAYLOAD_FIELD = "ari_call"

# operations that make no sense through the proxy (the events websocket is the server's own)
_REFUSED = frozenset([("events", "eventWebsocket")])


def generic_class(resource, operation, key=None):
    """Subject class for a generic call: data (reads), command (entity named), create (otherwise)."""
    if is_read_operation(resource, operation):
        return "data"
    if key is not None and key.id:
        return "command"
    return "create"


def _check_operation(resource, operation):
    if not isinstance(resource, str) or not resource:
        raise ProtocolError("ari_call.resource: expected a non-empty string, got %s" % json_type(resource))
    if not isinstance(operation, str) or not operation:
        raise ProtocolError("ari_call.operation: expected a non-empty string, got %s" % json_type(operation))
    if (resource, operation) not in ARI_OPERATIONS:
        raise ProtocolError("ari_call: unknown ARI operation %s.%s" % (short(resource), short(operation)))
    if (resource, operation) in _REFUSED:
        raise ProtocolError("ari_call: %s.%s cannot be called through the proxy" % (resource, operation))


class GenericSpec:
    """The kinds-table row of ``AriCall`` (same interface as KindSpec where it applies)."""

    kind = GENERIC_KIND
    cls = None  # per operation: see generic_class
    payload_field = GENERIC_PAYLOAD_FIELD
    payload_fields = (GENERIC_PAYLOAD_FIELD,)
    resource = None
    operation = None
    key_kind = None
    data_field = GENERIC_PAYLOAD_FIELD
    result_kind = None
    list_kind = None
    staging = False
    stages = None
    unbinds = False
    payload_required = True
    is_list = False

    def __repr__(self):
        return "GenericSpec(%s)" % GENERIC_KIND

    def plan(self, request, app=None):
        """AriCall with all parameters in ``params`` (the ARI layer knows which are path params)."""
        payload = request.payload if request.payload_field == GENERIC_PAYLOAD_FIELD else None
        if payload is None:
            raise ProtocolError("AriCall: payload ari_call is required")
        resource, operation = payload.get("resource"), payload.get("operation")
        _check_operation(resource, operation)
        params = payload.get("params")
        if params is None:
            params = {}
        if not isinstance(params, dict):
            raise ProtocolError("ari_call.params: expected an object, got %s" % json_type(params))
        key = request.key
        bindings = (Key(key.kind, key.id),) if key.kind and key.id else ()
        return AriCall(resource, operation, {}, dict(params), None, bindings)

    def to_ari(self, request, app=None):
        call = self.plan(request, app)
        return call.path_params, call.params

    def answer(self, request, call, result, node, app, content_type=None):
        """The Response carrying ARI's result (see generic_response)."""
        return generic_response(result, content_type)

    def build_payload(self, resource, operation, params=None):
        _check_operation(resource, operation)
        return {"resource": resource, "operation": operation, "params": dict(params or {})}

    def request(self, key=None, resource=None, operation=None, params=None):
        return Request(GENERIC_KIND, key, GENERIC_PAYLOAD_FIELD, self.build_payload(resource, operation, params))


GENERIC_SPEC = GenericSpec()


def generic_request(resource, operation, key=None, **params):
    """A Request calling ARI ``resource.operation`` with ``params`` (spec names) via ``AriCall``."""
    return GENERIC_SPEC.request(key, resource, operation, params)


def generic_response(result, content_type=None):
    """The server's Response for an operation's result (JSON value, None, or bytes)."""
    if isinstance(result, (bytes, bytearray, memoryview)):
        body = {"content_type": content_type or "application/octet-stream",
                "body_base64": base64.b64encode(bytes(result)).decode("ascii")}
    else:
        body = {"result": result}
    return Response(data={GENERIC_PAYLOAD_FIELD: body})


def generic_result(response):
    """The operation's result from a Response: the JSON value, or bytes for a binary body.

    Raises the mapped ariproxy exception when the response carries an error
    (``NotImplementedByServer`` from a Go server).
    """
    response.raise_for_error()
    data = response.data or {}
    body = data.get(GENERIC_PAYLOAD_FIELD)
    if body is None:
        return None
    if not isinstance(body, dict):
        raise ProtocolError("response.data.ari_call: expected an object, got %s" % json_type(body))
    if "body_base64" in body:
        encoded = body["body_base64"]
        if not isinstance(encoded, str):
            raise ProtocolError("response.data.ari_call.body_base64: expected a string")
        try:
            return base64.b64decode(encoded, validate=True)
        except ValueError:
            raise ProtocolError("response.data.ari_call.body_base64: not base64") from None
    return body.get("result")


_KINDS = None


def spec_for(kind):
    """The table row for a request kind: a KindSpec, GENERIC_SPEC for ``AriCall``, None if unknown."""
    global _KINDS
    if _KINDS is None:
        from .kinds import KINDS    # late import (kinds.py imports this module), kept once found
        _KINDS = KINDS
    spec = _KINDS.get(kind)
    if spec is None and kind == GENERIC_KIND:
        return GENERIC_SPEC
    return spec
