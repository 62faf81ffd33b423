// SPDX-License-Identifier: MIT
/*
 * The node cache: 256-byte nodes carved from 2 MiB slabs aligned to their
 * size, so a node finds its slab by masking its address. A slab is exactly
 * one transparent huge page where the system offers them: a tree of a
 * million ranges spans tens of megabytes, and with 4 KiB pages nearly every
 * level of a random lookup would also miss the TLB. Each thread keeps
 * a small magazine of free nodes so the common allocation and free touch no
 * shared state; magazines trade nodes with the slabs in batches under one
 * lock. The statistics are per-thread counters too, summed when asked for:
 * in RCU mode nodes are retired by the writer and freed by liburcu's
 * call_rcu thread, and shared counters would bounce between their cores on
 * every store.
 */
#include <errno.h>
#include <execinfo.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "maple/node.h"

#define SLAB_SIZE		(2 * 1024 * 1024)
#define SLAB_NODES		(SLAB_SIZE / MAPLE_NODE_SIZE - 1)
#define MAGAZINE_SIZE		64
#define MAGAZINE_BATCH		32

/* The first 256 bytes of every slab; the nodes follow. */
struct slab {
	struct slab *all_next, *all_prev;	/* every slab */
	struct slab *part_next, *part_prev;	/* slabs with free nodes */
	void *free;				/* free nodes, mt_list_*() */
	unsigned int nr_free;			/* > 0: on the partial list */
	bool draining;		/* being emptied: off the partial list */
};

_Static_assert(sizeof(struct slab) <= MAPLE_NODE_SIZE, "slab header fits");

struct magazine {
	struct maple_node *node[MAGAZINE_SIZE];
	unsigned int nr;
	bool registered;
	unsigned long drain_gen;	/* the last compaction this saw */
	/* Written by the owner only; read by mt_cache_stats(). */
	long live;		/* nodes taken minus nodes given back */
	long rcu;		/* nodes retired minus nodes reclaimed */
	struct magazine *next, *prev;	/* all registered magazines */
};

static struct {
	pthread_mutex_t lock;
	struct slab *all;
	struct slab *partial;
	size_t slabs;
	struct magazine *magazines;
	/* The emergency reserve, for allocations that may not block. */
	void *emergency;		/* free nodes, mt_list_*() */
	size_t nr_emergency;		/* atomic */
	size_t emergency_target;	/* atomic */
	unsigned long forbidden_allocs;	/* atomic */
	struct maple_batch *reclaimed;	/* linked through rcu[0] */
	unsigned long drain_gen;	/* atomic; bumped when slabs drain */
	long exited_live;	/* counters of threads that have exited */
	long exited_rcu;
	pthread_key_t key;
	pthread_once_t once;
} cache = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.once = PTHREAD_ONCE_INIT,
	.emergency_target = 64,
};

static __thread unsigned int forbid_depth;
static __thread void *forbid_opened_at;	/* outermost begin's caller */

static __thread struct magazine magazine;

/* Fault injection (tests): a countdown to one failure, or all of them. */
static long fault_countdown;
static bool fault_all;

void mt_fault_inject(long nth)
{
	__atomic_store_n(&fault_countdown, nth > 0 ? nth : 0, __ATOMIC_RELAXED);
}

void mt_fault_inject_all(bool on)
{
	__atomic_store_n(&fault_all, on, __ATOMIC_RELAXED);
}

static bool fault_now(void)
{
	long n = __atomic_load_n(&fault_countdown, __ATOMIC_RELAXED);

	if (__atomic_load_n(&fault_all, __ATOMIC_RELAXED))
		return true;
	while (n > 0)
		if (__atomic_compare_exchange_n(&fault_countdown, &n, n - 1,
						false, __ATOMIC_RELAXED,
						__ATOMIC_RELAXED))
			return n == 1;
	return false;
}

static struct slab *node_slab(struct maple_node *node)
{
	return (struct slab *)((unsigned long)node & ~(unsigned long)(SLAB_SIZE - 1));
}

static void partial_add(struct slab *slab)
{
	slab->part_prev = NULL;
	slab->part_next = cache.partial;
	if (cache.partial)
		cache.partial->part_prev = slab;
	cache.partial = slab;
}

