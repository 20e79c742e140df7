#!/bin/sh
# Every benchmark whose figures the README quotes, one after another on a quiet machine, each
# preceded by the load average; tables go to $OUT (default /tmp/convlens-bench).
#   scripts/quiet_benchmarks.sh            # about 20 minutes on the 2-core target
set -eu
cd "$(dirname "$0")/.."
PY=.venv/bin/python
OUT=${OUT:-/tmp/convlens-bench}
mkdir -p "$OUT"
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1
run() {
    name=$1; shift
    echo "== $name: $(uptime)" | tee "$OUT/$name.md"
    "$@" 2>&1 | tee -a "$OUT/$name.md"
    echo "== $name done: $(uptime)" | tee -a "$OUT/$name.md"
}
run compression $PY benchmarks/compression.py
run engine $PY benchmarks/engine.py
run models $PY benchmarks/models.py
run wrk $PY benchmarks/wrk_trace.py --connections 300 --duration 15 --workers 2
run load $PY benchmarks/load.py --students 300 --workers 2 --duration 40 --event-loops auto uvloop-plain
run lab $PY benchmarks/lab.py --out "$OUT/lab_table.md"
