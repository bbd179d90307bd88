// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <stdio.h>
#include "names.h"

/* Length of the well-formed UTF-8 sequence at s (RFC 3629: no overlong
 * forms, no surrogates, nothing above U+10FFFF), or 0. */
static int utf8_sequence(const unsigned char *s)
{
	unsigned char c = s[0];
	int n, i;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4;
	else
		return 0;
	for (i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	if ((c == 0xe0 && s[1] < 0xa0) || (c == 0xed && s[1] > 0x9f) ||
	    (c == 0xf0 && s[1] < 0x90) || (c == 0xf4 && s[1] > 0x8f))
		return 0;
	return n;
}

const char *iface_label(const char *name, char out[IFACE_LABEL_MAX])
{
	const unsigned char *s = (const unsigned char *)name;
	size_t o = 0;
	int n;

	/* Each byte takes at most 4 bytes of out: stop while one more fits. */
	while (*s && o + 4 < IFACE_LABEL_MAX) {
		n = utf8_sequence(s);
		if (n == 1 && *s == '\\') {
			out[o++] = '\\';
			out[o++] = '\\';
		} else if (n == 0 || *s < 0x20 || *s == 0x7f) {
			snprintf(out + o, 5, "\\x%02x", *s);
			o += 4;
			n = 1;
		} else {
			while (n--)
				out[o++] = (char)*s++;
			continue;
		}
		s++;
	}
	out[o] = 0;
	return out;
}

const char *seconds_text(__u64 ns, char out[SECONDS_TEXT_MAX])
{
	int n = snprintf(out, SECONDS_TEXT_MAX, "%llu.%09llu", (unsigned long long)(ns / 1000000000ull),
			 (unsigned long long)(ns % 1000000000ull));

	while (n > 0 && out[n - 1] == '0' && out[n - 2] != '.')
		out[--n] = 0;
	return out;
}

const char *iface_json(const char *name, char out[IFACE_LABEL_MAX])
{
	const unsigned char *s = (const unsigned char *)name;
	int n;

	for (; *s; s += n)
		if (!(n = utf8_sequence(s)))
			return iface_label(name, out);
	return name;
}

const char *fail_reason_name(unsigned int reason)
{
	static const char *const n[FAIL_MAX] = {
		"refused", "reset", "timeout", "invalid", "unreachable",
	};

	return reason < FAIL_MAX ? n[reason] : "unknown";
}

const char *unparsed_reason_name(unsigned int reason)
{
	static const char *const n[UNPARSED_MAX] = {
		"truncated", "bad_length", "bad_header", "vlan_depth", "ipv6_ext_depth",
	};

	return reason < UNPARSED_MAX ? n[reason] : "unknown";
}

const char *outcome_name(unsigned int outcome)
{
	static const char *const n[OUT_MAX] = {
		"none", "refused", "reset", "timeout", "invalid", "closed", "expired",
		"established", "superseded", "unreachable",
	};

	return outcome < OUT_MAX ? n[outcome] : "unknown";
}

const char *hist_name(unsigned int id)
{
	static const char *const n[H_MAX] = {
		"syn_to_synack_seconds", "synack_to_ack_seconds", "handshake_seconds",
		"close_seconds", "time_wait_seconds", "connection_seconds",
	};

	return id < H_MAX ? n[id] : "unknown";
}

const char *hist_help(unsigned int id)
{
	static const char *const n[H_MAX] = {
		"Time from the SYN to the first valid SYN-ACK.",
		"Time from the first valid SYN-ACK to the validated third ACK.",
		"Time from the SYN to the validated third ACK.",
		"Time from the first FIN to the ACK of the last FIN.",
		"Time spent in TIME-WAIT (2MSL, or less when reset or reused).",
		"Lifetime of connections that closed or were reset, from SYN to end.",
	};

	return id < H_MAX ? n[id] : "";
}

/*
 * Zeek's endpoint states, derived from what the record saw, then Zeek's own
 * decision table (base/protocols/conn/main.zeek, conn_state()).
 */
enum zeek_ep { Z_INACTIVE, Z_SYN_SENT, Z_SYN_ACK_SENT, Z_ESTABLISHED, Z_CLOSED, Z_RESET };

static enum zeek_ep orig_state(__u32 seen)
{
	int both_closed = (seen & (SEEN_FIN_ORIG | SEEN_FIN_RESP)) == (SEEN_FIN_ORIG | SEEN_FIN_RESP);

	if ((seen & SEEN_RST_ORIG) && !both_closed)
		return Z_RESET;
	if (seen & SEEN_FIN_ORIG)
		return Z_CLOSED;
	/* Zeek establishes the originator when the responder's SYN-ACK
	 * answers its SYN, or on its ACK after a SYN-ACK whose SYN was missed. */
	if ((seen & SEEN_SYN) && (seen & SEEN_SYNACK))
		return Z_ESTABLISHED;
	if (seen & SEEN_ACK3)
		return Z_ESTABLISHED;
	if (seen & SEEN_SYN)
		return Z_SYN_SENT;
	return Z_INACTIVE;
}

static enum zeek_ep resp_state(__u32 seen)
{
	int both_closed = (seen & (SEEN_FIN_ORIG | SEEN_FIN_RESP)) == (SEEN_FIN_ORIG | SEEN_FIN_RESP);

	if ((seen & SEEN_RST_RESP) && !both_closed)
		return Z_RESET;
	if (seen & SEEN_FIN_RESP)
		return Z_CLOSED;
	if (seen & (SEEN_SYNACK | SEEN_SIMOPEN))
		return Z_ESTABLISHED;
	return Z_INACTIVE;
}

const char *zeek_conn_state(const struct conn *c)
{
	enum zeek_ep os = orig_state(c->seen), rs = resp_state(c->seen);
	int o_inactive = os == Z_INACTIVE, r_inactive = rs == Z_INACTIVE;
	int no_data = !(c->seen & (SEEN_DATA_ORIG | SEEN_DATA_RESP));

	if (rs == Z_RESET) {
		if (os == Z_SYN_SENT || os == Z_SYN_ACK_SENT || (os == Z_RESET && no_data))
			return "REJ";
		return o_inactive ? "RSTRH" : "RSTR";
	}
	if (os == Z_RESET) {
		if (r_inactive)
			return (c->seen & SEEN_SYN) ? "RSTOS0" : "OTH";
		return "RSTO";
	}
	if (rs == Z_CLOSED && os == Z_CLOSED)
		return "SF";
	if (os == Z_CLOSED)
		return r_inactive ? "SH" : "S2";
	if (rs == Z_CLOSED)
		return o_inactive ? "SHR" : "S3";
	if (os == Z_SYN_SENT && rs == Z_INACTIVE)
		return "S0";
	if (os == Z_ESTABLISHED && rs == Z_ESTABLISHED)
		return "S1";
	return "OTH";
}
