"""Live runner: drives the pure ``Trader`` from asyncio against Binance or the embedded simulator."""
