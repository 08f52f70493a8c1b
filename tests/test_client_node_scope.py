"""A client without an application asking one node: only that node's servers answer, and the client
stops gathering as soon as they have (PROTOCOL.md 5: it counts the members matching the key's app and node).
"""
import gevent

from ariproxy.client import Client
from tests.support.wait import wait_for

NODE_B = "02:fc:00:00:00:02"


def test_list_for_a_node_without_an_app_waits_only_for_that_node(proxy_factory):
    a = proxy_factory()
    b = proxy_factory(nats=a, entity_id=NODE_B)
    # A long client timeout: counting every server would wait for B, which ignores the request.
    with Client(application=None, url=a.nats_url, timeout=30.0) as c:
        wait_for(lambda: len(c.nodes()) == 2, 5.0)
        ignored_before = b.server.stats["ignored"]
        with gevent.Timeout(10, AssertionError("the list waited for a server outside the key's node")):
            listed = c.modules.list(node=a.node)
            modules = c.modules.list(node=b.node)
        assert listed and all(h.node == a.node for h in listed)
        assert modules and all(h.node == b.node for h in modules)
        wait_for(lambda: b.server.stats["ignored"] > ignored_before, 5.0)
