// SPDX-License-Identifier: LGPL-2.1-only
/*
 * The blob record decoder (blob_decode in lib/core/blob.c): records come
 * from the store, which on Xen is xenstore, so they are untrusted.
 * Property: a record that decodes encodes to a record that decodes to the
 * same encoding (the stored form is stable).
 */
#include "fuzz.h"
#include "core/engine.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct blob b, again;
	char *s = fuzz_cstr(data, size), *enc, *enc2;

	if (!s)
		return 0;
	if (blob_decode(s, &b)) {
		free(s);
		return 0;
	}
	enc = blob_encode(&b);
	FUZZ_ASSERT(enc);
	FUZZ_ASSERT(!blob_decode(enc, &again));
	enc2 = blob_encode(&again);
	FUZZ_ASSERT(enc2 && !strcmp(enc, enc2));
	free(enc2);
	free(enc);
	blob_free(&again);
	blob_free(&b);
	free(s);
	return 0;
}
