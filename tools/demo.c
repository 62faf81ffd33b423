// SPDX-License-Identifier: MIT
/*
 * mapletree-demo: what the tree does, in a few seconds.
 *
 * 1. Builds an RCU-mode tree of N ranges [16i, 16i+9] (default N = 1000000),
 *    each holding an entry that names its range.
 * 2. For a few seconds, one reader thread looks up random indices without
 *    any lock and checks every answer, while the main thread (the writer)
 *    overwrites ranges, erases some and inserts them again.
 * 3. Prints rates, the tree's shape and memory use, and runs mt_validate().
 *
 * Usage: mapletree-demo [ranges [seconds]]
 * Exits 1 if any check failed.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <urcu/urcu-memb.h>

#include <mapletree/maple_tree.h>

#define STRIDE		16	/* range i starts at STRIDE * i ... */
#define SPAN		10	/* ... and covers SPAN indices */
#define GEN_BITS	16	/* entry value = (range << GEN_BITS) | generation */
#define MAX_ERASED	64	/* ranges erased at once, at most */
#define MAX_REPORTS	5	/* failures described in detail */

static struct maple_tree tree;
static unsigned long nr_ranges = 1000000;
static double run_seconds = 2.0;

/*
 * One counter per range, written by the writer only: odd while the range is
 * erased (from just before mtree_erase() until just after it is inserted
 * again), even otherwise. A reader that finds a hole where a range should be
 * uses it to tell an erase in progress from a lost range.
 */
static unsigned int *erase_seq;

static atomic_bool stop;
static atomic_ulong failures;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* xorshift64*, one state per thread. */
static uint64_t next_rand(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545F4914F6CDD1DULL;
}

static unsigned long range_first(unsigned long i)
{
	return i * STRIDE;
}

static unsigned long range_last(unsigned long i)
{
	return i * STRIDE + SPAN - 1;
}

static void *range_entry(unsigned long i, unsigned long gen)
{
	return xa_mk_value((i << GEN_BITS) | (gen & ((1UL << GEN_BITS) - 1)));
}

static bool entry_names(const void *entry, unsigned long i)
{
	return entry && xa_is_value(entry) &&
	       (xa_to_value(entry) >> GEN_BITS) == i;
}

static void fail(const char *who, unsigned long index, const void *entry,
		 const char *why)
{
	unsigned long n = atomic_fetch_add(&failures, 1);

	if (n < MAX_REPORTS)
		fprintf(stderr, "FAIL %s: index %lu: got %p: %s\n",
			who, index, entry, why);
}

struct reader_result {
	unsigned long lookups;
	unsigned long holes;	/* lookups that landed on an erased range */
	double seconds;
};

static void *reader(void *arg)
{
	struct reader_result *res = arg;
	uint64_t rnd = 0x9E3779B97F4A7C15ULL;
	/* One stride past the end, so lookups beyond the last range happen. */
	unsigned long limit = (nr_ranges + 1) * STRIDE;
	unsigned long lookups = 0, holes = 0;
	double start;

	urcu_memb_register_thread();
	start = now();
	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		for (int k = 0; k < 256; k++) {
			unsigned long index = next_rand(&rnd) % limit;
			unsigned long i = index / STRIDE;
			bool inside = i < nr_ranges && index <= range_last(i);
			unsigned int seq_before = 0, seq_after;
			void *entry;

			if (inside)
				seq_before = __atomic_load_n(&erase_seq[i],
							     __ATOMIC_ACQUIRE);
			entry = mtree_load(&tree, index);
			lookups++;
			if (!inside) {
				if (entry)
					fail("reader", index, entry,
					     "expected NULL between ranges");
				continue;
			}
			if (entry_names(entry, i))
				continue;
			if (entry) {
				fail("reader", index, entry,
				     "entry of another range");
				continue;
			}
			/* A hole: fine only if the writer erased range i. */
			atomic_thread_fence(memory_order_acquire);
			seq_after = __atomic_load_n(&erase_seq[i],
						    __ATOMIC_RELAXED);
			if ((seq_before & 1) || seq_before != seq_after)
				holes++;
			else
				fail("reader", index, entry,
				     "range missing but never erased");
		}
	}
	res->seconds = now() - start;
	res->lookups = lookups;
	res->holes = holes;
	urcu_memb_unregister_thread();
	return NULL;
}

struct writer_result {
	unsigned long overwrites, erases, inserts;
	double seconds;
};

static void set_seq(unsigned long i)
{
	__atomic_store_n(&erase_seq[i], erase_seq[i] + 1, __ATOMIC_RELEASE);
}

static void reinsert(unsigned long i, unsigned long gen,
		     struct writer_result *res)
{
	int ret = mtree_insert_range(&tree, range_first(i), range_last(i),
				     range_entry(i, gen), GFP_KERNEL);

	if (ret)
		fail("writer", range_first(i), NULL, strerror(-ret));
	set_seq(i);	/* even again: the range is back */
	res->inserts++;
}

