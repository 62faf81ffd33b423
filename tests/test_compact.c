/* SPDX-License-Identifier: MIT */
/*
 * test_compact: mt_cache_compact() and the background compactor.
 *
 * Every entry encodes the range it was stored over, on a grid: key k is
 * stored over [4k, 4k + k % 4], so some ranges touch the next one and some
 * leave a gap. Each test keeps a model (a generation per key, 0 for none)
 * and compares the tree with it entry by entry once compaction has moved
 * its nodes. Concurrent readers check what they find against the encoding
 * and, once a tree stops changing, against its model.
 *
 *  1. A tree grown to N entries (RCU mode) and shrunk to a random 10%, then
 *     compacted: the memory held falls to what the live nodes need. Also a
 *     non-RCU tree.
 *  2. The same while readers run, a writer changes a second tree, a third
 *     tree has an external lock with callbacks (its nodes move) and a
 *     fourth an external lock without them (skipped, never touched).
 *  3. A writer holding a tree's lock in stretches: compaction skips the
 *     tree (counted busy) instead of waiting.
 *  4. The background compactor.
 *  5. Edges: nothing to do; a reservation holding nodes in slabs that are
 *     being emptied.
 *
 * Environment: MT_SEED; MT_COMPACT_N, the size of tests 1 and 2 (default
 * 1000000, at least 200000; lower it under sanitizers).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <urcu/urcu-memb.h>

#include <mapletree/maple_tree.h>

#include "harness.h"

_Static_assert(sizeof(unsigned long) == 8, "entries pack 40-bit indices");

/*
 * The node cache's geometry (src/alloc/node_cache.c): 256-byte nodes in
 * 2 MiB slabs whose first node-sized block is the slab's header.
 */
#define NODE_BYTES	256UL
#define SLAB_BYTES	(2UL << 20)
#define SLAB_NODES	(SLAB_BYTES / NODE_BYTES - 1)
#define EMERGENCY	64	/* the reserve's documented default */

static uint64_t seed;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void sleep_us(long us)
{
	struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };

	nanosleep(&ts, NULL);
}

/* ---- Entries and models ------------------------------------------------- */

/* first, length - 1, a generation; low bits 100: never internal or a value. */
static void *encode(unsigned long first, unsigned long last, unsigned int gen)
{
	return (void *)((first << 24) | ((last - first) << 8) |
			((unsigned long)(gen & 31) << 3) | 4);
}

static bool decode(const void *e, unsigned long *first, unsigned long *last)
{
	unsigned long v = (unsigned long)e;

	if ((v & 7) != 4)
		return false;
	*first = v >> 24;
	*last = *first + ((v >> 8) & 0xffff);
	return true;
}

static unsigned long key_first(unsigned long k)
{
	return 4 * k;
}

static unsigned long key_last(unsigned long k)
{
	return 4 * k + k % 4;
}

/* gen[k] == 0: key k is absent; else its entry carries that generation. */
struct model {
	unsigned long keys;
	unsigned char *gen;
};

static void model_init(struct model *m, unsigned long keys)
{
	m->keys = keys;
	m->gen = calloc(keys, 1);
	if (!m->gen) {
		perror("calloc");
		exit(2);
	}
}

static void *key_entry(const struct model *m, unsigned long k)
{
	if (k >= m->keys || !m->gen[k])
		return NULL;
	return encode(key_first(k), key_last(k), m->gen[k]);
}

/* What the model says is at @index. */
static void *model_at(const struct model *m, unsigned long index)
{
	unsigned long k = index / 4;

	if (index % 4 > k % 4)
		return NULL;
	return key_entry(m, k);
}

/* The first key whose range ends at or after @index. */
static unsigned long key_from(unsigned long index)
{
	unsigned long k = index / 4;

	return index > key_last(k) ? k + 1 : k;
}

static int store_key(struct maple_tree *mt, struct model *m, unsigned long k,
		     unsigned int gen)
{
	int ret = mtree_store_range(mt, key_first(k), key_last(k),
				    encode(key_first(k), key_last(k), gen),
				    GFP_KERNEL);

	if (!ret)
		m->gen[k] = (unsigned char)gen;
	return ret;
}

/*
 * The tree against the model, entry by entry: a full forward walk (every
 * entry, exact bounds, nothing missing, nothing extra), then a load at the
 * start of every key's range and at 4k + 3 (a gap unless the range of a
 * key k with k % 4 == 3 reaches it). Return the mismatches.
 */
static unsigned long model_diff(struct maple_tree *mt, const struct model *m,
				const char *what)
{
	MA_STATE(mas, mt, 0, 0);
	unsigned long bad = 0, next = 0, k, f, l;
	void *e;

	mt_rcu_read_lock();
	mas_for_each(&mas, e, ULONG_MAX) {
		if (!decode(e, &f, &l) || f / 4 >= m->keys ||
		    e != key_entry(m, f / 4) || mas.index != f ||
		    mas.last != l) {
			if (bad++ < 5)
				fprintf(stderr, "%s: [%#lx, %#lx] holds %p, not in the model\n",
					what, mas.index, mas.last, e);
			continue;
		}
		for (k = next; k < f / 4; k++)
			if (m->gen[k] && bad++ < 5)
				fprintf(stderr, "%s: key %lu missing from the walk\n",
					what, k);
		next = f / 4 + 1;
	}
	mt_rcu_read_unlock();
	for (k = next; k < m->keys; k++)
		if (m->gen[k] && bad++ < 5)
			fprintf(stderr, "%s: key %lu missing at the end of the walk\n",
				what, k);
	for (k = 0; k < m->keys; k++) {
		e = mtree_load(mt, key_first(k));
		if (e != key_entry(m, k) && bad++ < 5)
			fprintf(stderr, "%s: load(%#lx) = %p, expected %p\n",
				what, key_first(k), e, key_entry(m, k));
		e = mtree_load(mt, 4 * k + 3);
		if (e != model_at(m, 4 * k + 3) && bad++ < 5)
			fprintf(stderr, "%s: load(%#lx) = %p, expected %p\n",
				what, 4 * k + 3, e, model_at(m, 4 * k + 3));
	}
	return bad;
}

