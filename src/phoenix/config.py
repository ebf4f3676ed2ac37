"""Typed configuration: YAML file + ``PHOENIX_...`` environment overrides, validated, hot-reloadable.

Limits are the user's choices; validation only rejects, it never substitutes a riskier value.
Exchange filters (tick, step, min qty, min notional) are deliberately absent: they come from exchangeInfo.
Fields whose ``json_schema_extra`` has ``reloadable: True`` may change at runtime via hot reload.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from phoenix.errors import ConfigError, SecretError

RELOADABLE: dict[str, Any] = {"reloadable": True}
ENV_PREFIX = "PHOENIX_"


class Venue(StrEnum):
    """Where orders go. ``sim`` starts the embedded simulated exchange on 127.0.0.1."""

    SIM = "sim"
    TESTNET = "testnet"
    MAINNET = "mainnet"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


class VenueUrls(_Model):
    """Optional endpoint overrides; unset fields use the venue's defaults (see phoenix.exchange.binance)."""

    rest_url: str | None = None
    ws_public_url: str | None = None
    ws_market_url: str | None = None
    ws_private_url: str | None = None
    ws_api_url: str | None = None


class SimSettings(_Model):
    """The embedded simulated exchange used when ``venue: sim``."""

    feed: Literal["synthetic", "replay"] = "synthetic"
    replay_file: str | None = None
    speed: float = Field(1.0, gt=0, le=1000)
    seed: int = 7
    balance_usdc: float = Field(100_000.0, gt=0)
    host: str = "127.0.0.1"
    port: int = Field(0, ge=0, le=65535)
    maker_fee_bps: float = Field(0.0, ge=-10, le=100)
    taker_fee_bps: float = Field(2.75, ge=-10, le=100)


class MetricsSettings(_Model):
    """Prometheus ``/metrics`` and ``/health`` HTTP endpoint."""

    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)


class GlobalConfig(_Model):
    """Account-wide settings."""

    venue: Venue = Venue.SIM
    urls: VenueUrls = VenueUrls()
    strategy: str = Field("asmm", json_schema_extra=RELOADABLE)
    total_notional_max: float = Field(4_000_000.0, gt=0, le=1e9, json_schema_extra=RELOADABLE)
    quote_interval_ms: int = Field(200, ge=10, le=60_000, json_schema_extra=RELOADABLE)
    stop_loss_pct: float = Field(20.0, gt=0, le=90, json_schema_extra=RELOADABLE)
    stale_book_ms: int = Field(1000, ge=50, le=60_000, json_schema_extra=RELOADABLE)
    orders_per_10s_max: int = Field(240, ge=1, le=300, json_schema_extra=RELOADABLE)
    rate_limit_usage_max_pct: float = Field(80.0, gt=0, le=95, json_schema_extra=RELOADABLE)
    deadman_countdown_ms: int = Field(30_000, ge=5_000, le=600_000)
    deadman_refresh_s: float = Field(10.0, gt=0, le=300)
    reconcile_interval_s: float = Field(30.0, ge=1, le=3600, json_schema_extra=RELOADABLE)
    snapshot_interval_s: float = Field(300.0, ge=5, le=86_400)
    state_dir: str = "state"
    metrics: MetricsSettings = MetricsSettings()
    sim: SimSettings = SimSettings()
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field("INFO", json_schema_extra=RELOADABLE)
    log_format: Literal["json", "console"] = "json"
    recv_window_ms: int = Field(5000, ge=100, le=60_000)
    leverage: int = Field(5, ge=1, le=125)

    @model_validator(mode="after")
    def _check_intervals(self) -> GlobalConfig:
        if self.deadman_refresh_s * 1000 >= self.deadman_countdown_ms:
            raise ValueError(
                f"deadman_refresh_s={self.deadman_refresh_s} must be shorter than "
                f"deadman_countdown_ms={self.deadman_countdown_ms} (the switch would fire between refreshes)"
            )
        return self