static void writer(struct writer_result *res)
{
	uint64_t rnd = 0xD1B54A32D192ED03ULL;
	unsigned long erased[MAX_ERASED];
	unsigned int nr_erased = 0, head = 0;
	unsigned long gen = 0;
	double start = now(), end = start + run_seconds;

	for (;;) {
		if ((gen & 1023) == 0 && now() >= end)
			break;
		gen++;

		unsigned long roll = next_rand(&rnd) % 100;
		unsigned long i = next_rand(&rnd) % nr_ranges;

		if (roll < 3 && nr_erased < MAX_ERASED && !(erase_seq[i] & 1)) {
			/* Erase range i, keep it out for a while. */
			set_seq(i);	/* odd: erase in progress */
			void *old = mtree_erase(&tree, range_first(i) + roll);

			if (!entry_names(old, i))
				fail("writer", range_first(i), old,
				     "erase returned the wrong entry");
			erased[(head + nr_erased) % MAX_ERASED] = i;
			nr_erased++;
			res->erases++;
		} else if (roll < 6 && nr_erased) {
			/* Bring back the range erased longest ago. */
			reinsert(erased[head], gen, res);
			head = (head + 1) % MAX_ERASED;
			nr_erased--;
		} else if (!(erase_seq[i] & 1)) {
			/* Replace range i's entry with a new one. */
			int ret = mtree_store_range(&tree, range_first(i),
						    range_last(i),
						    range_entry(i, gen),
						    GFP_KERNEL);

			if (ret)
				fail("writer", range_first(i), NULL,
				     strerror(-ret));
			res->overwrites++;
		}
	}
	while (nr_erased) {
		reinsert(erased[head], gen, res);
		head = (head + 1) % MAX_ERASED;
		nr_erased--;
	}
	res->seconds = now() - start;
}

/* Every range holds an entry naming it, and nothing else is stored. */
static void check_contents(void)
{
	unsigned long index = 0, expect = 0;
	void *entry;

	mt_for_each(&tree, entry, index, ULONG_MAX) {
		if (expect >= nr_ranges || !entry_names(entry, expect) ||
		    index != range_last(expect) + 1) {
			fail("final scan", index, entry, "unexpected entry");
			return;
		}
		expect++;
	}
	if (expect != nr_ranges)
		fail("final scan", expect, NULL, "ranges missing");
}

static double mib(size_t bytes)
{
	return (double)bytes / (1024.0 * 1024.0);
}

int main(int argc, char **argv)
{
	struct reader_result rres = { 0 };
	struct writer_result wres = { 0 };
	struct mt_cache_stats st;
	pthread_t thread;
	double t0, t_build;
	int ret, valid;

	if (argc > 1)
		nr_ranges = strtoul(argv[1], NULL, 0);
	if (argc > 2)
		run_seconds = strtod(argv[2], NULL);
	if (nr_ranges < 1 || nr_ranges > (ULONG_MAX >> (GEN_BITS + 1)) / STRIDE ||
	    run_seconds <= 0) {
		fprintf(stderr, "usage: %s [ranges [seconds]]\n", argv[0]);
		return 2;
	}
	erase_seq = calloc(nr_ranges, sizeof(*erase_seq));
	if (!erase_seq) {
		perror("calloc");
		return 2;
	}

	/* The writer may hand nodes to call_rcu(): register it too. */
	urcu_memb_register_thread();
	mt_init_flags(&tree, MT_FLAGS_USE_RCU);

	printf("mapletree demo: %lu ranges [16i, 16i+9] in an RCU-mode tree\n",
	       nr_ranges);
	t0 = now();
	for (unsigned long i = 0; i < nr_ranges; i++) {
		ret = mtree_insert_range(&tree, range_first(i), range_last(i),
					 range_entry(i, 0), GFP_KERNEL);
		if (ret) {
			fprintf(stderr, "insert of range %lu: %s\n", i,
				strerror(-ret));
			return 1;
		}
	}
	t_build = now() - t0;
	printf("build:     %lu inserts in %.0f ms (%.0f ns/insert), height %u\n",
	       nr_ranges, t_build * 1e3, t_build * 1e9 / (double)nr_ranges,
	       mt_height(&tree));
	check_contents();

	printf("run:       1 reader thread (lock-free lookups) beside 1 writer for %.1f s\n",
	       run_seconds);
	ret = pthread_create(&thread, NULL, reader, &rres);
	if (ret) {
		fprintf(stderr, "pthread_create: %s\n", strerror(ret));
		return 1;
	}
	writer(&wres);
	atomic_store(&stop, true);
	pthread_join(thread, NULL);

	printf("writer:    %lu stores (%lu overwrites, %lu erases, %lu re-inserts), %.0f stores/s\n",
	       wres.overwrites + wres.erases + wres.inserts, wres.overwrites,
	       wres.erases, wres.inserts,
	       (double)(wres.overwrites + wres.erases + wres.inserts) /
	       wres.seconds);
	printf("reader:    %lu lookups, %.0f lookups/s, %lu fell in an erased range\n",
	       rres.lookups, (double)rres.lookups / rres.seconds, rres.holes);

	check_contents();
	valid = mt_validate(&tree);
	mt_rcu_barrier(&tree);	/* let replaced nodes go back to the cache */
	mt_cache_stats(&st);
	printf("tree:      height %u, %zu nodes of 256 B = %.1f bytes/entry\n",
	       mt_height(&tree), st.nodes_live,
	       (double)st.nodes_live * 256.0 / (double)nr_ranges);
	printf("cache:     %.1f MiB held in %zu slabs, %zu nodes free\n",
	       mib(st.bytes_held), st.slabs, st.nodes_free);
	printf("validate:  %s\n", valid ? "FAILED (see stderr)" : "ok");

	mtree_destroy(&tree);
	mt_rcu_barrier(&tree);
	mt_cache_stats(&st);
	printf("destroy:   %zu nodes live afterwards\n", st.nodes_live);
	if (st.nodes_live)
		fail("destroy", 0, NULL, "nodes still live after destroy");

	urcu_memb_unregister_thread();
	free(erase_seq);

	unsigned long nr_failed = atomic_load(&failures);

	printf("checks:    %lu verification failures\n", nr_failed);
	printf("result:    %s\n", nr_failed || valid ? "FAIL" : "PASS");
	return nr_failed || valid ? 1 : 0;
}
