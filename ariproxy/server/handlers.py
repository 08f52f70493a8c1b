"""Executing one decoded request: kinds table -> ARI call -> Response (PROTOCOL.md 3, 4, 8, 10).

``RequestHandler.handle(request)`` blocks the calling greenlet for the ARI
call (if any) and returns the :class:`~ariproxy.protocol.Response` to send;
``start(request, done)`` does the same without blocking when the call can go
over the ARI websocket (``done(Response)`` is called back).  Neither raises
for bad input or ARI errors (they become the response's ``error``).  Reply shapes follow the Go server's recordings:

- ``data``: ``{"data": {"<field>": {...entity..., "key": {...}}}}``; a
  variable is a plain string and an empty one is ``{"data": {}}``;
- ``get``: ``{"key": ...}``; ``get-list``: ``{"keys": [...]}`` (no ``keys``
  when empty); ``create``: the created entity's key, with node and app;
- ``command``: ``{"error": ""}`` (RecordingStoredCopy adds the copy's key);
- errors: ``errors.error_text`` (``Non-2XX response: 404 Not Found: ...``),
  which Go clients classify like the Go server's texts.
"""
import http.client
import logging
import time

import gevent

from ariproxy import errors
from ariproxy.jsonutil import mask_url
from ariproxy.protocol import Response, spec_for

__all__ = ["RequestHandler", "error_response_text", "NOT_IMPLEMENTED"]

log = logging.getLogger("ariproxy.server.requests")

NOT_IMPLEMENTED = "Not implemented"


def error_response_text(exc):
    """The ``error`` string of a Response for an exception raised while serving a request."""
    if isinstance(exc, errors.ARIError) and exc.status is not None:
        reason = exc.reason or http.client.responses.get(exc.status, "")
        return errors.error_text(exc.status, reason, exc.message)
    if isinstance(exc, errors.ARIAnswerCut):
        return "ARI answer cut short: %s" % mask_url(str(exc))
    if isinstance(exc, errors.ARIConnectionError):
        return "ARI connection is down: %s" % mask_url(str(exc))
    if isinstance(exc, errors.Timeout):
        return "timeout: %s" % exc
    if isinstance(exc, (errors.ProtocolError, errors.ValidationError)):
        return "bad request: %s" % exc
    if isinstance(exc, errors.ARIError):
        return str(exc)
    return "internal error: %s: %s" % (type(exc).__name__, exc)


