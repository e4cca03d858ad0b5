#!/usr/bin/env bash
# Install (if needed), run the two reference methods on the embedded default (no download,
# no GPU) and print the leaderboard they make.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
. .venv/bin/activate
export ERBENCH_DATA_DIR=${ERBENCH_DATA_DIR:-$(cd .. && pwd)/shared/data}
bench run --method mf-bias --dataset ml-100k --quiet
if [ -f "$ERBENCH_DATA_DIR/amazon2014/reviews_Musical_Instruments_5.json.gz" ]; then
    bench run --method mf-bias --dataset amazon-instruments --quiet
    bench run --method retrieval --dataset amazon-instruments --quiet
else  # say why the table's Instruments cells will be empty, and how to fill them
    echo "note: $ERBENCH_DATA_DIR/amazon2014/reviews_Musical_Instruments_5.json.gz is missing," \
         "so the Instruments cells stay empty; get it with" \
         "'bench data download amazon-instruments' (or set ERBENCH_DATA_DIR) and run this again" >&2
fi
bench tables --spec reference-rows
bench tables --spec reference-curves --format png --out runs/figures
echo "figure: runs/figures/reference-curves.png"
