#!/usr/bin/env bash
# Install motifscan (no dependencies: the environment has them) from the checkout into the
# freshly made conda environment.
set -euo pipefail
pip install --no-deps "${MOTIFSCAN_SRC:-$PWD}"