static void partial_del(struct slab *slab)
{
	if (slab->part_prev)
		slab->part_prev->part_next = slab->part_next;
	else
		cache.partial = slab->part_next;
	if (slab->part_next)
		slab->part_next->part_prev = slab->part_prev;
}

/* A new slab with every node free, on both lists. Cache lock held. */
static struct slab *slab_new(void)
{
	struct slab *slab = aligned_alloc(SLAB_SIZE, SLAB_SIZE);
	struct maple_node *nodes;
	unsigned int i;

	if (!slab)
		return NULL;
	/* Before the first touch, so the kernel can back it with one page. */
	madvise(slab, SLAB_SIZE, MADV_HUGEPAGE);
	memset(slab, 0, sizeof(*slab));
	nodes = (struct maple_node *)((char *)slab + MAPLE_NODE_SIZE);
	for (i = SLAB_NODES; i-- > 0;)
		mt_list_push(&slab->free, &nodes[i]);
	slab->nr_free = SLAB_NODES;
	slab->all_next = cache.all;
	if (cache.all)
		cache.all->all_prev = slab;
	cache.all = slab;
	partial_add(slab);
	cache.slabs++;
	return slab;
}

static void slab_destroy(struct slab *slab)
{
	if (slab->nr_free && !slab->draining)
		partial_del(slab);
	if (slab->all_prev)
		slab->all_prev->all_next = slab->all_next;
	else
		cache.all = slab->all_next;
	if (slab->all_next)
		slab->all_next->all_prev = slab->all_prev;
	cache.slabs--;
	free(slab);
}

/* Return a free node to its slab. Cache lock held. */
static void slab_put(struct maple_node *node)
{
	struct slab *slab = node_slab(node);

	mt_list_push(&slab->free, node);
	if (!slab->nr_free++ && !slab->draining)
		partial_add(slab);
}

static struct maple_node *slab_get(bool may_grow)
{
	struct slab *slab = cache.partial;
	struct maple_node *node;

	if (!slab) {
		if (!may_grow)
			return NULL;
		slab = slab_new();
		if (!slab)
			return NULL;
	}
	node = mt_list_pop(&slab->free);
	if (--slab->nr_free == 0)
		partial_del(slab);
	return node;
}

static void magazine_drain(struct magazine *mag, unsigned int keep)
{
	pthread_mutex_lock(&cache.lock);
	while (mag->nr > keep)
		slab_put(mag->node[--mag->nr]);
	pthread_mutex_unlock(&cache.lock);
}

/* Return a reclaimed batch's nodes to their slabs. Cache lock held. */
static void batch_put(struct maple_batch *batch)
{
	unsigned long i;

	for (i = 0; i < batch->count; i++)
		slab_put(batch->node[i]);
	slab_put((struct maple_node *)batch);
}

/* Take the newest reclaimed batch, or NULL. Cache lock held. */
static struct maple_batch *batch_pop(void)
{
	struct maple_batch *batch = cache.reclaimed;

	if (batch)
		__atomic_store_n(&cache.reclaimed,
				 (struct maple_batch *)batch->rcu[0],
				 __ATOMIC_RELAXED);
	return batch;
}

static void magazine_release(void *arg)
{
	struct magazine *mag = arg;

	magazine_drain(mag, 0);
	pthread_mutex_lock(&cache.lock);
	cache.exited_live += mag->live;
	cache.exited_rcu += mag->rcu;
	if (mag->prev)
		mag->prev->next = mag->next;
	else
		cache.magazines = mag->next;
	if (mag->next)
		mag->next->prev = mag->prev;
	mag->registered = false;
	pthread_mutex_unlock(&cache.lock);
}

static void cache_init_key(void)
{
	pthread_key_create(&cache.key, magazine_release);
}

static void magazine_register(struct magazine *mag)
{
	pthread_once(&cache.once, cache_init_key);
	pthread_setspecific(cache.key, mag);
	pthread_mutex_lock(&cache.lock);
	mag->prev = NULL;
	mag->next = cache.magazines;
	if (cache.magazines)
		cache.magazines->prev = mag;
	cache.magazines = mag;
	mag->registered = true;
	pthread_mutex_unlock(&cache.lock);
}

/* Add to a counter only this thread writes; others may read it. */
static void count(long *counter, long delta)
{
	__atomic_store_n(counter, __atomic_load_n(counter, __ATOMIC_RELAXED) +
			 delta, __ATOMIC_RELAXED);
}

