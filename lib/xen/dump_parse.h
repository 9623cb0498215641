/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * Parsers for what stock Xen prints for two debug keys, read back from the
 * console ring: 'D' (VT-x EPT tables: gfn, order, mfn, rwx, memory type,
 * ipat; no p2m type) and 'o' (IOMMU tables of domains with their own:
 * AMD-Vi prints dfn -> mfn leaves; dom0 and domains sharing the EPT are
 * skipped). The text is untrusted: any line that does not parse exactly
 * is skipped, numbers are range-checked, nothing is read past len.
 */
#ifndef XGM_XEN_DUMP_PARSE_H
#define XGM_XEN_DUMP_PARSE_H

#include <stddef.h>

#include "backend.h"

/* Calls fn for each leaf of domid's table in text[0..len); returns how many
 * leaves were found, -ENOENT when the dump has no section for domid, or
 * fn's non-zero return. Leaves come in the order Xen printed them. */
int xen_parse_ept_dump(const char *text, size_t len, unsigned int domid,
		       xgm_p2m_walk_fn fn, void *arg);
int xen_parse_iommu_dump(const char *text, size_t len, unsigned int domid,
			 xgm_p2m_walk_fn fn, void *arg);

#endif /* XGM_XEN_DUMP_PARSE_H */
