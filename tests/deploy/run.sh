#!/usr/bin/env bash
# Checks the deployment kit in deploy/: alert rules (syntax + unit tests), the systemd unit,
# the Kubernetes manifest, the Grafana dashboard and the metric names they use.
# One line per check; exits 1 if any check fails. Installs promtool, systemd-analyze and
# python3-yaml with apt-get when missing (needs root then).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
deploy=$root/deploy
unit=$deploy/systemd/tcpshake-mon@.service
rules=$deploy/prometheus/tcpshake-alerts.yml
daemonset=$deploy/kubernetes/daemonset.yaml
dashboard=$deploy/grafana/tcpshake-dashboard.json
py=/usr/bin/python3

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

apt_updated=
apt_install() {
    echo "installing missing package(s): $*" >&2
    if [[ -z $apt_updated ]]; then
        apt-get update -qq >/dev/null
        apt_updated=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}
command -v promtool >/dev/null || apt_install prometheus
command -v systemd-analyze >/dev/null || apt_install systemd
[[ -x $py ]] || apt_install python3
"$py" -c 'import yaml' 2>/dev/null || apt_install python3-yaml

failures=0
n=0
# check NAME CMD...: run CMD, print "ok"/"FAIL" and, on failure, its output.
check() {
    local name=$1 log
    shift
    n=$((n + 1))
    log=$tmp/check-$n.log
    if "$@" >"$log" 2>&1; then
        printf 'ok    %s\n' "$name"
    else
        printf 'FAIL  %s\n' "$name"
        sed 's/^/      /' "$log"
        failures=$((failures + 1))
    fi
}

# --- Prometheus rules ---
check "promtool check rules $(basename "$rules")" promtool check rules "$rules"
check "promtool test rules tests/deploy/tcpshake-alerts_test.yml" \
    promtool test rules "$here/tcpshake-alerts_test.yml"

# --- systemd unit ---
# verify needs an executable at ExecStart: a copy of the unit pointing at a stub.
stub=$tmp/systemd
mkdir -p "$stub"
cp /bin/true "$stub/tcpshake-mon"
sed "s|/usr/local/sbin/tcpshake-mon|$stub/tcpshake-mon|" "$unit" >"$stub/tcpshake-mon@.service"
unit_verify() {
    local out
    grep -q '^ExecStart=/usr/local/sbin/tcpshake-mon ' "$unit" || {
        echo "ExecStart does not start with /usr/local/sbin/tcpshake-mon"
        return 1
    }
    # verify exits 0 on unknown keys and other warnings: treat any message about our unit as fatal.
    # --man=no: the man page of Documentation= exists only once installed.
    out=$(systemd-analyze verify --man=no "$stub/tcpshake-mon@lo.service" 2>&1) || { echo "$out"; return 1; }
    if grep -F 'tcpshake-mon' <<<"$out"; then
        return 1
    fi
}
check "systemd-analyze verify tcpshake-mon@lo.service" unit_verify

# Exposure score of "systemd-analyze security" (0-10, systemd 252): 2.0 today; any regression fails.
unit_security() {
    systemd-analyze security --offline=true --threshold=20 \
        "$stub/tcpshake-mon@lo.service" | tail -n 1
}
check "systemd-analyze security tcpshake-mon@lo.service (exposure <= 2.0)" unit_security

unit_settings() {
    local key want
    for want in 'User=' 'DynamicUser=yes' 'NoNewPrivileges=yes' 'ProtectSystem=strict' \
        'AmbientCapabilities=CAP_BPF CAP_NET_ADMIN CAP_PERFMON' \
        'CapabilityBoundingSet=CAP_BPF CAP_NET_ADMIN CAP_PERFMON' \
        'EnvironmentFile=-/etc/default/tcpshake-mon' 'Restart=on-failure'; do
        grep -q "^$want" "$unit" || { echo "missing: $want"; return 1; }
    done
    for key in PrivateNetwork PrivateUsers; do
        if grep -q "^$key=" "$unit"; then
            echo "$key= would hide the host interfaces or capabilities"
            return 1
        fi
    done
    grep -q '^ExecStart=.*--prom-textfile .*\$TCPSHAKE_OPTS' "$unit" || {
        echo "ExecStart lacks --prom-textfile or \$TCPSHAKE_OPTS"
        return 1
    }
}
check "systemd unit: non-root, capabilities, hardening, options" unit_settings