/* A random permutation of [0, n); its first part picks what to erase. */
static uint32_t *shuffled(unsigned long n, uint64_t *rng)
{
	uint32_t *p = malloc(n * sizeof(*p));
	unsigned long i;

	if (!p) {
		perror("malloc");
		exit(2);
	}
	for (i = 0; i < n; i++)
		p[i] = (uint32_t)i;
	for (i = n - 1; i > 0; i--) {
		unsigned long j = harness_rand(rng) % (i + 1);
		uint32_t t = p[i];

		p[i] = p[j];
		p[j] = t;
	}
	return p;
}

/* Grow @mt to keys [0, n) in order, then erase a random 90% of them. */
static void grow_and_shrink(struct maple_tree *mt, struct model *m,
			    uint64_t *rng)
{
	unsigned long n = m->keys, i, failed = 0;
	uint32_t *order;

	for (i = 0; i < n; i++)
		failed += store_key(mt, m, i, 1) != 0;
	CHECK_EQ(failed, 0);
	order = shuffled(n, rng);
	for (i = 0; i < n - n / 10; i++) {
		void *old = mtree_erase(mt, key_first(order[i]));

		failed += old != key_entry(m, order[i]);
		m->gen[order[i]] = 0;
	}
	CHECK_EQ(failed, 0);
	free(order);
}

/* ---- Cache accounting ---------------------------------------------------- */

/*
 * The most a compacted cache may hold for @live nodes: 1.5 times their
 * bytes, but compaction frees whole slabs only, so never less than the
 * slabs the live nodes fill (each holds SLAB_NODES); plus one slab for the
 * emergency reserve, which the run refills after choosing which slabs to
 * keep, and which needs a fresh slab when the kept ones are packed full.
 */
static size_t held_limit(size_t live)
{
	size_t want = live * NODE_BYTES / 2 * 3;
	size_t floor = (live + SLAB_NODES - 1) / SLAB_NODES * SLAB_BYTES;

	return (want > floor ? want : floor) + SLAB_BYTES;
}

/*
 * Give compaction something to do, so that the run visits the trees: an
 * emergency reserve grown by two slabs' worth and cut back leaves that
 * much free room, more than one slab's worth beyond what the used nodes
 * need, so at least one slab is chosen to be emptied.
 */
static void make_room(void)
{
	CHECK_EQ(mt_cache_reserve(EMERGENCY + 2 * SLAB_NODES), 0);
	CHECK_EQ(mt_cache_reserve(EMERGENCY), 0);
}

/* ---- External locks ------------------------------------------------------ */

struct xlock {
	pthread_mutex_t m;
	pthread_t owner;
	bool held;
};

#define XLOCK_INIT { PTHREAD_MUTEX_INITIALIZER, 0, false }

static void xl_take(struct xlock *l)
{
	pthread_mutex_lock(&l->m);
	__atomic_store_n(&l->owner, pthread_self(), __ATOMIC_RELAXED);
	__atomic_store_n(&l->held, true, __ATOMIC_RELAXED);
}

static void xl_release(void *lock)
{
	struct xlock *l = lock;

	__atomic_store_n(&l->held, false, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&l->m);
}

static bool xl_trylock(void *lock)
{
	struct xlock *l = lock;

	if (pthread_mutex_trylock(&l->m))
		return false;
	__atomic_store_n(&l->owner, pthread_self(), __ATOMIC_RELAXED);
	__atomic_store_n(&l->held, true, __ATOMIC_RELAXED);
	return true;
}

static bool xl_held(void *arg)
{
	struct xlock *l = arg;

	return __atomic_load_n(&l->held, __ATOMIC_RELAXED) &&
	       pthread_equal(__atomic_load_n(&l->owner, __ATOMIC_RELAXED),
			     pthread_self());
}

static void xl_tree_init(struct maple_tree *mt, struct xlock *l, bool ops)
{
	mt_init_flags(mt, MT_FLAGS_LOCK_EXTERN | MT_FLAGS_USE_RCU);
	mt_set_external_lock(mt, l);
	mt_set_external_lock_check(mt, xl_held, l);
	if (ops)
		mt_set_external_lock_ops(mt, xl_trylock, xl_release);
}

/*
 * The leaves holding the model's entries, in order (mas.node after a walk
 * is the leaf). Compared across compactions to see which trees' nodes
 * moved. Caller holds the tree's lock. Return how many were recorded.
 */
static unsigned long leaves(struct maple_tree *mt, const struct model *m,
			    const void **out, unsigned long max)
{
	unsigned long k, n = 0;

	for (k = 0; k < m->keys && n < max; k++) {
		MA_STATE(mas, mt, key_first(k), key_first(k));

		if (!m->gen[k])
			continue;
		mas_walk(&mas);
		if (!n || out[n - 1] != (const void *)mas.node)
			out[n++] = mas.node;
	}
	return n;
}

/* ---- Test 1: a tree shrunk to 10%, compacted ----------------------------- */

