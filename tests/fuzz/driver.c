// SPDX-License-Identifier: LGPL-2.1-only
/*
 * A tiny stand-in for libFuzzer where clang has none: runs a harness over
 * every file of the seed corpus directories, then over N random mutations
 * of them (bit flips, byte changes, insertions, deletions, repeats and
 * splices). There is no coverage feedback: it finds what sanitizers see
 * near the seeds, which is why the seeds cover each format's features.
 *
 *   driver [-n N] [-t SECONDS] [-s SEED] [-m MAXLEN] [-o DIR] CORPUS_DIR...
 *
 * A crash (a sanitizer report or a violated property) is fatal, as under
 * libFuzzer; the input that caused it is saved first as DIR/crash-HASH
 * (default .), and can be replayed with: driver FILE.
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fuzz.h"

struct input {
	uint8_t *data;
	size_t size;
};

static struct input *corpus;
static size_t nr_corpus;
static const uint8_t *current;
static size_t current_size;
static const char *out_dir = ".";
static uint64_t rng_state;

/* splitmix64: reproducible from -s. */
static uint64_t rnd(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static size_t below(size_t n)
{
	return n ? (size_t)(rnd() % n) : 0;
}

/* Saves the input being run; called by the sanitizers before they die
 * and by abort() through SIGABRT. */
static void save_crash(void)
{
	uint64_t h = 1469598103934665603ULL;
	char path[4096];
	FILE *f;

	if (!current)
		return;
	for (size_t i = 0; i < current_size; i++)
		h = (h ^ current[i]) * 1099511628211ULL;
	snprintf(path, sizeof(path), "%s/crash-%016llx", out_dir,
		 (unsigned long long)h);
	f = fopen(path, "wb");
	if (f) {
		fwrite(current, 1, current_size, f);
		fclose(f);
		fprintf(stderr, "driver: input saved as %s (%zu bytes)\n", path,
			current_size);
	}
	current = NULL;
}

void __sanitizer_set_death_callback(void (*cb)(void)) __attribute__((weak));

static void on_abort(int sig)
{
	save_crash();
	signal(sig, SIG_DFL);
	raise(sig);
}

static void run(const uint8_t *data, size_t size)
{
	current = data;
	current_size = size;
	LLVMFuzzerTestOneInput(data, size);
	current = NULL;
}

static int load_file(const char *path, struct input *in)
{
	FILE *f = fopen(path, "rb");
	long n;

	if (!f)
		return -errno;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	in->data = malloc(n > 0 ? (size_t)n : 1);
	in->size = n > 0 && in->data ? fread(in->data, 1, (size_t)n, f) : 0;
	fclose(f);
	return in->data ? 0 : -ENOMEM;
}

static void add(const char *path)
{
	struct input in;
	struct input *c;

	if (load_file(path, &in))
		return;
	c = realloc(corpus, (nr_corpus + 1) * sizeof(*c));
	if (!c)
		exit(2);
	corpus = c;
	corpus[nr_corpus++] = in;
}

static void add_dir_or_file(const char *path)
{
	struct stat st;
	struct dirent *e;
	char p[4096];
	DIR *d;

	if (stat(path, &st) || !S_ISDIR(st.st_mode)) {
		add(path);
		return;
	}
	d = opendir(path);
	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", path, e->d_name);
		add(p);
	}
	if (d)
		closedir(d);
}

/* Tokens the formats are made of, so mutations reach past the lexer. */
static const char *const tokens[] = {
	"\"", "{", "}", "[", "]", ",", ":", "=", "+", "-", " ", "\n", "0x",
	"-1", "0", "18446744073709551615", "9223372036854775808", "4096",
	"K", "M", "G", "T", "null", "true", "order: ", "gfn: ", "mfn: ",
	"dfn: ", "(XEN) ", "!", "%", "\\u0000",
};

