"""The daemon's configuration: precedence, validation, the sample file, --check-config masking."""
import configparser
import os
import subprocess
import sys

import pytest

from ariproxy.server.config import (DEFAULT_NATS_URL, OPTIONS, ConfigError, load_config)
from tests.support.secrets import ARI_PASSWORD as SECRET, NATS_PASSWORD as NATS_SECRET

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SAMPLE = os.path.join(REPO, "conf", "ari-proxy.conf")


def write(tmp_path, text, name="ari-proxy.conf"):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_defaults_without_any_source():
    cfg = load_config(["--no-config"], environ={})
    assert cfg.application == "default"
    assert cfg.prefix == "ari."
    assert cfg.announce_interval == 60.0
    assert cfg.ari_url is None and not cfg.ari_configured
    assert cfg.nats_url is None and not cfg.nats_configured
    assert all(source == "default" for source in cfg.sources.values())
    assert cfg.server_kwargs()["nats_url"] == DEFAULT_NATS_URL


def test_precedence_defaults_file_env_flags(tmp_path):
    path = write(tmp_path, "[ari]\napplication = fromfile\nari_username = fileuser\n"
                           "[nats]\nprefix = file.\n[server]\nmax_concurrent = 7\nannounce_interval = 5\n")
    environ = {"ARI_APPLICATION": "fromenv", "ARIPROXY_PREFIX": "env.", "ARIPROXY_MAX_CONCURRENT": "8"}
    cfg = load_config(["--config", path, "--application", "fromflag", "--max-concurrent", "9"], environ=environ)
    assert (cfg.application, cfg.sources["application"]) == ("fromflag", "flag --application")
    assert (cfg.max_concurrent, cfg.sources["max_concurrent"]) == (9, "flag --max-concurrent")
    assert (cfg.prefix, cfg.sources["prefix"]) == ("env.", "env ARIPROXY_PREFIX")
    assert (cfg.ari_username, cfg.sources["ari_username"]) == ("fileuser", "file %s" % path)
    assert cfg.announce_interval == 5.0
    assert (cfg.entity_check_interval, cfg.sources["entity_check_interval"]) == (10.0, "default")
    # env over file when no flag
    cfg = load_config(["--config", path], environ=environ)
    assert cfg.application == "fromenv" and cfg.max_concurrent == 8
    # file over defaults when no env
    cfg = load_config(["--config", path], environ={})
    assert cfg.application == "fromfile" and cfg.prefix == "file." and cfg.max_concurrent == 7


def test_go_reference_environment_names():
    environ = {"ARI_APPLICATION": "goapp", "ARI_USERNAME": "u", "ARI_PASSWORD": SECRET,
               "ARI_HTTP_URL": "http://10.0.0.1:8088/ari", "ARI_WEBSOCKET_URL": "ws://10.0.0.1:8088/ari/events",
               "NATS_URL": "nats://10.0.0.2:4222", "NATS_PREFIX": "x.", "VERBOSE": "true"}
    kwargs = load_config(["--no-config"], environ=environ).server_kwargs()
    assert kwargs["application"] == "goapp"
    assert (kwargs["ari_username"], kwargs["ari_password"]) == ("u", SECRET)
    assert kwargs["ari_url"] == "http://10.0.0.1:8088/ari"
    assert kwargs["ari_ws_url"] == "ws://10.0.0.1:8088/ari/events"
    assert kwargs["nats_url"] == "nats://10.0.0.2:4222"
    assert kwargs["prefix"] == "x."
    assert load_config(["--no-config"], environ=environ).log_level == "debug"
    # Kubernetes service variables, as the Go server reads them
    cfg = load_config(["--no-config"], environ={"NATS_SERVICE_HOST": "nats.svc", "NATS_SERVICE_PORT_CLIENT": "4333"})
    assert cfg.nats_url == "nats://nats.svc:4333"
    # the project's own name wins over the alias
    cfg = load_config(["--no-config"], environ={"ARIPROXY_PREFIX": "a.", "NATS_PREFIX": "b."})
    assert cfg.prefix == "a."


