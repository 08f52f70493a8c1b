"""The server on its own: raw NATS requests through ariproxy.bus against a real simulator."""
from ariproxy.protocol import Announcement
from tests.support.secrets import ARI_PASSWORD, NATS_PASSWORD


def test_asterisk_info_round_trip(proxy):
    resp = proxy.ok("AsteriskInfo")
    assert resp.data["asterisk"]["system"]["entity_id"] == proxy.node


def test_ping_gets_an_announcement(proxy):
    got = []
    sub = proxy.bus.subscribe("ari.announce", lambda msg: got.append(Announcement.decode(msg.data)))
    proxy.bus.flush()
    proxy.bus.publish("ari.ping", b'{"kind":"","key":null}')
    from tests.support.wait import wait_for
    wait_for(lambda: got, timeout=5)
    assert got[0] == Announcement(proxy.node, proxy.application)
    sub.unsubscribe()


def test_bad_options_are_refused_at_construction():
    import pytest
    from ariproxy.errors import ValidationError, ProtocolError
    from ariproxy.server import Server
    for kwargs in ({"rest_transport": "carrier-pigeon"}, {"max_concurrent": 0}, {"announce_interval": 0},
                   {"entity_check_interval": -1}, {"shutdown_timeout": "soon"}):
        with pytest.raises(ValidationError):
            Server(**kwargs)
    with pytest.raises(ProtocolError):
        Server(application="x.>")


def test_secrets_stay_out_of_logs_and_repr(nats_factory, caplog):
    import logging
    from ariproxy.server import Server
    from ariproxy.sim.server import Simulator
    nats = nats_factory(user="nu", password=NATS_PASSWORD)
    sim = Simulator(username="u", password=ARI_PASSWORD).start()
    caplog.set_level(logging.DEBUG)
    srv = Server(ari_url=sim.url.replace("http://", "http://u:%s@" % ARI_PASSWORD), ari_username="u",
                 ari_password=ARI_PASSWORD, application="testapp", nats_url=nats.auth_url)
    try:
        srv.start()
        assert srv.wait_ready(10)
        srv.stop(timeout=2)
        text = caplog.text + repr(srv) + repr(srv.stats)
        assert ARI_PASSWORD not in text and NATS_PASSWORD not in text
        assert "nats://nu:***@" in text
    finally:
        srv.stop(timeout=2)
        sim.stop()


def test_stop_while_still_connecting(nats_server):
    from ariproxy.server import Server
    from tests.support.nats import free_port
    from tests.support.wait import wait_for
    srv = Server(ari_url="http://127.0.0.1:%d/ari" % free_port(), application="testapp", nats_url=nats_server.url)
    srv.connect_backoff = (0.01, 0.05)
    srv.start()
    wait_for(lambda: srv.state == "connecting", timeout=5)
    srv.stop(timeout=2)
    assert srv.state == "stopped" and srv.exit_status == 0 and not srv.wait_ready(0)
