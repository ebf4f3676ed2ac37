"""Binance USDⓈ-M futures adapter: the only code that talks to Binance (or the simulator on loopback)."""
