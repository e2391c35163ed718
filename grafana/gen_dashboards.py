#!/usr/bin/env python3
"""Writes grafana/dashboards/*.json. Edit the panel lists here and rerun
(`python3 grafana/gen_dashboards.py`); the JSON files are committed so Grafana
provisioning needs no build step. Every expression is evaluated against a real
Prometheus by conformance/observability/run.sh."""

import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
DS = {"type": "prometheus", "uid": "${datasource}"}


def panel(title, exprs, unit="short", kind="timeseries", w=12, h=8):
    return {
        "type": kind,
        "title": title,
        "datasource": DS,
        "gridPos": {"w": w, "h": h},
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "targets": [
            {"refId": chr(ord("A") + i), "expr": e, "legendFormat": legend, "datasource": DS}
            for i, (e, legend) in enumerate(exprs)
        ],
    }


def row(title):
    return {"type": "row", "title": title, "collapsed": False, "gridPos": {"w": 24, "h": 1}, "panels": []}


def variables(extra):
    out = [{
        "name": "datasource",
        "label": "Data source",
        "type": "datasource",
        "query": "prometheus",
        "current": {},
        "hide": 0,
    }]
    for name, metric, label in extra:
        out.append({
            "name": name,
            "type": "query",
            "datasource": DS,
            "query": {"query": f"label_values({metric}, {label})", "refId": name},
            "definition": f"label_values({metric}, {label})",
            "refresh": 2,
            "sort": 1,
            "current": {},
            "hide": 0,
        })
    return out


def layout(panels):
    x = y = 0
    row_h = 0
    for i, p in enumerate(panels, start=1):
        p["id"] = i
        g = p["gridPos"]
        if p["type"] == "row" or x + g["w"] > 24:
            x, y = 0, y + row_h
            row_h = 0
        g["x"], g["y"] = x, y
        x += g["w"]
        row_h = max(row_h, g["h"])
        if p["type"] == "row":
            x, y, row_h = 0, y + 1, 0
    return panels


def dashboard(uid, title, panels, extra_vars=()):
    return {
        "uid": uid,
        "title": title,
        "tags": ["rokka"],
        "schemaVersion": 39,
        "version": 1,
        "editable": True,
        "refresh": "10s",
        "time": {"from": "now-1h", "to": "now"},
        "templating": {"list": variables(extra_vars)},
        "annotations": {"list": []},
        "panels": layout(panels),
    }


