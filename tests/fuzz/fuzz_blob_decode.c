// SPDX-License-Identifier: LGPL-2.1-only
/*
 * The blob record decoder (blob_decode in lib/core/blob.c): records come
 * from the store, which on Xen is xenstore, so they are untrusted.
 * Property: a record that decodes encodes to a record that decodes to the
 * same encoding (the stored form is stable). The same input is also tried
 * as the two keys stored beside a record: its costs (the same property)
 * and its span (bounded, so gfn + frames cannot wrap).
 */
#include "fuzz.h"
#include "core/engine.h"

static void fuzz_costs_and_span(const char *s)
{
	json_t *j = json_loads(s, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, NULL);
	struct blob b = { 0 }, again = { 0 };
	uint64_t gfn, nr;

	if (j && !blob_ops_from_record(j, &b)) {
		json_t *enc = blob_ops_record(&b);
		char *t1, *t2;

		/* An empty object is no costs: nothing to store. */
		if (enc) {
			FUZZ_ASSERT(!blob_ops_from_record(enc, &again));
			json_t *enc2 = blob_ops_record(&again);

			t1 = json_dumps(enc, JSON_COMPACT);
			t2 = json_dumps(enc2, JSON_COMPACT);
			FUZZ_ASSERT(t1 && t2 && !strcmp(t1, t2));
			free(t1);
			free(t2);
			json_decref(enc2);
			json_decref(enc);
		}
	}
	json_decref(j);
	if (!span_decode(s, "fuzz", &gfn, &nr))
		FUZZ_ASSERT(nr > 0 && gfn < (1ULL << 52) && nr <= (1ULL << 52));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct blob b, again;
	char *s = fuzz_cstr(data, size), *enc, *enc2;

	if (!s)
		return 0;
	fuzz_costs_and_span(s);
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