# --- Kubernetes ---
k8s_check() {
    "$py" - "$daemonset" <<'EOF'
import sys, yaml

docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
errors = []
def need(cond, msg):
    if not cond:
        errors.append(msg)

kinds = {d.get("kind"): d for d in docs}
def vols_of(pod):
    return {v["name"]: v for v in pod.get("volumes", [])}
need(set(kinds) == {"ServiceAccount", "DaemonSet"}, f"expected ServiceAccount + DaemonSet, got {sorted(kinds)}")
for d in docs:
    need("namespace" not in d.get("metadata", {}), f"{d.get('kind')} sets metadata.namespace")
ds, sa = kinds.get("DaemonSet", {}), kinds.get("ServiceAccount", {})
spec = ds.get("spec", {})
tpl = spec.get("template", {})
pod = tpl.get("spec", {})
need(spec.get("selector", {}).get("matchLabels", {}).items() <= tpl.get("metadata", {}).get("labels", {}).items(),
     "selector does not match the template labels")
need(pod.get("serviceAccountName") == sa.get("metadata", {}).get("name"), "serviceAccountName != ServiceAccount")
need(pod.get("hostNetwork") is True, "hostNetwork is not true")
need(any(t.get("operator") == "Exists" and "key" not in t for t in pod.get("tolerations", [])),
     "no catch-all toleration")
ann = tpl.get("metadata", {}).get("annotations", {})
need(ann.get("prometheus.io/scrape") == "true" and ann.get("prometheus.io/port") == "9431",
     "prometheus.io scrape annotations missing")
containers = pod.get("containers", [])
need(len(containers) == 1, "expected one container")
c = containers[0] if containers else {}
args = c.get("command", []) + c.get("args", [])
need("--listen" in args and args[args.index("--listen") + 1] == "$(POD_IP):9431",
     "args lack --listen $(POD_IP):9431 (the pod's address, not 0.0.0.0)")
env = {e.get("name"): e for e in c.get("env", [])}
need(env.get("POD_IP", {}).get("valueFrom", {}).get("fieldRef", {}).get("fieldPath") == "status.podIP",
     "POD_IP is not the downward API's status.podIP")
locks = [m for m in c.get("volumeMounts", []) if m.get("mountPath") == "/run/tcpshake-mon"]
need(len(locks) == 1 and vols_of(pod).get(locks[0]["name"], {}).get("hostPath", {}).get("path") == "/run/tcpshake-mon",
     "/run/tcpshake-mon (instance locks) is not the host's")
need(any(p.get("containerPort") == 9431 for p in c.get("ports", [])), "no containerPort 9431")
sc = c.get("securityContext", {})
need(sc.get("privileged") is False, "privileged is not false")
need(sc.get("allowPrivilegeEscalation") is False, "allowPrivilegeEscalation is not false")
need(sc.get("readOnlyRootFilesystem") is True, "readOnlyRootFilesystem is not true")
caps = sc.get("capabilities", {})
need(sorted(caps.get("add", [])) == ["BPF", "NET_ADMIN", "PERFMON"], f"capabilities.add = {caps.get('add')}")
need(caps.get("drop") == ["ALL"], f"capabilities.drop = {caps.get('drop')}")
res = c.get("resources", {})
for kind in ("requests", "limits"):
    need({"cpu", "memory"} <= set(res.get(kind, {})), f"resources.{kind} needs cpu and memory")
ports = {p.get("name"): p.get("containerPort") for p in c.get("ports", [])}
for probe in ("livenessProbe", "readinessProbe"):
    get = c.get(probe, {}).get("httpGet", {})
    port = ports.get(get.get("port"), get.get("port"))
    need(get.get("path") == "/healthz" and port == 9431, f"{probe} is not GET /healthz on 9431")
vols = {v["name"]: v for v in pod.get("volumes", [])}
# The kernel's BTF is not needed (no CO-RE): the only host path is the locks'.
host = sorted(v["hostPath"]["path"] for v in vols.values() if "hostPath" in v)
need(host == ["/run/tcpshake-mon"], f"host paths mounted: {host}, expected only /run/tcpshake-mon")
need(c.get("image") == "tcpshake-mon:0.1.0", "image is not the tcpshake-mon:0.1.0 placeholder")
if errors:
    print("\n".join(errors))
    sys.exit(1)
EOF
}
check "daemonset.yaml: parses, hostNetwork, caps BPF/NET_ADMIN/PERFMON only, probes" k8s_check

