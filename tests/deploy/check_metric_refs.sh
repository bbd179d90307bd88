#!/usr/bin/env bash
# Usage: check_metric_refs.sh EXPOSITION_FILE
# Fails (exit 1), listing them, if a tcpshake_* metric used by the alert rules or the
# Grafana dashboard is absent from EXPOSITION_FILE (Prometheus text format, e.g. the
# --prom-textfile output or a saved /metrics). _bucket/_sum/_count are stripped first.
# Exit 2 on usage errors.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
deploy=$here/../../deploy
sources=("$deploy/prometheus/tcpshake-alerts.yml" "$deploy/grafana/tcpshake-dashboard.json")

if [[ $# -ne 1 ]]; then
    echo "usage: $0 EXPOSITION_FILE" >&2
    exit 2
fi
expo=$1
if [[ ! -r $expo ]]; then
    echo "$0: cannot read $expo" >&2
    exit 2
fi

strip() { sed -E 's/_(bucket|sum|count)$//'; }

# Names referenced by the deploy files.
mapfile -t used < <(grep -ohE 'tcpshake_[a-z_]+' "${sources[@]}" | strip | sort -u)
if [[ ${#used[@]} -eq 0 ]]; then
    echo "$0: no tcpshake_* names found in ${sources[*]}" >&2
    exit 2
fi

# Names present in the exposition: "# HELP/# TYPE name" lines and sample lines.
present=$(
    {
        sed -nE 's/^#[[:space:]]+(HELP|TYPE)[[:space:]]+([a-zA-Z_:][a-zA-Z0-9_:]*).*/\2/p' "$expo"
        sed -nE 's/^([a-zA-Z_:][a-zA-Z0-9_:]*)([{[:space:]].*)?$/\1/p' "$expo"
    } | strip | sort -u
)

missing=()
for name in "${used[@]}"; do
    grep -qxF "$name" <<<"$present" || missing+=("$name")
done

if [[ ${#missing[@]} -gt 0 ]]; then
    echo "metrics used by deploy/ but absent from $expo:"
    printf '  %s\n' "${missing[@]}"
    exit 1
fi
echo "all ${#used[@]} tcpshake metrics used by deploy/ are present in $expo"
