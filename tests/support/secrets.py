"""Every password and token the test suite uses as an ARI or NATS credential, in one place.

The suite-wide secret check (``tests/support/secretcheck.py``) fails any test in whose output one of
these shows up: captured stdout/stderr, log records, the failure text, log files its processes wrote,
nats-server logs and the output of subprocesses.  Tests take their credentials from here, so a new
test that leaks one is caught without writing its own assertion.

The values are distinctive on purpose (a fixed, random-looking tail): none can appear in any output
by accident, so a hit is always a leak.  A test may build other wrong credentials from them
(``"wrong-" + ARI_PASSWORD``): those contain the secret and are covered too.

Not covered, on purpose: ``asterisk``, the documented default ARI password (``asterisk:asterisk``,
what the simulator accepts by default and the daemon's sample configuration names).  It is public,
the daemon deliberately does not redact it (it would mangle every "asterisk" in the log), and the
word is everywhere in ARI output.  Instead, the proxies of ``tests/support/proxy.py`` log in to
their simulator as :data:`PROXY_ARI_USER` with :data:`ARI_PASSWORD`, and their own nats-server
requires :data:`NATS_PASSWORD` from the server under test, so every in-process server the suite
starts carries checked credentials.
"""

__all__ = ["ARI_PASSWORD", "NATS_PASSWORD", "NATS_TOKEN", "WRONG_PASSWORD", "PROXY_ARI_USER",
           "PROXY_NATS_USER", "LITERAL_SECRETS", "SECRETS"]

#: The ARI password of every simulator that requires one (and of the proxies' simulator login).
ARI_PASSWORD = "ari-pw-Xq7Kz29vLm"
#: The NATS password of every nats-server with user/password authorization.
NATS_PASSWORD = "nats-pw-Vb3m9RtEw"
#: The NATS token of every nats-server with token authorization.
NATS_TOKEN = "nats-tok-Jc5w8YpDq"
#: A credential that is refused (still a password the user typed: it must not leak either).
WRONG_PASSWORD = "wrong-pw-Hn4s6GfAz"

#: The ARI user the proxies of tests/support/proxy.py log in as (password :data:`ARI_PASSWORD`).
PROXY_ARI_USER = "ariproxy-test"
#: The NATS user the server of a proxy connects as to its own nats-server (password :data:`NATS_PASSWORD`).
PROXY_NATS_USER = "ariproxy-server"

#: Credentials written literally in tests/test_fault_fixes.py, which tests the masking of exactly these
#: shapes (a raw ``@``, ``:`` and ``/`` in a password, a percent-encoded ``@``); kept as they are there.
LITERAL_SECRETS = {
    "FAULT_FIXES_NATS_AT": "P@ssLeak",
    "FAULT_FIXES_NATS_SPECIAL": "p@ss:w/rd-Leak",
    "FAULT_FIXES_NATS_WRONG": "wrong-Leak",
    "FAULT_FIXES_ARI_AT": "s@cret-Leak",
    "FAULT_FIXES_MASK": "Pw-secret",
    "FAULT_FIXES_MASK_TOKEN": "tok-secret",
}

#: name -> value of every secret the check looks for.
SECRETS = dict(ARI_PASSWORD=ARI_PASSWORD, NATS_PASSWORD=NATS_PASSWORD, NATS_TOKEN=NATS_TOKEN,
               WRONG_PASSWORD=WRONG_PASSWORD, **LITERAL_SECRETS)