def test_config_file_lookup_order(tmp_path):
    first = write(tmp_path, "[ari]\napplication = first\n", "first.conf")
    second = write(tmp_path, "[ari]\napplication = second\n", "second.conf")
    missing = str(tmp_path / "missing.conf")
    assert load_config([], environ={}, search_paths=(missing, second, first)).application == "second"
    assert load_config([], environ={"ARIPROXY_CONFIG": first}, search_paths=(second,)).application == "first"
    assert load_config(["--no-config"], environ={}, search_paths=(second,)).application == "default"
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_config(["--config", missing], environ={})


@pytest.mark.parametrize("argv, message", [
    (["--ari-url", "ftp://host/ari"], "ari_url .*bad URL"),
    (["--ari-url", "not a url"], "ari_url .*bad URL"),
    (["--ari-ws-url", "http://h:8088/ari/events"], "ari_ws_url .*ws|wss"),
    (["--nats-url", "nats://ok:4222,http://bad:1"], "nats_url .*bad URL"),
    (["--nats-url", "nats://h:99999"], "nats_url .*Port"),
    (["-a", "my.app"], "application .*must not contain"),
    (["-a", "app>"], "application .*must not contain"),
    (["-a", "my app"], "application .*must not contain"),
    (["--prefix", "ari"], "prefix .*end with a dot"),
    (["--prefix", "a*."], "prefix .*must not contain"),
    (["--announce-interval", "-1"], "announce_interval .*positive"),
    (["--entity-check-interval", "0"], "entity_check_interval .*positive"),
    (["--shutdown-timeout", "-0.5"], "shutdown_timeout .*negative"),
    (["--max-concurrent", "0"], "max_concurrent .*at least 1"),
    (["--max-concurrent", "many"], "max_concurrent .*expected int"),
    (["--sim-port", "70000"], "sim_port .*port"),
])
def test_invalid_values_are_refused_with_their_source(argv, message):
    with pytest.raises(ConfigError, match=message) as info:
        load_config(argv + ["--no-config"], environ={})
    assert "flag --" in str(info.value)


def test_invalid_file_and_env_values_name_their_source(tmp_path):
    path = write(tmp_path, "[server]\nannounce_interval = soon\n")
    with pytest.raises(ConfigError, match="file %s" % path):
        load_config(["--config", path], environ={})
    with pytest.raises(ConfigError, match="env ARI_APPLICATION"):
        load_config(["--no-config"], environ={"ARI_APPLICATION": "a.b"})
    with pytest.raises(ConfigError, match="unknown option 'aplication'"):
        load_config(["--config", write(tmp_path, "[ari]\naplication = x\n", "typo.conf")], environ={})
    with pytest.raises(ConfigError, match=r"unknown section \[asterisk\]"):
        load_config(["--config", write(tmp_path, "[asterisk]\nx = 1\n", "sec.conf")], environ={})
    with pytest.raises(ConfigError, match="expected bool"):
        load_config(["--no-config"], environ={"ARIPROXY_EXIT_ON_ENTITY_CHANGE": "maybe"})


def test_sample_config_lists_every_option_with_its_default():
    parser = configparser.ConfigParser(interpolation=None, comment_prefixes=("#",))
    with open(SAMPLE) as f:
        # the sample shows each option commented out as ";key = default": read them as settings
        text = "".join(line[1:] if line.startswith(";") else line for line in f)
    parser.read_string(text)
    for option in OPTIONS:
        assert parser.has_option(option.section, option.key), "sample lacks [%s] %s" % (option.section, option.key)
        if option.default is not None:
            shown = parser.get(option.section, option.key)
            assert load_config(["--no-config"], environ={option.env[0]: shown}).values[option.key] == option.default
    # and the sample itself, as shipped (all commented), loads to the defaults
    assert load_config(["--config", SAMPLE], environ={}).application == "default"


def test_bools_from_every_source(tmp_path):
    path = write(tmp_path, "[server]\nexit_on_entity_change = yes\n")
    assert load_config(["--config", path], environ={}).exit_on_entity_change is True
    assert load_config(["--config", path, "--no-exit-on-entity-change"], environ={}).exit_on_entity_change is False
    assert load_config(["--no-config"], environ={"ARIPROXY_EXIT_ON_ENTITY_CHANGE": "1"}).exit_on_entity_change


