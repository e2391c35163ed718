#!/usr/bin/env python3
"""Evaluates every PromQL expression of every dashboard in grafana/dashboards
through Prometheus's HTTP API, after substituting the dashboard variables
with real label values; each must return at least one series. Panels under a
row whose title starts with "Cluster" need cluster mode: when Prometheus has
no `rokka_cluster_role` series (a single node), their expressions must still
evaluate (valid PromQL) but may return nothing.

usage: check_dashboards.py PROM_URL DASHBOARD_DIR [var=preferred ...]
Exits 1 naming dashboard, panel and expression of each failure."""

import json
import os
import re
import sys
import urllib.parse
import urllib.request


def api(base, path, params):
    url = f"{base}{path}?{urllib.parse.urlencode(params, doseq=True)}"
    with urllib.request.urlopen(url, timeout=10) as r:
        body = json.load(r)
    if body.get("status") != "success":
        raise RuntimeError(f"{url}: {body}")
    return body["data"]


def variable_values(base, var, preferred):
    """Real values of a query variable: the preferred one (if it exists) and
    one other, so both a Kafka and a RocketMQ group/topic get checked."""
    m = re.match(r"label_values\((\w+),\s*(\w+)\)", var.get("definition", ""))
    if not m:
        raise RuntimeError(f"variable {var['name']}: unsupported query {var.get('definition')}")
    metric, label = m.groups()
    values = api(base, f"/api/v1/label/{label}/values", {"match[]": metric})
    if not values:
        raise RuntimeError(f"variable {var['name']}: no values of {label} on {metric}")
    chosen = [v for v in values if v == preferred][:1]
    chosen += [v for v in values if v != preferred and not v.startswith("%")][:1]
    return chosen or values[:1]


def main():
    base, folder = sys.argv[1].rstrip("/"), sys.argv[2]
    preferred = dict(a.split("=", 1) for a in sys.argv[3:])
    failures, checked = [], 0
    for name in sorted(os.listdir(folder)):
        if not name.endswith(".json"):
            continue
        with open(os.path.join(folder, name)) as f:
            board = json.load(f)
        qvars = [v for v in board["templating"]["list"] if v["type"] == "query"]
        combos = [{}]
        for v in qvars:
            combos = [dict(c, **{v["name"]: x}) for c in combos
                      for x in variable_values(base, v, preferred.get(v["name"]))]
        single_node = not api(base, "/api/v1/query", {"query": "rokka_cluster_role"})["result"]
        cluster_row = False
        for panel in board["panels"]:
            if panel["type"] == "row":
                cluster_row = panel["title"].startswith("Cluster")
            for target in panel.get("targets", []):
                for combo in combos:
                    expr = target["expr"]
                    for k, x in combo.items():
                        expr = expr.replace(f"${{{k}}}", x).replace(f"${k}", x)
                    checked += 1
                    try:
                        result = api(base, "/api/v1/query", {"query": expr})["result"]
                    except Exception as e:  # noqa: BLE001 - report and go on
                        result, err = [], str(e)
                    else:
                        err = "no series"
                    if not result and err == "no series" and cluster_row and single_node:
                        print(f"ok {name} / {panel['title']} / {expr} -> valid, no cluster here")
                    elif not result:
                        failures.append(f"{name} / panel '{panel['title']}' / {expr}: {err}")
                    else:
                        print(f"ok {name} / {panel['title']} / {expr} -> {len(result)} series")
    for f in failures:
        print(f"FAIL {f}")
    print(f"{checked} expressions evaluated, {len(failures)} failed")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