/*
 * The calling thread's magazine. When slabs have started draining since
 * the thread last looked, its cached nodes go back first: some may belong
 * to those slabs, which could not be freed while a magazine held them.
 */
static struct magazine *my_magazine(void)
{
	struct magazine *mag = &magazine;
	unsigned long gen = __atomic_load_n(&cache.drain_gen, __ATOMIC_RELAXED);

	if (!mag->registered)
		magazine_register(mag);
	if (mag->drain_gen != gen) {
		mag->drain_gen = gen;
		if (mag->nr)
			magazine_drain(mag, 0);
	}
	return mag;
}

/* Refill an empty magazine with a reclaimed batch. False if none. */
static bool magazine_fill_batch(struct magazine *mag)
{
	struct maple_batch *batch;
	unsigned long i;

	if (!__atomic_load_n(&cache.reclaimed, __ATOMIC_RELAXED))
		return false;
	pthread_mutex_lock(&cache.lock);
	batch = batch_pop();
	pthread_mutex_unlock(&cache.lock);
	if (!batch)
		return false;
	for (i = 0; i < batch->count; i++)
		mag->node[mag->nr++] = batch->node[i];
	mag->node[mag->nr++] = (struct maple_node *)batch;
	return true;
}

static void emergency_push(struct maple_node *node)
{
	mt_list_push(&cache.emergency, node);
	__atomic_store_n(&cache.nr_emergency, cache.nr_emergency + 1,
			 __ATOMIC_RELAXED);
}

static struct maple_node *emergency_pop(void)
{
	struct maple_node *node = mt_list_pop(&cache.emergency);

	if (node)
		__atomic_store_n(&cache.nr_emergency, cache.nr_emergency - 1,
				 __ATOMIC_RELAXED);
	return node;
}

/* Top the emergency reserve up to its target. Cache lock held. */
static bool emergency_fill(void)
{
	while (cache.nr_emergency < cache.emergency_target) {
		struct maple_node *node = slab_get(true);

		if (!node)
			return false;
		emergency_push(node);
	}
	return true;
}

static bool emergency_low(void)
{
	return __atomic_load_n(&cache.nr_emergency, __ATOMIC_RELAXED) <
	       __atomic_load_n(&cache.emergency_target, __ATOMIC_RELAXED);
}

/*
 * Move up to a batch of nodes into the magazine, reclaimed ones first.
 * With @may_grow new slabs may be taken, and the emergency reserve is
 * topped up; with @may_dip the reserve may be drawn on.
 */
static void magazine_fill(struct magazine *mag, bool may_grow, bool may_dip)
{
	bool refill = may_grow && emergency_low();

	if (magazine_fill_batch(mag) && !refill)
		return;
	pthread_mutex_lock(&cache.lock);
	while (mag->nr < MAGAZINE_BATCH) {
		struct maple_node *node = slab_get(may_grow);

		if (!node)
			break;
		mag->node[mag->nr++] = node;
	}
	if (refill)
		emergency_fill();
	if (!mag->nr && may_dip && cache.emergency)
		mag->node[mag->nr++] = emergency_pop();
	pthread_mutex_unlock(&cache.lock);
}

int mt_cache_reserve(size_t nodes)
{
	bool ok;

	pthread_mutex_lock(&cache.lock);
	__atomic_store_n(&cache.emergency_target, nodes, __ATOMIC_RELAXED);
	while (cache.nr_emergency > nodes)
		slab_put(emergency_pop());
	ok = emergency_fill();
	pthread_mutex_unlock(&cache.lock);
	return ok ? 0 : -ENOMEM;
}

void mt_alloc_forbid_begin(void)
{
	if (!forbid_depth++)
		forbid_opened_at = __builtin_return_address(0);
}

void mt_alloc_forbid_end(void)
{
	if (forbid_depth)
		forbid_depth--;
}

/*
 * An allocation inside a forbidden section: count it; in debug builds say
 * where (the call chain, and where the section was opened) and abort.
 */
static void forbidden_alloc(void)
{
	__atomic_fetch_add(&cache.forbidden_allocs, 1, __ATOMIC_RELAXED);
#ifndef NDEBUG
	void *chain[24];

	fprintf(stderr, "mapletree: allocation inside a forbidden section "
		"opened at %p; reserve the nodes before mt_alloc_forbid_begin()."
		" Call chain:\n", forbid_opened_at);
	backtrace_symbols_fd(chain, backtrace(chain, 24), 2);
	abort();
#endif
}

