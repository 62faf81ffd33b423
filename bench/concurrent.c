/* SPDX-License-Identifier: MIT */
/*
 * The 1-writer/N-reader run. Readers do random hit loads; the writer
 * re-stores existing ranges with new values (exact fit) and does short
 * random overwrites. The maple tree in RCU mode is read without any lock;
 * peers without RCU readers are wrapped in a pthread rwlock (a read lock
 * per load, a write lock per store).
 *
 * Every value a reader can legitimately see is checkable: an entry written
 * for range i encodes i, an overwrite of [a, a+L] encodes a and L, so a
 * reader aborts on a NULL, a value of another range, or a torn result.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <urcu/urcu-memb.h>

#include "bench.h"

#define OVR_FLAG	(1UL << 61)
#define OVR_A_MASK	((1UL << 40) - 1)
#define RANGE_LEN	10UL	/* every range is [stride*i, stride*i + 9] */
#define READER_BATCH	64

struct conc_shared {
	const struct bench_ops *ops;
	void *s;
	bool locked;
	pthread_rwlock_t lock;
	unsigned long n, stride, span;
	pthread_barrier_t start;
	atomic_bool stop;
};

struct conc_thread {
	struct conc_shared *sh;
	pthread_t tid;
	uint64_t seed;
	uint64_t ops;
	/* Keep each thread's counter on its own cache line. */
	char pad[64];
};

static void check_value(unsigned long index, unsigned long range, void *got,
			const char *who)
{
	unsigned long v;

	if (!got)
		bench_fail("%s: NULL at index %lu inside range %lu", who,
			   index, range);
	if (!((unsigned long)got & 1))
		bench_fail("%s: non-value entry %p at index %lu", who, got,
			   index);
	v = entry_val(got);
	if (v & OVR_FLAG) {
		unsigned long a = v & OVR_A_MASK;
		unsigned long len = (v >> 40) & 63;

		if (index < a || index > a + len)
			bench_fail("%s: index %lu returned the overwrite of "
				   "[%lu, %lu]", who, index, a, a + len);
	} else if ((v & 0xffffffffUL) != range) {
		bench_fail("%s: index %lu (range %lu) returned the entry of "
			   "range %lu", who, index, range, v & 0xffffffffUL);
	}
}

static inline void pick_hit(struct rng *r, const struct conc_shared *sh,
			    unsigned long *index, unsigned long *range)
{
	uint64_t x = rng_next(r);
	unsigned long i = (unsigned long)(((x >> 32) * sh->n) >> 32);
	unsigned long off = (unsigned long)(((x & 0xffffffffULL) * RANGE_LEN)
					    >> 32);

	*range = i;
	*index = i * sh->stride + off;
}

static void *reader_main(void *arg)
{
	struct conc_thread *t = arg;
	struct conc_shared *sh = t->sh;
	const struct bench_ops *ops = sh->ops;
	struct rng r;
	uint64_t done = 0;

	rng_seed(&r, t->seed);
	urcu_memb_register_thread();
	pthread_barrier_wait(&sh->start);
	while (!atomic_load_explicit(&sh->stop, memory_order_relaxed)) {
		for (int k = 0; k < READER_BATCH; k++) {
			unsigned long index, range;
			void *got;

			pick_hit(&r, sh, &index, &range);
			if (sh->locked) {
				pthread_rwlock_rdlock(&sh->lock);
				got = ops->load(sh->s, index);
				pthread_rwlock_unlock(&sh->lock);
			} else {
				got = ops->load(sh->s, index);
			}
			check_value(index, range, got, "reader");
		}
		done += READER_BATCH;
	}
	urcu_memb_unregister_thread();
	t->ops = done;
	return NULL;
}

static void *writer_main(void *arg)
{
	struct conc_thread *t = arg;
	struct conc_shared *sh = t->sh;
	const struct bench_ops *ops = sh->ops;
	unsigned long gen = 1;
	struct rng r;
	uint64_t done = 0;

	rng_seed(&r, t->seed);
	urcu_memb_register_thread();
	pthread_barrier_wait(&sh->start);
	while (!atomic_load_explicit(&sh->stop, memory_order_relaxed)) {
		uint64_t x = rng_next(&r);
		unsigned long first, last, v;
		int ret;

		if (x & 3) {
			/* Exact fit: re-store range i with a new value. */
			unsigned long i = (unsigned long)rng_below(&r, sh->n);

			first = i * sh->stride;
			last = first + RANGE_LEN - 1;
			v = (gen << 32) | i;
			gen = (gen + 1) & ((1UL << 28) - 1);
			if (!gen)
				gen = 1;
		} else {
			/* Short overwrite anywhere in the key span. */
			unsigned long len = (unsigned long)(x >> 2) & 63;

			first = (unsigned long)rng_below(&r, sh->span);
			last = first + len;
			v = OVR_FLAG | (len << 40) | first;
		}
		if (sh->locked) {
			pthread_rwlock_wrlock(&sh->lock);
			ret = ops->store_range(sh->s, first, last,
					       val_entry(v));
			pthread_rwlock_unlock(&sh->lock);
		} else {
			ret = ops->store_range(sh->s, first, last,
					       val_entry(v));
		}
		if (ret)
			bench_fail("writer: store [%lu, %lu] returned %d (%s)",
				   first, last, ret, strerror(-ret));
		done++;
	}
	urcu_memb_unregister_thread();
	t->ops = done;
	return NULL;
}

