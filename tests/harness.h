/* SPDX-License-Identifier: MIT */
/* A minimal test harness: counts checks, prints "N passed, N failed". */
#ifndef MAPLETREE_TEST_HARNESS_H
#define MAPLETREE_TEST_HARNESS_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static unsigned long harness_passed, harness_failed;

#define CHECK(cond) do {						\
	if (cond) {							\
		harness_passed++;					\
	} else {							\
		harness_failed++;					\
		fprintf(stderr, "%s:%d: %s: CHECK(%s) failed\n",	\
			__FILE__, __LINE__, __func__, #cond);		\
	}								\
} while (0)

#define CHECK_EQ(a, b) do {						\
	unsigned long long __a = (unsigned long long)(a);		\
	unsigned long long __b = (unsigned long long)(b);		\
	if (__a == __b) {						\
		harness_passed++;					\
	} else {							\
		harness_failed++;					\
		fprintf(stderr, "%s:%d: %s: %s == %s failed: %#llx != %#llx\n", \
			__FILE__, __LINE__, __func__, #a, #b, __a, __b); \
	}								\
} while (0)

/* Ends a suite: the line CI reads, and the exit status. */
static inline int harness_finish(void)
{
	printf("%lu passed, %lu failed\n", harness_passed, harness_failed);
	return harness_failed ? 1 : 0;
}

/* xorshift64*: small, seedable, good enough to drive random tests. */
static inline uint64_t harness_rand(uint64_t *state)
{
	uint64_t x = *state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545F4914F6CDD1DULL;
}

/* The seed: $MT_SEED if set, else the time; printed so failures replay. */
static inline uint64_t harness_seed(const char *suite)
{
	const char *env = getenv("MT_SEED");
	uint64_t seed = env ? strtoull(env, NULL, 0) :
			(uint64_t)time(NULL) * 2654435761u + (uint64_t)clock();

	if (!seed)
		seed = 1;
	printf("%s: seed %" PRIu64 " (replay with MT_SEED=%" PRIu64 ")\n",
	       suite, seed, seed);
	return seed;
}

#endif
