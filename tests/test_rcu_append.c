// SPDX-License-Identifier: MIT
/*
 * In-place appends in RCU mode against readers at the tail.
 *
 * A writer appends ranges [16i, 16i+9] (a gap follows each), which a leaf
 * takes in place while readers look at the indices around the newest
 * ranges. A reader must never see an entry over a gap index or over an
 * index outside the entry's range, and iteration must report ranges that
 * contain their entry's range and only move forward.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include <urcu/urcu-memb.h>

#include <mapletree/maple_tree.h>

#include "harness.h"

#define NR_READERS	3
#define RANGE_STEP	16
#define RANGE_LEN	10

static struct maple_tree tree;
static atomic_ulong appended;	/* ranges stored so far */
static atomic_bool stop;
static atomic_ulong reader_errors, reads;

static void *entry_for(unsigned long i)
{
	return xa_mk_value(i);
}

/* Is @entry, seen at @index, the right one for it? */
static bool entry_ok(void *entry, unsigned long index)
{
	unsigned long i = index / RANGE_STEP;

	if (index % RANGE_STEP >= RANGE_LEN)
		return entry == NULL;
	return entry == NULL || entry == entry_for(i);
}

static void reader_error(const char *what, unsigned long index, void *entry)
{
	if (atomic_fetch_add(&reader_errors, 1) < 5)
		fprintf(stderr, "reader: %s at %#lx gave %p\n", what, index, entry);
}

static void check_loads(uint64_t *rng)
{
	unsigned long top = atomic_load(&appended) + 2;
	unsigned long base = (top > 40 ? top - 40 : 0) * RANGE_STEP;
	unsigned long index = base + harness_rand(rng) % (42 * RANGE_STEP);
	void *entry = mtree_load(&tree, index);

	if (!entry_ok(entry, index))
		reader_error("mtree_load", index, entry);
}

static void check_walk(uint64_t *rng)
{
	unsigned long top = atomic_load(&appended) + 2;
	unsigned long base = (top > 40 ? top - 40 : 0) * RANGE_STEP;
	MA_STATE(mas, &tree, base + harness_rand(rng) % (42 * RANGE_STEP), 0);
	unsigned long prev_last = 0;
	bool first = true;
	void *entry;

	mas.last = mas.index;
	mt_rcu_read_lock();
	entry = mas_walk(&mas);
	if (mas.index > mas.last || !entry_ok(entry, mas.index) ||
	    !entry_ok(entry, mas.last))
		reader_error("mas_walk", mas.index, entry);
	while ((entry = mas_find(&mas, ULONG_MAX)) != NULL) {
		if (mas.index > mas.last || (!first && mas.index <= prev_last) ||
		    !entry_ok(entry, mas.index) || !entry_ok(entry, mas.last))
			reader_error("mas_find", mas.index, entry);
		prev_last = mas.last;
		first = false;
	}
	mt_rcu_read_unlock();
}

/* Backward from just past the tail: ranges must move strictly down. */
static void check_walk_back(uint64_t *rng)
{
	unsigned long top = atomic_load(&appended) + 2;
	unsigned long start = top * RANGE_STEP + harness_rand(rng) % RANGE_STEP;
	unsigned long floor = (top > 40 ? top - 40 : 0) * RANGE_STEP;
	MA_STATE(mas, &tree, start, start);
	unsigned long prev_index = ULONG_MAX;
	void *entry;

	mt_rcu_read_lock();
	while ((entry = mas_find_rev(&mas, floor)) != NULL) {
		if (mas.index > mas.last || mas.last >= prev_index ||
		    !entry_ok(entry, mas.index) || !entry_ok(entry, mas.last))
			reader_error("mas_find_rev", mas.index, entry);
		prev_index = mas.index;
	}
	mt_rcu_read_unlock();
}

static void *reader(void *arg)
{
	uint64_t rng = (uint64_t)(uintptr_t)arg;
	unsigned long n = 0;

	urcu_memb_register_thread();
	while (!atomic_load(&stop)) {
		check_loads(&rng);
		if (!(++n % 8))
			check_walk(&rng);
		if (!(n % 8))
			check_walk_back(&rng);
	}
	atomic_fetch_add(&reads, n);
	urcu_memb_unregister_thread();
	return NULL;
}

int main(void)
{
	uint64_t seed = harness_seed("test_rcu_append");
	const char *env = getenv("MT_RCU_SECONDS");
	double seconds = env ? atof(env) : 2.0;
	pthread_t threads[NR_READERS];
	struct mt_cache_stats st;
	struct timespec start, now;
	unsigned long i = 0, rounds = 0;
	int t;

	urcu_memb_register_thread();
	mt_init_flags(&tree, MT_FLAGS_USE_RCU);
	for (t = 0; t < NR_READERS; t++)
		pthread_create(&threads[t], NULL, reader,
			       (void *)(uintptr_t)(seed + (uint64_t)t + 1));
	clock_gettime(CLOCK_MONOTONIC, &start);
	do {
		/* Append, and now and then start over so leaves stay small. */
		CHECK_EQ(mtree_insert_range(&tree, i * RANGE_STEP,
					    i * RANGE_STEP + RANGE_LEN - 1,
					    entry_for(i), GFP_KERNEL), 0);
		atomic_store(&appended, ++i);
		if (i == 20000) {
			atomic_store(&appended, 0);
			mtree_destroy(&tree);
			i = 0;
			rounds++;
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
	} while (now.tv_sec - start.tv_sec +
		 (now.tv_nsec - start.tv_nsec) / 1e9 < seconds);
	atomic_store(&stop, true);
	for (t = 0; t < NR_READERS; t++)
		pthread_join(threads[t], NULL);

	printf("test_rcu_append: %lu rounds + %lu appends, %lu reader rounds, "
	       "%lu reader errors\n", rounds, i, atomic_load(&reads),
	       atomic_load(&reader_errors));
	CHECK_EQ(atomic_load(&reader_errors), 0);
	CHECK(atomic_load(&reads) > 0);
	CHECK_EQ(mt_validate(&tree), 0);
	mtree_destroy(&tree);
	mt_rcu_barrier(NULL);
	mt_cache_stats(&st);
	CHECK_EQ(st.nodes_live, 0);
	CHECK_EQ(st.nodes_rcu, 0);
	urcu_memb_unregister_thread();
	return harness_finish();
}
