"""Config loading, validation messages, env overrides and reload merging."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from phoenix.cli import app
from phoenix.config import (
    Venue,
    load_config,
    load_credentials,
    merge_reload,
    parse_config,
    reloadable_keys,
)
from phoenix.errors import ConfigError, SecretError

REPO = Path(__file__).resolve().parents[2]
BAD = Path(__file__).parent / "bad"

SPEC_EXAMPLE = """
global:
  total_notional_max: 4000000  # $4M
  quote_interval_ms: 200
symbols:
  - symbol: ETHUSDC
    net_max: 0.20
    min_spread: 0.0006
  - symbol: SOLUSDC
    net_max: 1.8
    min_spread: 0.0012
"""


def test_spec_example_loads_unchanged_with_defaults(tmp_path: Path) -> None:
    path = tmp_path / "phoenix.yaml"
    path.write_text(SPEC_EXAMPLE)
    cfg = load_config(path, env={})
    assert cfg.global_.total_notional_max == 4_000_000
    assert cfg.global_.quote_interval_ms == 200
    assert cfg.global_.venue is Venue.SIM
    eth = cfg.symbol("ETHUSDC")
    assert (eth.net_max, eth.min_spread) == (0.20, 0.0006)
    assert cfg.symbol("SOLUSDC").net_max == 1.8
    # spec defaults fill the rest
    assert (eth.near_layers, eth.far_layers, eth.far_layer_size) == (8, 16, 0.08)
    assert (eth.far_band_min_pct, eth.far_band_max_pct) == (4.8, 12.0)
    assert (eth.pinning_ratio, eth.pinning_size_mult, eth.halt_seconds) == (0.70, 2.3, 300)
    g = eth.grinding
    assert (g.position_ratio, g.vol_max_pct, g.take_fraction, g.reentry_bps, g.reentry_size_mult) == (
        0.87,
        0.38,
        0.075,
        4.2,
        2.1,
    )
    assert cfg.global_.stop_loss_pct == 20 and eth.cancel_budget_per_min == 50
    assert cfg.global_.metrics.host == "127.0.0.1" and cfg.global_.metrics.port == 8080


@pytest.mark.parametrize("name", ["phoenix.yaml", "phoenix.testnet.yaml", "phoenix.mainnet.yaml"])
def test_shipped_configs_are_valid(name: str) -> None:
    cfg = load_config(REPO / "configs" / name, env={})
    assert [s.symbol for s in cfg.symbols] == ["ETHUSDC", "SOLUSDC", "XRPUSDC", "BTCUSDC"]


def test_shipped_variants_differ_only_by_venue() -> None:
    base = load_config(REPO / "configs" / "phoenix.yaml", env={})
    for name, venue in (("phoenix.testnet.yaml", Venue.TESTNET), ("phoenix.mainnet.yaml", Venue.MAINNET)):
        other = load_config(REPO / "configs" / name, env={})
        assert other.global_.venue is venue
        assert (
            other.model_copy(update={"global_": other.global_.model_copy(update={"venue": Venue.SIM})})
            == base
        )


def _expected(path: Path) -> str:
    first = path.read_text().splitlines()[0]
    assert first.startswith("# expect: ")
    return first.removeprefix("# expect: ")


BAD_FILES = sorted(BAD.glob("*.yaml"))


def test_at_least_ten_bad_configs() -> None:
    assert len(BAD_FILES) >= 10


@pytest.mark.parametrize("path", BAD_FILES, ids=lambda p: p.stem)
def test_bad_config_gives_one_clear_message(path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(path, env={})
    problems = info.value.problems
    assert len(problems) == 1, problems
    assert _expected(path) in problems[0], problems[0]
    assert str(path) in str(info.value)


def test_bad_value_is_shown_but_never_for_unknown_keys() -> None:
    with pytest.raises(ConfigError) as info:
        load_config(BAD / "01_net_max_negative.yaml", env={})
    assert "-0.2" in info.value.problems[0] and "greater than 0" in info.value.problems[0]
    with pytest.raises(ConfigError) as info:
        load_config(BAD / "16_api_key_in_file.yaml", env={})
    assert "abcdef123456" not in str(info.value)


def test_env_override_changes_nested_per_symbol_value(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(SPEC_EXAMPLE)
    env = {
        "PHOENIX_SYMBOLS__ETHUSDC__NET_MAX": "0.35",
        "PHOENIX_SYMBOLS__ETHUSDC__GRINDING__MAX_PER_HOUR": "3",
        "PHOENIX_GLOBAL__METRICS__PORT": "9100",
        "PHOENIX_GLOBAL__QUOTE_INTERVAL_MS": "250",
        "PHOENIX_API_KEY": "not-a-config-key",
    }
    cfg = load_config(path, env=env)
    assert cfg.symbol("ETHUSDC").net_max == 0.35
    assert cfg.symbol("ETHUSDC").grinding.max_per_hour == 3
    assert cfg.symbol("SOLUSDC").net_max == 1.8
    assert cfg.global_.metrics.port == 9100
    assert cfg.global_.quote_interval_ms == 250


def test_env_override_errors_name_the_variable(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(SPEC_EXAMPLE)
    with pytest.raises(ConfigError, match="PHOENIX_SYMBOLS__DOGEUSDC__NET_MAX: no symbol 'DOGEUSDC'"):
        load_config(path, env={"PHOENIX_SYMBOLS__DOGEUSDC__NET_MAX": "1"})
    with pytest.raises(ConfigError, match=r"symbols\[ETHUSDC\]\.net_max"):
        load_config(path, env={"PHOENIX_SYMBOLS__ETHUSDC__NET_MAX": "-1"})


def test_notional_limit_only_tightens() -> None:
    cfg = parse_config({"symbols": [{"symbol": "ETHUSDC", "net_max": 2.0, "net_max_notional_usdc": 3000}]})
    eth = cfg.symbol("ETHUSDC")
    assert eth.net_max_at(3000.0) == pytest.approx(1.0)
    assert eth.net_max_at(1000.0) == 2.0  # the base limit still binds; never looser than written


def test_merge_reload_applies_only_reloadable_fields() -> None:
    old = parse_config({"symbols": [{"symbol": "ETHUSDC", "net_max": 0.2}]})
    new = parse_config(
        {
            "global": {"quote_interval_ms": 500, "state_dir": "elsewhere"},
            "symbols": [{"symbol": "ETHUSDC", "net_max": 0.1, "vol_window_s": 900, "short_vol_window_s": 30}],
        }
    )
    merged, ignored = merge_reload(old, new)
    assert merged.global_.quote_interval_ms == 500
    assert merged.symbol("ETHUSDC").net_max == 0.1
    assert merged.global_.state_dir == "state"
    assert merged.symbol("ETHUSDC").vol_window_s == 1800
    assert set(ignored) == {
        "global.state_dir",
        "symbols[ETHUSDC].vol_window_s",
        "symbols[ETHUSDC].short_vol_window_s",
    }
    assert "net_max" in reloadable_keys()["symbols[]"]


def test_credentials_only_from_env_or_files(tmp_path: Path) -> None:
    assert load_credentials({}) is None
    secret_file = tmp_path / "secret"
    secret_file.write_text("s3cr3t-value\n")
    creds = load_credentials({"PHOENIX_API_KEY": "key-123456", "PHOENIX_API_SECRET_FILE": str(secret_file)})
    assert creds is not None and creds.api_secret == "s3cr3t-value"
    assert "s3cr3t" not in repr(creds) and "key-123456" not in str(creds)
    with pytest.raises(SecretError, match="PHOENIX_API_SECRET"):
        load_credentials({"PHOENIX_API_KEY": "key-123456"})
    with pytest.raises(SecretError, match="cannot read secret file"):
        load_credentials({"PHOENIX_API_KEY": "k" * 8, "PHOENIX_API_SECRET_FILE": str(tmp_path / "missing")})


def test_cli_config_check_and_show(monkeypatch: pytest.MonkeyPatch) -> None:
    runner = CliRunner()
    ok = runner.invoke(app, ["config", "check", str(REPO / "configs" / "phoenix.yaml")])
    assert ok.exit_code == 0, ok.output
    assert "OK" in ok.output
    bad = runner.invoke(app, ["config", "check", str(BAD / "04_far_band_inverted.yaml")])
    assert bad.exit_code == 1
    assert "far band inverted" in bad.output
    monkeypatch.setenv("PHOENIX_API_KEY", "supersecretkey123")
    monkeypatch.setenv("PHOENIX_API_SECRET", "supersecretvalue456")
    monkeypatch.setenv("PHOENIX_SYMBOLS__BTCUSDC__NET_MAX", "0.05")
    shown = runner.invoke(app, ["config", "show", str(REPO / "configs" / "phoenix.yaml")])
    assert shown.exit_code == 0, shown.output
    assert "supersecret" not in shown.output
    assert "credentials: '***'" in shown.output
    assert "net_max: 0.05" in shown.output
