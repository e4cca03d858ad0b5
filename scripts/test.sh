#!/usr/bin/env bash
# Install (if needed) and run the default test suite: fast CPU tests, real data from
# $ERBENCH_DATA_DIR (default ../shared/data beside the repo). Extra args go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
. .venv/bin/activate
export ERBENCH_DATA_DIR=${ERBENCH_DATA_DIR:-$(cd .. && pwd)/shared/data}
set +e
python -m pytest "$@"
rc=$?
set -e
if [ "$rc" -eq 5 ]; then  # pytest: no tests collected
    echo "no tests collected"; rc=0
fi
exit "$rc"
