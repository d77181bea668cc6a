#!/usr/bin/env python3
"""The hnswlib side of the HNSW measurement (docs/hnsw-measurement.md).

tests/Media.Benchmarks/HnswBench.cs writes the data and runs this script; it prints one JSON object per line:
first the build figures, then one per ef. Same parameters as the C# index: M=16 (M0=32), efConstruction=200,
inner-product space (1 - dot, cosine distance on unit vectors), one build thread (the C# index has one writer).

    /usr/bin/python3 tools/bench_hnswlib.py --data .bench/hnsw/DIR --ef 16,32,64 [--build-threads 1]
    /usr/bin/python3 tools/bench_hnswlib.py --data .bench/hnsw/DIR --serve

--serve (HnswBench --paired): load DIR/hnswlib.bin (or build and save it), print {"ready": ...}, then answer each
line "EF" on stdin with one pass of the queries at that ef, as one JSON line.
"""
import argparse
import json
import os
import sys
import time

import hnswlib
import numpy as np


def read_matrix(path):
    with open(path, "rb") as f:
        n, d = np.frombuffer(f.read(8), dtype="<i4")
        return np.fromfile(f, dtype="<f4", count=int(n) * int(d)).reshape(int(n), int(d))


def read_truth(path):
    with open(path, "rb") as f:
        nq, k = np.frombuffer(f.read(8), dtype="<i4")
        return np.fromfile(f, dtype="<i4", count=int(nq) * int(k)).reshape(int(nq), int(k))


def rss_mb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1000
    return float("nan")


def one_pass(index, queries, truth, ef):
    """One pass of the queries one per call on one thread, then one batch pass on two threads."""
    nq, k = truth.shape
    index.set_ef(max(ef, k))
    index.knn_query(queries[:100], k=k, num_threads=1)
    latency = np.empty(nq)
    labels = np.empty((nq, k), dtype=np.int64)
    c0 = time.process_time()
    t0 = time.perf_counter()
    for q in range(nq):
        t = time.perf_counter_ns()
        labels[q], _ = index.knn_query(queries[q:q + 1], k=k, num_threads=1)
        latency[q] = (time.perf_counter_ns() - t) / 1000
    qps1 = nq / (time.perf_counter() - t0)
    cpu_us = (time.process_time() - c0) * 1e6 / nq
    recall = sum(len(set(labels[q]) & set(truth[q])) for q in range(nq)) / (nq * k)
    t0 = time.perf_counter()
    index.knn_query(queries, k=k, num_threads=2)
    qps2 = nq / (time.perf_counter() - t0)
    return {"ef": ef, "recall": recall, "qps1": qps1, "qps2": qps2, "p50_us": float(np.percentile(latency, 50)),
            "p99_us": float(np.percentile(latency, 99)), "cpu_us": cpu_us}


def serve(index, queries, truth):
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        if line.strip():
            print(json.dumps(one_pass(index, queries, truth, int(line))), flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--ef", default="16,32,64,128")
    ap.add_argument("--build-threads", type=int, default=1)
    ap.add_argument("--M", type=int, default=16)
    ap.add_argument("--ef-construction", type=int, default=200)
    ap.add_argument("--serve", action="store_true")
    a = ap.parse_args()
    base = read_matrix(os.path.join(a.data, "base.bin"))
    queries = read_matrix(os.path.join(a.data, "queries.bin"))
    truth = read_truth(os.path.join(a.data, "truth.bin"))
    n, d = base.shape
    k = truth.shape[1]
    try:
        from importlib.metadata import version
        lib_version = version("hnswlib")
    except Exception:
        lib_version = "?"
    print(f"hnswlib {lib_version}: {n} x {d}, M {a.M}, efConstruction {a.ef_construction}, "
          f"{a.build_threads} build thread(s)", flush=True)

    rss0 = rss_mb()
    index = hnswlib.Index(space="ip", dim=d)
    saved = os.path.join(a.data, "hnswlib.bin")
    if a.serve and os.path.exists(saved):
        index.load_index(saved, max_elements=n)
    else:
        index.init_index(max_elements=n, ef_construction=a.ef_construction, M=a.M, random_seed=100)
        t0, c0 = time.perf_counter(), time.process_time()
        index.add_items(base, np.arange(n), num_threads=a.build_threads)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        print(json.dumps({"build_per_s": n / wall, "build_cpu_per_s": n / cpu, "rss_mb": rss_mb() - rss0}), flush=True)
        if a.serve:
            index.save_index(saved)
    if a.serve:
        serve(index, queries, truth)
        return

    nq = queries.shape[0]
    for ef in (int(e) for e in a.ef.split(",")):
        index.set_ef(max(ef, k))
        index.knn_query(queries[:100], k=k, num_threads=1)
        # Three passes, as HnswBench: QPS the best pass, latency percentiles over all passes, CPU per query over all.
        # Latency: one query per call, as a service calls it (includes the Python call, a few µs).
        passes = 3
        latency = np.empty(passes * nq)
        labels = np.empty((nq, k), dtype=np.int64)
        qps1 = 0.0
        c0 = time.process_time()
        for p in range(passes):
            t0 = time.perf_counter()
            for q in range(nq):
                t = time.perf_counter_ns()
                labels[q], _ = index.knn_query(queries[q:q + 1], k=k, num_threads=1)
                latency[p * nq + q] = (time.perf_counter_ns() - t) / 1000
            qps1 = max(qps1, nq / (time.perf_counter() - t0))
        cpu_us = (time.process_time() - c0) * 1e6 / (passes * nq)
        recall = sum(len(set(labels[q]) & set(truth[q])) for q in range(nq)) / (nq * k)
        # Two threads: hnswlib's own batch parallelism, best of three passes.
        qps2 = 0.0
        for _ in range(passes):
            t0 = time.perf_counter()
            index.knn_query(queries, k=k, num_threads=2)
            qps2 = max(qps2, nq / (time.perf_counter() - t0))
        print(json.dumps({"ef": ef, "recall": recall, "qps1": qps1, "qps2": qps2, "p50_us": float(np.percentile(latency, 50)),
                          "p99_us": float(np.percentile(latency, 99)), "cpu_us": cpu_us}), flush=True)


if __name__ == "__main__":
    main()
