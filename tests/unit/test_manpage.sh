#!/usr/bin/env bash
# Usage: tests/unit/test_manpage.sh [BINARY]   (default ./tcpshake-mon)
#
# Keeps docs/tcpshake-mon.8 honest. Fails, listing what differs, when:
#   - the page does not render cleanly (groff -ww, man -l, and mandoc -T lint
#     when mandoc is installed);
#   - an option (--long or -x) is in `BINARY --help` but not in the page's
#     OPTIONS section, or the other way round; or an option's argument or
#     numeric default there differs from --help;
#   - a tcpshake_* metric is in the page's METRICS section but not emitted by
#     src/prom.c (counters and gauges there, histograms named in src/names.c;
#     the P macro adds the tcpshake_ prefix), or the other way round; or is
#     listed under the wrong type (.SS Counters / Gauges / Histograms);
#   - a tcpshake_* name elsewhere in the page is neither a metric nor a BPF
#     program of bpf/tcpshake.bpf.c;
#   - with a C compiler: the labels and types of a real exposition rendered by
#     src/prom.c differ from the page's;
#   - an event field of src/events.c or a Zeek conn_state of src/names.c is
#     missing from the EVENTS section, or documented there but never emitted;
#   - a field of the --json lines (src/term.c) is not named in OUTPUT;
#   - the version in the page footer is not `BINARY --version`.
# Needs bash, groff, awk, sed, grep; runs as any user (only --help/--version).
set -euo pipefail
# Byte order for sort, comm and join.
export LC_ALL=C

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
page=$root/docs/tcpshake-mon.8
prom_c=$root/src/prom.c
names_c=$root/src/names.c
events_c=$root/src/events.c
term_c=$root/src/term.c
bpf_c=$root/bpf/tcpshake.bpf.c