int mt_alloc_check(void)
{
	if (forbid_depth)
		forbidden_alloc();
	return fault_now() ? -ENOMEM : 0;
}

struct maple_node *mt_node_alloc(gfp_t gfp)
{
	struct magazine *mag = my_magazine();

	if (forbid_depth)
		forbidden_alloc();
	if (fault_now())
		return NULL;
	if (!mag->nr)
		magazine_fill(mag, gfp & __GFP_DIRECT_RECLAIM, gfp & __GFP_HIGH);
	if (!mag->nr)
		return NULL;
	count(&mag->live, 1);
	return mag->node[--mag->nr];
}

void mt_node_prefetch(void)
{
	struct magazine *mag = &magazine;
	char *node;

	if (!mag->nr)
		return;
	node = (char *)mag->node[mag->nr - 1];
	for (unsigned int line = 0; line < MAPLE_NODE_SIZE; line += 64)
		__builtin_prefetch(node + line, 1);
}

static void node_put(struct magazine *mag, struct maple_node *node)
{
	if (mag->nr == MAGAZINE_SIZE)
		magazine_drain(mag, MAGAZINE_BATCH);
	mag->node[mag->nr++] = node;
}

void mt_node_free(struct maple_node *node)
{
	struct magazine *mag = my_magazine();

	count(&mag->live, -1);
	node_put(mag, node);
}

/* A node leaves its tree to wait for a grace period. */
void mt_node_account_rcu(void)
{
	struct magazine *mag = my_magazine();

	count(&mag->live, -1);
	count(&mag->rcu, 1);
}

void mt_node_free_batch(struct maple_batch *batch)
{
	count(&my_magazine()->rcu, -(long)(batch->count + 1));
	pthread_mutex_lock(&cache.lock);
	batch->rcu[0] = (unsigned long)cache.reclaimed;
	__atomic_store_n(&cache.reclaimed, batch, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&cache.lock);
}

/* Sum the per-thread counters. Cache lock held. */
static void cache_counts(long *live, long *rcu)
{
	const struct magazine *mag;

	*live = cache.exited_live;
	*rcu = cache.exited_rcu;
	for (mag = cache.magazines; mag; mag = mag->next) {
		*live += __atomic_load_n(&mag->live, __ATOMIC_RELAXED);
		*rcu += __atomic_load_n(&mag->rcu, __ATOMIC_RELAXED);
	}
}

void mt_cache_stats(struct mt_cache_stats *st)
{
	size_t total;
	long live, rcu;

	memset(st, 0, sizeof(*st));
	pthread_mutex_lock(&cache.lock);
	st->slabs = cache.slabs;
	st->nodes_emergency = cache.nr_emergency;
	cache_counts(&live, &rcu);
	pthread_mutex_unlock(&cache.lock);
	st->nodes_live = live > 0 ? (size_t)live : 0;
	st->nodes_rcu = rcu > 0 ? (size_t)rcu : 0;
	total = st->slabs * SLAB_NODES;
	st->nodes_free = total > st->nodes_live + st->nodes_rcu ?
			 total - st->nodes_live - st->nodes_rcu : 0;
	st->forbidden_allocs = __atomic_load_n(&cache.forbidden_allocs,
					       __ATOMIC_RELAXED);
	st->bytes_held = st->slabs * SLAB_SIZE;
}

/* ---- Draining slabs, for compaction ------------------------------------- */

/* Reclaimed batches back into their slabs. Cache lock held. */
static void batches_put(void)
{
	struct maple_batch *batch;

	for (batch = batch_pop(); batch; batch = batch_pop())
		batch_put(batch);
}

static unsigned int slab_used(const struct slab *slab)
{
	return SLAB_NODES - slab->nr_free;
}

static int slab_cmp_used(const void *a, const void *b)
{
	unsigned int ua = slab_used(*(struct slab *const *)a);
	unsigned int ub = slab_used(*(struct slab *const *)b);

	return ua < ub ? -1 : ua > ub;
}

/*
 * Choose the slabs to empty: all but the fullest ones that can hold every
 * used node. They leave the partial list, so no allocation takes from
 * them; allocations that find no room elsewhere take a new slab. Return
 * how many were chosen.
 */
