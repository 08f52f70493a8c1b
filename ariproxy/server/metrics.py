"""``/metrics``: one server's counters in the Prometheus text format (``prometheus-client``).

A collector reads, at scrape time, the counters the server keeps anyway
(``srv.stats``, ``bus.stats``, the event forwarder's) and those of its
:class:`~ariproxy.server.observer.RequestObserver`; nothing here runs per
request.  ``prometheus-client`` is optional (``pip install
'ariproxy[metrics]'``): :func:`require` raises a clear error when it is
missing, and nothing else in the server imports it.

Families (all prefixed ``ariproxy_``): ``info`` (node, application,
version, REST transport, instance), ``up{component}`` and ``ready``,
``requests_total{kind,outcome}``, ``request_duration_seconds{class}``,
``ari_call_duration_seconds{transport}``, ``events_published_total{type}``,
``dialog_events_published_total``, ``event_errors_total``,
``event_gaps_total``, ``gap_markers_published_total``, ``events_suspected_lost_total``,
``ari_pong_timeouts_total``, ``ari_disconnects_total``, ``events_backlog_bytes``,
``dialog_entities``, ``dialog_bindings_evicted_total``,
``nats_reconnects_total``, ``ari_reconnects_total``,
``dropped_messages_total``, ``requests_in_flight``,
``duplicate_announcements_total``, ``duplicate_instances``,
``nats_messages_total{direction}``.
"""
from ariproxy import __version__, errors

# Counter names of srv.stats read with .get(): the events work names them ari_gaps, events_unpublished,
# ari_pong_timeouts, ari_disconnects, events_backlog, ari_reconnects (older names as fallbacks).