class GrindingConfig(_Model):
    """Inventory grinding (spec §risk): reduce a large calm position by taker + maker re-entry."""

    enabled: bool = Field(True, json_schema_extra=RELOADABLE)
    position_ratio: float = Field(0.87, gt=0, le=1, json_schema_extra=RELOADABLE)
    vol_max_pct: float = Field(0.38, gt=0, le=10, json_schema_extra=RELOADABLE)
    take_fraction: float = Field(0.075, gt=0, le=0.5, json_schema_extra=RELOADABLE)
    reentry_bps: float = Field(4.2, ge=0, le=100, json_schema_extra=RELOADABLE)
    reentry_size_mult: float = Field(2.1, gt=0, le=10, json_schema_extra=RELOADABLE)
    max_per_hour: int = Field(6, ge=0, le=120, json_schema_extra=RELOADABLE)


class SymbolConfig(_Model):
    """Per-symbol risk and strategy choices. Sizes in base units, spreads as fractions or bps as named."""

    symbol: str = Field(min_length=3, max_length=20)
    enabled: bool = True
    net_max: float = Field(gt=0, le=1e7, json_schema_extra=RELOADABLE)
    net_max_notional_usdc: float | None = Field(None, gt=0, le=1e9, json_schema_extra=RELOADABLE)
    min_spread: float = Field(0.0006, gt=0, le=0.05, json_schema_extra=RELOADABLE)
    near_layers: int = Field(8, ge=1, le=50, json_schema_extra=RELOADABLE)
    far_layers: int = Field(16, ge=0, le=50, json_schema_extra=RELOADABLE)
    near_layer_size: float | None = Field(None, gt=0, json_schema_extra=RELOADABLE)
    near_layer_notional_mult: float = Field(1.5, ge=1, le=100, json_schema_extra=RELOADABLE)
    near_layer_size_growth: float = Field(1.15, ge=1, le=3, json_schema_extra=RELOADABLE)
    near_layer_spacing_bps: float = Field(2.0, gt=0, le=500, json_schema_extra=RELOADABLE)
    far_layer_size: float = Field(0.08, gt=0, json_schema_extra=RELOADABLE)
    far_band_min_pct: float = Field(4.8, gt=0, le=50, json_schema_extra=RELOADABLE)
    far_band_max_pct: float = Field(12.0, gt=0, le=50, json_schema_extra=RELOADABLE)
    skew_bps_at_net_max: float = Field(10.0, ge=0, le=1000, json_schema_extra=RELOADABLE)
    funding_bias_weight: float = Field(1.0, ge=0, le=100, json_schema_extra=RELOADABLE)
    vol_ref_bps: float = Field(10.0, gt=0, le=10_000, json_schema_extra=RELOADABLE)
    vol_scaling_max: float = Field(5.0, ge=1, le=100, json_schema_extra=RELOADABLE)
    vol_window_s: int = Field(1800, ge=60, le=3600)
    short_vol_window_s: int = Field(60, ge=5, le=1800)
    funding_ema_halflife_s: float = Field(3600.0, gt=0, le=7 * 86_400)
    pinning_ratio: float = Field(0.70, gt=0, le=1, json_schema_extra=RELOADABLE)
    pinning_size_mult: float = Field(2.3, ge=1, le=10, json_schema_extra=RELOADABLE)
    pinning_widen_bps: float = Field(5.0, ge=0, le=1000, json_schema_extra=RELOADABLE)
    halt_seconds: float = Field(300.0, ge=0, le=86_400, json_schema_extra=RELOADABLE)
    cancel_budget_per_min: int = Field(50, ge=1, le=10_000, json_schema_extra=RELOADABLE)
    requote_tolerance_ticks: int = Field(1, ge=0, le=1000, json_schema_extra=RELOADABLE)
    requote_tolerance_bps: float = Field(1.0, ge=0, le=1000, json_schema_extra=RELOADABLE)
    grinding: GrindingConfig = GrindingConfig()
    # Avellaneda-Stoikov strategy parameters (used when global.strategy == "avellaneda_stoikov").
    as_gamma: float = Field(0.1, gt=0, le=100, json_schema_extra=RELOADABLE)
    as_k: float = Field(1.5, gt=0, le=1e6, json_schema_extra=RELOADABLE)
    as_horizon_s: float = Field(3600.0, gt=0, le=30 * 86_400, json_schema_extra=RELOADABLE)

    @field_validator("symbol")
    @classmethod
    def _symbol_upper(cls, value: str) -> str:
        if not value.isalnum() or value.upper() != value:
            raise ValueError(f"symbol {value!r} must be upper-case letters/digits, e.g. ETHUSDC")
        return value

    @model_validator(mode="after")
    def _check_bands(self) -> SymbolConfig:
        if self.far_layers and self.far_band_min_pct >= self.far_band_max_pct:
            raise ValueError(
                f"far band inverted: far_band_min_pct={self.far_band_min_pct} must be < "
                f"far_band_max_pct={self.far_band_max_pct}"
            )
        if self.grinding.position_ratio <= self.pinning_ratio:
            raise ValueError(
                f"grinding.position_ratio={self.grinding.position_ratio} must exceed "
                f"pinning_ratio={self.pinning_ratio} (grinding is the stronger reaction)"
            )
        if self.short_vol_window_s >= self.vol_window_s:
            raise ValueError(
                f"short_vol_window_s={self.short_vol_window_s} must be < vol_window_s={self.vol_window_s}"
            )
        return self

    def net_max_at(self, price: float) -> float:
        """Effective net_max in base units at ``price``: the tighter of the base and notional limits."""
        if self.net_max_notional_usdc is None or price <= 0:
            return self.net_max
        return min(self.net_max, self.net_max_notional_usdc / price)