static void test_shrunk(const char *name, unsigned int flags, unsigned long n,
			uint64_t *rng)
{
	struct mt_cache_stats s0, s1, s2;
	struct mt_compact_stats c0, c1;
	struct maple_tree mt;
	struct model m;
	double t0 = now();
	size_t ret;

	mt_cache_stats(&s0);
	model_init(&m, n);
	mt_init_flags(&mt, flags);
	grow_and_shrink(&mt, &m, rng);
	mt_rcu_barrier(&mt);
	CHECK_EQ(model_diff(&mt, &m, name), 0);

	mt_cache_stats(&s1);
	mt_compact_stats(&c0);
	/* Otherwise the test proves nothing: the cache must be fragmented. */
	CHECK(s1.bytes_held > held_limit(s1.nodes_live));
	ret = mt_cache_compact();
	mt_compact_stats(&c1);
	mt_cache_stats(&s2);
	printf("%s: %lu entries, %zu nodes live: %zu -> %zu KiB held "
	       "(limit %zu), %lu nodes moved, %lu slabs freed, %.2f s\n",
	       name, n / 10, s2.nodes_live, s1.bytes_held >> 10,
	       s2.bytes_held >> 10, held_limit(s2.nodes_live) >> 10,
	       c1.nodes_moved - c0.nodes_moved,
	       c1.slabs_released - c0.slabs_released, now() - t0);

	CHECK(s2.bytes_held <= held_limit(s2.nodes_live));
	CHECK_EQ(c1.runs - c0.runs, 1);
	CHECK(c1.nodes_moved > c0.nodes_moved);
	CHECK(c1.slabs_released > c0.slabs_released);
	CHECK(ret > 0);
	CHECK_EQ(ret, c1.bytes_released - c0.bytes_released);
	CHECK_EQ(ret, (c1.slabs_released - c0.slabs_released) * SLAB_BYTES);
	/* At most one new slab (for the emergency reserve) offsets the gain. */
	CHECK(s1.bytes_held - s2.bytes_held <= ret);
	CHECK(s1.bytes_held - s2.bytes_held + SLAB_BYTES >= ret);
	/* One thread, no reservation: nothing may pin a slab being emptied. */
	CHECK_EQ(c1.nodes_left - c0.nodes_left, 0);
	CHECK_EQ(c1.trees_skipped_busy - c0.trees_skipped_busy, 0);
	/* A move is one node for one; the old ones are back after the run. */
	CHECK_EQ(s2.nodes_live, s1.nodes_live);
	CHECK_EQ(s2.nodes_rcu, 0);
	CHECK_EQ(s2.nodes_emergency, s1.nodes_emergency);

	CHECK_EQ(mt_validate(&mt), 0);
	CHECK_EQ(model_diff(&mt, &m, name), 0);
	/* The moved nodes take stores like any other. */
	CHECK_EQ(store_key(&mt, &m, 1, 7), 0);
	CHECK_EQ(store_key(&mt, &m, n - 1, 7), 0);
	CHECK_EQ(mt_validate(&mt), 0);
	CHECK(mtree_load(&mt, key_first(1)) == key_entry(&m, 1));
	CHECK(mtree_load(&mt, key_last(n - 1)) == key_entry(&m, n - 1));

	mtree_destroy(&mt);
	mt_rcu_barrier(NULL);
	mt_cache_stats(&s2);
	CHECK_EQ(s2.nodes_live, s0.nodes_live);
	free(m.gen);
}

/* ---- Test 2: compaction beside readers and writers ----------------------- */

struct rtree {
	struct maple_tree *mt;
	const struct model *m;	/* compared with once the tree is frozen */
};

static struct rtree rtrees[3];
static atomic_bool frozen;		/* trees with a model stopped changing */
static atomic_bool stop_readers, stop_writer;
static atomic_ulong read_failures, write_failures;
static pthread_mutex_t report_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned int reports;

static void report(const char *who, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void report(const char *who, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&report_lock);
	if (reports++ < 20) {
		fprintf(stderr, "test_compact: FAIL [%s] (seed %llu): ", who,
			(unsigned long long)seed);
		va_start(ap, fmt);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
		fputc('\n', stderr);
	}
	pthread_mutex_unlock(&report_lock);
}

struct reader {
	pthread_t thread;
	char name[16];
	uint64_t rng;
	atomic_ulong ops;
};

#define WINDOW	256	/* long read sections: more overlap with moves */

#define RFAIL(r, ...) do {						\
	atomic_fetch_add(&read_failures, 1);				\
	report((r)->name, __VA_ARGS__);					\
} while (0)

/* Keys in [from, to) that the model has: a walk skipped them. */
static bool skipped(struct reader *r, const struct model *m,
		    unsigned long from, unsigned long to, const char *op)
{
	for (; from < to && from < m->keys; from++) {
		if (m->gen[from]) {
			RFAIL(r, "%s skipped key %lu", op, from);
			return true;
		}
	}
	return false;
}

static void r_load(struct reader *r, const struct rtree *t, bool exact,
		   unsigned long idx)
{
	void *e = mtree_load(t->mt, idx);
	unsigned long f, l;

	if (e && (!decode(e, &f, &l) || idx < f || idx > l))
		RFAIL(r, "mtree_load(%#lx) = %p, which does not cover it", idx, e);
	else if (exact && e != model_at(t->m, idx))
		RFAIL(r, "mtree_load(%#lx) = %p, expected %p", idx, e,
		      model_at(t->m, idx));
}

/* mas_find over a window in one read section. */
static void r_find(struct reader *r, const struct rtree *t, bool exact,
		   unsigned long start, unsigned long max)
{
	MA_STATE(mas, t->mt, start, start);
	unsigned long prev = 0, next = key_from(start), f, l;
	int n = 0;
	void *e;

	mt_rcu_read_lock();
	while ((e = mas_find(&mas, max)) != NULL) {
		if (!decode(e, &f, &l) || mas.index > mas.last ||
		    mas.index < f || mas.last > l) {
			RFAIL(r, "mas_find: [%#lx, %#lx] holds %p, stored elsewhere",
			      mas.index, mas.last, e);
			break;
		}
		if (mas.last < start || mas.index > max ||
		    (n && mas.index <= prev)) {
			RFAIL(r, "mas_find from %#lx to %#lx: [%#lx, %#lx] after %#lx",
			      start, max, mas.index, mas.last, prev);
			break;
		}
		if (exact) {
			if (e != key_entry(t->m, f / 4) || mas.index != f ||
			    mas.last != l) {
				RFAIL(r, "mas_find: [%#lx, %#lx] holds %p, not in the model",
				      mas.index, mas.last, e);
				break;
			}
			if (skipped(r, t->m, next, f / 4, "mas_find"))
				break;
			next = f / 4 + 1;
		}
		prev = mas.last;
		if (++n == WINDOW)
			break;
	}
	/* The walk ended: no key up to max may be left. */
	if (exact && !e)
		skipped(r, t->m, next, max / 4 + 1, "mas_find (end)");
	mt_rcu_read_unlock();
}

