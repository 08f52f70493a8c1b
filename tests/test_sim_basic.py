"""Basic behaviour of the simulated Asterisk: auth, info, originate, events websocket, hangup."""
import requests

from ariproxy import jsonutil

AUTH = ("asterisk", "asterisk")


def test_info_and_auth(sim):
    r = requests.get(sim.url + "/asterisk/info", auth=AUTH)
    assert r.status_code == 200
    assert r.json()["system"] == {"version": "22.10.1", "entity_id": "02:fc:00:00:00:01"}
    r = requests.get(sim.url + "/asterisk/info", params={"api_key": "asterisk:asterisk", "only": "build"})
    assert list(r.json()) == ["build"]
    r = requests.get(sim.url + "/asterisk/info", auth=("asterisk", "wrong"))
    assert r.status_code == 401
    assert r.headers["WWW-Authenticate"] == 'Basic realm="Asterisk REST Interface"'
    assert r.json() == {"message": "Authentication required"}


def test_originate_events_and_hangup(sim, sim_events):
    ev = sim_events(sim, "test")
    r = requests.post(sim.url + "/channels", params={"endpoint": "Local/1000@default", "app": "test",
                                                      "appArgs": "a,b"}, auth=AUTH)
    assert r.status_code == 200
    chan = r.json()
    assert chan["name"].endswith(";1") and chan["state"] == "Down"
    start = ev.wait_for("StasisStart")
    assert start["args"] == ["a", "b"] and start["channel"]["id"] == chan["id"]
    assert start["application"] == "test" and start["asterisk_id"] == sim.entity_id
    listed = requests.get(sim.url + "/channels", auth=AUTH).json()
    assert {c["name"][-2:] for c in listed} == {";1", ";2"}
    assert requests.delete(sim.url + "/channels/" + chan["id"], auth=AUTH).status_code == 204
    ev.wait_for("ChannelDestroyed", pred=lambda e: e["channel"]["id"] == chan["id"])
    assert requests.get(sim.url + "/channels/" + chan["id"], auth=AUTH).json() == {"message": "Channel not found"}


def test_rest_over_websocket(sim, sim_events):
    ev = sim_events(sim, "test")
    ev.send({"type": "RESTRequest", "transaction_id": "t", "request_id": "r1", "method": "GET", "uri": "asterisk/ping"})
    resp = ev.wait_for("RESTResponse")
    assert resp["status_code"] == 200 and resp["request_id"] == "r1" and resp["transaction_id"] == "t"
    assert jsonutil.loads(resp["message_body"])["asterisk_id"] == sim.entity_id


def test_ids_with_reserved_and_unicode_characters(sim):
    for ident in ("a b", "x/y", "ünï", "50%"):
        r = requests.post(sim.url + "/bridges", params={"bridgeId": ident}, auth=AUTH)
        assert r.json()["id"] == ident
        got = requests.get(sim.url + "/bridges/" + requests.utils.quote(ident, safe=""), auth=AUTH)
        assert got.status_code == 200 and got.json()["id"] == ident
    assert requests.get(sim.url + "/sounds/digits/1", auth=AUTH).json() == {"message": "Resource not found"}


def test_one_socket_for_two_apps_and_subscribe_all(sim, sim_events):
    multi = sim_events(sim, "multi1,multi2")
    observer = sim_events(sim, "observer", subscribe_all=True)
    names = [a["name"] for a in requests.get(sim.url + "/applications", auth=AUTH).json()]
    assert names == ["multi1", "multi2", "observer"]
    assert requests.get(sim.url + "/applications/observer", auth=AUTH).json()["channel_ids"] == [
        "__AST_CHANNEL_ALL_TOPIC"]
    requests.post(sim.url + "/channels", params={"endpoint": "Local/1000@default", "app": "multi2",
                                                  "channelId": "m1"}, auth=AUTH)
    start = multi.wait_for("StasisStart")
    assert start["application"] == "multi2"
    observer.wait_for("ChannelStateChange", pred=lambda e: e["channel"]["id"] == "m1")
    created = observer.wait_for("ChannelCreated")
    assert created["application"] == "observer"
    # Stasis events belong to the channel's application only
    assert "StasisStart" not in observer.types() and "ChannelCreated" not in multi.types()