# --- Grafana ---
dashboard_check() {
    "$py" - "$dashboard" "$tmp/dashboard-rules.yml" <<'EOF'
import json, sys

d = json.load(open(sys.argv[1]))
errors = []
def need(cond, msg):
    if not cond:
        errors.append(msg)

need(d.get("schemaVersion", 0) >= 36, "schemaVersion < 36")
variables = {v["name"]: v for v in d.get("templating", {}).get("list", [])}
need(variables.get("DS_PROMETHEUS", {}).get("type") == "datasource", "no DS_PROMETHEUS datasource variable")
for name in ("instance", "iface"):
    need(variables.get(name, {}).get("type") == "query", f"no query variable {name}")

panels = []
for p in d.get("panels", []):
    panels.append(p)
    panels.extend(p.get("panels", []))       # panels of collapsed rows
ids = [p.get("id") for p in panels]
need(len(ids) == len(set(ids)), "duplicate panel ids")
exprs = []
for p in panels:
    if p.get("type") == "row":
        continue
    title = p.get("title", "?")
    need(p.get("datasource", {}).get("uid") == "${DS_PROMETHEUS}", f"panel {title!r}: datasource is not ${{DS_PROMETHEUS}}")
    targets = p.get("targets", [])
    need(targets, f"panel {title!r}: no targets")
    gp = p.get("gridPos", {})
    need(gp.get("x", 0) + gp.get("w", 0) <= 24, f"panel {title!r}: wider than the grid")
    for t in targets:
        need(t.get("expr") and t.get("refId"), f"panel {title!r}: target without expr/refId")
        need(t.get("datasource", {}).get("uid") == "${DS_PROMETHEUS}", f"panel {title!r}: target datasource")
        need('instance=~"$instance"' in t.get("expr", ""), f"panel {title!r}: target ignores $instance")
        exprs.append(t.get("expr", ""))
    if p.get("type") == "heatmap":
        for t in targets:
            need(t.get("format") == "heatmap" and t["expr"].startswith("sum by (le) (rate("),
                 f"heatmap {title!r}: not a sum by (le) rate with format heatmap")

everything = "\n".join(exprs)
for h in ("syn_to_synack", "synack_to_ack", "handshake", "close"):
    need(any(p.get("type") == "heatmap" and f"tcpshake_{h}_seconds_bucket" in p["targets"][0]["expr"]
             for p in panels), f"no heatmap for tcpshake_{h}_seconds")
for q in ("histogram_quantile(0.5,", "histogram_quantile(0.99,"):
    need(q in everything, f"no {q}...)")
# The flood row shows the monitor's own flood state, not a rate heuristic.
for m in ("tcpshake_syn_flood_active", "tcpshake_syn_flood_alerts_total", "tcpshake_syn_sources_estimate"):
    need(m in everything, f"no panel shows {m}")
need(any(p.get("type") == "stat" and 'tcpshake_syn_flood_active{' in p["targets"][0]["expr"]
         and 'port=""' in p["targets"][0]["expr"] for p in panels if p.get("targets")),
     "no stat panel of the interfaces' flood state (tcpshake_syn_flood_active{port=\"\"})")

# Every expression as a recording rule, so that promtool parses the PromQL.
with open(sys.argv[2], "w") as f:
    f.write("groups:\n  - name: dashboard\n    rules:\n")
    for i, e in enumerate(exprs):
        e = (e.replace("$__rate_interval", "5m").replace("$__range", "1h")
             .replace("$instance", ".*").replace("$iface", ".*"))
        f.write(f"      - record: dashboard_expr_{i}\n        expr: {json.dumps(e)}\n")
print(f"{len(panels)} panels, {len(exprs)} queries")
if errors:
    print("\n".join(errors))
    sys.exit(1)
EOF
    [[ $? -eq 0 ]] || return 1
    promtool check rules "$tmp/dashboard-rules.yml"
}
check "tcpshake-dashboard.json: parses, datasource + targets per panel, PromQL valid" dashboard_check

# --- Metric names ---
# An exposition with every metric of the contract (names only): catches typos in deploy/.
contract_check() {
    local expo=$tmp/contract.prom name
    for name in \
        tcpshake_syn_packets_total tcpshake_syn_retransmits_total tcpshake_synack_packets_total \
        tcpshake_synack_retransmits_total tcpshake_handshakes_total tcpshake_handshake_failures_total \
        tcpshake_simultaneous_opens_total tcpshake_closes_total tcpshake_simultaneous_closes_total \
        tcpshake_half_closes_total tcpshake_time_wait_reuses_total tcpshake_flows_expired_total \
        tcpshake_flow_evictions_total tcpshake_invalid_segments_total tcpshake_events_lost_total \
        tcpshake_packets_total tcpshake_half_open_connections tcpshake_established_connections \
        tcpshake_closing_connections tcpshake_time_wait_connections tcpshake_table_entries \
        tcpshake_table_capacity tcpshake_up tcpshake_build_info \
        tcpshake_syn_flood_active tcpshake_syn_flood_alerts_total tcpshake_syn_sources_estimate \
        tcpshake_syn_to_synack_seconds_bucket tcpshake_synack_to_ack_seconds_bucket \
        tcpshake_handshake_seconds_bucket tcpshake_close_seconds_bucket \
        tcpshake_time_wait_seconds_bucket tcpshake_connection_seconds_bucket \
        tcpshake_self_cpu_seconds_total tcpshake_self_resident_memory_bytes \
        tcpshake_bpf_map_memory_bytes tcpshake_bpf_program_run_seconds_total; do
        echo "$name 0"
    done >"$expo"
    "$here/check_metric_refs.sh" "$expo" || return 1
    # And it must notice a missing metric.
    grep -v '^tcpshake_events_lost_total ' "$expo" >"$tmp/contract-missing.prom"
    if "$here/check_metric_refs.sh" "$tmp/contract-missing.prom"; then
        echo "check_metric_refs.sh did not notice a missing metric"
        return 1
    fi
    return 0
}
check "metric names in alerts + dashboard match the metric contract" contract_check

if [[ $failures -gt 0 ]]; then
    echo "$failures of $n checks failed"
    exit 1
fi
echo "all $n checks passed"