OVERVIEW = [
    row("Traffic"),
    panel("Messages stored by protocol", [
        ('sum by (kind) (rate(rokka_store_appended_messages_total[1m]))', "{{kind}}"),
    ], "short"),
    panel("Stored bytes by protocol", [
        ('sum by (kind) (rate(rokka_store_appended_bytes_total[1m]))', "{{kind}}"),
    ], "Bps"),
    panel("Messages in / out by protocol (msg/s)", [
        ('sum by (protocol) (rate(rokka_topic_messages_in_total[1m]))', "in {{protocol}}"),
        ('sum by (protocol) (rate(rokka_topic_messages_out_total[1m]))', "out {{protocol}}"),
    ]),
    panel("Bytes in / out by protocol", [
        ('sum by (protocol) (rate(rokka_topic_bytes_in_total[1m]))', "in {{protocol}}"),
        ('sum by (protocol) (rate(rokka_topic_bytes_out_total[1m]))', "out {{protocol}}"),
    ], "Bps"),
    panel("Top topics by messages in (msg/s)", [
        ('topk(10, sum by (topic) (rate(rokka_topic_messages_in_total[1m])))', "{{topic}}"),
    ]),
    panel("Top topics by messages out (msg/s)", [
        ('topk(10, sum by (topic) (rate(rokka_topic_messages_out_total[1m])))', "{{topic}}"),
    ]),
    panel("Top topics by produce rate (msg/s)", [
        ('topk(10, sum by (topic) (deriv(rokka_topic_partition_log_end_offset[1m])))', "{{topic}}"),
    ]),
    panel("Consume rate by group (committed msg/s)", [
        ('topk(10, sum by (group) (deriv(rokka_consumergroup_committed_offset[1m])))', "{{group}}"),
    ]),
    panel("RocketMQ-compatible rates (both protocols)", [
        ('sum(rate(rocketmq_messages_in_total[1m]))', "messages in/s"),
        ('sum(rate(rocketmq_messages_out_total[1m]))', "messages out/s"),
        ('sum(rocketmq_producer_tps)', "producer TPS (60 s)"),
        ('sum(rocketmq_consumer_tps)', "consumer TPS (60 s)"),
    ]),
    panel("RocketMQ-compatible throughput", [
        ('sum(rate(rocketmq_throughput_in_total[1m]))', "in"),
        ('sum(rate(rocketmq_throughput_out_total[1m]))', "out"),
    ], "Bps"),
    row("Consumer groups (Kafka and RocketMQ)"),
    panel("Lag (messages), top groups", [
        ('topk(20, sum by (group, topic) (rokka_consumergroup_lag_messages))', "{{group}} / {{topic}}"),
    ]),
    panel("Lag (time)", [
        ('topk(20, max by (group, topic) (rokka_consumergroup_lag_seconds))', "{{group}} / {{topic}}"),
    ], "s"),
    panel("Live members by group and protocol", [
        ('sum by (group, protocol) (rokka_consumergroup_members)', "{{group}} ({{protocol}})"),
    ]),
    panel("Refused group requests (mixed live groups, ADR 006)", [
        ('sum by (protocol, request) (rate(rokka_consumergroup_refused_total[5m]))', "{{protocol}} {{request}}"),
    ]),
    row("Requests"),
    panel("Kafka requests by API key", [
        ('sum by (api) (rate(rokka_kafka_requests_total[1m]))', "api {{api}}"),
    ], "reqps"),
    panel("RocketMQ requests by code", [
        ('sum by (code) (rate(rokka_remoting_requests_total[1m]))', "code {{code}}"),
    ], "reqps"),
    panel("Kafka latency p50 / p99", [
        ('histogram_quantile(0.5, sum by (le, api) (rate(rokka_kafka_request_duration_seconds_bucket[1m])))', "p50 api {{api}}"),
        ('histogram_quantile(0.99, sum by (le, api) (rate(rokka_kafka_request_duration_seconds_bucket[1m])))', "p99 api {{api}}"),
    ], "s"),
    panel("RocketMQ latency p50 / p99", [
        ('histogram_quantile(0.5, sum by (le, code) (rate(rokka_remoting_request_duration_seconds_bucket[1m])))', "p50 code {{code}}"),
        ('histogram_quantile(0.99, sum by (le, code) (rate(rokka_remoting_request_duration_seconds_bucket[1m])))', "p99 code {{code}}"),
    ], "s"),
    panel("Errors", [
        ('sum by (api, reason) (increase(rokka_kafka_request_errors_total[5m]))', "kafka api {{api}}: {{reason}}"),
        ('sum by (code, response_code) (increase(rokka_remoting_request_errors_total[5m]))', "rocketmq code {{code}} -> {{response_code}}"),
        ('sum by (protocol, reason) (increase(rokka_rejected_frames_total[5m]))', "rejected frames {{protocol}}: {{reason}}"),
    ]),
    panel("Connections", [
        ('sum by (listener) (rokka_listener_connections_open)', "open {{listener}}"),
        ('sum by (listener) (rate(rokka_listener_connections_accepted_total[1m]))', "accepted/s {{listener}}"),
    ]),
    panel("Network bytes per listener", [
        ('sum by (listener) (rate(rokka_listener_received_bytes_total[1m]))', "in {{listener}}"),
        ('sum by (listener) (rate(rokka_listener_sent_bytes_total[1m]))', "out {{listener}}"),
    ], "Bps"),
    row("Cluster (cluster mode only; empty on a single node)"),
    panel("Role per node (2 master, 1 slave, 0 none) and fenced masters", [
        ('max by (instance, group) (rokka_cluster_role)', "{{instance}} {{group}}"),
        ('max by (instance, group) (rokka_cluster_fenced)', "fenced {{instance}} {{group}}"),
    ], "short", w=8),
    panel("Master, epoch and in-sync set per group", [
        ('max by (group) (rokka_cluster_master_id)', "master {{group}}"),
        ('max by (group) (rokka_cluster_epoch)', "epoch {{group}}"),
        ('max by (group) (rokka_cluster_isr_size)', "in-sync {{group}}"),
        ('max by (group) (rokka_cluster_members)', "members {{group}}"),
    ], "short", w=8),
    panel("Failovers and Raft", [
        ('max(rokka_cluster_failovers_total)', "failovers (cluster-wide)"),
        ('max(rokka_cluster_raft_term)', "Raft term"),
        ('max(rokka_cluster_raft_leader_id)', "Raft leader id"),
        ('sum(rokka_cluster_raft_is_leader)', "nodes that lead (want 1)"),
    ], "short", w=8),
    panel("Replica lag (bytes) per slave, on its master", [
        ('max by (group, replica) (rokka_cluster_replica_lag_bytes)', "{{group}} slave {{replica}}"),
        ('max by (group) (rokka_cluster_unreplicated_bytes)', "{{group}} above high watermark"),
    ], "bytes", w=8),
    panel("Replica lag (time) per slave, on its master", [
        ('max by (group, replica) (rokka_cluster_replica_lag_seconds)', "{{group}} slave {{replica}}"),
    ], "s", w=8),
    panel("Slaves in sync (1) or out (0)", [
        ('max by (group, replica) (rokka_cluster_replica_in_sync)', "{{group}} slave {{replica}}"),
    ], "short", w=8),
    row("Timer messages (ADR 019)"),
    panel("Timers pending and delivered", [
        ('sum(rokka_timer_pending)', "pending"),
        ('sum(rate(rokka_timer_delivered_total[1m]))', "delivered/s"),
    ], "short"),
    panel("Timer lateness (delivery - due) p50 / p99", [
        ('histogram_quantile(0.5, sum by (le) (rate(rokka_timer_lateness_seconds_bucket[5m])))', "p50"),
        ('histogram_quantile(0.99, sum by (le) (rate(rokka_timer_lateness_seconds_bucket[5m])))', "p99"),
    ], "s"),
    row("Store and process"),
    panel("Append rate and backpressure", [
        ('sum(rate(rokka_store_appended_messages_total[1m]))', "messages/s"),
        ('rate(rokka_store_append_backpressure_waits_total[1m])', "appends waiting for room/s"),
    ], "short", w=8),
    panel("fsync latency p99", [
        ('histogram_quantile(0.99, sum by (le) (rate(rokka_store_fsync_seconds_bucket[1m])))', "p99"),
    ], "s", w=8),
    panel("Disk", [
        ('rokka_store_disk_used_ratio', "disk used"),
    ], "percentunit", w=8),
    panel("Commit log and unflushed bytes", [
        ('rokka_store_commit_log_size_bytes', "commit log"),
        ('rokka_store_unflushed_bytes', "not yet flushed"),
    ], "bytes", w=8),
    panel("Process CPU and memory", [
        ('rate(process_cpu_seconds_total{job="rokka"}[1m])', "cpu seconds/s"),
        ('process_resident_memory_bytes{job="rokka"}', "rss"),
    ], "short", w=8),
    panel("Open file descriptors", [
        ('process_open_fds{job="rokka"}', "fds"),
    ], "short", w=8),
]

