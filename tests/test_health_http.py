"""The server's HTTP listener: /health, /health/ready flipping with ARI and NATS, /metrics after known traffic.

Everything is real: the server's gevent.pywsgi listener on a free loopback port, a real nats-server
(stopped and started again), the simulator (its websocket dropped, silenced as Asterisk's write timeout
leaves it, and reconnections refused).
"""
import datetime
import json
import urllib.error
import urllib.request

import pytest

import ariproxy
from ariproxy import errors
from ariproxy.server import Server
from ariproxy.server.http import parse_address
from tests.support.wait import wait_for

prometheus_parser = pytest.importorskip("prometheus_client.parser", reason="prometheus-client (test extra)")

HTTP = "127.0.0.1:0"


def get(url, timeout=5.0):
    """(status, body bytes, content type) of a GET; HTTP errors are answers too."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read(), r.headers.get("Content-Type")
    except urllib.error.HTTPError as e:
        return e.code, e.read(), e.headers.get("Content-Type")


def ready(p):
    status, body, _ = get(p.server.http.url + "/health/ready")
    return status, json.loads(body)


def wait_ready_status(p, want, timeout=20.0):
    """Poll /health/ready until it answers ``want``; return its JSON body."""
    seen = {}

    def check():
        seen["status"], seen["body"] = ready(p)
        return seen["status"] == want
    wait_for(check, timeout, interval=0.02, message="/health/ready never answered %d" % want)
    return seen["body"]


def _since(body, component):
    down = body["down"][component]
    stamp = datetime.datetime.fromisoformat(down["since"])
    assert stamp.tzinfo is not None and down["seconds"] >= 0
    return stamp


@pytest.fixture
def web(proxy_factory):
    return proxy_factory(http=HTTP)


def test_health_and_ready_answer_200_while_serving(web):
    status, body, ctype = get(web.server.http.url + "/health")
    assert status == 200 and ctype == "application/json"
    assert json.loads(body)["status"] == "ok"
    status, body = ready(web)
    assert status == 200, body
    assert body["ready"] is True and body["node"] == web.node and body["application"] == web.application
    assert set(body["components"]) == {"ari_rest", "ari_events", "nats"}
    assert all(c["up"] for c in body["components"].values())
    assert "down" not in body
    assert get(web.server.http.url + "/nope")[0] == 404
    post = urllib.request.Request(web.server.http.url + "/health", data=b"x", method="POST")
    try:
        urllib.request.urlopen(post, timeout=5)
        raise AssertionError("POST was accepted")
    except urllib.error.HTTPError as e:
        assert e.code == 405 and e.headers.get("Allow") == "GET, HEAD"


def test_ready_is_503_while_the_ari_websocket_is_down_and_200_when_back(web):
    sim = web.sim
    sim.drop_websockets()
    sim.refuse_connections(drop=False)     # and keep it from reconnecting until told
    try:
        body = wait_ready_status(web, 503)
        assert body["ready"] is False and "ari_events" in body["down"], body
        assert "nats" not in body["down"]
        _since(body, "ari_events")
        assert get(web.server.http.url + "/health")[0] == 200      # alive all the same
    finally:
        sim.accept_connections()
    body = wait_ready_status(web, 200)
    assert body["ready"] is True and "down" not in body


@pytest.mark.parametrize("close_on_read", [True, False], ids=["asterisk-closes-on-read", "hung"])
def test_ready_is_503_when_asterisk_silently_stops_sending_and_200_when_back(proxy_factory, close_on_read):
    # What Asterisk's websocket_write_timeout leaves: the socket open, nothing more written on it
    p = proxy_factory(http=HTTP, events_ping_interval=0.2, events_pong_timeout=0.5)
    sim = p.sim
    assert ready(p)[0] == 200
    sim.refuse_connections(drop=False)      # the silent socket is found dead; a new one is refused for now
    try:
        assert sim.silence_websockets(p.application, close_on_read=close_on_read) == 1
        body = wait_ready_status(p, 503)
        assert "ari_events" in body["down"], body
        _since(body, "ari_events")
    finally:
        sim.accept_connections()
    body = wait_ready_status(p, 200)
    assert body["ready"] is True


def test_ready_is_503_while_nats_is_stopped_and_200_after_its_restart(web):
    web.nats.stop()
    body = wait_ready_status(web, 503)
    assert "nats" in body["down"], body
    assert body["down"]["nats"]["reason"]
    _since(body, "nats")
    web.nats.start()
    body = wait_ready_status(web, 200)
    assert body["components"]["nats"]["up"] is True


def scrape(p):
    status, body, ctype = get(p.server.http.url + "/metrics")
    assert status == 200 and ctype.startswith("text/plain"), (status, body[:200])
    samples = {}
    for family in prometheus_parser.text_string_to_metric_families(body.decode()):
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return samples


def value(samples, name, **labels):
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def total(samples, name):
    return sum(v for (n, _), v in samples.items() if n == name)


def test_metrics_counters_move_with_known_traffic(web):
    before = scrape(web)
    info = [labels for (name, labels) in before if name == "ariproxy_info"]
    assert info, "no ariproxy_info"
    info = dict(info[0])
    assert info["node"] == web.node and info["application"] == web.application
    assert info["instance"] == web.server.instance_id and info["version"] and info["rest_transport"]

    for _ in range(5):
        web.ok("AsteriskInfo")
    for _ in range(3):
        assert web.request("ChannelData", web.key("channel", "nosuch")).error   # a 404 from ARI
    assert web.sim.burst(7, app=web.application) == 7
    wait_for(lambda: web.server.stats["events"] >= 7, 10)

    after = scrape(web)
    assert value(after, "ariproxy_requests_total", kind="AsteriskInfo", outcome="ok") \
        - value(before, "ariproxy_requests_total", kind="AsteriskInfo", outcome="ok") == 5
    assert value(after, "ariproxy_requests_total", kind="ChannelData", outcome="error") \
        - value(before, "ariproxy_requests_total", kind="ChannelData", outcome="error") == 3
    assert value(after, "ariproxy_request_duration_seconds_count", **{"class": "data"}) \
        - value(before, "ariproxy_request_duration_seconds_count", **{"class": "data"}) == 8
    assert value(after, "ariproxy_request_duration_seconds_bucket", **{"class": "data", "le": "+Inf"}) >= 8
    assert total(after, "ariproxy_ari_call_duration_seconds_count") \
        - total(before, "ariproxy_ari_call_duration_seconds_count") >= 8
    assert value(after, "ariproxy_events_published_total", type="ChannelUserevent") \
        - value(before, "ariproxy_events_published_total", type="ChannelUserevent") == 7
    assert value(after, "ariproxy_requests_received_total") - value(before, "ariproxy_requests_received_total") == 8
    assert value(after, "ariproxy_ready") == 1.0
    assert value(after, "ariproxy_up", component="nats") == 1.0
    for name in ("ariproxy_requests_in_flight", "ariproxy_dialog_entities", "ariproxy_nats_reconnects_total",
                 "ariproxy_ari_reconnects_total", "ariproxy_dropped_messages_total", "ariproxy_event_gaps_total",
                 "ariproxy_duplicate_announcements_total"):
        assert (name, ()) in after, name


def test_nats_reconnect_and_ari_down_refusals_are_counted(web):
    web.nats.restart()
    wait_for(lambda: web.server.bus.connected and web.bus.connected, 15)
    wait_for(lambda: value(scrape(web), "ariproxy_nats_reconnects_total") >= 1, 10)
    web.sim.refuse_connections()
    try:
        wait_for(lambda: not web.server.ari_connected, 10)
        assert "ARI connection is down" in web.request("AsteriskInfo").error
        assert value(scrape(web), "ariproxy_requests_total", kind="unknown", outcome="ari_down") == 1
    finally:
        web.sim.accept_connections()


def test_metrics_can_be_turned_off_and_the_listener_is_off_by_default(proxy_factory):
    p = proxy_factory(http=HTTP, metrics=False)
    assert get(p.server.http.url + "/metrics")[0] == 404
    assert get(p.server.http.url + "/health/ready")[0] == 200
    assert p.server.observer is None
    q = proxy_factory(nats=p)
    assert q.server.http is None and q.server.observer is None


@pytest.mark.parametrize("bad", ["9180", "host:port", "127.0.0.1:70000", ""])
def test_bad_http_addresses_are_refused(bad):
    with pytest.raises(errors.ValidationError):
        parse_address(bad) if bad else Server(http=("127.0.0.1", "x"))


def test_addresses():
    assert parse_address("127.0.0.1:9180") == ("127.0.0.1", 9180)
    assert parse_address("[::1]:9180") == ("::1", 9180)
    assert parse_address(":9180") == ("0.0.0.0", 9180)


def test_without_prometheus_client_only_asking_for_metrics_fails(monkeypatch, nats_server):
    import sys
    monkeypatch.setitem(sys.modules, "prometheus_client", None)     # import fails as if not installed
    with pytest.raises(errors.ValidationError, match=r"prometheus-client.*ariproxy\[metrics\]"):
        Server(nats_url=nats_server.url, http=HTTP)
    assert Server(nats_url=nats_server.url, http=HTTP, metrics=False).observer is None
    assert Server(nats_url=nats_server.url).http is None


def test_http_option_in_the_config():
    from ariproxy.server.config import ConfigError, load_config
    cfg = load_config(["--no-config", "--http", "127.0.0.1:9180", "--no-metrics"], environ={})
    assert cfg.server_kwargs()["http"] == "127.0.0.1:9180" and cfg.server_kwargs()["metrics"] is False
    assert load_config(["--no-config"], environ={"ARIPROXY_HTTP": ":9181"}).http == ":9181"
    assert load_config(["--no-config"], environ={}).server_kwargs()["http"] is None
    with pytest.raises(ConfigError, match="http .*HOST:PORT"):
        load_config(["--no-config", "--http", "9180"], environ={})


def test_collector_reads_the_events_counters_by_their_names():
    """srv.stats as the events work fills it (ari_gaps, event_gaps, ...) lands in the right families."""
    from types import SimpleNamespace

    from ariproxy.server.health import Health
    from ariproxy.server.metrics import registry_for, render

    stats = {"ari_gaps": 3, "event_gaps": 4, "events_unpublished": 5, "ari_pong_timeouts": 6, "ari_disconnects": 7,
             "events_backlog": 8, "ari_reconnects": 9, "events": 10, "in_flight": 2,
             "bus": {"reconnects": 11, "dropped": 12, "in_msgs": 1, "out_msgs": 1}}
    fake = SimpleNamespace(stats=stats, observer=None, ari=None, node="n1", application="app", implementation="x",
                           instance_id="i1", rest_transport="auto", health=Health(), state="serving", bus=None,
                           ari_connected=True)
    text = render(registry_for(fake)).decode()
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for f in prometheus_parser.text_string_to_metric_families(text) for s in f.samples}
    for name, want in (("ariproxy_event_gaps_total", 3), ("ariproxy_gap_markers_published_total", 4),
                       ("ariproxy_events_suspected_lost_total", 5), ("ariproxy_ari_pong_timeouts_total", 6),
                       ("ariproxy_ari_disconnects_total", 7), ("ariproxy_events_backlog_bytes", 8),
                       ("ariproxy_ari_reconnects_total", 9), ("ariproxy_events_forwarded_total", 10),
                       ("ariproxy_requests_in_flight", 2), ("ariproxy_nats_reconnects_total", 11),
                       ("ariproxy_dropped_messages_total", 12), ("ariproxy_ready", 0)):
        assert samples[(name, ())] == want, name
    info = (("application", "app"), ("implementation", "x"), ("instance", "i1"), ("node", "n1"),
            ("rest_transport", "none"), ("rest_transport_setting", "auto"), ("version", ariproxy.__version__))
    assert samples[("ariproxy_info", info)] == 1
