"""Two server processes announcing the same (node, application): both logs, the metric, the client.

Two real servers (two simulators with one entity id, as two Asterisk boxes cloned from one image
would have) on one nats-server.  Also: a restarted server (a new instance after the old one
stopped) is not a duplicate, and announcements stay decodable by what reads only the protocol.
"""
import logging

import pytest

import ariproxy
from ariproxy.client.cluster import ClusterView
from ariproxy.protocol import Announcement
from ariproxy.server.cluster import REMEDY, DuplicateWatch
from tests.support.wait import wait_for

NODE = "02:fc:00:00:00:99"


def conflict_records(caplog, mine, other):
    return [r for r in caplog.records
            if r.name == "ariproxy.server.cluster" and getattr(r, "instance", None) == mine
            and getattr(r, "other_instance", None) == other]


def test_two_processes_with_one_node_id_are_reported_everywhere(proxy_factory, caplog):
    caplog.set_level(logging.WARNING)
    a = proxy_factory(entity_id=NODE, http="127.0.0.1:0")
    b = proxy_factory(nats=a, entity_id=NODE, http="127.0.0.1:0")
    ia, ib = a.server.instance_id, b.server.instance_id
    assert ia != ib

    # b announced when it became ready: a heard it, warned, and announced at once, so b heard a.
    wait_for(lambda: conflict_records(caplog, ia, ib) and conflict_records(caplog, ib, ia), 10,
             message="both servers logged the duplicate")
    record = conflict_records(caplog, ia, ib)[0]
    assert record.levelno >= logging.WARNING and "DUPLICATE NODE" in record.getMessage()
    assert "entityid" in record.getMessage() and "asterisk.conf" in REMEDY

    # at every announcement: a ping makes both announce, and both log again
    before_a, before_b = len(conflict_records(caplog, ia, ib)), len(conflict_records(caplog, ib, ia))
    a.bus.publish("ari.ping", b'{"kind":"","key":null}')
    wait_for(lambda: len(conflict_records(caplog, ia, ib)) > before_a
             and len(conflict_records(caplog, ib, ia)) > before_b, 10)

    # the metric, on both servers
    from tests.test_health_http import scrape, value
    for p in (a, b):
        samples = scrape(p)
        assert value(samples, "ariproxy_duplicate_announcements_total") >= 1
        assert value(samples, "ariproxy_duplicate_instances") == 1
        assert p.server.stats["duplicate_announcements"] >= 1

    # the client: flagged in nodes(), with both instances, in duplicates() and in stats()
    with ariproxy.Client(application=a.application, url=a.nats_url) as client:
        client.ping()
        wait_for(lambda: any(n.duplicate and set(n.instances) == {ia, ib} for n in client.nodes()), 10,
                 message="client saw the duplicate")
        (node,) = client.nodes()
        assert node.node == NODE and node.implementation == "ariproxy-python" and node.version
        assert [n.node for n in client.duplicates()] == [NODE]
        assert client.stats()["duplicates"] == [(NODE, a.application)]


def test_distinct_nodes_are_no_duplicates(proxy_factory, caplog):
    caplog.set_level(logging.WARNING)
    a = proxy_factory(entity_id="02:fc:00:00:00:0a")
    b = proxy_factory(nats=a, entity_id="02:fc:00:00:00:0b")
    with ariproxy.Client(application=a.application, url=a.nats_url) as client:
        client.ping()
        wait_for(lambda: len(client.nodes()) == 2, 10)
        a.bus.publish("ari.ping", b"{}")
        client.ping(wait=5, count=2)
        assert not any(n.duplicate for n in client.nodes())
    assert a.server.stats["duplicate_announcements"] == 0 and b.server.stats["duplicate_announcements"] == 0
    assert not [r for r in caplog.records if r.name == "ariproxy.server.cluster"]


class _FakeBus:
    def subscribe(self, *a, **k):
        return None

    def publish(self, *a, **k):
        pass


def _msg(data):
    return type("M", (), {"data": data, "subject": "ari.announce"})()


def test_client_tells_a_restart_from_a_duplicate():
    view = ClusterView(_FakeBus(), "ari.")
    old = Announcement(NODE, "app", instance="old", implementation="ariproxy-python", version="1")
    new = Announcement(NODE, "app", instance="new", implementation="ariproxy-python", version="2")
    view._on_announce(_msg(old.encode()))
    view._on_announce(_msg(old.encode()))
    view._on_announce(_msg(new.encode()))       # the old process is gone: only the new one announces
    view._on_announce(_msg(new.encode()))
    (node,) = view.nodes()
    assert not node.duplicate and node.version == "2" and node.instances == ("old", "new")
    view._on_announce(_msg(old.encode()))       # ... but the old one is alive after all
    assert view.nodes()[0].duplicate
    # a server that hears a duplicate says so; a Go server (no instance) alongside counts too
    view2 = ClusterView(_FakeBus(), "ari.")
    view2._on_announce(_msg(b'{"node":"n1","application":"app","instance":"x","duplicate":true}'))
    assert view2.nodes()[0].duplicate
    view3 = ClusterView(_FakeBus(), "ari.")
    for raw in (b'{"node":"n1","application":"app"}', b'{"node":"n1","application":"app","instance":"y"}',
                b'{"node":"n1","application":"app"}'):
        view3._on_announce(_msg(raw))
    assert view3.nodes()[0].duplicate


def test_watch_ignores_itself_other_nodes_and_garbage(caplog):
    calls = []
    watch = DuplicateWatch("me", on_new_conflict=lambda: calls.append(1))
    assert not watch.seen(Announcement(NODE, "app", instance="me").encode(), NODE, "app")
    assert not watch.seen(Announcement("other", "app", instance="you").encode(), NODE, "app")
    assert not watch.seen(Announcement(NODE, "otherapp", instance="you").encode(), NODE, "app")
    assert not watch.seen(b"not json", NODE, "app")
    assert watch.seen(Announcement(NODE, "app", instance="you").encode(), NODE, "app")
    assert watch.seen(Announcement(NODE, "app", instance="you").encode(), NODE, "app")
    assert watch.seen(b'{"node":"%s","application":"app"}' % NODE.encode(), NODE, "app")   # a Go server
    assert calls == [1, 1] and watch.announcements == 3
    assert set(watch.conflicts(NODE, "app")) == {"you", "(none: a Go ari-proxy or an old ariproxy)"}


@pytest.mark.parametrize("raw", [
    b'{"node":"n1","application":"a","instance":7,"version":null,"duplicate":"yes","future":{"x":1}}',
    b'{"node":"n1","application":"a","implementation":"%s"}' % (b"x" * 500),
])
def test_extra_announcement_fields_are_optional_and_odd_ones_ignored(raw):
    ann = Announcement.decode(raw)
    assert ann == Announcement("n1", "a") and ann.instance == "" and not ann.duplicate
    assert ann.implementation == "" and ann.version == ""


def test_announcement_extra_fields_round_trip():
    ann = Announcement("n1", "a", instance="i", implementation="ariproxy-python", version="0.1.0", duplicate=True)
    back = Announcement.decode(ann.encode())
    assert (back.instance, back.implementation, back.version, back.duplicate) == \
        ("i", "ariproxy-python", "0.1.0", True)
    assert Announcement("n1", "a").encode() == b'{"node":"n1","application":"a"}'
