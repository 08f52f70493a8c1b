"""DialogBindings: the bounded table of which dialogs follow which entities."""
from ariproxy.protocol import Key
from ariproxy.server import DialogBindings


def test_bind_lookup_unbind_forget():
    t = DialogBindings()
    assert t.bind("d1", "channel", "c1") and t.bind("d2", "channel", "c1") and t.bind("d1", "bridge", "b1")
    assert not t.bind("", "channel", "c1") and not t.bind("d1", "channel", "")
    assert t.dialogs_for([Key("channel", "c1"), Key("bridge", "b1"), Key("playback", "p")]) == ["d1", "d2"] \
        or t.dialogs_for([Key("channel", "c1"), Key("bridge", "b1")]) == ["d2", "d1"]
    assert t.unbind("d2", "channel", "c1") and not t.unbind("d2", "channel", "c1")
    assert t.entity_dialogs("channel", "c1") == {"d1"}
    assert t.forget("channel", "c1") and not t.forget("channel", "c1")
    assert len(t) == 1
    t.clear()
    assert len(t) == 0 and t.dialogs_for([Key("bridge", "b1")]) == []


def test_table_is_bounded_oldest_entity_goes_first():
    t = DialogBindings(max_entities=3)
    for i in range(5):
        t.bind("d", "channel", "c%d" % i)
    assert len(t) == 3 and t.evicted == 2
    assert t.entity_dialogs("channel", "c0") == set() and t.entity_dialogs("channel", "c4") == {"d"}