bin=${1:-./tcpshake-mon}
if [[ $# -eq 0 && ! -x $bin && -x $root/tcpshake-mon ]]; then
	bin=$root/tcpshake-mon
fi
if [[ ! -x $bin ]]; then
	echo "test_manpage: $bin is not an executable (build it with make, or pass its path)" >&2
	exit 2
fi
for f in "$page" "$prom_c" "$names_c" "$events_c" "$term_c" "$bpf_c"; do
	if [[ ! -r $f ]]; then
		echo "test_manpage: cannot read $f" >&2
		exit 2
	fi
done
if ! command -v groff >/dev/null; then
	echo "test_manpage: groff is needed (apt-get install groff-base)" >&2
	exit 2
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

passed=0
failed=0
pass() { passed=$((passed + 1)); echo "ok   $*"; }
fail() { failed=$((failed + 1)); echo "FAIL $*"; }
# check NAME FILE: passes when FILE is empty, else fails and shows it.
check_empty() {
	if [[ -s $2 ]]; then
		fail "$1:"
		sed 's/^/       /' "$2"
	else
		pass "$1"
	fi
}
# The lines of sorted file $2 missing from sorted file $3, with label $1.
missing() {
	comm -23 "$2" "$3" | while IFS= read -r line; do printf '%s %s\n' "$1" "$line"; done
}

# ---- the page renders without warnings ----

groff -man -Tutf8 -ww -z "$page" >"$tmp/groff.err" 2>&1 || echo "groff exited $?" >>"$tmp/groff.err"
check_empty "groff -man -Tutf8 -ww renders without warnings" "$tmp/groff.err"

if command -v man >/dev/null; then
	MANROFFOPT=-ww MANWIDTH=80 MANPAGER=cat PAGER=cat LC_ALL=C.UTF-8 \
		man -l "$page" >"$tmp/man.out" 2>"$tmp/man.err" || echo "man -l exited $?" >>"$tmp/man.err"
	[[ -s $tmp/man.out ]] || echo "man -l printed nothing" >>"$tmp/man.err"
	check_empty "man -l renders without warnings" "$tmp/man.err"
else
	echo "skip man -l: man is not installed"
fi

if command -v mandoc >/dev/null; then
	mandoc -T lint -W warning "$page" >"$tmp/mandoc.err" 2>&1 || true
	check_empty "mandoc -T lint finds no warnings" "$tmp/mandoc.err"
else
	echo "skip mandoc -T lint: mandoc is not installed"
fi

# Plain text with one line per paragraph and no hyphenation, so names are
# never split: section headings at column 0, .SS at 3, .TP tags at 7.
groff -man -Tascii -rHY=0 -rLL=2000n -P-cbou "$page" 2>/dev/null | sed 's/.\x08//g' >"$tmp/page.txt"
# section TITLE: the text of one .SH section.
section() {
	awk -v s="$1" '$0 == s { f = 1; next } f && /^[A-Z]/ { exit } f' "$tmp/page.txt"
}
for s in NAME SYNOPSIS DESCRIPTION OPTIONS OUTPUT EVENTS METRICS FILES "EXIT STATUS" \
	 "ENVIRONMENT AND PRIVILEGES" EXAMPLES "SEE ALSO"; do
	grep -qx "$s" "$tmp/page.txt" || echo "missing section $s"
done >"$tmp/sections.err"
check_empty "the page has every section" "$tmp/sections.err"

# ---- options: --help versus OPTIONS ----

"$bin" --help >"$tmp/help.txt" 2>&1 || { fail "$bin --help exited non-zero"; cat "$tmp/help.txt"; }
section OPTIONS >"$tmp/options.txt"

# Every --long-option and -x token; -vv, TIME-WAIT, tcpshake-mon are not options.
options_of() {
	grep -oE '(^|[^A-Za-z0-9_-])--?[A-Za-z][A-Za-z0-9-]*' "$1" |
		sed -E 's/^[^-]*//' |
		grep -E '^(--[a-z][a-z0-9-]*[a-z0-9]|-[A-Za-z])$' | sort -u || true
}
options_of "$tmp/help.txt" >"$tmp/help.opts"
options_of "$tmp/options.txt" >"$tmp/page.opts"
if [[ ! -s $tmp/help.opts ]]; then
	fail "no option found in $bin --help"
fi
{
	missing "in --help but not in the man page's OPTIONS:" "$tmp/help.opts" "$tmp/page.opts"
	missing "in the man page's OPTIONS but not in --help:" "$tmp/page.opts" "$tmp/help.opts"
} >"$tmp/opts.err"
check_empty "the same $(wc -l <"$tmp/help.opts") options in --help and OPTIONS" "$tmp/opts.err"

# Each help entry: "-x, --long ARG" and its numeric default, if any. An entry
# starts on an indented line beginning with '-'; deeper lines continue it.
# (No /x{m,n}/ in these awk programs: mawk lacks it.)
awk '
	{ indent = match($0, /[^ ]/) - 1 }
	indent > 0 && indent < 9 && /^ +-/ { if (e != "") print e; e = $0; next }
	indent >= 9 { if (e != "") { sub(/^ +/, " "); e = e $0 }; next }
	{ if (e != "") print e; e = "" }
	END { if (e != "") print e }
' "$tmp/help.txt" >"$tmp/help.entries"
# The same for the man page's OPTIONS: a tag line at 7 columns, body at 14.
awk '
	/^       -/   { if (e != "") print e; e = $0; next }
	/^        +[^ ]/ { if (e != "") { sub(/^ +/, " "); e = e $0 }; next }
	/^   [^ ]/    { if (e != "") print e; e = "" }
	END           { if (e != "") print e }
' "$tmp/options.txt" >"$tmp/page.entries"
[[ -s $tmp/help.entries ]] || echo "no option entry found in --help" >"$tmp/defaults.err"
[[ -s $tmp/page.entries ]] || echo "no option entry found in OPTIONS" >>"$tmp/defaults.err"
while IFS= read -r entry; do
	tag=$(sed -nE 's/^ *((-[A-Za-z], )?--[a-z][a-z0-9-]*( ([A-Z[][^ ]*|[a-z]+\|[^ ]*))?).*/\1/p' <<<"$entry")
	long=$(grep -oE -- '--[a-z][a-z0-9-]*' <<<"$tag" | head -1)
	[[ -n $long ]] || continue
	doc=$(grep -E -- "^ *(-[A-Za-z], )?$long([ ,]|\$)" "$tmp/page.entries" | head -1 || true)
	if [[ -z $doc ]]; then
		echo "$long: no entry of its own in OPTIONS"
		continue
	fi
	[[ $doc == *"$tag"* ]] || echo "$long: --help shows '$tag', the man page does not"
	default=$(sed -nE 's/.*\(default ([0-9]+(\.[0-9]+)?)[,)].*/\1/p' <<<"$entry")
	if [[ -n $default ]] && ! grep -qE "[Dd]efault:? $default([^0-9]|\$)" <<<"$doc"; then
		echo "$long: --help says default $default, the man page does not"
	fi
done <"$tmp/help.entries" >>"$tmp/defaults.err"
check_empty "OPTIONS shows each option's argument and default as --help does" "$tmp/defaults.err"

# ---- metrics: src/prom.c versus METRICS ----

strip() { sed -E 's/_(bucket|sum|count)$//'; }
# name type, for what src/prom.c emits. Counters: the C(...) table; gauges:
# the { "name", "help", offset } table; the rest: family(f, "name", "type");
# histograms but handshake_seconds through hist_name() from src/names.c.
{
	grep -oE '\bC\("[a-z_]+"' "$prom_c" | sed -E 's/.*"(.*)"/tcpshake_\1 counter/'
	grep -oE '\{ "[a-z_]+", "' "$prom_c" | sed -E 's/\{ "([a-z_]+)".*/tcpshake_\1 gauge/'
	grep -oE 'family\(f, "[a-z_]+", "[a-z]+"' "$prom_c" |
		sed -E 's/family\(f, "([a-z_]+)", "([a-z]+)"/tcpshake_\1 \2/'
	awk '/^const char \*hist_name\(/, /^}/' "$names_c" | grep -oE '"[a-z_]+_seconds"' |
		sed -E 's/"(.*)"/tcpshake_\1 histogram/'
} | sort -u >"$tmp/src.metrics"
cut -d' ' -f1 "$tmp/src.metrics" | sort -u >"$tmp/src.names"
cut -d' ' -f1 "$tmp/src.metrics" | sort | uniq -d | sed 's/^/two types in the source: /' >"$tmp/metrics.err"

# name type, for the page: entry tags of the METRICS section, under the .SS
# subsection that gives their type.
section METRICS | awk '
	/^   Counters$/   { t = "counter"; next }
	/^   Gauges$/     { t = "gauge"; next }
	/^   Histograms$/ { t = "histogram"; next }
	/^   [^ ]/        { t = ""; next }
	/^       tcpshake_[a-z_]+/ {
		match($0, /tcpshake_[a-z_]+/)
		print substr($0, RSTART, RLENGTH), (t == "" ? "untyped" : t)
	}
' | sort -u >"$tmp/page.metrics"
cut -d' ' -f1 "$tmp/page.metrics" | sort -u >"$tmp/page.names"
if [[ ! -s $tmp/src.names ]]; then
	echo "no metric name found in $prom_c" >>"$tmp/metrics.err"
fi
{
	missing "emitted by src/prom.c but not in the man page's METRICS:" "$tmp/src.names" "$tmp/page.names"
	missing "in the man page's METRICS but not emitted by src/prom.c:" "$tmp/page.names" "$tmp/src.names"
	join "$tmp/src.metrics" "$tmp/page.metrics" | awk '$2 != $3 { print $1 ": a " $2 " in the source, listed as " $3 " in the man page" }'
} >>"$tmp/metrics.err"
check_empty "the same $(wc -l <"$tmp/src.names") metrics, of the same types, in src/prom.c and METRICS" "$tmp/metrics.err"

# Any other tcpshake_* word in the page must be a metric (with or without a
# histogram suffix) or one of the BPF programs (bpftool shows them).
grep -oE '\btcpshake_[a-z_]+\b' "$tmp/page.txt" | strip | sort -u >"$tmp/page.words"
grep -oE '^int (tcpshake_[a-z_]+)\(' "$bpf_c" | sed -E 's/^int (.*)\(/\1/' |
	cat - "$tmp/src.names" | sort -u >"$tmp/known.words"
missing "in the man page, but neither a metric nor a BPF program:" "$tmp/page.words" "$tmp/known.words" >"$tmp/words.err"
check_empty "every tcpshake_* name in the page is a real metric or program" "$tmp/words.err"

# With a compiler: render a real exposition (one interface, one labelled
# port) with src/prom.c itself and compare types and labels with the page,
# whose METRICS tags read "tcpshake_name {label, label}".
cc=${CC:-cc}
if command -v "$cc" >/dev/null; then
	cat >"$tmp/expo.c" <<-'EOF'
	#include <stdio.h>
	#include <stdlib.h>
	#include <string.h>
	#include "prom.h"

	int main(void)
	{
		static struct port_snapshot ports[2];
		static struct snapshot s;
		char *out = NULL;
		size_t len = 0;

		s.nr_ifaces = 1;
		strcpy(s.iface[0].name, "eth0");
		ports[0].port = 443;
		s.ports = ports;
		s.nr_ports = 2;
		s.up = true;
		s.self.valid = true;
		s.self.bpf_stats = true;
		s.self.nr_progs = 1;
		strcpy(s.self.prog[0].name, "tcpshake_tc_in");
		if (prom_render(&s, &out, &len))
			return 1;
		fwrite(out, 1, len, stdout);
		free(out);
		return 0;
	}
	EOF
	if "$cc" -std=c11 -D_GNU_SOURCE -DTCPSHAKE_VERSION='"test"' -I"$root/include" -I"$root/src" \
		"$tmp/expo.c" "$prom_c" "$names_c" -o "$tmp/expo" >"$tmp/cc.err" 2>&1 &&
		"$tmp/expo" >"$tmp/expo.txt"; then
		# name type label,label (without iface and le)
		sed -nE 's/^# TYPE ([a-z_]+) ([a-z]+)$/\1 \2/p' "$tmp/expo.txt" | sort -u >"$tmp/expo.types"
		grep -E '^tcpshake_' "$tmp/expo.txt" | sed -E 's/ [^ ]+$//' | awk '{
			name = $0; sub(/\{.*/, "", name); sub(/_(bucket|sum|count)$/, "", name)
			labels = $0; sub(/^[^{]*\{?/, "", labels); sub(/\}$/, "", labels)
			n = split(labels, kv, ",")
			for (i = 1; i <= n; i++) {
				split(kv[i], p, "=")
				if (p[1] != "iface" && p[1] != "le" && p[1] != "")
					seen[name "," p[1]] = 1
			}
			names[name] = 1
		}
		END {
			for (k in seen) { split(k, q, ","); l[q[1]] = l[q[1]] (l[q[1]] == "" ? "" : ",") q[2] }
			for (m in names) print m, (m in l ? l[m] : "-")
		}' | sort >"$tmp/expo.labels.raw"
		# Sort each label list so the comparison ignores order.
		while read -r name labels; do
			echo "$name $(tr ',' '\n' <<<"$labels" | sort | paste -sd, -)"
		done <"$tmp/expo.labels.raw" | sort >"$tmp/expo.labels"
		section METRICS | sed -nE 's/^       (tcpshake_[a-z_]+)( \{([^}]*)\})?.*/\1 \3/p' |
			while read -r name labels; do
				labels=${labels// /}
				echo "$name $( [[ -n $labels ]] && tr ',' '\n' <<<"$labels" | sort | paste -sd, - || echo -)"
			done | sort >"$tmp/page.labels"
		{
			join "$tmp/expo.types" "$tmp/page.metrics" |
				awk '$2 != $3 { print $1 ": exposition TYPE " $2 ", the man page says " $3 }'
			cut -d' ' -f1 "$tmp/expo.types" >"$tmp/expo.names"
			missing "in a real exposition but not in the man page's METRICS:" "$tmp/expo.names" "$tmp/page.names"
			join "$tmp/expo.labels" "$tmp/page.labels" |
				awk '$2 != $3 { print $1 ": labels {" $2 "} besides iface in a real exposition, {" $3 "} in the man page" }'
		} >"$tmp/expo.err"
		check_empty "a real exposition's types and labels match METRICS" "$tmp/expo.err"
	else
		fail "could not render an exposition with src/prom.c:"
		sed 's/^/       /' "$tmp/cc.err"
	fi
else
	echo "skip the exposition check: no C compiler ($cc)"
fi

# ---- events: src/events.c and src/names.c versus EVENTS ----

section EVENTS >"$tmp/events.txt"
grep -oE -e 'json_object_object_add\(o, "[a-z_]+"' -e 'key\(&l, "[a-z_]+"' "$events_c" | sed -E 's/.*"(.*)"/\1/' | sort -u >"$tmp/src.fields"
# Field tags sit at 7 columns, several to a tag ("src, sport, dst, dport").
sed -nE 's/^       ([a-z_]+(, [a-z_]+)*)( .*)?$/\1/p' "$tmp/events.txt" | tr -d ' ' | tr ',' '\n' |
	sort -u >"$tmp/page.fields"
awk '/^const char \*zeek_conn_state\(/, /^}/' "$names_c" | grep -oE '"[A-Z][A-Z0-9]*"' | tr -d '"' |
	sort -u >"$tmp/src.states"
sed -nE 's/^ {14}([A-Z][A-Z0-9]*)( .*)?$/\1/p' "$tmp/events.txt" | sort -u >"$tmp/page.states"
{
	[[ -s $tmp/src.fields ]] || echo "no event field found in $events_c"
	missing "event field emitted by src/events.c but not in EVENTS:" "$tmp/src.fields" "$tmp/page.fields"
	missing "event field in EVENTS but not emitted by src/events.c:" "$tmp/page.fields" "$tmp/src.fields"
	[[ -s $tmp/src.states ]] || echo "no conn_state found in $names_c"
	missing "conn_state of src/names.c not in EVENTS:" "$tmp/src.states" "$tmp/page.states"
	missing "conn_state in EVENTS that src/names.c never returns:" "$tmp/page.states" "$tmp/src.states"
} >"$tmp/events.err"
check_empty "the same $(wc -l <"$tmp/src.fields") event fields and $(wc -l <"$tmp/src.states") conn_states in the source and EVENTS" "$tmp/events.err"

# ---- --json lines: src/term.c versus OUTPUT's "With --json" ----

# The paragraph under the tag (at 7 columns) up to the next text at 7.
section OUTPUT | awk '/^       With --json/ { f = 1; next } f && /^       [^ ]/ { exit } f' >"$tmp/json.txt"
grep -oE '[a-z][a-z0-9_]*' "$tmp/json.txt" | sort -u >"$tmp/page.json"
grep -oE '(json_u64|json_seconds|json_object_object_add)\([a-z]+, "[a-z0-9_]+"' "$term_c" |
	sed -E 's/.*"(.*)"/\1/' | sort -u >"$tmp/src.json"
{
	[[ -s $tmp/src.json ]] || echo "no --json field found in $term_c"
	[[ -s $tmp/json.txt ]] || echo "no \"With --json\" paragraph in OUTPUT"
	missing "--json field written by src/term.c but not in OUTPUT's \"With --json\":" "$tmp/src.json" "$tmp/page.json"
} >"$tmp/json.err"
check_empty "the $(wc -l <"$tmp/src.json") --json fields of src/term.c are in OUTPUT" "$tmp/json.err"

# ---- version ----

version=$("$bin" --version 2>&1 | awk '{ print $NF; exit }')
footer=$(sed -nE 's/^\.TH .*"tcpshake\\-mon ([^"]+)".*/\1/p' "$page")
if [[ -n $version && $footer == "$version" ]]; then
	pass "the page footer names version $version"
else
	fail "the page footer names version '$footer', $bin --version says '$version'"
fi

echo "test_manpage: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
