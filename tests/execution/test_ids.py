"""Client order ids: format, length, uniqueness within a run and across restarts."""

from __future__ import annotations

import re

from phoenix.execution.ids import MAX_LEN, OrderIdGenerator, is_own_order_id, parse_client_order_id

BINANCE_ID = re.compile(r"^[\.A-Z\:/a-z0-9_-]{1,36}$")
NS = 1_000_000_000
NOW_NS = 1_763_974_800 * NS


def test_id_has_phoenix_symbol_ts_seq_format_and_fits_binance() -> None:
    gen = OrderIdGenerator(seed_ms=0)
    cid = gen.next_id("ETHUSDC", NOW_NS)
    assert cid.startswith("phoenix-ETHUSDC-")
    assert BINANCE_ID.match(cid)
    parsed = parse_client_order_id(cid)
    assert parsed is not None
    assert parsed.symbol == "ETHUSDC"
    assert parsed.ts_ms == NOW_NS // 1_000_000
    assert parsed.seq == 0


def test_ids_in_the_same_millisecond_are_unique_and_increasing() -> None:
    gen = OrderIdGenerator()
    ids = [gen.next_id("ETHUSDC", NOW_NS) for _ in range(5000)]
    assert len(set(ids)) == 5000
    seqs = [parse_client_order_id(i).seq for i in ids]  # type: ignore[union-attr]
    assert seqs == list(range(5000))
    assert all(len(i) <= MAX_LEN for i in ids)


def test_long_symbols_are_truncated_to_36_chars() -> None:
    gen = OrderIdGenerator()
    for _ in range(2000):
        cid = gen.next_id("1000000MOGUSDCPERPETUAL", NOW_NS)
        assert len(cid) <= MAX_LEN
        assert BINANCE_ID.match(cid)


def test_restarted_process_never_reuses_an_id() -> None:
    # a first run issues ids up to time T; the restart seeds from its start time (> T) and its clock may even
    # lag behind: it must still never go back to an earlier (ts, seq)
    first = OrderIdGenerator(seed_ms=NOW_NS // 1_000_000)
    old = {first.next_id("ETHUSDC", NOW_NS + k * 1_000_000) for k in range(1000)}
    restart_ms = NOW_NS // 1_000_000 + 1000 + 1
    second = OrderIdGenerator(seed_ms=restart_ms)
    new = {second.next_id("ETHUSDC", NOW_NS) for _ in range(1000)}  # event clock behind the seed
    assert not old & new


def test_snapshot_restore_continues_after_the_last_id() -> None:
    gen = OrderIdGenerator()
    ids = {gen.next_id("ETHUSDC", NOW_NS) for _ in range(10)}
    restored = OrderIdGenerator()
    restored.restore(gen.to_snapshot())
    assert restored.next_id("ETHUSDC", NOW_NS) not in ids


def test_foreign_ids_are_not_ours() -> None:
    assert not is_own_order_id("x-cvBPrNm9a1b2c3d4e5f6g7h8i9j0kl")
    assert not is_own_order_id("phoenix-ETH-zz!-1")
    assert is_own_order_id(OrderIdGenerator().next_id("SOLUSDC", NOW_NS))