__all__ = ["require", "available", "ServerCollector", "registry_for", "render", "CONTENT_TYPE"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

_MISSING = ("metrics need the prometheus-client package: pip install 'ariproxy[metrics]' "
            "(or turn metrics off: --no-metrics / metrics = false)")


def available():
    """True when prometheus-client can be imported."""
    try:
        import prometheus_client  # noqa: F401
    except ImportError:
        return False
    return True


def require():
    """Raise ``errors.ValidationError`` naming the missing package unless prometheus-client is there."""
    if not available():
        raise errors.ValidationError(_MISSING, parameter="metrics")


def _families():
    from prometheus_client.core import (CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily,
                                        InfoMetricFamily)
    return CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, InfoMetricFamily


def _histogram(family, label_values, hist):
    buckets = [("+Inf" if bound == float("inf") else repr(float(bound)), n) for bound, n in hist.cumulative()]
    family.add_metric(label_values, buckets, hist.sum)


class ServerCollector:
    """A prometheus-client collector of one :class:`~ariproxy.server.core.Server`."""

    def __init__(self, server):
        self.server = server

    def describe(self):
        return []   # unchecked collector: the families depend on what was observed

    def collect(self):
        Counter, Gauge, Hist, Info = _families()
        srv = self.server
        stats = srv.stats
        bus = stats.get("bus") or {}
        obs = srv.observer
        ari = srv.ari

        info = Info("ariproxy", "This ari-proxy server process.")
        active = ari.active_rest_transport if ari is not None else "none"
        info.add_metric((), {"node": srv.node or "", "application": srv.application, "version": __version__,
                             "implementation": srv.implementation, "instance": srv.instance_id,
                             "rest_transport": active, "rest_transport_setting": srv.rest_transport})
        yield info

        up = Gauge("ariproxy_up", "1 while the component is up (ari_rest, ari_events, nats).",
                   labels=("component",))
        for component, state in srv.health.snapshot().items():
            up.add_metric((component,), 1.0 if state["up"] else 0.0)
        yield up
        from ariproxy.server.health import readiness
        yield Gauge("ariproxy_ready", "1 while /health/ready answers 200.", value=1.0 if readiness(srv)[0] else 0.0)

        requests = Counter("ariproxy_requests", "Requests answered, by kind and outcome.",
                           labels=("kind", "outcome"))
        if obs is not None:
            for (kind, outcome), n in sorted(obs.requests.items()):
                requests.add_metric((kind, outcome), n)
        yield requests
        latency = Hist("ariproxy_request_duration_seconds",
                       "Request latency from arrival to reply, by subject class.", labels=("class",))
        ari_latency = Hist("ariproxy_ari_call_duration_seconds", "ARI REST call latency, by transport.",
                           labels=("transport",))
        if obs is not None:
            for cls, hist in sorted(obs.latency.items()):
                _histogram(latency, (cls,), hist)
            for transport, hist in sorted(obs.ari_latency.items()):
                _histogram(ari_latency, (transport,), hist)
        yield latency
        yield ari_latency

        events = Counter("ariproxy_events_published", "ARI events published on the event subject, by type.",
                         labels=("type",))
        if obs is not None:
            for etype, n in sorted(obs.event_types.items()):
                events.add_metric((etype,), n)
        yield events
        plain = (
            (Counter, "ariproxy_events_forwarded", "ARI events published (all types).", stats.get("events", 0)),
            (Counter, "ariproxy_dialog_events_published", "Events published again on dialog subjects.",
             stats.get("dialog_events", 0)),
            (Counter, "ariproxy_event_errors", "Events that could not be forwarded.", stats.get("event_errors", 0)),
            (Counter, "ariproxy_event_gaps", "Breaks in the ARI events stream (the websocket came back after one).",
             stats.get("ari_gaps", stats.get("gaps", 0))),
            (Counter, "ariproxy_gap_markers_published", "Gap markers published to the applications.",
             stats.get("event_gaps", 0)),
            (Counter, "ariproxy_events_suspected_lost", "Events lost: not published while NATS did not take them.",
             stats.get("events_unpublished", stats.get("suspected_lost", 0))),
            (Counter, "ariproxy_ari_pong_timeouts",
             "ARI events websockets given up for a missing pong (a silent Asterisk).",
             stats.get("ari_pong_timeouts", 0)),
            (Counter, "ariproxy_ari_disconnects", "ARI events websocket disconnects.", stats.get("ari_disconnects", 0)),
            (Gauge, "ariproxy_events_backlog_bytes", "Event bytes received from ARI, not yet forwarded.",
             stats.get("events_backlog", 0)),
            (Gauge, "ariproxy_dialog_entities", "Entities with a dialog binding.", stats.get("dialog_entities", 0)),
            (Counter, "ariproxy_dialog_bindings_evicted", "Dialog bindings evicted by the table's bound.",
             stats.get("dialog_evicted", 0)),
            (Counter, "ariproxy_nats_reconnects", "NATS reconnects.", bus.get("reconnects", 0)),
            (Counter, "ariproxy_ari_reconnects", "ARI events websocket reconnects.", stats.get("ari_reconnects", 0)),
            (Counter, "ariproxy_dropped_messages", "NATS messages dropped by full subscription queues.",
             bus.get("dropped", 0)),
            (Gauge, "ariproxy_requests_in_flight", "Requests accepted and not answered yet.",
             stats.get("in_flight", 0)),
            (Counter, "ariproxy_requests_received", "Request messages received (answered or not).",
             stats.get("requests", 0)),
            (Counter, "ariproxy_duplicate_announcements",
             "Announcements of this server's node and application by another process.",
             stats.get("duplicate_announcements", 0)),
            (Gauge, "ariproxy_duplicate_instances",
             "Other processes announcing this server's node and application right now.",
             stats.get("duplicate_instances", 0)),
        )
        for family, name, doc, value in plain:
            yield family(name, doc, value=value)
        msgs = Counter("ariproxy_nats_messages", "NATS messages, by direction.", labels=("direction",))
        msgs.add_metric(("in",), bus.get("in_msgs", 0))
        msgs.add_metric(("out",), bus.get("out_msgs", 0))
        yield msgs


def registry_for(server):
    """A fresh ``CollectorRegistry`` holding only ``server``'s collector (no process-wide globals)."""
    require()
    from prometheus_client import CollectorRegistry
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ServerCollector(server))
    return registry


def render(registry):
    """The text exposition of ``registry`` (bytes)."""
    from prometheus_client import generate_latest
    return generate_latest(registry)
