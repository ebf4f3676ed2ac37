"""Backtester: the live trading core (``phoenix.trader.Trader``) on a simulated clock with honest fills."""