class PhoenixConfig(_Model):
    """The whole configuration file: ``global`` plus ``symbols``."""

    global_: GlobalConfig = Field(default_factory=GlobalConfig, alias="global")
    symbols: tuple[SymbolConfig, ...]

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @field_validator("symbols")
    @classmethod
    def _unique_symbols(cls, value: tuple[SymbolConfig, ...]) -> tuple[SymbolConfig, ...]:
        if not value:
            raise ValueError("at least one symbol is required")
        seen: set[str] = set()
        for s in value:
            if s.symbol in seen:
                raise ValueError(f"duplicate symbol {s.symbol!r}: each symbol may appear once")
            seen.add(s.symbol)
        return value

    def symbol(self, name: str) -> SymbolConfig:
        """The config of one symbol (KeyError if absent)."""
        for s in self.symbols:
            if s.symbol == name:
                return s
        raise KeyError(name)

    @property
    def enabled_symbols(self) -> tuple[SymbolConfig, ...]:
        """Symbols that should be quoted."""
        return tuple(s for s in self.symbols if s.enabled)


# --------------------------------------------------------------------------- secrets


@dataclass(frozen=True, slots=True)
class Credentials:
    """API credentials, read only from the environment or secret files. ``repr`` never shows values."""

    api_key: str
    api_secret: str | None = None
    ed25519_private_key_pem: bytes | None = None

    def __repr__(self) -> str:
        return "Credentials(api_key=***, api_secret=***, ed25519_private_key_pem=***)"

    __str__ = __repr__


