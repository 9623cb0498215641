// SPDX-License-Identifier: GPL-2.0-only
/*
 * xgpumapd's request parser (daemon/proto.c), the one place a client's
 * bytes are read. Properties: it never crashes; what it accepts names an
 * op of the table, a decoded string fits its field with its NUL, a GEM
 * import has its handle, and the same bytes decode the same way again.
 */
#include <string.h>

#include "fuzz.h"
#include "proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proto_req a, b;
	char err[256], err2[256];
	int ra = proto_parse((const char *)data, size, &a, err, sizeof(err));
	int rb = proto_parse((const char *)data, size, &b, err2, sizeof(err2));

	FUZZ_ASSERT(ra == rb);
	FUZZ_ASSERT(ra <= 0);
	if (ra)
		return 0;
	FUZZ_ASSERT(proto_op_info(a.op) != NULL);
	FUZZ_ASSERT(memchr(a.dom, 0, sizeof(a.dom)) &&
		    memchr(a.blob, 0, sizeof(a.blob)) &&
		    memchr(a.label, 0, sizeof(a.label)) &&
		    memchr(a.card, 0, sizeof(a.card)));
	FUZZ_ASSERT(a.op == b.op && a.id == b.id && a.have == b.have &&
		    a.ref == b.ref && a.handle == b.handle && !strcmp(a.dom, b.dom));
	/* A GEM import always says which handle of the passed DRM fd. */
	FUZZ_ASSERT(a.op != OP_BUFFER_IMPORT_GEM || proto_has(&a, "handle"));
	FUZZ_ASSERT(a.e_placement >= 0 && a.e_placement <= 1 &&
		    a.e_strategy >= 0 && a.e_strategy <= 6);
	return 0;
}
