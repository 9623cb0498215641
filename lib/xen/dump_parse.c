// SPDX-License-Identifier: LGPL-2.1-only
/*
 * Debug-key dump parsers (see dump_parse.h). Formats, from Xen 4.17:
 *   'D': "domain%d EPT p2m table:" then per leaf
 *        "gfn: %13lx order: %2d mfn: %13lx %c%c%c %c%c%c"
 *        (r w x, two memory-type characters, '!' ipat or '?' pending)
 *        or "gfn: %13lx order: %2d PoD"
 *   'o': "AMD IOMMU d%d table has %u levels" then per leaf, indented one
 *        space a level below the root, "dfn: %08lx  mfn: %08lx[  rw]"
 * Each console line may carry "(XEN) " and a "[timestamp] " in front.
 */
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "xen/dump_parse.h"

#define LINE_MAX_LEN 512
#define MAX_FRAME ((1ULL << 52) - 1)

struct cursor {
	const char *p, *end;
};

/* Next line without its console prefix, NUL-terminated in buf; false at
 * the end. Over-long lines are cut (and then will not parse). */
static bool next_line(struct cursor *c, char *buf, size_t len)
{
	const char *s = c->p, *nl;
	size_t n;

	if (c->p >= c->end)
		return false;
	nl = memchr(s, '\n', (size_t)(c->end - s));
	n = (size_t)((nl ? nl : c->end) - s);
	c->p = nl ? nl + 1 : c->end;
	if (n >= len)
		n = len - 1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	for (size_t i = 0; i < n; i++)
		if (!buf[i] || buf[i] == '\r')
			buf[i] = ' ';
	return true;
}

static const char *strip_prefix(const char *l)
{
	if (!strncmp(l, "(XEN) ", 6))
		l += 6;
	if (*l == '[') {
		const char *e = strchr(l, ']');

		if (e && e - l < 32)
			l = e + 1 + (e[1] == ' ');
	}
	return l;
}

/* Parses a hex number, at most 16 digits, into *v; returns the end. */
static const char *hex(const char *s, uint64_t *v)
{
	int n = 0;

	while (*s == ' ')
		s++;
	*v = 0;
	for (; isxdigit((unsigned char)*s); s++, n++) {
		if (n == 16)
			return NULL;
		*v = *v << 4 | (uint64_t)(isdigit((unsigned char)*s) ?
			*s - '0' : tolower((unsigned char)*s) - 'a' + 10);
	}
	return n ? s : NULL;
}

static const char *dec(const char *s, unsigned int *v)
{
	int n = 0;

	while (*s == ' ')
		s++;
	*v = 0;
	for (; isdigit((unsigned char)*s); s++, n++) {
		if (n == 6)
			return NULL;
		*v = *v * 10 + (unsigned int)(*s - '0');
	}
	return n ? s : NULL;
}

static const char *word(const char *s, const char *w)
{
	size_t n = strlen(w);

	while (*s == ' ')
		s++;
	return strncmp(s, w, n) ? NULL : s + n;
}

/* "domain%d EPT p2m table:" or "d%d EPT p2m table:" (%pd). */
static bool ept_header(const char *l, unsigned int *domid)
{
	const char *s = word(l, "domain");

	if (!s)
		s = word(l, "d");
	if (!s || !(s = dec(s, domid)))
		return false;
	return word(s, "EPT p2m table:") != NULL;
}

static int emt_of(char a, char b)
{
	static const struct { char n[3]; int t; } names[] = {
		{ "UC", XGM_MT_UC }, { "WC", XGM_MT_WC }, { "WT", XGM_MT_WT },
		{ "WP", XGM_MT_WP }, { "WB", XGM_MT_WB },
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++)
		if (names[i].n[0] == a && names[i].n[1] == b)
			return names[i].t;
	return -1;
}

static bool ept_leaf(const char *l, struct xgm_p2m_entry *e, bool *pod)
{
	unsigned int order;
	uint64_t gfn, mfn;
	const char *s;
	int emt;

	memset(e, 0, sizeof(*e));
	if (!(s = word(l, "gfn:")) || !(s = hex(s, &gfn)) ||
	    !(s = word(s, "order:")) || !(s = dec(s, &order)))
		return false;
	if (order != 0 && order != 9 && order != 18)
		return false;
	if (gfn > MAX_FRAME || (gfn & ((1ULL << order) - 1)))
		return false;
	e->gfn = gfn;
	e->order = (uint8_t)order;
	if (word(s, "PoD")) {
		*pod = true;
		e->type = XGM_P2M_POPULATE_ON_DEMAND;
		return true;
	}
	*pod = false;
	if (!(s = word(s, "mfn:")) || !(s = hex(s, &mfn)) || mfn > MAX_FRAME)
		return false;
	e->mfn = mfn;
	/* " rwx EMTi": exactly one space, then 3 access chars. */
	if (s[0] != ' ' || strlen(s) < 7)
		return false;
	s++;
	if ((s[0] != 'r' && s[0] != ' ') || (s[1] != 'w' && s[1] != ' ') ||
	    (s[2] != 'x' && s[2] != ' ') || s[3] != ' ')
		return false;
	e->access = (uint8_t)((s[0] == 'r') << 2 | (s[1] == 'w') << 1 | (s[2] == 'x'));
	emt = emt_of(s[4], s[5]);
	if (emt < 0 && s[4] == '?' && isdigit((unsigned char)s[5]))
		emt = s[5] - '0';
	/* "??": not resolved yet (Xen fixes it on the next misconfig exit);
	 * 0xff shows as "?", never as a real type. */
	if (emt < 0 && s[4] == '?' && s[5] == '?')
		emt = 0xff;
	if (emt < 0 || (emt > 7 && emt != 0xff))
		return false;
	e->emt = (uint8_t)emt;
	e->ipat = s[6] == '!';
	/* No p2m type in this dump: RAM and MMIO look alike. */
	e->type = XGM_P2M_INVALID;
	return true;
}

