/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * What every harness shares. A harness is one libFuzzer entry point; built
 * with -fsanitize=fuzzer it runs under libFuzzer, otherwise driver.c calls
 * it over a corpus and mutations of it. A property a harness checks beyond
 * "no crash" aborts, so both engines report it as a crash.
 */
#ifndef XGM_FUZZ_H
#define XGM_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The input as a C string (parsers take NUL-terminated text); NULL when
 * out of memory, which the harness then skips. */
static inline char *fuzz_cstr(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (s) {
		memcpy(s, data, size);
		s[size] = '\0';
	}
	return s;
}

#define FUZZ_ASSERT(cond)                                                   \
	do {                                                                \
		if (!(cond)) {                                              \
			fprintf(stderr, "%s:%d: property violated: %s\n",  \
				__FILE__, __LINE__, #cond);                 \
			abort();                                            \
		}                                                           \
	} while (0)

#endif /* XGM_FUZZ_H */