class RequestHandler:
    """Serves requests for one :class:`~ariproxy.server.core.Server` (its ``ari``, ``node``,
    ``application`` and ``dialog_bindings``)."""

    def __init__(self, server):
        self.server = server

    def handle(self, request):
        """The Response for ``request`` (blocks on ARI); never raises."""
        step = self.begin(request)
        if isinstance(step, Response):
            return step
        call = step[1]
        if call.operation is None:
            return self.finish(request, step, None, None)
        return self._call_and_finish(request, step)

    def _call_and_finish(self, request, step):
        """The blocking ARI call of ``step``, observed (latency, REST health), then ``finish``."""
        call = step[1]
        server = self.server
        ari = server.ari
        observer = server.observer
        transport = ari.active_rest_transport if observer is not None and ari is not None else None
        t0 = time.perf_counter()
        try:
            result = ari.call(call.resource, call.operation, **call.all_params)
        except Exception as e:
            self._observe(transport, t0, e)
            return self.finish(request, step, None, e)
        self._observe(transport, t0, None)
        return self.finish(request, step, result, None)

    def _observe(self, transport, t0, exc):
        server = self.server
        server.health.rest_result(exc)
        observer = server.observer
        if observer is not None and not isinstance(exc, errors.ValidationError):
            observer.ari_call(transport, time.perf_counter() - t0)

    def start(self, request, done):
        """Serve ``request`` without blocking when its ARI call can go over the websocket.

        Returns False, having done nothing, when it cannot (then use
        ``handle``).  Else returns True and calls ``done(Response)`` exactly
        once: at once (no ARI call, bad input), or later from the websocket
        reader greenlet (ARI's answer or a drop) or a greenlet of its own
        (timeout, or HTTP when the websocket went away just now).  Never
        blocks and never raises.
        """
        ari = self.server.ari
        if ari is None or not ari.can_start:
            return False
        step = self.begin(request)
        if isinstance(step, Response):
            done(step)
            return True
        call = step[1]
        if call.operation is None:
            done(self.finish(request, step, None, None))
            return True

        t0 = time.perf_counter()

        def on_done(result, exc):
            self._observe("websocket", t0, exc)
            done(self.finish(request, step, result, exc))

        try:
            started = ari.start_call(call.resource, call.operation, call.all_params, on_done)
        except Exception as e:
            done(self.finish(request, step, None, e))
            return True
        if not started:
            # The websocket went away between the check and the send: the blocking way (HTTP).
            gevent.spawn(self._call_blocking, request, step, done)
        return True

    def _call_blocking(self, request, step, done):
        done(self._call_and_finish(request, step))

    def begin(self, request):
        """Checks, planning and dialog binding: a Response (nothing to call, or an error) or the step
        ``(spec, call, new_bindings)`` for ``finish``.  Never blocks or raises."""
        try:
            request.key.validate()
        except errors.ProtocolError as e:
            return Response(error="bad request: %s" % e)
        spec = spec_for(request.kind)
        if spec is None:
            return Response(error=NOT_IMPLEMENTED)
        try:
            call = spec.plan(request, app=self.server.application)
        except (errors.ProtocolError, errors.ValidationError) as e:
            return Response(error="bad request: %s" % e)
        except Exception as e:  # a codec tripping over hostile input must not take the request down silently
            log.warning("%s: payload not understood: %s", request.kind, e)
            return Response(error="bad request: %s: %s" % (request.kind, e))
        return spec, call, self._bind(request.key.dialog, spec, call)

    def finish(self, request, step, result, exc):
        """The Response once ARI answered ``result`` (or raised ``exc``) for ``step``; never raises."""
        spec, call, new_bindings = step
        try:
            try:
                if exc is not None:
                    raise exc
                return self._respond(spec, request, call, result)
            except errors.ProtocolError as e:
                # Not the requester's fault: ARI answered something that is not what the spec says.
                raise errors.ServerError("unexpected answer from ARI: %s" % e, status=502,
                                         reason="Bad Gateway") from None
        except Exception as e:
            # The entity was never made: its fresh bindings would only wait for eviction.
            for kind, entity in new_bindings:
                self.server.dialog_bindings.forget(kind, entity)
            fields = {"kind": request.kind, "key": request.key.to_dict() if request.key else None}
            if not isinstance(e, errors.AriProxyError):
                log.exception("%s failed", request.kind, extra=fields)
            else:
                log.debug("%s failed: %s", request.kind, e, extra=fields)
            return Response(error=error_response_text(e))

    # -- dialogs --------------------------------------------------------------------------------

    def _bind(self, dialog, spec, call):
        """Bind the dialog before the ARI call, so events racing the reply reach it; returns the
        bindings that are new (to undo if the call fails)."""
        if not dialog:
            return ()
        table = self.server.dialog_bindings
        if getattr(spec, "unbinds", False):
            for b in call.bindings:
                table.unbind(dialog, b.kind, b.id)
            return ()
        fresh = []
        for b in call.bindings:
            if not b.kind or not b.id:
                continue
            if not table.entity_dialogs(b.kind, b.id):
                fresh.append((b.kind, b.id))
            table.bind(dialog, b.kind, b.id)
        # Only the entity this request creates may be undone; existing ones keep their binding.
        result = call.result
        return tuple(f for f in fresh if result is not None and f == (result.kind, result.id))

    # -- responses ------------------------------------------------------------------------------

    def _respond(self, spec, request, call, result):
        server = self.server
        return spec.answer(request, call, result, server.node, server.application)
