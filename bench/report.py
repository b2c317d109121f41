"""Markdown tables from a benchmark result (the JSON that bench/run.py writes)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

MIB = 1024 * 1024


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _f(value: Any, digits: int = 1) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _lat(cell: dict[str, Any] | None, *keys: str) -> str:
    if not cell or not cell.get("n"):
        return "–"
    return " / ".join(_f(cell.get(k)) for k in keys)


def ingest_section(r: dict[str, Any]) -> str:
    rows = []
    for stage in r.get("ingest", []):
        raw = stage["raw"]
        lat = stage["service"]["request_latency"]
        rows.append(
            [
                f"{stage['from_learnings']:,} → {stage['to_learnings']:,}",
                f"{stage['service']['handoffs']:,}",
                f"{stage['service']['learnings']:,}",
                _f(stage["service"]["seconds"]),
                _f(stage["service"]["learnings_per_s"]),
                f"{_f(raw['per_s'])} ({raw['texts']:,} texts)",
                f"{100 * stage['ratio']:.0f} %",
                f"{100 * stage['cpu_ratio']:.0f} %" if stage.get("cpu_ratio") else "–",
                _lat(lat, "p50_ms", "p95_ms"),
            ]
        )
    return _table(
        [
            "learnings",
            "handoffs",
            "stored",
            "s",
            "service learnings/s",
            f"raw model texts/s ({r['meta'].get('embedding_backend', 'torch')}, "
            f"batch {r['meta']['embedding_batch_size']})",
            "service / raw (wall clock)",
            "service / raw (per CPU-second)",
            "POST p50 / p95 ms",
        ],
        rows,
    )


def search_section(r: dict[str, Any]) -> str:
    search = r.get("search")
    if not search:
        return "(not measured)"
    clients = search["clients"]
    rows = []
    for mode in search["modes"]:
        for filt in search["filters"]:
            row = [mode, filt]
            for c in clients:
                row.append(
                    _lat(search["cells"].get(f"{mode}/{filt}/{c}"), "p50_ms", "p95_ms", "p99_ms")
                )
            rows.append(row)
    probe = search.get("right_after_ingest") or {}
    note = ""
    if probe.get("n"):
        stats = search.get("stats_before", {})
        note = (
            f"Right after the ingest, before any ANALYZE ({stats.get('modified_since_analyze')} "
            f"rows modified since the last one, last autoanalyze {stats.get('last_autoanalyze')}"
            f"): hybrid unfiltered, 1 client, p50 / p95 {_lat(probe, 'p50_ms', 'p95_ms')} ms "
            f"(n={probe['n']}). Then ANALYZE ({_f(search.get('analyze_s'))} s) and the cells:"
            "\n\n"
        )
    header = [
        "mode",
        "filter",
        *[f"{c} client{'s' if c > 1 else ''} p50 / p95 / p99 ms" for c in clients],
    ]
    return note + _table(header, rows)


def throughput_section(r: dict[str, Any]) -> str:
    search = r.get("search")
    if not search:
        return ""
    rows = []
    for mode in search["modes"]:
        for filt in search["filters"]:
            row = [mode, filt]
            for c in search["clients"]:
                cell = search["cells"].get(f"{mode}/{filt}/{c}") or {}
                row.append(f"{_f(cell.get('requests_per_s'))} ({cell.get('n', 0)})")
            rows.append(row)
    return _table(["mode", "filter", *[f"{c} clients req/s (n)" for c in search["clients"]]], rows)


def brief_section(r: dict[str, Any]) -> str:
    brief = r.get("brief")
    if not brief:
        return "(not measured)"
    rows = []
    for name, cell in brief.items():
        extra = ""
        if "mean_delivered" in cell:
            extra = f"{cell['mean_delivered']:.1f} handoffs delivered per brief"
        rows.append([name, _lat(cell, "p50_ms", "p95_ms", "p99_ms"), str(cell.get("n", 0)), extra])
    return _table(["brief", "p50 / p95 / p99 ms", "n", "note"], rows)


def process_section(r: dict[str, Any]) -> str:
    cold = r.get("cold_start_s", {})
    mem = r.get("memory", {})
    rows = [
        [
            "cold start, empty data dir (initdb + migrations + model)",
            f"{_f(cold.get('first_start'))} s",
        ],
        [
            f"cold start, restart on {r['meta'].get('final_learnings', 0):,} learnings",
            f"{_f(cold.get('restart'))} s",
        ],
        ["peak RSS, server process", f"{_f(mem.get('peak_server_rss_mib'))} MiB"],
        [
            "peak PSS, embedded PostgreSQL (all processes)",
            f"{_f(mem.get('peak_postgres_pss_mib'))} MiB",
        ],
    ]
    for phase, mib in mem.get("server_rss_by_phase_mib", {}).items():
        rows.append([f"peak RSS during {phase}", f"{_f(mib)} MiB"])
    db = r.get("database", {})
    if db:
        rows.append(
            [
                "learnings stored / linked as near-duplicates",
                f"{db['learnings']:,} / {db['near_duplicates']:,} "
                f"({100 * db['near_duplicate_share']:.1f} %)",
            ]
        )
        rows.append(
            [
                "database size",
                f"{_f(db['database_mib'])} MiB (HNSW index {_f(db['hnsw_index_mib'])} MiB)",
            ]
        )
    return _table(["what", "value"], rows)


def cpu_section(r: dict[str, Any]) -> str:
    cpu = r.get("cpu")
    if not cpu:
        return ""
    rows = [
        [
            phase,
            _f(c["seconds"], 0),
            _f(c["machine_cores_busy"], 2),
            _f(c["service_cores"], 2),
            _f(c["bench_cores"], 2),
            _f(c["foreign_cores"], 2),
        ]
        for phase, c in cpu.items()
    ]
    header = ["phase", "s", "cores busy (machine)", "service (server + PostgreSQL)"]
    return _table([*header, "bench process", "others' (foreign load)"], rows)


def recall_section(r: dict[str, Any]) -> str:
    rec = r.get("recall")
    if not rec:
        return "(not measured)"
    rows = []
    for name, case in rec["sql"]["cases"].items():
        rows.append(
            [
                name,
                case["plan"],
                _f(case["recall@10"], 3),
                _f(case["min_recall"], 2),
                _f(case["ann_ms_mean"]),
                _f(case["exact_ms_mean"]),
            ]
        )
    sql = _table(
        [
            "SQL: ORDER BY embedding <=> q LIMIT 10",
            "plan",
            "recall@10",
            "worst query",
            "ms/query",
            "exact ms/query",
        ],
        rows,
    )
    service = rec.get("service", {})
    svc_rows = [
        [
            name,
            _f(case["recall@10"], 3),
            _f(case["min_recall"], 2),
            _f(case["found@50"], 3),
            _f(case["mean_results"]),
            str(case["queries"]),
        ]
        for name, case in service.items()
        if isinstance(case, dict)
    ]
    svc = _table(
        [
            "/v1/search mode=vector vs exact cosine",
            "recall@10",
            "worst query",
            "exact top 10 in service top 50",
            "results returned (k=10)",
            "queries",
        ],
        svc_rows,
    )
    svc += (
        f"\n\nExact top 10 collapsed to canonical learnings and cut at the service's similarity "
        f"floor ({service.get('similarity_floor')}); recall@10 also counts recency/occurrence "
        "re-ranking at the edge of the top 10, the top-50 column does not."
    )
    rows_info = rec["sql"]["rows"]
    return (
        f"{rec['sql']['queries']} queries; {rows_info['total']:,} rows, "
        f"{rows_info['per_project_mean']:.0f} per project on average; service settings "
        f"{rec['sql']['service_settings']}.\n\n{sql}\n\n{svc}"
    )


def peers_section(r: dict[str, Any]) -> str:
    peers = r.get("peers")
    if not peers:
        return "(not run: pass --peers)"
    rows = []
    ours = peers.get("ours", {})
    if "error" in ours:
        rows.append(["memory-service", "error: " + ours["error"], "", "", "", ""])
    for mode, data in ours.get("modes", {}).items():
        m, lat = data["metrics"], data["search_latency"]
        rows.append(
            [
                f"memory-service, {mode} (HTTP)",
                _f(m["recall@5"], 3),
                _f(m["mrr@10"], 3),
                _f(m["ndcg@10"], 3),
                _f(ours["ingest_units_per_s"]),
                _lat(lat, "p50_ms", "p95_ms"),
            ]
        )
    for key in ("mem0", "chroma", "exact"):
        peer = peers.get(key)
        if not peer:
            continue
        if "error" in peer:
            rows.append([peer["system"], "error: " + peer["error"][:200], "", "", "", ""])
            continue
        m = peer["metrics"]
        rows.append(
            [
                peer["system"],
                _f(m["recall@5"], 3),
                _f(m["mrr@10"], 3),
                _f(m["ndcg@10"], 3),
                _f(peer["ingest_units_per_s"]),
                _lat(peer["search_latency"], "p50_ms", "p95_ms"),
            ]
        )
    return (
        f"Dataset `{peers['dataset']}`, {peers['units']} bullet-level units, one client.\n\n"
        + _table(
            ["system", "R@5", "MRR@10", "nDCG@10", "ingest units/s", "search p50 / p95 ms"], rows
        )
    )


def render(r: dict[str, Any]) -> str:
    meta = r["meta"]
    parts = [
        f"## Run {meta['started']} — {meta['preset']} ({meta['final_learnings']:,} learnings)",
        "",
        f"Machine: {meta['cpu_model']}, {meta['cpus']} CPUs, {meta['memory_gib']:.0f} GiB; "
        f"Python {meta['python']}, torch {meta['torch']}; commit {meta['commit']}. "
        f"Command: `{meta['command']}`. Total {meta.get('total_s', 0) / 60:.1f} min.",
        "",
        "### Ingest (POST /v1/handoffs, "
        f"{meta['ingest_clients']} concurrent clients) vs the raw model on the same texts",
        "",
        ingest_section(r),
        "",
        f"### Search latency over HTTP at {meta['final_learnings']:,} learnings "
        f"({r.get('search', {}).get('requests_per_cell', '?')} requests per cell, k=10)",
        "",
        search_section(r),
        "",
        throughput_section(r),
        "",
        "### Brief (POST /v1/brief with a task)",
        "",
        brief_section(r),
        "",
        "### Process",
        "",
        process_section(r),
        "",
        f"### CPU per phase ({r['meta']['cpus']} cores; other users share the machine)",
        "",
        cpu_section(r),
        "",
        "### HNSW recall@10 against exact search",
        "",
        recall_section(r),
        "",
        "### Peers on the evaluation set (same machine, embedder and run)",
        "",
        peers_section(r),
        "",
    ]
    return "\n".join(parts)


if __name__ == "__main__":
    print(render(json.loads(Path(sys.argv[1]).read_text())))
