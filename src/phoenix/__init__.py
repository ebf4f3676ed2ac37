"""Phoenix: high-frequency market maker for Binance USDⓈ-M USDC perpetual futures."""

__version__ = "0.1.0"