/* mt_for_each: a read section per step; *index moves past each entry. */
static void r_for_each(struct reader *r, const struct rtree *t, bool exact,
		       unsigned long start, unsigned long max)
{
	unsigned long idx = start, prev = 0, next = key_from(start), f, l;
	int n = 0;
	void *e;

	mt_for_each(t->mt, e, idx, max) {
		unsigned long last = idx - 1;

		if (!idx || !decode(e, &f, &l) || last < f || last > l ||
		    last < start || (n && last <= prev)) {
			RFAIL(r, "mt_for_each from %#lx: %p ending at %#lx after %#lx",
			      start, e, last, prev);
			break;
		}
		if (exact) {
			if (e != key_entry(t->m, f / 4) || last != l) {
				RFAIL(r, "mt_for_each: %p ending at %#lx, not in the model",
				      e, last);
				break;
			}
			if (skipped(r, t->m, next, f / 4, "mt_for_each"))
				break;
			next = f / 4 + 1;
		}
		prev = last;
		if (++n == WINDOW)
			break;
	}
	if (exact && !e)
		skipped(r, t->m, next, max / 4 + 1, "mt_for_each (end)");
}

static void *reader_main(void *arg)
{
	struct reader *r = arg;

	urcu_memb_register_thread();
	while (!atomic_load_explicit(&stop_readers, memory_order_relaxed)) {
		unsigned long pick = harness_rand(&r->rng);
		/* Mostly the big tree, whose slabs are the ones emptied. */
		const struct rtree *t = &rtrees[pick % 4 < 2 ? 0 : pick % 4 - 1];
		bool exact = t->m && atomic_load_explicit(&frozen,
							  memory_order_acquire);
		unsigned long span = 4 * (t->m ? t->m->keys : 8192) + 64;
		unsigned long start = harness_rand(&r->rng) % span;
		unsigned long max = start + harness_rand(&r->rng) % 8192;

		switch (harness_rand(&r->rng) % 3) {
		case 0:
			for (int i = 0; i < 16; i++)
				r_load(r, t, exact, (start + i * 37) % span);
			break;
		case 1:
			r_find(r, t, exact, start, max);
			break;
		default:
			r_for_each(r, t, exact, start, max);
			break;
		}
		atomic_fetch_add_explicit(&r->ops, 1, memory_order_relaxed);
	}
	urcu_memb_unregister_thread();
	return NULL;
}

/* The writer of tree B: random stores and erases, checked as it goes. */
struct writer {
	pthread_t thread;
	struct maple_tree *mt;
	struct model *m;
	uint64_t rng;
	unsigned long ops;
};