unsigned int mt_cache_drain_begin(void)
{
	struct slab **slabs, *slab;
	size_t used = 0, keep, n = 0, i;

	magazine_drain(&magazine, 0);
	pthread_mutex_lock(&cache.lock);
	batches_put();
	slabs = malloc(cache.slabs * sizeof(*slabs));
	for (slab = cache.all; slabs && slab; slab = slab->all_next) {
		slabs[n++] = slab;
		used += slab_used(slab);
	}
	keep = (used + SLAB_NODES - 1) / SLAB_NODES;
	if (!slabs || n <= keep) {
		pthread_mutex_unlock(&cache.lock);
		free(slabs);
		return 0;
	}
	/* The emergency reserve (counted in used) is refilled at the end. */
	while (cache.nr_emergency)
		slab_put(emergency_pop());
	qsort(slabs, n, sizeof(*slabs), slab_cmp_used);
	__atomic_fetch_add(&cache.drain_gen, 1, __ATOMIC_RELAXED);
	for (i = 0; i < n - keep; i++) {
		if (slabs[i]->nr_free)
			partial_del(slabs[i]);
		slabs[i]->draining = true;
	}
	pthread_mutex_unlock(&cache.lock);
	free(slabs);
	return (unsigned int)(n - keep);
}

bool mt_node_draining(const struct maple_node *node)
{
	return node_slab((struct maple_node *)node)->draining;
}

/*
 * A node for a copy being moved out of a draining slab: from the fullest
 * slab that has room, so the used nodes end up packed together.
 */
struct maple_node *mt_node_alloc_dense(void)
{
	struct slab *slab, *best = NULL;
	struct maple_node *node;

	pthread_mutex_lock(&cache.lock);
	for (slab = cache.partial; slab; slab = slab->part_next)
		if (!best || slab->nr_free < best->nr_free)
			best = slab;
	if (!best)
		best = slab_new();
	if (!best) {
		pthread_mutex_unlock(&cache.lock);
		return NULL;
	}
	node = mt_list_pop(&best->free);
	if (--best->nr_free == 0)
		partial_del(best);
	pthread_mutex_unlock(&cache.lock);
	count(&my_magazine()->live, 1);
	return node;
}

/*
 * After the moves and a grace period: give back the draining slabs that are
 * empty now; the others (pinned by nodes not in a tree, or by a tree that
 * was skipped) take allocations again. Return the bytes given back; count
 * the nodes left behind in *@left and the slabs freed in *@released.
 */
size_t mt_cache_drain_end(unsigned long *left, unsigned long *released)
{
	struct slab *slab, *next;
	size_t freed = 0;

	magazine_drain(&magazine, 0);
	pthread_mutex_lock(&cache.lock);
	batches_put();
	for (slab = cache.all; slab; slab = next) {
		next = slab->all_next;
		if (!slab->draining)
			continue;
		if (slab->nr_free == SLAB_NODES) {
			slab_destroy(slab);
			freed += SLAB_SIZE;
			++*released;
			continue;
		}
		*left += slab_used(slab);
		slab->draining = false;
		if (slab->nr_free)
			partial_add(slab);
	}
	emergency_fill();
	pthread_mutex_unlock(&cache.lock);
	return freed;
}

size_t mt_cache_shrink(void)
{
	struct slab *slab, *next;
	size_t freed = 0;

	/* This thread's magazine may hold the last node of a slab. */
	if (magazine.nr)
		magazine_drain(&magazine, 0);
	pthread_mutex_lock(&cache.lock);
	batches_put();
	for (slab = cache.partial; slab; slab = next) {
		next = slab->part_next;
		if (slab->nr_free == SLAB_NODES) {
			slab_destroy(slab);
			freed += SLAB_SIZE;
		}
	}
	pthread_mutex_unlock(&cache.lock);
	return freed;
}

/* At exit, give everything back if no tree still holds a node. */
__attribute__((destructor)) static void mt_cache_teardown(void)
{
	long live, rcu;

	pthread_mutex_lock(&cache.lock);
	cache_counts(&live, &rcu);
	if (!live && !rcu) {
		magazine.nr = 0;
		cache.emergency = NULL;
		cache.nr_emergency = 0;
		while (cache.all)
			slab_destroy(cache.all);
	}
	pthread_mutex_unlock(&cache.lock);
}
