#!/usr/bin/env python3
"""The hnswlib peer of `media bench index`: the same vectors and queries through Debian's python3-hnswlib.

Reads DIR/vectors.f32 (N x D float32, id = row + 1), DIR/queries.f32 (Q x D) and DIR/truth.i64 (Q x 10 exact ids),
builds an HNSW index (M=16, efConstruction=200, inner product on unit vectors = cosine), raises ef until recall@10
reaches 0.95, and prints one JSON object: qps (all cores, batched), qpsSingleThread, recallAt10, ef, buildSeconds.
"""
import json, sys, time
import numpy as np
import hnswlib

def main(folder: str, dim: int) -> None:
    vectors = np.fromfile(f"{folder}/vectors.f32", dtype=np.float32).reshape(-1, dim)
    queries = np.fromfile(f"{folder}/queries.f32", dtype=np.float32).reshape(-1, dim)
    truth = np.fromfile(f"{folder}/truth.i64", dtype=np.int64).reshape(-1, 10)
    index = hnswlib.Index(space="ip", dim=dim)
    index.init_index(max_elements=len(vectors), M=16, ef_construction=200, random_seed=1)
    started = time.perf_counter()
    index.add_items(vectors, np.arange(1, len(vectors) + 1), num_threads=-1)
    build = time.perf_counter() - started

    def recall(labels: np.ndarray) -> float:
        return sum(len(set(l) & set(t)) for l, t in zip(labels.tolist(), truth.tolist())) / truth.size

    for ef in (10, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024):
        index.set_ef(ef)
        labels, _ = index.knn_query(queries, k=10, num_threads=-1)
        if recall(labels) >= 0.95:
            break
    started = time.perf_counter()
    labels, _ = index.knn_query(queries, k=10, num_threads=-1)
    qps = len(queries) / (time.perf_counter() - started)
    started = time.perf_counter()
    for q in queries:
        index.knn_query(q.reshape(1, -1), k=10, num_threads=1)
    single = len(queries) / (time.perf_counter() - started)
    print(json.dumps({"qps": round(qps, 1), "qpsSingleThread": round(single, 1), "recallAt10": round(recall(labels), 4),
                      "ef": ef, "buildSeconds": round(build, 2)}))

if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