static void wfail(unsigned long *fails, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void wfail(unsigned long *fails, const char *fmt, ...)
{
	char buf[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	++*fails;
	report("writer", "%s", buf);
}

static void *writer_main(void *arg)
{
	struct writer *w = arg;
	struct model *m = w->m;
	unsigned long fails = 0;
	unsigned int gen = 1;

	urcu_memb_register_thread();
	while (!atomic_load_explicit(&stop_writer, memory_order_relaxed)) {
		unsigned long k = harness_rand(&w->rng) % m->keys;
		unsigned int op = harness_rand(&w->rng) % 10;
		void *e, *old;

		if (op < 6) {
			gen = gen % 31 + 1;
			if (store_key(w->mt, m, k, gen))
				wfail(&fails, "store of key %lu failed", k);
		} else if (op < 9) {
			old = mtree_erase(w->mt, key_first(k));
			if (old != key_entry(m, k))
				wfail(&fails, "erase(%#lx) = %p, expected %p",
				      key_first(k), old, key_entry(m, k));
			m->gen[k] = 0;
		} else {
			/* A wide erase: merges and rebalances. */
			unsigned long end = k + 64 < m->keys ? k + 64 : m->keys;

			if (mtree_store_range(w->mt, key_first(k),
					      key_first(end) - 1, NULL,
					      GFP_KERNEL))
				wfail(&fails, "erase of keys [%lu, %lu) failed",
				      k, end);
			else
				memset(m->gen + k, 0, end - k);
		}
		e = mtree_load(w->mt, key_first(k));
		if (e != key_entry(m, k))
			wfail(&fails, "load(%#lx) = %p after the change, expected %p",
			      key_first(k), e, key_entry(m, k));
		/* Leave the readers some of the CPU. */
		if (++w->ops % 256 == 0)
			sleep_us(100);
	}
	urcu_memb_unregister_thread();
	atomic_fetch_add(&write_failures, fails);
	return NULL;
}

/* A run that visits every tree; D is the only one without callbacks. */
static void compact_run(void)
{
	struct mt_compact_stats r0, r1;
	size_t ret;

	make_room();
	mt_compact_stats(&r0);
	ret = mt_cache_compact();
	mt_compact_stats(&r1);
	CHECK_EQ(ret, r1.bytes_released - r0.bytes_released);
	CHECK_EQ(r1.trees_skipped_no_ops - r0.trees_skipped_no_ops, 1);
}

static void test_concurrent(unsigned long n, uint64_t *rng)
{
	static struct xlock xc = XLOCK_INIT, xd = XLOCK_INIT;
	struct maple_tree a, b, c, d;
	struct model ma, mb, mc, md;
	struct mt_cache_stats s0, s1, s2;
	struct mt_compact_stats c0, c1, r0, r1;
	struct reader readers[2];
	struct writer w;
	const void **lc0, **lc1, **ld0, **ld1;
	unsigned long nlc, nld, moved_c = 0, moved_d = 0, i, failed = 0;
	unsigned long ops_before[2];
	const int rounds = 12, runs = 4;
	double t0 = now();
	uint32_t *order;

	mt_cache_stats(&s0);
	model_init(&ma, n);
	model_init(&mb, 8192);
	model_init(&mc, n / 16 + 1);
	model_init(&md, 256);
	mt_init_flags(&a, MT_FLAGS_USE_RCU);
	mt_init_flags(&b, MT_FLAGS_USE_RCU);
	xl_tree_init(&c, &xc, true);
	xl_tree_init(&d, &xd, false);

	/* D first, all at once: its few slabs cannot pin the rest. */
	xl_take(&xd);
	for (i = 0; i < md.keys; i++)
		failed += store_key(&d, &md, i, 2) != 0;
	xl_release(&xd);
	for (i = 0; i < mb.keys; i++)
		failed += store_key(&b, &mb, i, 1) != 0;

	rtrees[0] = (struct rtree){ &a, &ma };
	rtrees[1] = (struct rtree){ &b, NULL };
	rtrees[2] = (struct rtree){ &c, &mc };
	atomic_store(&frozen, false);
	atomic_store(&stop_readers, false);
	atomic_store(&stop_writer, false);
	for (i = 0; i < 2; i++) {
		readers[i].rng = harness_rand(rng) | 1;
		atomic_store(&readers[i].ops, 0);
		snprintf(readers[i].name, sizeof(readers[i].name), "reader%lu", i);
		pthread_create(&readers[i].thread, NULL, reader_main, &readers[i]);
	}
	w = (struct writer){ .mt = &b, .m = &mb, .rng = harness_rand(rng) | 1 };
	pthread_create(&w.thread, NULL, writer_main, &w);

	/* A grows with C interleaved, so C's nodes spread over A's slabs. */
	for (i = 0; i < n; i++) {
		failed += store_key(&a, &ma, i, 1) != 0;
		if (i % 16 == 0) {
			xl_take(&xc);
			failed += store_key(&c, &mc, i / 16, 3) != 0;
			xl_release(&xc);
		}
	}
	CHECK_EQ(failed, 0);

	lc0 = calloc(mc.keys, sizeof(*lc0));
	lc1 = calloc(mc.keys, sizeof(*lc1));
	ld0 = calloc(md.keys, sizeof(*ld0));
	ld1 = calloc(md.keys, sizeof(*ld1));
	xl_take(&xc);
	nlc = leaves(&c, &mc, lc0, mc.keys);
	xl_release(&xc);
	xl_take(&xd);
	nld = leaves(&d, &md, ld0, md.keys);
	xl_release(&xd);

	for (i = 0; i < 2; i++)
		ops_before[i] = atomic_load(&readers[i].ops);
	mt_compact_stats(&c0);
	/*
	 * Shrink A in rounds with a compaction after each, so that many nodes
	 * move under the readers while A still changes; then, A frozen, more
	 * runs with the readers comparing with the model.
	 */
	i = 0;
	order = shuffled(n, rng);
	for (int round = 0; round < rounds; round++) {
		unsigned long end = (n - n / 10) * (round + 1) / rounds;

		for (; i < end; i++) {
			failed += mtree_erase(&a, key_first(order[i])) !=
				  key_entry(&ma, order[i]);
			ma.gen[order[i]] = 0;
		}
		compact_run();
	}
	free(order);
	CHECK_EQ(failed, 0);
	mt_rcu_barrier(&a);
	/* A and C no longer change: readers compare them with the models. */
	atomic_store_explicit(&frozen, true, memory_order_release);
	for (int run = 0; run < runs; run++) {
		compact_run();
		sleep_us(20000);
	}
	mt_compact_stats(&c1);
	/* The readers ran throughout. */
	for (i = 0; i < 2; i++)
		CHECK(atomic_load(&readers[i].ops) > ops_before[i]);
	CHECK_EQ(c1.runs - c0.runs, rounds + runs);
	CHECK(c1.nodes_moved > c0.nodes_moved);
	CHECK(c1.slabs_released > c0.slabs_released);

	/* C's nodes moved (through its callbacks); D's never did. */
	xl_take(&xc);
	CHECK_EQ(leaves(&c, &mc, lc1, mc.keys), nlc);
	xl_release(&xc);
	xl_take(&xd);
	CHECK_EQ(leaves(&d, &md, ld1, md.keys), nld);
	xl_release(&xd);
	for (i = 0; i < nlc; i++)
		moved_c += lc0[i] != lc1[i];
	for (i = 0; i < nld; i++)
		moved_d += ld0[i] != ld1[i];
	CHECK(moved_c > 0);
	CHECK_EQ(moved_d, 0);
	printf("concurrent: %lu of %lu leaves of the tree with callbacks moved, "
	       "%lu of %lu without\n", moved_c, nlc, moved_d, nld);

	/*
	 * With the writer gone (its per-thread cache back in the slabs) and D
	 * destroyed, nothing pins a slab: the cache must shrink to what the
	 * live nodes need, C's nodes (spread over every slab) moved too. The
	 * barrier first: a run counts nodes still waiting for a grace period
	 * as used when it chooses the slabs to keep (the writer leaves
	 * thousands queued), although it waits for that grace period itself.
	 */
	atomic_store(&stop_writer, true);
	pthread_join(w.thread, NULL);
	CHECK_EQ(atomic_load(&write_failures), 0);
	xl_take(&xd);
	CHECK_EQ(mt_validate(&d), 0);
	CHECK_EQ(model_diff(&d, &md, "external, no callbacks"), 0);
	mtree_destroy(&d);
	xl_release(&xd);
	mt_rcu_barrier(&b);
	mt_compact_stats(&r0);
	mt_cache_compact();
	mt_compact_stats(&r1);
	mt_cache_stats(&s1);
	CHECK(s1.bytes_held <= held_limit(s1.nodes_live));
	CHECK_EQ(r1.nodes_left - r0.nodes_left, 0);
	CHECK_EQ(r1.trees_skipped_no_ops - r0.trees_skipped_no_ops, 0);
	printf("concurrent: %lu entries, %zu nodes live, %zu KiB held (limit %zu), "
	       "%lu nodes moved, %lu slabs freed, writer %lu ops, readers %lu + %lu ops\n",
	       n / 10, s1.nodes_live, s1.bytes_held >> 10,
	       held_limit(s1.nodes_live) >> 10,
	       r1.nodes_moved - c0.nodes_moved,
	       r1.slabs_released - c0.slabs_released, w.ops,
	       atomic_load(&readers[0].ops), atomic_load(&readers[1].ops));

	atomic_store(&stop_readers, true);
	for (i = 0; i < 2; i++)
		pthread_join(readers[i].thread, NULL);
	CHECK_EQ(atomic_load(&read_failures), 0);

	CHECK_EQ(mt_validate(&a), 0);
	CHECK_EQ(mt_validate(&b), 0);
	xl_take(&xc);
	CHECK_EQ(mt_validate(&c), 0);
	xl_release(&xc);
	CHECK_EQ(model_diff(&a, &ma, "concurrent A"), 0);
	CHECK_EQ(model_diff(&b, &mb, "concurrent B"), 0);
	CHECK_EQ(model_diff(&c, &mc, "concurrent C"), 0);

	mtree_destroy(&a);
	mtree_destroy(&b);
	xl_take(&xc);
	mtree_destroy(&c);
	xl_release(&xc);
	mt_rcu_barrier(NULL);
	mt_cache_stats(&s2);
	CHECK_EQ(s2.nodes_live, s0.nodes_live);
	CHECK_EQ(s2.nodes_rcu, 0);
	printf("concurrent: %.2f s\n", now() - t0);
	free(lc0);
	free(lc1);
	free(ld0);
	free(ld1);
	free(ma.gen);
	free(mb.gen);
	free(mc.gen);
	free(md.gen);
}

/* ---- Test 3: a writer holding the lock ----------------------------------- */

/* Stretches of stores under the lock, short breaks between them. */
static void *busy_main(void *arg)
{
	struct writer *w = arg;
	struct model *m = w->m;
	unsigned long fails = 0, k, j;
	unsigned int gen = 1;

	urcu_memb_register_thread();
	while (!atomic_load_explicit(&stop_writer, memory_order_relaxed)) {
		mtree_lock(w->mt);
		for (j = 0; j < 256; j++) {
			MA_STATE(mas, w->mt, 0, 0);
			bool erase = harness_rand(&w->rng) % 4 == 0;

			k = harness_rand(&w->rng) % m->keys;
			gen = gen % 31 + 1;
			mas_set_range(&mas, key_first(k), key_last(k));
			if (mas_store_gfp(&mas, erase ? NULL :
					  encode(key_first(k), key_last(k), gen),
					  GFP_KERNEL))
				wfail(&fails, "store of key %lu failed", k);
			else
				m->gen[k] = erase ? 0 : (unsigned char)gen;
		}
		mtree_unlock(w->mt);
		for (j = 0; j < 8; j++) {
			k = harness_rand(&w->rng) % m->keys;
			if (mtree_load(w->mt, key_first(k)) != key_entry(m, k))
				wfail(&fails, "load of key %lu disagrees", k);
		}
		w->ops++;
		sleep_us(50);
	}
	urcu_memb_unregister_thread();
	atomic_fetch_add(&write_failures, fails);
	return NULL;
}

static void test_busy(uint64_t *rng)
{
	struct mt_compact_stats c0, r0, r1;
	struct maple_tree mt;
	struct model m;
	struct writer w;
	unsigned long i, busy = 0, runs = 0, failed = 0;
	double deadline = now() + 20;

	model_init(&m, 20000);
	mt_init_flags(&mt, MT_FLAGS_USE_RCU);
	for (i = 0; i < m.keys; i++)
		failed += store_key(&mt, &m, i, 1) != 0;
	CHECK_EQ(failed, 0);

	atomic_store(&stop_writer, false);
	atomic_store(&write_failures, 0);
	w = (struct writer){ .mt = &mt, .m = &m, .rng = harness_rand(rng) | 1 };
	pthread_create(&w.thread, NULL, busy_main, &w);
	mt_compact_stats(&c0);
	r1 = c0;
	/* Until some runs found the lock taken (and never waited for it). */
	while ((busy < 3 || runs < 10) && now() < deadline) {
		make_room();
		mt_compact_stats(&r0);
		mt_cache_compact();
		mt_compact_stats(&r1);
		busy += r1.trees_skipped_busy - r0.trees_skipped_busy;
		runs++;
	}
	atomic_store(&stop_writer, true);
	pthread_join(w.thread, NULL);
	printf("busy: %lu of %lu runs found the tree locked, %lu nodes moved, "
	       "writer %lu stretches\n", busy, runs,
	       r1.nodes_moved - c0.nodes_moved, w.ops);
	CHECK(busy > 0);
	CHECK(busy <= runs);
	CHECK_EQ(atomic_load(&write_failures), 0);
	CHECK_EQ(mt_validate(&mt), 0);
	CHECK_EQ(model_diff(&mt, &m, "busy"), 0);
	mtree_destroy(&mt);
	mt_rcu_barrier(NULL);
	free(m.gen);
}

/* ---- Test 4: the background compactor ------------------------------------ */

/*
 * The documented trigger: the cache holds more than @percent percent of
 * what its nodes need (those waiting for a grace period count, as they
 * do for the compactor).
 */
static bool over_threshold(unsigned int percent)
{
	struct mt_cache_stats st;

	mt_cache_stats(&st);
	return st.bytes_held * 100 >
	       (st.nodes_live + st.nodes_rcu) * NODE_BYTES * percent;
}

struct fragmenter {
	struct maple_tree *mt;
	struct model *m;
	uint64_t rng;
};

/* In a thread of its own: at exit its per-thread cache goes back. */
static void *fragment_main(void *arg)
{
	struct fragmenter *f = arg;

	grow_and_shrink(f->mt, f->m, &f->rng);
	return NULL;
}

static void test_compactor(uint64_t *rng)
{
	struct mt_compact_stats c0, c1, c2;
	struct mt_reservation ballast;
	struct maple_tree mt, owner;
	struct fragmenter f;
	struct model m;
	pthread_t thread;
	double t0, deadline;
	bool within = false;

	CHECK_EQ(mt_compactor_start(99, 10), -EINVAL);
	CHECK_EQ(mt_compactor_start(150, 0), -EINVAL);
	mt_compactor_stop();	/* none running: a no-op */

	/*
	 * Compaction frees whole slabs, and the emergency reserve may need one
	 * more, so 1.5 times is only reachable once the live nodes fill about
	 * 3.4 slabs. Reserved nodes count as live and never move: four slabs
	 * of them stand in for a big dense tree, at a fraction of the cost
	 * under sanitizers. They come first, so they fill slabs of their own.
	 */
	mt_init(&owner);
	CHECK_EQ(mt_reserve(&owner, &ballast, 1, 1000000, GFP_KERNEL), 0);
	{
		unsigned long per = mt_reservation_nodes(&ballast);

		mt_reserve_release(&ballast);
		CHECK(per > 0);
		CHECK_EQ(mt_reserve(&owner, &ballast,
				    (unsigned int)((4 * SLAB_NODES + per - 1) /
						   (per ? per : 1)),
				    1000000, GFP_KERNEL), 0);
	}

	CHECK_EQ(mt_compactor_start(150, 10), 0);
	CHECK_EQ(mt_compactor_start(150, 10), -EALREADY);
	CHECK_EQ(mt_compactor_start(200, 5), -EALREADY);
	mt_compact_stats(&c0);

	/* 300k keys whatever MT_COMPACT_N says: enough sparse slabs. */
	model_init(&m, 300000);
	mt_init(&mt);
	f = (struct fragmenter){ &mt, &m, harness_rand(rng) | 1 };
	pthread_create(&thread, NULL, fragment_main, &f);
	pthread_join(thread, NULL);

	t0 = now();
	deadline = t0 + 20;
	while (now() < deadline) {
		if (!over_threshold(150)) {
			within = true;
			break;
		}
		sleep_us(5000);
	}
	mt_compact_stats(&c1);
	printf("compactor: within 150%% after %.2f s, %lu runs, %lu nodes moved, "
	       "%lu slabs freed\n", now() - t0, c1.runs - c0.runs,
	       c1.nodes_moved - c0.nodes_moved,
	       c1.slabs_released - c0.slabs_released);
	CHECK(within);
	/* It was the compactor: this thread never called mt_cache_compact(). */
	CHECK(c1.runs > c0.runs);
	CHECK(c1.nodes_moved > c0.nodes_moved);
	CHECK(c1.slabs_released > c0.slabs_released);

	/*
	 * Within the threshold the compactor has nothing to do: it must not
	 * run (20 intervals pass), and so must leave the emergency reserve,
	 * which the last run refilled, alone.
	 */
	sleep_us(20000);
	mt_compact_stats(&c1);
	sleep_us(200000);
	mt_compact_stats(&c2);
	within = !over_threshold(150);
	CHECK(within);
	if (within)
		CHECK_EQ(c2.runs - c1.runs, 0);
	{
		struct mt_cache_stats st;

		mt_cache_stats(&st);
		CHECK_EQ(st.nodes_emergency, EMERGENCY);
	}
	CHECK_EQ(mt_validate(&mt), 0);
	CHECK_EQ(model_diff(&mt, &m, "compactor"), 0);

	mt_compactor_stop();
	mt_compactor_stop();	/* again: a no-op */
	/* Stopped means no more runs, even far over the threshold. */
	CHECK_EQ(mt_cache_reserve(EMERGENCY + 8 * SLAB_NODES), 0);
	CHECK_EQ(mt_cache_reserve(EMERGENCY), 0);
	CHECK(over_threshold(150));
	mt_compact_stats(&c1);
	sleep_us(100000);
	mt_compact_stats(&c2);
	CHECK_EQ(c2.runs, c1.runs);
	/* And it can start again. */
	CHECK_EQ(mt_compactor_start(150, 10), 0);
	mt_compactor_stop();

	mt_reserve_release(&ballast);
	mtree_destroy(&mt);
	mt_rcu_barrier(NULL);
	free(m.gen);
}

/* ---- Test 5: edges -------------------------------------------------------- */

static void test_nothing_to_do(void)
{
	struct mt_cache_stats s1, s2;
	struct maple_tree mt;
	struct model m;
	unsigned long i, failed = 0;
	size_t ret;

	/* No tree at all: after one run there is nothing left to do. */
	mt_cache_compact();
	mt_cache_stats(&s1);
	ret = mt_cache_compact();
	mt_cache_stats(&s2);
	CHECK_EQ(s1.nodes_live, 0);
	CHECK_EQ(ret, 0);
	CHECK_EQ(s2.bytes_held, s1.bytes_held);
	CHECK_EQ(s2.nodes_emergency, EMERGENCY);

	/* A small tree in a compacted cache: nothing moves, nothing is lost. */
	model_init(&m, 5000);
	mt_init_flags(&mt, MT_FLAGS_USE_RCU);
	for (i = 0; i < m.keys; i++)
		failed += store_key(&mt, &m, i, 1) != 0;
	CHECK_EQ(failed, 0);
	mt_rcu_barrier(&mt);
	mt_cache_compact();
	mt_cache_stats(&s1);
	ret = mt_cache_compact();
	mt_cache_stats(&s2);
	CHECK_EQ(ret, 0);
	CHECK_EQ(s2.bytes_held, s1.bytes_held);
	CHECK_EQ(s2.nodes_live, s1.nodes_live);
	/* The emergency reserve survives a run that found nothing to do. */
	CHECK_EQ(s1.nodes_emergency, EMERGENCY);
	CHECK_EQ(s2.nodes_emergency, s1.nodes_emergency);
	CHECK_EQ(mt_validate(&mt), 0);
	CHECK_EQ(model_diff(&mt, &m, "nothing to do"), 0);
	mtree_destroy(&mt);
	mt_rcu_barrier(NULL);
	free(m.gen);
}

static void test_reservation(unsigned long n, uint64_t *rng)
{
	struct mt_compact_stats c0, c1;
	struct mt_cache_stats s0, s1;
	struct mt_reservation res;
	struct maple_tree mt, frag;
	struct model m, mf;
	unsigned long i, held, failed = 0;
	uint32_t *order;
	const unsigned int stores = 16;

	/* A tree, its reservation taken while a fragmenter grows around it. */
	model_init(&m, 2000);
	model_init(&mf, n);
	mt_init_flags(&mt, MT_FLAGS_USE_RCU);
	mt_init_flags(&frag, MT_FLAGS_USE_RCU);
	for (i = 0; i < m.keys; i++)
		failed += store_key(&mt, &m, i, 1) != 0;
	for (i = 0; i < n / 2; i++)
		failed += store_key(&frag, &mf, i, 1) != 0;
	CHECK_EQ(mt_reserve(&mt, &res, stores, 4 * m.keys, GFP_KERNEL), 0);
	held = mt_reservation_nodes(&res);
	for (; i < n; i++)
		failed += store_key(&frag, &mf, i, 1) != 0;
	order = shuffled(n, rng);
	for (i = 0; i < n - n / 10; i++) {
		mtree_erase(&frag, key_first(order[i]));
		mf.gen[order[i]] = 0;
	}
	free(order);
	CHECK_EQ(failed, 0);
	mt_rcu_barrier(&frag);

	mt_cache_stats(&s0);
	mt_compact_stats(&c0);
	make_room();	/* so that the run empties slabs whatever the sizes */
	CHECK(mt_cache_compact() > 0);
	mt_compact_stats(&c1);
	mt_cache_stats(&s1);
	printf("reservation: %lu nodes reserved, %lu left in slabs being emptied\n",
	       held, c1.nodes_left - c0.nodes_left);
	/* Only the reservation's nodes can have been left behind. */
	CHECK(c1.nodes_left - c0.nodes_left <= held);
	CHECK_EQ(mt_reservation_nodes(&res), held);
	CHECK_EQ(s1.nodes_live, s0.nodes_live);

	/*
	 * The reserved nodes still work: stores that may not allocate (in a
	 * debug build an allocation here aborts, which fails the suite too).
	 */
	mt_alloc_forbid_begin();
	mtree_lock(&mt);
	for (i = 0; i < stores; i++) {
		unsigned long k = harness_rand(rng) % m.keys;
		MA_STATE(mas, &mt, key_first(k), key_last(k));

		mas_use_reservation(&mas, &res);
		mas_store(&mas, encode(key_first(k), key_last(k), 9));
		if (mas_is_err(&mas))
			failed++;
		else
			m.gen[k] = 9;
	}
	mtree_unlock(&mt);
	mt_alloc_forbid_end();
	mt_cache_stats(&s1);
	CHECK_EQ(failed, 0);
	CHECK_EQ(s1.forbidden_allocs, s0.forbidden_allocs);
	CHECK(mt_reservation_nodes(&res) <= held);
	CHECK_EQ(mt_validate(&mt), 0);
	CHECK_EQ(model_diff(&mt, &m, "reservation"), 0);
	CHECK_EQ(mt_validate(&frag), 0);
	CHECK_EQ(model_diff(&frag, &mf, "reservation fragmenter"), 0);

	mt_reserve_release(&res);
	mtree_destroy(&mt);
	mtree_destroy(&frag);
	mt_rcu_barrier(NULL);
	free(m.gen);
	free(mf.gen);
}

int main(void)
{
	const char *env = getenv("MT_COMPACT_N");
	unsigned long n = env ? strtoul(env, NULL, 0) : 1000000;
	struct mt_cache_stats st;
	uint64_t rng;
	double t0 = now();

	/* Below this a shrunk tree leaves too few slabs for the limit to bite. */
	if (n < 200000)
		n = 200000;
	seed = harness_seed("test_compact");
	rng = seed;
	printf("test_compact: N = %lu\n", n);
	urcu_memb_register_thread();

	test_shrunk("rcu", MT_FLAGS_USE_RCU, n, &rng);
	test_shrunk("plain", 0, n / 5 > 200000 ? n / 5 : 200000, &rng);
	test_concurrent(n / 2, &rng);
	test_busy(&rng);
	printf("test_compact: tests 1-3 took %.2f s\n", now() - t0);
	test_compactor(&rng);
	test_nothing_to_do();
	test_reservation(n / 4, &rng);

	mt_rcu_barrier(NULL);
	mt_cache_stats(&st);
	CHECK_EQ(st.nodes_live, 0);
	CHECK_EQ(st.nodes_rcu, 0);
	urcu_memb_unregister_thread();
	printf("test_compact: %.2f s\n", now() - t0);
	return harness_finish();
}
