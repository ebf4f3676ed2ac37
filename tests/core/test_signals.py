"""Signals: 1-s grid volatility (checked against numpy on the real ETHUSDC mids), funding EMA, intensity."""

from __future__ import annotations

import math
import random
from pathlib import Path

import numpy as np
import pytest

from phoenix.core.signals import VOL_HORIZON_S, Signals
from phoenix.core.types import Side

NS = 1_000_000_000


def load_mids(path: Path) -> tuple[np.ndarray, np.ndarray]:
    raw = np.loadtxt(path, delimiter=",", skiprows=1, usecols=(0, 1), dtype=str)
    ts_ns = np.array([s.rstrip("Z") for s in raw[:, 0]], dtype="datetime64[ns]").astype(np.int64)
    return ts_ns, raw[:, 1].astype(float)


def numpy_sigma_bps(ts_ns: np.ndarray, mids: np.ndarray, upto: int, window_s: int) -> tuple[float, int]:
    """Independent σ of 1-s log returns (bps, ddof=1) over the last ``window_s`` finalised seconds.

    Observations ``ts_ns[: upto + 1]`` are known; seconds before the last observation's second are final.
    The series is split into segments at gaps > 5 s; inside a segment the price of second g is the last
    observation before (g+1) s, forward-filled; no return crosses a segment boundary.
    """
    ts, px = ts_ns[: upto + 1], mids[: upto + 1]
    last_final = ts[-1] // NS - 1
    breaks = np.flatnonzero(np.diff(ts) > 5 * NS) + 1
    returns: list[np.ndarray] = []
    for seg_ts, seg_px in zip(np.split(ts, breaks), np.split(px, breaks), strict=True):
        first = seg_ts[0] // NS
        last = min(seg_ts[-1] // NS, last_final)
        if last <= first:
            continue
        grid = np.arange(first, last + 1)
        idx = np.searchsorted(seg_ts, (grid + 1) * NS, side="left") - 1
        prices = seg_px[idx]
        r = np.diff(np.log(prices))
        r_sec = grid[1:]
        keep = r_sec > last_final - window_s
        returns.append(r[keep])
    allr = np.concatenate(returns) if returns else np.array([])
    if len(allr) < 2:
        return math.nan, len(allr)
    return float(np.std(allr, ddof=1) * 1e4), len(allr)


def test_volatility_matches_numpy_on_real_ethusdc_mids(ethusdc_mid_csv: Path) -> None:
    ts_ns, mids = load_mids(ethusdc_mid_csv)
    sig = Signals(vol_window_s=1800, short_vol_window_s=60)
    checked_long = checked_short = 0
    checkpoints = set(range(200, len(ts_ns), 397)) | {len(ts_ns) - 1}
    for i in range(len(ts_ns)):
        sig.on_mid(int(ts_ns[i]), float(mids[i]))
        if i not in checkpoints:
            continue
        for window, attr in ((1800, "long"), (60, "short")):
            expected, n = numpy_sigma_bps(ts_ns, mids, i, window)
            assert sig.return_count(window) == n
            got = sig.sigma_1s_bps(window)
            if n < sig.min_returns:
                assert got is None
                continue
            assert got == pytest.approx(expected, rel=1e-6, abs=1e-9)
            if attr == "long":
                checked_long += 1
                assert sig.vol_long_bps == pytest.approx(expected * math.sqrt(60), rel=1e-6, abs=1e-9)
            else:
                checked_short += 1
    assert checked_long > 30 and checked_short > 30
    # sanity: ETHUSDC 1-s vol is around a bp (lessons.md: σ(1 s) ≈ 1.2 bps)
    long_sigma = sig.sigma_1s_bps(1800)
    assert long_sigma is not None and 0.2 < long_sigma < 5.0


def feed_walk(sig: Signals, seconds: int, sigma: float, seed: int, start_s: int = 1_000) -> float:
    rng = random.Random(seed)
    price = 2000.0
    for s in range(seconds):
        price *= math.exp(rng.gauss(0.0, sigma))
        sig.on_mid((start_s + s) * NS + 500_000_000, price)
    return price


def test_vol_recovers_the_simulated_sigma_and_scales_to_a_minute() -> None:
    sig = Signals(vol_window_s=1800, short_vol_window_s=60)
    feed_walk(sig, 2000, 2e-4, seed=1)
    long_bps = sig.sigma_1s_bps(1800)
    assert long_bps == pytest.approx(2.0, rel=0.08)
    assert sig.return_count(1800) == 1800
    assert sig.return_count(60) == 60
    assert sig.vol_long_bps == pytest.approx(long_bps * math.sqrt(60))  # type: ignore[operator]
    assert sig.vol_short_bps is not None


def test_vol_is_none_until_warm_and_zero_for_a_constant_price() -> None:
    sig = Signals(vol_window_s=600, short_vol_window_s=60, min_returns=10)
    assert sig.vol_long_bps is None and sig.vol_short_bps is None and sig.last_mid is None
    for s in range(5):
        sig.on_mid((100 + s) * NS, 100.0)
    assert sig.sigma_1s_bps(600) is None
    for s in range(5, 30):
        sig.on_mid((100 + s) * NS, 100.0)
    assert sig.sigma_1s_bps(600) == 0.0
    assert sig.vol_short_bps == 0.0
    with pytest.raises(ValueError, match="not tracked"):
        sig.sigma_1s_bps(123)
    with pytest.raises(ValueError, match="not tracked"):
        sig.return_count(123)


def test_many_updates_within_a_second_keep_only_the_last_mid() -> None:
    sig = Signals(vol_window_s=600, short_vol_window_s=60, min_returns=2)
    sig.on_mid(10 * NS, 100.0)
    sig.on_mid(11 * NS, 101.0)
    sig.on_mid(11 * NS + 5, 99.0)  # second 11 closes at 102
    sig.on_mid(11 * NS + 900_000_000, 102.0)
    sig.on_mid(12 * NS, 102.0)
    sig.on_mid(13 * NS, 102.0)
    assert sig.price_at_sec(11) == 102.0
    assert sig.price_at_sec(10) == 100.0
    assert sig.return_count(60) == 2  # 10→11 and 11→12
    r = [math.log(102 / 100), 0.0]
    assert sig.sigma_1s_bps(60) == pytest.approx(float(np.std(r, ddof=1)) * 1e4)


def test_gap_longer_than_max_gap_takes_no_return_across_it() -> None:
    sig = Signals(vol_window_s=600, short_vol_window_s=60, max_gap_s=5.0, min_returns=2)
    for s in range(10):
        sig.on_mid((100 + s) * NS, 100.0)
    sig.on_mid(200 * NS, 150.0)  # 91 s later: a data gap, not a quiet market
    for s in range(1, 5):
        sig.on_mid((200 + s) * NS, 150.0)
    assert sig.price_at_sec(150) is None
    assert sig.sigma_1s_bps(600) == 0.0  # the 100 → 150 jump is not a return
    sig.on_mid(204 * NS + 4 * NS, 150.0)  # a 4 s quiet spell is forward-filled
    assert sig.price_at_sec(206) == 150.0


def test_gap_longer_than_the_history_resets_it() -> None:
    sig = Signals(vol_window_s=120, short_vol_window_s=60, history_s=300, min_returns=2)
    feed_walk(sig, 200, 1e-4, seed=2)
    assert sig.return_count(120) == 120
    sig.on_mid(100_000 * NS, 2000.0)
    sig.on_mid(100_001 * NS, 2000.0)
    assert sig.return_count(120) == 0
    assert sig.price_at_sec(100_000) == 2000.0
    assert sig.price_at_sec(99_999) is None


def test_out_of_order_and_invalid_mids_are_ignored() -> None:
    sig = Signals()
    sig.on_mid(10 * NS, 100.0)
    sig.on_mid(9 * NS, 50.0)
    sig.on_mid(11 * NS, -1.0)
    sig.on_mid(11 * NS, math.nan)
    assert sig.last_mid == 100.0
    assert sig.last_final_sec == -1


def test_running_sums_stay_exact_over_many_recomputes() -> None:
    sig = Signals(vol_window_s=300, short_vol_window_s=30, history_s=600)
    feed_walk(sig, 2500, 3e-4, seed=3)
    # brute force from the ring
    final = sig.last_final_sec
    prices = [sig.price_at_sec(s) for s in range(final - 300, final + 1)]
    r = np.diff(np.log(np.array(prices, dtype=float)))
    assert sig.sigma_1s_bps(300) == pytest.approx(float(np.std(r, ddof=1)) * 1e4, rel=1e-9)
    assert sig.price_change_bps(100) == pytest.approx(
        (sig.last_mid / sig.price_at_sec(final - 100) - 1) * 1e4  # type: ignore[operator]
    )
    assert sig.price_change_bps(10_000) is None
    assert sig.price_at_sec(final + 1) is None


def test_invalid_windows_are_rejected() -> None:
    with pytest.raises(ValueError):
        Signals(vol_window_s=60, short_vol_window_s=120)
    with pytest.raises(ValueError):
        Signals(vol_window_s=4000, short_vol_window_s=60, history_s=3600)


def test_funding_ema_moves_half_way_in_one_half_life() -> None:
    sig = Signals(funding_halflife_s=3600.0)
    assert sig.funding_ema is None
    sig.on_funding(0, 0.0)
    assert sig.funding_ema == 0.0
    sig.on_funding(3600 * NS, 0.0002)
    assert sig.funding_ema == pytest.approx(0.0001)
    sig.on_funding(3600 * NS, 1.0)  # same timestamp: ignored
    assert sig.funding_ema == pytest.approx(0.0001)
    snap = sig.to_snapshot()
    other = Signals(funding_halflife_s=3600.0)
    other.restore(snap)
    assert other.funding_ema == pytest.approx(0.0001)
    other.on_funding(7200 * NS, 0.0001)
    assert other.funding_ema == pytest.approx(0.0001)
    other.restore({"funding_ema": "junk"})
    assert other.funding_ema == pytest.approx(0.0001)


def test_trade_intensity_estimates_a_constant_rate() -> None:
    sig = Signals(intensity_halflife_s=30.0)
    # 4 trades per second for 10 minutes: 3 buys of 0.5 and 1 sell of 2.0
    for k in range(2400):
        ts = k * NS // 4
        if k % 4 == 3:
            sig.on_trade(ts, 2.0, Side.SELL)
        else:
            sig.on_trade(ts, 0.5, Side.BUY)
    now = 600 * NS
    assert sig.trades_per_s(now) == pytest.approx(4.0, rel=0.05)
    assert sig.volume_per_s(now, Side.BUY) == pytest.approx(1.5, rel=0.05)
    assert sig.volume_per_s(now, Side.SELL) == pytest.approx(2.0, rel=0.05)
    # decays afterwards: one half-life later the estimate halves
    assert sig.trades_per_s(now + 30 * NS) == pytest.approx(sig.trades_per_s(now) / 2, rel=1e-9)


def test_own_fill_rate_per_minute() -> None:
    sig = Signals(intensity_halflife_s=60.0)
    assert sig.own_fills_per_min(0) == 0.0
    for k in range(600):
        sig.on_own_fill(k * NS)  # one fill a second
    assert sig.own_fills_per_min(600 * NS) == pytest.approx(60.0, rel=0.05)


def test_cached_vols_match_the_windows() -> None:
    """vol_long/short_bps (cached per finalised second) equal a fresh computation from the windows."""
    rng = random.Random(5)
    sig = Signals(vol_window_s=120, short_vol_window_s=30, history_s=300, min_returns=2)
    mid, ts = 100.0, 0
    for _ in range(4000):
        ts += rng.randrange(50_000_000, 700_000_000)
        mid *= 1.0 + rng.gauss(0.0, 1e-4)
        sig.on_mid(ts, mid)
        for w, got in ((sig._long, sig.vol_long_bps), (sig._short, sig.vol_short_bps)):
            std = w.std()
            want = None if w.n < sig.min_returns or std is None else std * 1e4 * math.sqrt(VOL_HORIZON_S)
            assert got == want
    assert sig.vol_long_bps is not None
