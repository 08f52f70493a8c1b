"""Say things with Asterisk's standard English prompts: lists of ``sound:`` URIs to play.

Every function returns a new list of URIs (``["sound:digits/4", "sound:digits/hundred", ...]``) built
from the prompt names of Asterisk's core English sounds, ready for ``play()`` / ``prompt()`` or a
handle's ``play()``.  Nothing here does I/O or blocks.

    play(channel, audiouri.number(1234))            # one thousand two hundred thirty four
    play(channel, audiouri.digits("4711#"))         # four seven one one pound
    play(channel, audiouri.money("12.05"))          # twelve dollars and five cents
"""
import datetime as _dt
from decimal import Decimal, InvalidOperation, ROUND_HALF_UP

from ariproxy.errors import ValidationError

__all__ = ["number", "ordinal", "digits", "date", "time", "datetime", "money", "sound"]

_BIG = ((10 ** 9, "billion"), (10 ** 6, "million"), (1000, "thousand"))
_KEYS = {"*": "digits/star", "#": "digits/pound"}


def sound(*names):
    """``sound:`` URIs for prompt names (``sound("vm-intro", "beep")``)."""
    return ["sound:" + n for n in names]


def _whole(value, what):
    if isinstance(value, bool) or not isinstance(value, int):
        try:
            if isinstance(value, bool) or int(value) != value:
                raise ValueError
            value = int(value)
        except (TypeError, ValueError):
            raise ValidationError("%s must be a whole number, not %r" % (what, value), what) from None
    return value


def _words(n):
    """Prompt names for 0 <= n < 10**12."""
    if n == 0:
        return ["digits/0"]
    out = []
    for value, word in _BIG:
        if n >= value:
            out += _words(n // value) + ["digits/" + word]
            n %= value
    if n >= 100:
        out += ["digits/%d" % (n // 100), "digits/hundred"]
        n %= 100
    if n >= 20:
        out.append("digits/%d" % (n - n % 10))
        n %= 10
    if n:
        out.append("digits/%d" % n)
    return out


def number(n):
    """A whole number (negative too, below a trillion): 1234 -> one thousand two hundred thirty four."""
    n = _whole(n, "number")
    if abs(n) >= 10 ** 12:
        raise ValidationError("number too large to say: %d" % n, "number")
    names = (["digits/minus"] + _words(-n)) if n < 0 else _words(n)
    return sound(*names)


def ordinal(n):
    """An ordinal from 1 below a billion: 21 -> twenty first, 100 -> one hundredth."""
    n = _whole(n, "ordinal")
    if not 1 <= n < 10 ** 9:
        raise ValidationError("ordinals are said for 1 up to 999,999,999, not %d" % n, "ordinal")
    names = _words(n)
    names[-1] = "digits/h-" + names[-1][len("digits/"):]
    return sound(*names)


def digits(text):
    """A digit string one key at a time: digits, ``*`` (star), ``#`` (pound) and letters a-z."""
    if not isinstance(text, (str, int)) or isinstance(text, bool):
        raise ValidationError("digits takes a string of digits, not %r" % (text,), "digits")
    names = []
    for ch in str(text):
        if ch.isdigit() and ch.isascii():
            names.append("digits/" + ch)
        elif ch in _KEYS:
            names.append(_KEYS[ch])
        elif ch.isascii() and ch.isalpha():
            names.append("letters/" + ch.lower())
        else:
            raise ValidationError("cannot say %r as a key (digits, *, #, a-z)" % ch, "digits")
    return sound(*names)


def _year(y):
    if 2000 <= y <= 2009 or y < 1100 or y > 9999:
        return _words(y)
    head, tail = divmod(y, 100)
    if tail == 0:
        return _words(head) + ["digits/hundred"]
    if tail < 10:
        return _words(head) + ["digits/oh", "digits/%d" % tail]
    return _words(head) + _words(tail)


def date(value):
    """A date (``datetime.date``/``datetime``): weekday, month, ordinal day, year:
    2026-03-03 -> tuesday march third twenty twenty six."""
    if not isinstance(value, _dt.date):
        raise ValidationError("date takes a datetime.date, not %r" % (value,), "date")
    weekday = (value.weekday() + 1) % 7    # Asterisk's day-0 is Sunday
    names = ["digits/day-%d" % weekday, "digits/mon-%d" % (value.month - 1)]
    uris = sound(*names) + ordinal(value.day)
    return uris + sound(*_year(value.year))


def time(value):
    """A time of day (``datetime.time``/``datetime``) on the 12-hour clock:
    14:05 -> two oh five p m, 9:00 -> nine o'clock a m."""
    if not isinstance(value, (_dt.time, _dt.datetime)):
        raise ValidationError("time takes a datetime.time, not %r" % (value,), "time")
    hour = value.hour % 12 or 12
    names = ["digits/%d" % hour]
    if value.minute == 0:
        names.append("digits/oclock")
    elif value.minute < 10:
        names += ["digits/oh", "digits/%d" % value.minute]
    else:
        names += _words(value.minute)
    names.append("digits/a-m" if value.hour < 12 else "digits/p-m")
    return sound(*names)


def datetime(value):
    """A ``datetime``: its date, then its time."""
    if not isinstance(value, _dt.datetime):
        raise ValidationError("datetime takes a datetime.datetime, not %r" % (value,), "datetime")
    return date(value) + time(value)


def money(amount, currency="USD"):
    """An amount of US dollars (a number or a string such as ``"12.05"``), rounded to the cent:
    12.05 -> twelve dollars and five cents, 1 -> one dollar."""
    if currency not in ("USD", "usd", "$"):
        raise ValidationError("only US dollars are said (currency USD), not %r" % (currency,), "currency")
    try:
        cents_total = int((Decimal(str(amount)) * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    except (InvalidOperation, ValueError):
        raise ValidationError("not an amount of money: %r" % (amount,), "amount") from None
    names = []
    if cents_total < 0:
        names.append("digits/minus")
        cents_total = -cents_total
    dollars, cents = divmod(cents_total, 100)
    if dollars >= 10 ** 12:
        raise ValidationError("amount too large to say: %r" % (amount,), "amount")
    if dollars or not cents:
        names += _words(dollars) + (["letters/dollar"] if dollars == 1 else ["dollars"])
    if dollars and cents:
        names.append("and")
    if cents:
        names += _words(cents) + (["cent"] if cents == 1 else ["cents"])
    return sound(*names)