TOPIC = [
    panel("Produce rate per partition/queue (msg/s)", [
        ('sum by (partition) (deriv(rokka_topic_partition_log_end_offset{topic="$topic"}[1m]))', "{{partition}}"),
    ]),
    panel("Messages in / out by protocol (msg/s)", [
        ('sum by (protocol) (rate(rokka_topic_messages_in_total{topic="$topic"}[1m]))', "in {{protocol}}"),
        ('sum by (protocol) (rate(rokka_topic_messages_out_total{topic="$topic"}[1m]))', "out {{protocol}}"),
    ]),
    panel("Bytes in / out by protocol", [
        ('sum by (protocol) (rate(rokka_topic_bytes_in_total{topic="$topic"}[1m]))', "in {{protocol}}"),
        ('sum by (protocol) (rate(rokka_topic_bytes_out_total{topic="$topic"}[1m]))', "out {{protocol}}"),
    ], "Bps"),
    panel("Log start and end offsets", [
        ('rokka_topic_partition_log_end_offset{topic="$topic"}', "end {{partition}}"),
        ('rokka_topic_partition_log_start_offset{topic="$topic"}', "start {{partition}}"),
    ]),
    panel("Stored messages (end - start)", [
        ('sum(rokka_topic_partition_log_end_offset{topic="$topic"} - rokka_topic_partition_log_start_offset{topic="$topic"})', "messages"),
    ], w=8),
    panel("Lag of each group on this topic (messages)", [
        ('sum by (group) (rokka_consumergroup_lag_messages{topic="$topic"})', "{{group}}"),
    ], w=8),
    panel("Lag of each group on this topic (time)", [
        ('max by (group) (rokka_consumergroup_lag_seconds{topic="$topic"})', "{{group}}"),
    ], "s", w=8),
]

