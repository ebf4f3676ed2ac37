"""``python -m phoenix.exchange.sim serve ...``: the same CLI as ``phoenix sim``."""

from phoenix.exchange.sim.cli import sim_app

if __name__ == "__main__":
    sim_app(prog_name="python -m phoenix.exchange.sim")
