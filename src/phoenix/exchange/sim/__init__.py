"""Simulated Binance USDⓈ-M exchange: matching engine, feeds, wire server."""
