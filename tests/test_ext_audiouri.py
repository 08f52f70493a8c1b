"""``ariproxy.ext.audiouri``: what each function says, bad input refused, and every prompt name it
uses exists (the simulator's catalogue of Asterisk's core English sounds plays them all)."""
import datetime

import pytest

from ariproxy.errors import ValidationError
from ariproxy.ext import FINISHED, audiouri, play
from ariproxy.sim.model import SOUNDS
from tests.support.calls import answered_call, client, fast_proxy  # noqa: F401


def names(uris):
    assert all(u.startswith("sound:") for u in uris)
    return [u[len("sound:"):].replace("digits/", "") for u in uris]


@pytest.mark.parametrize("n, said", [
    (0, ["0"]), (7, ["7"]), (13, ["13"]), (20, ["20"]), (42, ["40", "2"]), (100, ["1", "hundred"]),
    (115, ["1", "hundred", "15"]), (1234, ["1", "thousand", "2", "hundred", "30", "4"]),
    (2000000, ["2", "million"]), (-5, ["minus", "5"]),
    (3000000017, ["3", "billion", "17"]),
])
def test_numbers(n, said):
    assert names(audiouri.number(n)) == said


@pytest.mark.parametrize("n, said", [
    (1, ["h-1"]), (3, ["h-3"]), (12, ["h-12"]), (20, ["h-20"]), (21, ["20", "h-1"]),
    (100, ["1", "h-hundred"]), (101, ["1", "hundred", "h-1"]), (1000, ["1", "h-thousand"]),
])
def test_ordinals(n, said):
    assert names(audiouri.ordinal(n)) == said


def test_digit_strings():
    assert names(audiouri.digits("40*#Ab")) == ["4", "0", "star", "pound", "letters/a", "letters/b"]
    assert names(audiouri.digits(507)) == ["5", "0", "7"]


def test_dates_and_times():
    # 3 March 2026 is a Tuesday (Asterisk's day-0 is Sunday, mon-0 January)
    assert names(audiouri.date(datetime.date(2026, 3, 3))) == ["day-2", "mon-2", "h-3", "20", "20", "6"]
    assert names(audiouri.date(datetime.date(2005, 12, 31)))[-3:] == ["2", "thousand", "5"]
    assert names(audiouri.date(datetime.date(1900, 1, 1)))[-2:] == ["19", "hundred"]
    assert names(audiouri.date(datetime.date(1907, 1, 1)))[-3:] == ["19", "oh", "7"]
    assert names(audiouri.time(datetime.time(14, 5))) == ["2", "oh", "5", "p-m"]
    assert names(audiouri.time(datetime.time(0, 0))) == ["12", "oclock", "a-m"]
    assert names(audiouri.time(datetime.time(9, 45))) == ["9", "40", "5", "a-m"]
    moment = datetime.datetime(2026, 3, 3, 12, 30)
    assert audiouri.datetime(moment) == audiouri.date(moment) + audiouri.time(moment)


@pytest.mark.parametrize("amount, said", [
    ("12.05", ["12", "dollars", "and", "5", "cents"]), (1, ["1", "letters/dollar"]),
    (0.01, ["1", "cent"]), (0, ["0", "dollars"]), ("2.999", ["3", "dollars"]),
    ("-1.5", ["minus", "1", "letters/dollar", "and", "50", "cents"]),
])
def test_money(amount, said):
    assert names(audiouri.money(amount)) == said


@pytest.mark.parametrize("call", [
    lambda: audiouri.number("12x"), lambda: audiouri.number(1.5), lambda: audiouri.number(True),
    lambda: audiouri.number(10 ** 12), lambda: audiouri.ordinal(0), lambda: audiouri.digits("1-2"),
    lambda: audiouri.digits(None), lambda: audiouri.date("2026-03-03"), lambda: audiouri.time(5),
    lambda: audiouri.datetime(datetime.date.today()), lambda: audiouri.money("lots"),
    lambda: audiouri.money(1, currency="EUR"),
])
def test_bad_input_is_refused(call):
    with pytest.raises(ValidationError):
        call()


def test_every_prompt_it_uses_exists_and_plays(fast_proxy, client):
    every = (audiouri.number(-987654321012) + audiouri.ordinal(999999999) + audiouri.ordinal(1000000)
             + audiouri.digits("0123456789*#abcdefghijklmnopqrstuvwxyz") + audiouri.money("-1.01")
             + audiouri.money(2.5) + audiouri.datetime(datetime.datetime(2026, 12, 31, 23, 59))
             + [u for d in range(7) for u in audiouri.date(datetime.date(2026, 3, 1 + d))]
             + [u for m in range(1, 13) for u in audiouri.date(datetime.date(2026, m, 1))])
    missing = sorted({u for u in every if u[len("sound:"):] not in SOUNDS})
    assert missing == []
    ch = answered_call(client)
    assert play(ch, audiouri.number(4711), audiouri.money("3.50"), timeout=10).status == FINISHED
    ch.hangup()
