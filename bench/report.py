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


def bulk_section(r: dict[str, Any]) -> str:
    """--size 1m / 100k: how the corpus, its embeddings and the load were made."""
    bulk = r["bulk"]
    if "reused" in bulk:
        return f"(not loaded again: the data of an earlier `--keep` run, {bulk['reused']})"
    corpus, emb, imp = bulk["corpus"], bulk["embedding"], bulk.get("import", {})
    syn = emb.get("synthetic", {})
    rows = [
        [
            "corpus (distinct embedded texts)",
            f"{corpus['learnings']:,} learnings in {corpus['handoffs']:,} handoffs; "
            f"{corpus['repeats_left_out']:,} repeated texts left out; "
            f"{100 * corpus['templates_recognised']:.1f} % of bullets matched to their "
            f"template; {_f(corpus['seconds'])} s",
        ],
        [
            "real embeddings",
            f"{emb['real']:,} ({100 * bulk['real_share']:.1f} %): {emb['embedded_now']:,} "
            f"embedded now at {_f(emb.get('texts_per_s'))} texts/s, "
            f"{emb['reused_from_cache']:,} from the cache; budget {_f(emb['budget_s'] / 60)} min",
        ],
        [
            "synthetic embeddings",
            f"{syn.get('count', 0):,}, each a real one moved by half the difference of two "
            f"others (donors of the same template / only the section / any: "
            f"{syn.get('donors_from', {})}); cosine to its donor mean "
            f"{_f(syn.get('donor_cosine_mean'), 3)}, max {_f(syn.get('donor_cosine_max'), 3)}; "
            "to a random real one of its group "
            f"{_f(syn.get('to_random_real_of_group_cosine_mean'), 3)} vs "
            f"{_f(syn.get('real_pairs_of_group_cosine_mean'), 3)} between two real ones",
        ],
        [
            "export file",
            f"{bulk['export_file']['bytes'] / 2**20:,.0f} MiB written in "
            f"{_f(bulk['export_file']['seconds'])} s",
        ],
        [
            "import",
            f"`{imp.get('command', '?')}`: {_f(imp.get('seconds'))} s, "
            f"{_f(imp.get('learnings_per_s'), 0)} learnings/s; CLI {_f(imp.get('cli_cpu_s'))} "
            f"CPU-s, peak RSS {_f(imp.get('cli_peak_rss_mib'))} MiB",
        ],
        [
            "HNSW index build",
            f"{_f(imp.get('hnsw_build_s'))} s ({imp.get('hnsw_build_how', '?')})",
        ],
    ]
    return _table(["step", "what"], rows)


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
        *(
            ["### Bulk load (corpus, embeddings, export file, `memory-service import`)"]
            if "bulk" in r
            else [
                "### Ingest (POST /v1/handoffs, "
                f"{meta['ingest_clients']} concurrent clients) vs the raw model on the same texts"
            ]
        ),
        "",
        bulk_section(r) if "bulk" in r else ingest_section(r),
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


def _get(r: dict[str, Any], *path: str) -> float | None:
    value: Any = r
    for key in path:
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return float(value) if isinstance(value, int | float) else None


def compare(small: dict[str, Any], *larger: dict[str, Any]) -> str:
    """Runs side by side (issue 21: 100k and 1M on the same machine and day), with the ratio
    of each later run to the first for every number both have."""
    rows: list[tuple[str, tuple[str, ...]]] = []
    search = larger[0].get("search", {})
    for mode in search.get("modes", []):
        for filt in search.get("filters", []):
            for c in search.get("clients", []):
                for p in ("p50_ms", "p95_ms"):
                    rows.append(
                        (
                            f"search {mode} / {filt} / {c} client(s) {p}",
                            ("search", "cells", f"{mode}/{filt}/{c}", p),
                        )
                    )
    rows += [
        ("brief, steady, 1 client p95_ms", ("brief", "steady, 1 client", "p95_ms")),
        ("brief, steady, 4 clients p95_ms", ("brief", "steady, 4 clients", "p95_ms")),
        (
            "HNSW recall@10 vs exact (SQL, no filter, service settings)",
            ("recall", "sql", "cases", "no filter, service settings", "recall@10"),
        ),
        (
            "HNSW recall@10 vs exact (SQL, one project, service settings)",
            ("recall", "sql", "cases", "one project, service settings", "recall@10"),
        ),
        (
            "recall@10 through /v1/search (vector, no filter)",
            ("recall", "service", "no filter", "recall@10"),
        ),
        ("import s", ("bulk", "import", "seconds")),
        ("import learnings/s", ("bulk", "import", "learnings_per_s")),
        ("import CLI CPU s", ("bulk", "import", "cli_cpu_s")),
        ("import CLI peak RSS MiB", ("bulk", "import", "cli_peak_rss_mib")),
        ("HNSW index build s", ("bulk", "import", "hnsw_build_s")),
        ("HNSW index MiB", ("database", "hnsw_index_mib")),
        ("learnings table + indexes MiB", ("database", "learnings_total_mib")),
        ("database MiB", ("database", "database_mib")),
        ("peak server RSS MiB", ("memory", "peak_server_rss_mib")),
        ("peak PostgreSQL PSS MiB", ("memory", "peak_postgres_pss_mib")),
        ("cold start, empty s", ("cold_start_s", "first_start")),
        ("cold start, restart on the data s", ("cold_start_s", "restart")),
    ]
    out = []
    for name, path in rows:
        digits = 3 if "recall" in name else 1
        a = _get(small, *path)
        row = [name, _f(a, digits)]
        for run in larger:
            b = _get(run, *path)
            row += [_f(b, digits), f"{b / a:.2f}×" if a and b is not None else "–"]
        out.append(row)
    runs = (small, *larger)
    head = (
        " vs ".join(f"{r['meta']['final_learnings']:,} ({r['meta']['started']})" for r in runs)
        + "\n\n"
    )
    header = [
        "measure",
        f"{small['meta']['final_learnings']:,} ({small['meta']['started'][11:]})",
    ]
    for run in larger:
        header += [f"{run['meta']['final_learnings']:,} ({run['meta']['started'][11:]})", "ratio"]
    return head + _table(header, out)


if __name__ == "__main__":
    if sys.argv[1] == "--compare":
        print(
            compare(
                json.loads(Path(sys.argv[2]).read_text()),
                *(json.loads(Path(a).read_text()) for a in sys.argv[3:]),
            )
        )
    else:
        print(render(json.loads(Path(sys.argv[1]).read_text())))