GROUP = [
    panel("Live members by protocol", [
        ('rokka_consumergroup_members{group="$group"}', "{{protocol}}"),
    ]),
    panel("State by protocol", [
        ('max by (protocol, state) (rokka_consumergroup_state{group="$group"})', "{{protocol}}: {{state}}"),
    ], kind="stat"),
    panel("Lag (messages) per topic", [
        ('sum by (topic) (rokka_consumergroup_lag_messages{group="$group"})', "{{topic}}"),
    ]),
    panel("Lag (time) per topic", [
        ('max by (topic) (rokka_consumergroup_lag_seconds{group="$group"})', "{{topic}}"),
    ], "s"),
    panel("Lag per partition/queue", [
        ('rokka_consumergroup_lag_messages{group="$group"}', "{{topic}} {{partition}}"),
    ]),
    panel("Consume rate (committed msg/s)", [
        ('sum by (topic) (deriv(rokka_consumergroup_committed_offset{group="$group"}[1m]))', "{{topic}}"),
    ]),
    panel("Committed offset vs log end", [
        ('rokka_consumergroup_committed_offset{group="$group"}', "committed {{topic}} {{partition}}"),
        ('rokka_topic_partition_log_end_offset and on (topic, partition) rokka_consumergroup_committed_offset{group="$group"}', "end {{topic}} {{partition}}"),
    ], w=24),
]


def main():
    out = os.path.join(HERE, "dashboards")
    os.makedirs(out, exist_ok=True)
    boards = {
        "rokka-overview.json": dashboard("rokka-overview", "rokka overview", OVERVIEW),
        "rokka-topic.json": dashboard("rokka-topic", "rokka topic", TOPIC,
                                      [("topic", "rokka_topic_partition_log_end_offset", "topic")]),
        "rokka-group.json": dashboard("rokka-group", "rokka consumer group", GROUP,
                                      [("group", "rokka_consumergroup_committed_offset", "group")]),
    }
    for name, board in boards.items():
        with open(os.path.join(out, name), "w") as f:
            json.dump(board, f, indent=2)
            f.write("\n")


if __name__ == "__main__":
    main()
