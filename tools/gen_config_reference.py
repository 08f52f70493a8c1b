#!/usr/bin/env python3
"""Write the README's configuration reference from the daemon's option table (ariproxy.server.config.OPTIONS).

Every option: its INI section and key, command-line flag(s), environment variable(s), default and
description, between the README's ``<!-- config-reference:start -->`` / ``end`` markers.
``tests/test_docs.py`` fails when the README's table differs from what this writes.

Usage: python tools/gen_config_reference.py [--check]
"""
import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
README = os.path.join(REPO, "README.md")
START = "<!-- config-reference:start -->"
END = "<!-- config-reference:end -->"


def _default(option):
    if option.default is None:
        return "(unset)"
    if option.type is bool:
        return "`true`" if option.default else "`false`"
    if option.type is float and option.default == int(option.default):
        return "`%g`" % option.default
    return "`%s`" % option.default


def table():
    """The reference as markdown lines."""
    sys.path.insert(0, REPO)
    from ariproxy.server.config import OPTIONS
    lines = ["| option (`[section]` key) | flag | environment | default | what |", "|---|---|---|---|---|"]
    for o in OPTIONS:
        flags = [o.flag] + list(o.aliases) + ([o.short] if o.short else [])
        if o.type is bool:
            flags.append("--no-" + o.flag[2:])
        flag_text = ", ".join("`%s`" % f for f in flags)
        if o.metavar and o.type is not bool:
            flag_text = flag_text.replace("`%s`" % o.flag, "`%s %s`" % (o.flag, o.metavar), 1)
        what = o.help.replace("|", "\\|")
        if o.choices:
            what += " (one of %s)" % ", ".join("`%s`" % c for c in o.choices)
        lines.append("| `[%s]` `%s` | %s | %s | %s | %s |" % (o.section, o.key, flag_text,
                                                          ", ".join("`%s`" % e for e in o.env), _default(o), what))
    lines.append("")
    lines.append("Also read: `NATS_SERVICE_HOST` + `NATS_SERVICE_PORT_CLIENT` (Kubernetes, for `nats_url`), "
                 "`VERBOSE=true` (log level debug), `ARIPROXY_CONFIG` (the INI file), `ARIPROXY_SYSLOG_SOCKET` "
                 "(syslog socket, default `/dev/log`). Flags only: `--config PATH`, `--no-config`, "
                 "`--check-config`, `--daemon`, `--foreground`, `--verbose`, `--ping`, `--version`.")
    return lines


def render(text):
    start, end = text.index(START) + len(START), text.index(END)
    return text[:start] + "\n" + "\n".join(table()) + "\n" + text[end:]


def main(argv):
    with open(README, encoding="utf-8") as f:
        text = f.read()
    new = render(text)
    if "--check" in argv:
        if new != text:
            sys.exit("README.md's configuration reference is out of date: run python tools/gen_config_reference.py")
        return
    with open(README, "w", encoding="utf-8") as f:
        f.write(new)
    print("wrote the configuration reference (%d options) into %s" % (len(table()) - 4, README))


if __name__ == "__main__":
    main(sys.argv)
