"""``phoenix sim …``: run the simulated exchange, and poke its fault-injection admin endpoint.

``phoenix sim serve`` prints the URLs and the API key/secret to use, then serves until interrupted.
``phoenix sim fault <action> [key=value ...] --admin-url URL`` calls ``POST {admin}/faults/<action>``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import urllib.request
from pathlib import Path
from typing import Annotated

import typer
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat, load_pem_public_key

from phoenix.exchange.sim.auth import DEFAULT_API_KEY, DEFAULT_API_SECRET, DEFAULT_ED25519_API_KEY
from phoenix.exchange.sim.server import SimAccount, SimServer

sim_app = typer.Typer(no_args_is_help=True, help="The simulated Binance USDⓈ-M exchange (loopback).")


@sim_app.callback()
def _group() -> None:
    """Simulated Binance USDⓈ-M exchange."""


def _accounts(api_keys: list[str], api_secrets: list[str], balance_usdc: float) -> list[SimAccount]:
    if len(api_keys) != len(api_secrets):
        raise typer.BadParameter("give one --api-secret per --api-key")
    if not api_keys:
        return [SimAccount(api_key=DEFAULT_API_KEY, api_secret=DEFAULT_API_SECRET, balance_usdc=balance_usdc)]
    return [
        SimAccount(api_key=k, api_secret=s, balance_usdc=balance_usdc)
        for k, s in zip(api_keys, api_secrets, strict=True)
    ]


def parse_ed25519_public_key(value: str) -> bytes:
    """32 raw public-key bytes from 64 hex characters or a PEM file (SubjectPublicKeyInfo)."""
    text = value.strip()
    if len(text) == 64 and all(c in "0123456789abcdefABCDEF" for c in text):
        return bytes.fromhex(text)
    path = Path(text)
    if not path.is_file():
        raise typer.BadParameter("--ed25519-public-key must be 64 hex characters or a PEM file")
    key = load_pem_public_key(path.read_bytes())
    if not isinstance(key, Ed25519PublicKey):
        raise typer.BadParameter(f"{path} does not hold an Ed25519 public key")
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def _describe(server: SimServer) -> str:
    lines = ["Phoenix simulated Binance USDⓈ-M exchange", f"  symbols      {', '.join(server.specs)}"]
    lines.append(f"  feed         {server.feed_kind} (speed x{server.speed:g})")
    for name, url in server.urls().items():
        lines.append(f"  {name:<12} {url}")
    lines.append(
        f"  ccxt ws      {server.ws_url}/ws  (set urls.api.ws.linear; ccxt appends /public|/market|/private)"
    )
    for acct in server.accounts:
        auth = f"secret {acct.api_secret!r}" if acct.api_secret is not None else "Ed25519"
        lines.append(f"  account      api key {acct.api_key!r}  {auth}  balance {acct.balance_usdc:g} USDC")
    return "\n".join(lines)


async def _serve(server: SimServer) -> None:
    await server.start()
    typer.echo(_describe(server))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):  # platforms without loop signal handlers
            loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await server.stop()
        typer.echo("simulator stopped")


@sim_app.command()
def serve(
    port: Annotated[int, typer.Option(help="TCP port (0 = ephemeral).")] = 8700,
    host: Annotated[str, typer.Option(help="Bind address; keep it on loopback.")] = "127.0.0.1",
    symbols: Annotated[str, typer.Option(help="Comma-separated symbols.")] = "ETHUSDC,SOLUSDC",
    feed: Annotated[str, typer.Option(help="synthetic | replay | manual")] = "synthetic",
    replay_file: Annotated[
        Path | None, typer.Option(help="Recording (.dat.gz) or mid CSV for --feed replay.")
    ] = None,
    speed: Annotated[float, typer.Option(help="Feed time per wall time.")] = 1.0,
    api_key: Annotated[list[str] | None, typer.Option(help="API key (repeatable; one account each).")] = None,
    api_secret: Annotated[list[str] | None, typer.Option(help="HMAC secret for each --api-key.")] = None,
    balance: Annotated[float, typer.Option(help="USDC wallet balance of each account.")] = 100_000.0,
    seed: Annotated[int, typer.Option(help="Synthetic feed seed.")] = 7,
    ed25519_public_key: Annotated[
        str | None, typer.Option(help="Ed25519 public key (64 hex chars or a PEM file) for an extra account.")
    ] = None,
    ed25519_api_key: Annotated[
        str, typer.Option(help="API key of the Ed25519 account.")
    ] = DEFAULT_ED25519_API_KEY,
) -> None:
    """Serve the simulated exchange until Ctrl-C; prints its URLs and credentials."""
    if feed not in ("synthetic", "replay", "manual"):
        raise typer.BadParameter("--feed must be synthetic, replay or manual")
    if feed == "replay" and replay_file is None:
        raise typer.BadParameter("--feed replay needs --replay-file")
    accounts = _accounts(api_key or [], api_secret or [], balance)
    if ed25519_public_key:
        accounts.append(
            SimAccount(
                api_key=ed25519_api_key, ed25519_public_key=parse_ed25519_public_key(ed25519_public_key),
                balance_usdc=balance,
            )
        )  # fmt: skip
    server = SimServer(
        symbols=[s.strip().upper() for s in symbols.split(",") if s.strip()],
        host=host,
        port=port,
        feed=feed,
        replay_file=replay_file,
        speed=speed,
        seed=seed,
        accounts=accounts,
        api_key=accounts[0].api_key,
        api_secret=accounts[0].api_secret or "",
        balance_usdc=balance,
    )
    try:
        asyncio.run(_serve(server))
    except OSError as exc:  # typically: the port is taken
        typer.echo(f"cannot serve on {host}:{port}: {exc}", err=True)
        raise typer.Exit(1) from exc


def _coerce(value: str) -> object:
    try:
        return json.loads(value)
    except json.JSONDecodeError:
        return value


@sim_app.command()
def fault(
    action: Annotated[
        str,
        typer.Argument(
            help="reset, latency, clock_skew, strict_routes, drop_ws, freeze_ws, "
            "depth_gap, error_storm, rate_limit_storm, expire_listen_key, lose_order_acks"
        ),
    ],
    args: Annotated[
        list[str] | None, typer.Argument(help="key=value arguments, e.g. seconds=5 route=public")
    ] = None,
    admin_url: Annotated[
        str, typer.Option(help="Admin base URL printed by `serve`.")
    ] = "http://127.0.0.1:8700/_sim",
) -> None:
    """Inject a fault into a running simulator via its loopback admin endpoint."""
    if not admin_url.startswith(("http://127.", "http://localhost", "http://[::1]")):
        raise typer.BadParameter("the admin endpoint is loopback-only")
    kwargs = {}
    for item in args or []:
        key, sep, value = item.partition("=")
        if not sep:
            raise typer.BadParameter(f"expected key=value, got {item!r}")
        kwargs[key] = _coerce(value)
    req = urllib.request.Request(
        f"{admin_url}/faults/{action}", data=json.dumps(kwargs).encode(), method="POST",
        headers={"Content-Type": "application/json"},
    )  # fmt: skip
    with urllib.request.urlopen(req, timeout=5) as resp:  # loopback admin URL checked above
        typer.echo(resp.read().decode())