int xen_parse_ept_dump(const char *text, size_t len, unsigned int domid,
		       xgm_p2m_walk_fn fn, void *arg)
{
	struct cursor c = { text, text + (text ? len : 0) };
	char buf[LINE_MAX_LEN];
	bool in = false, seen = false;
	int leaves = 0;

	while (next_line(&c, buf, sizeof(buf))) {
		const char *l = strip_prefix(buf);
		struct xgm_p2m_entry e;
		unsigned int d;
		bool pod;
		int ret;

		if (ept_header(l, &d)) {
			in = d == domid;
			seen |= in;
			continue;
		}
		if (strstr(l, "' pressed -> ")) {
			in = false;
			continue;
		}
		if (!in || !ept_leaf(l, &e, &pod))
			continue;
		ret = fn(&e, arg);
		if (ret)
			return ret;
		if (leaves < INT32_MAX)
			leaves++;
	}
	return seen ? leaves : -ENOENT;
}

/* "AMD IOMMU d%d table has %u levels" */
static bool amd_header(const char *l, unsigned int *domid, unsigned int *levels)
{
	const char *s = word(l, "AMD IOMMU d");

	if (!s || !(s = dec(s, domid)) || !(s = word(s, "table has")) ||
	    !(s = dec(s, levels)) || !word(s, "levels"))
		return false;
	return *levels >= 1 && *levels <= 6;
}

static bool amd_leaf(const char *l, unsigned int levels,
		     struct xgm_p2m_entry *e)
{
	unsigned int indent = 0, order;
	uint64_t dfn, mfn;
	const char *s = l;

	while (*s == ' ')
		s++, indent++;
	if (indent + 1 > levels)
		return false;
	/* Printed at table level (levels - indent): 1 is 4K, 2 is 2M... */
	order = 9 * (levels - indent - 1);
	if (order > 18)
		return false;
	if (!(s = word(s, "dfn:")) || !(s = hex(s, &dfn)) ||
	    !(s = word(s, "mfn:")) || !(s = hex(s, &mfn)))
		return false;
	if (dfn > MAX_FRAME || mfn > MAX_FRAME || (dfn & ((1ULL << order) - 1)))
		return false;
	while (*s == ' ')
		s++;
	memset(e, 0, sizeof(*e));
	e->gfn = dfn;
	e->mfn = mfn;
	e->order = (uint8_t)order;
	e->type = XGM_P2M_INVALID;
	if (!*s) {
		e->access = 6; /* older Xen prints no permissions */
	} else if ((s[0] == 'r' || s[0] == '-') && (s[1] == 'w' || s[1] == '-') &&
		   (!s[2] || s[2] == ' ')) {
		e->access = (uint8_t)((s[0] == 'r') << 2 | (s[1] == 'w') << 1);
	} else {
		return false;
	}
	return true;
}

int xen_parse_iommu_dump(const char *text, size_t len, unsigned int domid,
			 xgm_p2m_walk_fn fn, void *arg)
{
	struct cursor c = { text, text + (text ? len : 0) };
	char buf[LINE_MAX_LEN];
	unsigned int levels = 0;
	bool in = false, seen = false;
	int leaves = 0;

	while (next_line(&c, buf, sizeof(buf))) {
		const char *l = strip_prefix(buf);
		struct xgm_p2m_entry e;
		unsigned int d, lv;
		int ret;

		if (amd_header(l, &d, &lv)) {
			in = d == domid;
			seen |= in;
			levels = lv;
			continue;
		}
		if (strstr(l, "' pressed -> ") || strstr(l, "sharing page tables")) {
			in = false;
			continue;
		}
		if (!in || !amd_leaf(l, levels, &e))
			continue;
		ret = fn(&e, arg);
		if (ret)
			return ret;
		if (leaves < INT32_MAX)
			leaves++;
	}
	return seen ? leaves : -ENOENT;
}