def _read_secret(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(f"{ENV_PREFIX}{name}")
    if value:
        return value.strip()
    file_name = env.get(f"{ENV_PREFIX}{name}_FILE")
    if file_name:
        path = Path(file_name)
        try:
            return path.read_text().strip()
        except OSError as exc:
            raise SecretError(
                [f"{ENV_PREFIX}{name}_FILE: cannot read secret file {path}: {exc.strerror}"]
            ) from None
    return None


def load_credentials(env: Mapping[str, str] | None = None) -> Credentials | None:
    """Read ``PHOENIX_API_KEY`` / ``PHOENIX_API_SECRET`` / ``PHOENIX_ED25519_KEY`` (or ``*_FILE`` variants).

    Returns None when no API key is configured (fine for ``venue: sim``).
    """
    env = os.environ if env is None else env
    key = _read_secret(env, "API_KEY")
    if key is None:
        return None
    secret = _read_secret(env, "API_SECRET")
    pem = _read_secret(env, "ED25519_KEY")
    if secret is None and pem is None:
        raise SecretError(
            [f"{ENV_PREFIX}API_KEY is set but neither {ENV_PREFIX}API_SECRET nor {ENV_PREFIX}ED25519_KEY is"]
        )
    return Credentials(api_key=key, api_secret=secret, ed25519_private_key_pem=pem.encode() if pem else None)


# --------------------------------------------------------------------------- loading


_SECRET_ENV = {"API_KEY", "API_SECRET", "ED25519_KEY", "API_KEY_FILE", "API_SECRET_FILE", "ED25519_KEY_FILE"}


def _coerce_env_value(raw: str) -> Any:
    # YAML scalars give the natural types: "0.3" -> float, "true" -> bool, "[a, b]" -> list.
    try:
        return yaml.safe_load(raw)
    except yaml.YAMLError:
        return raw


def apply_env_overrides(data: dict[str, Any], env: Mapping[str, str]) -> list[str]:
    """Apply ``PHOENIX_<SECTION>__<KEY>[__<SUBKEY>]`` overrides in place; returns the applied variable names.

    ``PHOENIX_GLOBAL__QUOTE_INTERVAL_MS=300`` sets ``global.quote_interval_ms``;
    ``PHOENIX_SYMBOLS__ETHUSDC__NET_MAX=0.3`` sets ``net_max`` of the ETHUSDC entry.
    Secrets (``PHOENIX_API_KEY`` ...) are not config keys and are ignored here.
    """
    applied: list[str] = []
    problems: list[str] = []
    for name in sorted(env):
        if not name.startswith(ENV_PREFIX) or "__" not in name:
            continue
        rest = name[len(ENV_PREFIX) :]
        if rest in _SECRET_ENV:
            continue
        parts = [p.lower() for p in rest.split("__")]
        value = _coerce_env_value(env[name])
        if parts[0] == "global":
            node = data.setdefault("global", {})
            path = parts[1:]
        elif parts[0] == "symbols" and len(parts) >= 3:
            wanted = parts[1].upper()
            entries = data.get("symbols") or []
            match = next((e for e in entries if isinstance(e, dict) and e.get("symbol") == wanted), None)
            if match is None:
                problems.append(f"{name}: no symbol {wanted!r} in the config file to override")
                continue
            node, path = match, parts[2:]
        else:
            problems.append(f"{name}: expected PHOENIX_GLOBAL__<KEY> or PHOENIX_SYMBOLS__<SYMBOL>__<KEY>")
            continue
        if not path:
            problems.append(f"{name}: names a section, not a key")
            continue
        for key in path[:-1]:
            child = node.setdefault(key, {})
            if not isinstance(child, dict):
                problems.append(f"{name}: {key!r} is not a section")
                break
            node = child
        else:
            node[path[-1]] = value
            applied.append(name)
    if problems:
        raise ConfigError(problems, "environment")
    return applied


def _format_errors(exc: ValidationError, data: Mapping[str, Any]) -> list[str]:
    out: list[str] = []
    symbols = data.get("symbols") if isinstance(data, Mapping) else None
    for err in exc.errors():
        loc = list(err["loc"])
        parts: list[str] = []
        for i, item in enumerate(loc):
            if item == "global_":
                item = "global"
            if isinstance(item, int) and i > 0 and loc[i - 1] == "symbols":
                label = f"[{item}]"
                if isinstance(symbols, list) and item < len(symbols) and isinstance(symbols[item], dict):
                    label = f"[{symbols[item].get('symbol', item)}]"
                parts[-1] = parts[-1] + label
                continue
            parts.append(str(item))
        key = ".".join(parts) or "<root>"
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown key (check spelling; see README configuration reference)"
        elif err["type"] == "missing":
            msg = "required key is missing"
        value = err.get("input")
        shown = (
            ""
            if err["type"] in ("missing", "extra_forbidden") or isinstance(value, dict)
            else f" (got {value!r})"
        )
        out.append(f"{key}: {msg}{shown}")
    return out


def parse_config(data: Any, source: str = "", env: Mapping[str, str] | None = None) -> PhoenixConfig:
    """Validate a parsed YAML document (after env overrides) into a ``PhoenixConfig``."""
    if not isinstance(data, dict):
        raise ConfigError(
            [f"<root>: expected a mapping with 'global' and 'symbols', got {type(data).__name__}"], source
        )
    if env is not None:
        apply_env_overrides(data, env)
    try:
        return PhoenixConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_format_errors(exc, data), source) from None