/* One timed phase: @readers readers, plus the writer if @with_writer. */
static void conc_phase(struct conc_shared *sh, unsigned int readers,
		       bool with_writer, unsigned int duration_ms,
		       uint64_t seed, struct conc_result *out)
{
	unsigned int nthreads = readers + (with_writer ? 1 : 0);
	struct conc_thread *th = calloc(nthreads, sizeof(*th));
	struct timespec nap = {
		.tv_sec = duration_ms / 1000,
		.tv_nsec = (long)(duration_ms % 1000) * 1000000L,
	};
	uint64_t t0, t1, rops = 0;

	if (!th)
		bench_fail("out of memory starting threads");
	atomic_store(&sh->stop, false);
	if (pthread_barrier_init(&sh->start, NULL, nthreads + 1))
		bench_fail("pthread_barrier_init failed");
	for (unsigned int k = 0; k < nthreads; k++) {
		bool is_writer = with_writer && k == readers;

		th[k].sh = sh;
		th[k].seed = seed + 0x1000 * (k + 1) + (with_writer ? 7 : 0);
		if (pthread_create(&th[k].tid, NULL,
				   is_writer ? writer_main : reader_main,
				   &th[k]))
			bench_fail("pthread_create failed");
	}
	pthread_barrier_wait(&sh->start);
	t0 = now_ns();
	while (nanosleep(&nap, &nap) && errno == EINTR)
		;
	atomic_store(&sh->stop, true);
	t1 = now_ns();
	for (unsigned int k = 0; k < nthreads; k++)
		pthread_join(th[k].tid, NULL);
	pthread_barrier_destroy(&sh->start);
	for (unsigned int k = 0; k < readers; k++)
		rops += th[k].ops;
	out->reader_mops = (double)rops * 1000.0 / (double)(t1 - t0);
	out->writer_mops = with_writer ?
		(double)th[readers].ops * 1000.0 / (double)(t1 - t0) : 0.0;
	free(th);
}

void conc_run(const struct bench_ops *ops, unsigned long n,
	      unsigned long stride, unsigned int readers,
	      unsigned int duration_ms, uint64_t seed,
	      struct conc_result *alone, struct conc_result *with_writer)
{
	struct conc_shared sh;
	pthread_rwlockattr_t attr;
	struct rng r;

	memset(&sh, 0, sizeof(sh));
	sh.ops = ops;
	sh.locked = !ops->rcu_readers;
	sh.n = n;
	sh.stride = stride;
	sh.span = n * stride;
	pthread_rwlockattr_init(&attr);
#ifdef __GLIBC__
	/* glibc's default prefers readers and can starve the writer. */
	pthread_rwlockattr_setkind_np(&attr,
			PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
#endif
	if (pthread_rwlock_init(&sh.lock, &attr))
		bench_fail("pthread_rwlock_init failed");
	pthread_rwlockattr_destroy(&attr);

	sh.s = ops->create();
	for (unsigned long i = 0; i < n; i++) {
		int ret = ops->insert_range(sh.s, i * stride,
					    i * stride + RANGE_LEN - 1,
					    val_entry(i));
		if (ret)
			bench_fail("%s: build insert of range %lu returned %d",
				   ops->name, i, ret);
	}

	conc_phase(&sh, readers, false, duration_ms, seed, alone);
	conc_phase(&sh, readers, true, duration_ms, seed, with_writer);

	/* After the writer: the structure must still be sound. */
	if (ops->validate) {
		int ret = ops->validate(sh.s);

		if (ret)
			bench_fail("%s: validate after the writer run "
				   "returned %d", ops->name, ret);
	}
	rng_seed(&r, seed ^ 0xabcdefULL);
	for (unsigned long k = 0; k < n / 4 + 1; k++) {
		unsigned long index, range;

		pick_hit(&r, &sh, &index, &range);
		check_value(index, range, ops->load(sh.s, index),
			    "check after the writer run");
	}
	ops->destroy(sh.s);
	pthread_rwlock_destroy(&sh.lock);
}