/* One mutation of buf (len bytes, room for cap) in place; the new len. */
static size_t mutate_once(uint8_t *buf, size_t len, size_t cap)
{
	size_t at = below(len + 1), n;
	const struct input *o;
	const char *t;

	switch (rnd() % 8) {
	case 0: /* flip a bit */
		if (len)
			buf[below(len)] ^= (uint8_t)(1u << (rnd() % 8));
		return len;
	case 1: /* set a byte */
		if (len)
			buf[below(len)] = (uint8_t)rnd();
		return len;
	case 2: /* delete a run */
		n = below(len - at + 1);
		memmove(buf + at, buf + at + n, len - at - n);
		return len - n;
	case 3: /* insert a token */
		t = tokens[below(sizeof(tokens) / sizeof(*tokens))];
		n = strlen(t);
		if (len + n > cap)
			return len;
		memmove(buf + at + n, buf + at, len - at);
		memcpy(buf + at, t, n);
		return len + n;
	case 4: /* repeat a run of itself */
		if (!len)
			return len;
		n = 1 + below(len < 64 ? len : 64);
		if (len + n > cap || at + n > len)
			return len;
		memmove(buf + at + n, buf + at, len - at);
		return len + n;
	case 5: /* splice in a piece of another input */
		o = &corpus[below(nr_corpus)];
		if (!o->size)
			return len;
		n = 1 + below(o->size < 256 ? o->size : 256);
		if (len + n > cap)
			return len;
		memmove(buf + at + n, buf + at, len - at);
		memcpy(buf + at, o->data + below(o->size - n + 1), n);
		return len + n;
	case 6: /* a digit somewhere: numbers are the usual edge */
		if (len)
			buf[below(len)] = (uint8_t)('0' + rnd() % 10);
		return len;
	default: /* cut the tail */
		return below(len + 1);
	}
}

static void usage(const char *argv0)
{
	fprintf(stderr, "usage: %s [-n N] [-t SECONDS] [-s SEED] [-m MAXLEN] "
		"[-o DIR] CORPUS_DIR|FILE...\n", argv0);
	exit(2);
}

int main(int argc, char **argv)
{
	unsigned long long iters = 10000, it;
	size_t maxlen = 65536;
	time_t deadline = 0;
	uint8_t *buf;
	int opt;

	rng_state = 1;
	while ((opt = getopt(argc, argv, "n:t:s:m:o:")) != -1) {
		if (opt == 'n')
			iters = strtoull(optarg, NULL, 0);
		else if (opt == 't')
			deadline = time(NULL) + (time_t)strtoul(optarg, NULL, 0);
		else if (opt == 's')
			rng_state = strtoull(optarg, NULL, 0);
		else if (opt == 'm')
			maxlen = strtoull(optarg, NULL, 0);
		else if (opt == 'o')
			out_dir = optarg;
		else
			usage(argv[0]);
	}
	if (__sanitizer_set_death_callback)
		__sanitizer_set_death_callback(save_crash);
	signal(SIGABRT, on_abort);
	for (int i = optind; i < argc; i++)
		add_dir_or_file(argv[i]);
	if (!nr_corpus) {
		static uint8_t empty;

		corpus = malloc(sizeof(*corpus));
		corpus[0] = (struct input){ &empty, 0 };
		nr_corpus = 1;
	}
	for (size_t i = 0; i < nr_corpus; i++)
		run(corpus[i].data, corpus[i].size);
	buf = malloc(maxlen);
	for (it = 0; buf && it < iters; it++) {
		const struct input *seed = &corpus[below(nr_corpus)];
		size_t len = seed->size < maxlen ? seed->size : maxlen;
		unsigned int rounds = 1 + (unsigned int)below(8);
		uint8_t *exact;

		if (deadline && !(it % 64) && time(NULL) >= deadline)
			break;
		memcpy(buf, seed->data, len);
		while (rounds--)
			len = mutate_once(buf, len, maxlen);
		/* An exact-size copy, so a read past the end is caught. */
		exact = malloc(len ? len : 1);
		if (!exact)
			break;
		memcpy(exact, buf, len);
		run(exact, len);
		free(exact);
	}
	printf("driver: %zu seeds, %llu mutations, no crash\n", nr_corpus, it);
	free(buf);
	return 0;
}
