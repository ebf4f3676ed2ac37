"""Phoenix: high-frequency market maker for Binance USDⓈ-M USDC perpetual futures."""

from phoenix._accel import install as _install_accel

__version__ = "0.1.0"

# before any other phoenix module is imported: use the mypyc-compiled hot path only if it matches the sources
ACCEL = _install_accel()
