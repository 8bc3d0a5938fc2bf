#!/usr/bin/env bash
# Chart checks without a Kubernetes cluster (called by .ci/run): helm lint, rendering with
# helm/roost/ci/*-values.yaml, values schema (positive and negative cases), every manifest
# validated against Kubernetes' schemas, chart invariants, README completeness and the
# docker-compose example. See helm/check_chart.py for the list.
#
#   helm/check.sh                    run every check
#   helm/check.sh --write-readme     regenerate the values table of helm/roost/README.md
#
# The PyPI packages (helm/requirements.txt) go into a virtualenv, created on first use at
# $ROOST_CHART_VENV (default: $CARGO_TARGET_DIR/chart-venv, else target/chart-venv). When a
# roost binary exists ($ROOST_BIN, else $CARGO_TARGET_DIR/debug/roost), every rendered
# roost.toml is also run through `roost check-config`.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
target="${CARGO_TARGET_DIR:-$repo/target}"
venv="${ROOST_CHART_VENV:-$target/chart-venv}"
requirements="$repo/helm/requirements.txt"

# (Re)install when the venv is missing or the pinned requirements changed.
stamp="$venv/.requirements.sha256"
want="$(sha256sum "$requirements" | cut -d' ' -f1)"
if [[ ! -x "$venv/bin/python" || ! -f "$stamp" || "$(cat "$stamp")" != "$want" ]]; then
  echo "== creating $venv (helm/requirements.txt)"
  python3 -m venv "$venv" || {
    echo "helm/check.sh: python3 -m venv failed (on Debian: apt-get install python3-venv)" >&2
    exit 1
  }
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$requirements"
  echo "$want" >"$stamp"
fi

args=("$@")
roost_bin="${ROOST_BIN:-$target/debug/roost}"
if [[ " ${args[*]-} " != *" --write-readme "* && -x "$roost_bin" ]]; then
  args+=(--roost-bin "$roost_bin")
fi

exec "$venv/bin/python" "$repo/helm/check_chart.py" "${args[@]}"