def load_config(path: str | Path, env: Mapping[str, str] | None = None) -> PhoenixConfig:
    """Load, override from the environment (default ``os.environ``) and validate a YAML config file."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError([f"cannot read config file: {exc.strerror}"], str(path)) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        raise ConfigError([f"YAML syntax error{where}: {getattr(exc, 'problem', exc)}"], str(path)) from None
    return parse_config(data, str(path), os.environ if env is None else env)


# --------------------------------------------------------------------------- reload


def _reloadable_fields(model: type[BaseModel]) -> set[str]:
    return {
        name
        for name, info in model.model_fields.items()
        if isinstance(info.json_schema_extra, dict) and info.json_schema_extra.get("reloadable")
    }


def _merge(old: BaseModel, new: BaseModel, prefix: str, ignored: list[str]) -> BaseModel:
    reloadable = _reloadable_fields(type(old))
    updates: dict[str, Any] = {}
    for name in type(old).model_fields:
        a, b = getattr(old, name), getattr(new, name)
        if a == b:
            continue
        label = f"{prefix}{name}"
        if isinstance(a, BaseModel) and isinstance(b, BaseModel) and type(a) is type(b):
            updates[name] = _merge(a, b, label + ".", ignored)
        elif name in reloadable:
            updates[name] = b
        else:
            ignored.append(label)
    return old.model_copy(update=updates) if updates else old


def merge_reload(old: PhoenixConfig, new: PhoenixConfig) -> tuple[PhoenixConfig, list[str]]:
    """Take reloadable fields from ``new`` into ``old``.

    Returns the merged config and the list of changed keys that need a restart (ignored). Adding or removing
    symbols needs a restart too.
    """
    ignored: list[str] = []
    merged_global = _merge(old.global_, new.global_, "global.", ignored)
    old_names = [s.symbol for s in old.symbols]
    new_by_name = {s.symbol: s for s in new.symbols}
    if set(old_names) != set(new_by_name):
        ignored.append("symbols (added/removed symbols need a restart)")
    merged_symbols = []
    for s in old.symbols:
        n = new_by_name.get(s.symbol)
        merged_symbols.append(s if n is None else _merge(s, n, f"symbols[{s.symbol}].", ignored))
    merged = old.model_copy(update={"global_": merged_global, "symbols": tuple(merged_symbols)})
    return merged, ignored


def reloadable_keys() -> dict[str, list[str]]:
    """Names of reloadable fields per section (for docs and ``phoenix config show``)."""
    return {
        "global": sorted(_reloadable_fields(GlobalConfig)),
        "symbols[]": sorted(_reloadable_fields(SymbolConfig)),
        "symbols[].grinding": sorted(_reloadable_fields(GrindingConfig)),
    }


def redacted_dump(config: PhoenixConfig) -> dict[str, Any]:
    """The effective config as plain data (it holds no secrets by construction; URLs are kept)."""
    return config.model_dump(mode="json", by_alias=True)
