"""OpenBLAS reference for `frost bench gemm`: best-of-R f32 GEMM GFLOP/s through numpy.

Run with Debian's python3-numpy (backed by libopenblas0). OPENBLAS_NUM_THREADS and
OPENBLAS_CORETYPE choose the threads and the kernel set, as for any OpenBLAS program.
"""
import sys
import time

import numpy as np

n = int(sys.argv[1])
repeat = int(sys.argv[2]) if len(sys.argv) > 2 else 5
rng = np.random.default_rng(1)
a = rng.random((n, n), dtype=np.float32)
b = rng.random((n, n), dtype=np.float32)
a @ b  # warm-up
best = float("inf")
for _ in range(repeat):
    t0 = time.perf_counter()
    a @ b
    best = min(best, time.perf_counter() - t0)
print(f"{2 * n**3 / best / 1e9:.1f}")
