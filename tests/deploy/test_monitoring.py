"""Alert rules pass promtool; the dashboard and alerts only reference metrics Phoenix exports."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from phoenix.metrics import Metrics

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
_NON_PHOENIX = {"up"}


def _promtool() -> str:
    exe = shutil.which("promtool")
    if exe is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("promtool is required in CI (.ci/run installs Debian's prometheus package)")
        pytest.skip("promtool not installed (apt-get install prometheus)")
    return exe


def test_promtool_check_rules() -> None:
    out = subprocess.run(
        [_promtool(), "check", "rules", str(DEPLOY / "prometheus" / "alerts.yml")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "SUCCESS" in out.stdout


def test_promtool_rule_unit_tests() -> None:
    out = subprocess.run(
        [_promtool(), "test", "rules", str(DEPLOY / "prometheus" / "alerts_test.yml")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 0, out.stdout + out.stderr


def _exported_names() -> set[str]:
    metrics = Metrics(["ETHUSDC"])
    text = metrics.render().decode()
    return {line.split()[2] for line in text.splitlines() if line.startswith("# TYPE")} | {
        re.split(r"[{ ]", line)[0] for line in text.splitlines() if line and not line.startswith("#")
    }


def _referenced(expr: str) -> set[str]:
    return {m for m in re.findall(r"\b(mm_[a-z0-9_]+|up)\b", expr)}


def test_alert_and_dashboard_metrics_exist() -> None:
    exported = _exported_names()
    rules = yaml.safe_load((DEPLOY / "prometheus" / "alerts.yml").read_text())
    exprs = [r["expr"] for g in rules["groups"] for r in g["rules"]]
    dashboard = json.loads((DEPLOY / "grafana" / "phoenix-dashboard.json").read_text())
    exprs += [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    exprs += [v["query"] for v in dashboard["templating"]["list"] if v["type"] == "query"]
    missing = sorted({m for e in exprs for m in _referenced(e)} - exported - _NON_PHOENIX)
    assert missing == [], f"metrics referenced but not exported: {missing}"
    assert len(dashboard["panels"]) >= 10


def test_spec_metric_names_are_exported() -> None:
    exported = _exported_names()
    for name in (
        "mm_position",
        "mm_fill_rate_5m",
        "mm_total_notional",
        "mm_funding_pnl_acc",
        "mm_pinning_active",
        "mm_grind_count_total",
    ):
        assert name in exported, name


def test_k8s_runs_exactly_one_replica_per_account() -> None:
    docs = list(yaml.safe_load_all((DEPLOY / "k8s" / "statefulset.yaml").read_text()))
    assert docs[0]["kind"] == "StatefulSet" and docs[0]["spec"]["replicas"] == 1