def check_config(args, env_extra=None, config=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ARI", "NATS", "MESSAGEBUS", "VERBOSE"))}
    env.update(env_extra or {})
    return subprocess.run([sys.executable, "-m", "ariproxy.server.daemon", "--check-config"] + args,
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=30)


def test_check_config_masks_secrets_and_shows_sources(tmp_path):
    path = write(tmp_path, "[ari]\nari_password = %s\nari_url = http://admin:%s@10.1.1.1:8088/ari\n"
                 % (SECRET, SECRET))
    result = check_config(["--config", path, "--nats-url", "nats://user:%s@127.0.0.1:4222" % NATS_SECRET],
                          env_extra={"ARI_APPLICATION": "envapp"})
    assert result.returncode == 0, result.stderr
    out = result.stdout + result.stderr
    assert SECRET not in out and NATS_SECRET not in out
    assert "ari_password = ***    ; file %s" % path in result.stdout
    assert "nats_url = nats://user:***@127.0.0.1:4222    ; flag --nats-url" in result.stdout
    assert "application = envapp    ; env ARI_APPLICATION" in result.stdout
    assert "prefix = ari.    ; default" in result.stdout


def test_check_config_invalid_exits_nonzero_with_a_clear_message():
    result = check_config(["--no-config", "--announce-interval", "-3"])
    assert result.returncode == 2
    assert "configuration error: announce_interval (from flag --announce-interval)" in result.stderr
    assert result.stdout == ""


def test_events_keepalive_and_backlog_options_reach_the_server(tmp_path):
    path = tmp_path / "c.conf"
    path.write_text("[ari]\nari_url = http://127.0.0.1:1/ari\nevents_ping_interval = 0.25\n")
    cfg = load_config(["--config", str(path), "--events-pong-timeout", "2"],
                      environ={"ARIPROXY_EVENTS_MAX_BACKLOG": "1048576"})
    kwargs = cfg.server_kwargs()
    assert kwargs["events_ping_interval"] == 0.25 and kwargs["events_pong_timeout"] == 2.0
    assert kwargs["events_max_backlog"] == 1048576
    defaults = load_config(["--no-config", "--ari-url", "http://127.0.0.1:1/ari"], environ={}).server_kwargs()
    assert (defaults["events_ping_interval"], defaults["events_pong_timeout"]) == (0.5, 1.0)


def test_intake_and_nats_keepalive_options_reach_the_server(tmp_path):
    path = tmp_path / "c.conf"
    path.write_text("[nats]\nnats_intake_connections = 2\n[server]\nmax_request_bytes = 2097152\n")
    cfg = load_config(["--config", str(path), "--ari-url", "http://127.0.0.1:1/ari", "--nats-ping-interval",
                       "1.5"], environ={})
    kwargs = cfg.server_kwargs()
    assert (kwargs["nats_intake_connections"], kwargs["max_request_bytes"], kwargs["nats_ping_interval"]) == (
        2, 2097152, 1.5)
    defaults = load_config(["--no-config", "--ari-url", "http://127.0.0.1:1/ari"], environ={}).server_kwargs()
    assert (defaults["nats_intake_connections"], defaults["max_request_bytes"], defaults["nats_ping_interval"]) == (
        8, 64 * 1024 * 1024, 5.0)


@pytest.mark.parametrize("args, message", [
    (["--nats-intake-connections", "0"], "nats_intake_connections (from flag --nats-intake-connections): must be 1 to 16"),
    (["--nats-intake-connections", "17"], "must be 1 to 16, got 17"),
    (["--max-request-bytes", "1000"], "max_request_bytes (from flag --max-request-bytes): must be at least 1048576"),
    (["--nats-ping-interval", "0"], "nats_ping_interval (from flag --nats-ping-interval): must be a positive"),
])
def test_intake_and_nats_keepalive_options_are_checked(args, message):
    result = check_config(["--no-config", "--ari-url", "http://127.0.0.1:1/ari"] + args)
    assert result.returncode == 2 and message in result.stderr, result.stderr
