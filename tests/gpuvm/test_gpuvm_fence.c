// SPDX-License-Identifier: MIT
/*
 * Fences: signal, status and wait (test, timeout, without limit); the
 * errors signal reports; callbacks (order, once, after the signal, removal,
 * a callback freeing its own storage or adding callbacks to other fences);
 * reference counting; many threads waiting on one fence; chains of fences
 * signalled by callbacks and by threads; callbacks racing with the signal;
 * and fence-signalling sections: nesting, and an allocation inside one
 * counted in forbidden_allocs (in debug builds it aborts: forked children).
 *
 * Environment: MT_FENCE_THREADS (waiters, default 8), MT_FENCE_ROUNDS
 * (rounds of the threaded tests, default 50), MT_FENCE_CHAIN (length of
 * the callback chains, default 1000).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <mapletree/gpuvm.h>

#include "harness.h"
#include "harness_child.h"

static long env_long(const char *name, long def)
{
	const char *s = getenv(name);
	long v = s && *s ? strtol(s, NULL, 0) : def;

	return v > 0 ? v : def;
}

static int64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static void sleep_ms(long ms)
{
	struct timespec t = { ms / 1000, (ms % 1000) * 1000000 };

	nanosleep(&t, NULL);
}

static unsigned long forbidden_allocs(void)
{
	struct mt_cache_stats st;

	mt_cache_stats(&st);
	return st.forbidden_allocs;
}

static struct gpuvm_fence *fence_new(void)
{
	struct gpuvm_fence *f = gpuvm_fence_create();

	if (!f) {
		fprintf(stderr, "gpuvm_fence_create() failed\n");
		exit(2);
	}
	return f;
}

/* ---- Signal, status, wait ------------------------------------------------ */

static void test_signal_status_wait(void)
{
	struct gpuvm_fence *f = fence_new();
	int64_t t0;

	CHECK_EQ(gpuvm_fence_status(f), 0);
	CHECK_EQ(gpuvm_fence_wait(f, 0), -ETIMEDOUT);
	t0 = now_ns();
	CHECK_EQ(gpuvm_fence_wait(f, 20 * 1000000), -ETIMEDOUT);
	CHECK(now_ns() - t0 >= 20 * 1000000);
	CHECK_EQ(gpuvm_fence_status(f), 0);

	CHECK_EQ(gpuvm_fence_signal(f, 0), 0);
	CHECK_EQ(gpuvm_fence_status(f), 1);
	CHECK_EQ(gpuvm_fence_wait(f, 0), 0);
	CHECK_EQ(gpuvm_fence_wait(f, 1000), 0);
	CHECK_EQ(gpuvm_fence_wait(f, -1), 0);
	/* Signalled once only: a second signal is refused, status kept. */
	CHECK_EQ(gpuvm_fence_signal(f, 0), -EINVAL);
	CHECK_EQ(gpuvm_fence_signal(f, -EIO), -EINVAL);
	CHECK_EQ(gpuvm_fence_status(f), 1);
	gpuvm_fence_put(f);

	/* With an error. */
	f = fence_new();
	CHECK_EQ(gpuvm_fence_signal(f, -EIO), 0);
	CHECK_EQ(gpuvm_fence_status(f), -EIO);
	CHECK_EQ(gpuvm_fence_wait(f, 0), 0);
	CHECK_EQ(gpuvm_fence_wait(f, -1), 0);
	CHECK_EQ(gpuvm_fence_signal(f, 0), -EINVAL);
	CHECK_EQ(gpuvm_fence_signal(f, -ENODEV), -EINVAL);
	CHECK_EQ(gpuvm_fence_status(f), -EIO);
	gpuvm_fence_put(f);

	/* A positive error is refused and does not signal. */
	f = fence_new();
	CHECK_EQ(gpuvm_fence_signal(f, 1), -EINVAL);
	CHECK_EQ(gpuvm_fence_signal(f, EIO), -EINVAL);
	CHECK_EQ(gpuvm_fence_status(f), 0);
	CHECK_EQ(gpuvm_fence_wait(f, 0), -ETIMEDOUT);
	CHECK_EQ(gpuvm_fence_signal(f, -ECANCELED), 0);
	CHECK_EQ(gpuvm_fence_status(f), -ECANCELED);
	gpuvm_fence_put(f);

	/* A large timeout (seconds and nanoseconds) on a signalled fence. */
	f = fence_new();
	CHECK_EQ(gpuvm_fence_signal(f, 0), 0);
	CHECK_EQ(gpuvm_fence_wait(f, INT64_MAX), 0);
	gpuvm_fence_put(f);

	gpuvm_fence_put(NULL);	/* NULL is fine */
}

struct late_signal {
	struct gpuvm_fence *fence;
	long delay_ms;
	int error;
};

static void *late_signal_thread(void *arg)
{
	struct late_signal *ls = arg;

	sleep_ms(ls->delay_ms);
	gpuvm_fence_signal(ls->fence, ls->error);
	return NULL;
}

/* Waits that end because another thread signals. */
static void test_wait_wakes(void)
{
	struct late_signal ls;
	pthread_t th;
	int64_t t0;

	/* Without limit. */
	ls = (struct late_signal){ fence_new(), 30, 0 };
	t0 = now_ns();
	pthread_create(&th, NULL, late_signal_thread, &ls);
	CHECK_EQ(gpuvm_fence_wait(ls.fence, -1), 0);
	CHECK(now_ns() - t0 >= 25 * 1000000);
	CHECK_EQ(gpuvm_fence_status(ls.fence), 1);
	pthread_join(th, NULL);
	gpuvm_fence_put(ls.fence);

	/* With a timeout longer than the delay: returns at the signal. */
	ls = (struct late_signal){ fence_new(), 30, -EPIPE };
	t0 = now_ns();
	pthread_create(&th, NULL, late_signal_thread, &ls);
	CHECK_EQ(gpuvm_fence_wait(ls.fence, 10 * 1000000000LL), 0);
	CHECK(now_ns() - t0 < 9 * 1000000000LL);
	CHECK_EQ(gpuvm_fence_status(ls.fence), -EPIPE);
	pthread_join(th, NULL);
	gpuvm_fence_put(ls.fence);

	/* With a timeout shorter than the delay: times out, then is woken. */
	ls = (struct late_signal){ fence_new(), 200, 0 };
	pthread_create(&th, NULL, late_signal_thread, &ls);
	CHECK_EQ(gpuvm_fence_wait(ls.fence, 5 * 1000000), -ETIMEDOUT);
	CHECK_EQ(gpuvm_fence_wait(ls.fence, -1), 0);
	pthread_join(th, NULL);
	gpuvm_fence_put(ls.fence);
}

/* ---- Callbacks ------------------------------------------------------------ */

#define LOG_MAX 64

struct cb_log {
	atomic_int n;
	int order[LOG_MAX];
	int status_seen[LOG_MAX];
	atomic_int calls[LOG_MAX];
};

struct rec_cb {
	struct gpuvm_fence_cb cb;
	struct cb_log *log;
	struct gpuvm_fence *expect;
	int id;
	atomic_int bad_fence;
};

static void rec_func(struct gpuvm_fence *fence, struct gpuvm_fence_cb *cb)
{
	struct rec_cb *r = (struct rec_cb *)cb;
	int i = atomic_fetch_add(&r->log->n, 1);

	if (fence != r->expect)
		atomic_fetch_add(&r->bad_fence, 1);
	if (i < LOG_MAX) {
		r->log->order[i] = r->id;
		r->log->status_seen[i] = gpuvm_fence_status(fence);
	}
	if (r->id >= 0 && r->id < LOG_MAX)
		atomic_fetch_add(&r->log->calls[r->id], 1);
}

static void test_callbacks_order_once(void)
{
	static struct cb_log log;
	struct gpuvm_fence *f = fence_new();
	struct rec_cb r[6];
	int i;

	memset(&log, 0, sizeof(log));
	for (i = 0; i < 6; i++) {
		r[i] = (struct rec_cb){ .log = &log, .expect = f, .id = i };
		CHECK_EQ(gpuvm_fence_add_callback(f, &r[i].cb, rec_func), 0);
	}
	/* Removed before the signal: never called. */
	CHECK(gpuvm_fence_remove_callback(f, &r[2].cb));
	CHECK(gpuvm_fence_remove_callback(f, &r[5].cb));
	CHECK_EQ(atomic_load(&log.n), 0);	/* nothing before the signal */

	CHECK_EQ(gpuvm_fence_signal(f, -EAGAIN), 0);
	CHECK_EQ(atomic_load(&log.n), 4);
	CHECK_EQ(log.order[0], 0);
	CHECK_EQ(log.order[1], 1);
	CHECK_EQ(log.order[2], 3);
	CHECK_EQ(log.order[3], 4);
	for (i = 0; i < 4; i++)	/* they run after the fence reads signalled */
		CHECK_EQ(log.status_seen[i], -EAGAIN);
	for (i = 0; i < 6; i++) {
		CHECK_EQ(atomic_load(&log.calls[i]), i == 2 || i == 5 ? 0 : 1);
		CHECK_EQ(atomic_load(&r[i].bad_fence), 0);
	}

	/* A second signal runs nothing again. */
	CHECK_EQ(gpuvm_fence_signal(f, 0), -EINVAL);
	CHECK_EQ(atomic_load(&log.n), 4);

	/* After the signal: removal says "signalled", adding is -ENOENT and
	 * the function is not called. */
	CHECK(!gpuvm_fence_remove_callback(f, &r[0].cb));
	CHECK(!gpuvm_fence_remove_callback(f, &r[2].cb));
	r[2] = (struct rec_cb){ .log = &log, .expect = f, .id = 2 };
	CHECK_EQ(gpuvm_fence_add_callback(f, &r[2].cb, rec_func), -ENOENT);
	CHECK_EQ(atomic_load(&log.n), 4);
	CHECK_EQ(atomic_load(&log.calls[2]), 0);
	gpuvm_fence_put(f);

	/* A fence signalled with no callback at all, and one whose only
	 * callback was removed. */
	f = fence_new();
	CHECK_EQ(gpuvm_fence_signal(f, 0), 0);
	gpuvm_fence_put(f);
	f = fence_new();
	memset(&log, 0, sizeof(log));
	r[0] = (struct rec_cb){ .log = &log, .expect = f, .id = 0 };
	CHECK_EQ(gpuvm_fence_add_callback(f, &r[0].cb, rec_func), 0);
	CHECK(gpuvm_fence_remove_callback(f, &r[0].cb));
	CHECK(gpuvm_fence_remove_callback(f, &r[0].cb)); /* twice: harmless */
	CHECK_EQ(gpuvm_fence_signal(f, 0), 0);
	CHECK_EQ(atomic_load(&log.n), 0);
	gpuvm_fence_put(f);
}

/* A callback whose storage is freed by the callback itself. */
struct heap_cb {
	struct gpuvm_fence_cb cb;
	atomic_int *counter;
	char payload[40];
};

static void heap_func(struct gpuvm_fence *fence, struct gpuvm_fence_cb *cb)
{
	struct heap_cb *h = (struct heap_cb *)cb;

	(void)fence;
	atomic_fetch_add(h->counter, 1);
	memset(h, 0xa5, sizeof(*h));	/* scribble over it, then free it */
	free(h);
}

static void test_callback_frees_itself(void)
{
	atomic_int counter = 0;
	struct gpuvm_fence *f = fence_new();
	int i;

	for (i = 0; i < 10; i++) {
		struct heap_cb *h = calloc(1, sizeof(*h));

		if (!h)
			exit(2);
		h->counter = &counter;
		CHECK_EQ(gpuvm_fence_add_callback(f, &h->cb, heap_func), 0);
	}
	CHECK_EQ(gpuvm_fence_signal(f, 0), 0);
	CHECK_EQ(atomic_load(&counter), 10);
	gpuvm_fence_put(f);
}

/*
 * A callback that adds a callback to another fence (and tries its own,
 * which is signalled by then: -ENOENT), and one that removes a later
 * callback of the same fence (too late: the fence is signalled, so that
 * one still runs).
 */
struct adder_cb {
	struct gpuvm_fence_cb cb;
	struct gpuvm_fence *other;
	struct rec_cb *to_add;
	struct gpuvm_fence_cb *own_again;
	struct gpuvm_fence_cb *to_remove;
	int add_ret, own_ret;
	bool remove_ret;
};

static void adder_func(struct gpuvm_fence *fence, struct gpuvm_fence_cb *cb)
{
	struct adder_cb *a = (struct adder_cb *)cb;

	a->add_ret = gpuvm_fence_add_callback(a->other, &a->to_add->cb,
					      rec_func);
	a->own_ret = gpuvm_fence_add_callback(fence, a->own_again, rec_func);
	a->remove_ret = gpuvm_fence_remove_callback(fence, a->to_remove);
}

static void test_callback_adds_callback(void)
{
	static struct cb_log log;
	struct gpuvm_fence *a = fence_new(), *b = fence_new();
	struct rec_cb on_b, own, later;
	struct adder_cb adder;

	memset(&log, 0, sizeof(log));
	on_b = (struct rec_cb){ .log = &log, .expect = b, .id = 1 };
	own = (struct rec_cb){ .log = &log, .expect = a, .id = 2 };
	later = (struct rec_cb){ .log = &log, .expect = a, .id = 3 };
	adder = (struct adder_cb){
		.other = b, .to_add = &on_b, .own_again = &own.cb,
		.to_remove = &later.cb, .add_ret = 99, .own_ret = 99,
		.remove_ret = true,
	};
	CHECK_EQ(gpuvm_fence_add_callback(a, &adder.cb, adder_func), 0);
	CHECK_EQ(gpuvm_fence_add_callback(a, &later.cb, rec_func), 0);
	CHECK_EQ(gpuvm_fence_signal(a, 0), 0);
	CHECK_EQ(adder.add_ret, 0);
	CHECK_EQ(adder.own_ret, -ENOENT);
	CHECK(!adder.remove_ret);
	CHECK_EQ(atomic_load(&log.calls[3]), 1);	/* ran anyway */
	CHECK_EQ(atomic_load(&log.calls[2]), 0);
	CHECK_EQ(atomic_load(&log.calls[1]), 0);	/* b not signalled yet */
	CHECK_EQ(gpuvm_fence_signal(b, -EIO), 0);
	CHECK_EQ(atomic_load(&log.calls[1]), 1);
	CHECK_EQ(atomic_load(&log.calls[2]), 0);
	CHECK_EQ(atomic_load(&on_b.bad_fence), 0);
	CHECK_EQ(atomic_load(&later.bad_fence), 0);
	gpuvm_fence_put(a);
	gpuvm_fence_put(b);
}

/* ---- Reference counting ---------------------------------------------------- */

struct ref_waiter {
	struct gpuvm_fence *fence;	/* the thread's own reference */
	int wait_ret, status;
};

static void *ref_waiter_thread(void *arg)
{
	struct ref_waiter *w = arg;

	w->wait_ret = gpuvm_fence_wait(w->fence, -1);
	w->status = gpuvm_fence_status(w->fence);
	gpuvm_fence_put(w->fence);
	return NULL;
}

static void test_refcount(void)
{
	struct gpuvm_fence *f = fence_new();
	struct ref_waiter w[4];
	pthread_t th[4];
	int i;

	/* get returns the fence; every reference must be dropped for the
	 * fence to go (ASan's leak check and use-after-free catch mistakes). */
	CHECK(gpuvm_fence_get(f) == f);
	CHECK(gpuvm_fence_get(f) == f);
	gpuvm_fence_put(f);
	CHECK_EQ(gpuvm_fence_signal(f, 0), 0);
	gpuvm_fence_put(f);
	CHECK_EQ(gpuvm_fence_status(f), 1);	/* still one reference */
	gpuvm_fence_put(f);

	/* Waiters with references of their own: the creator signals and
	 * drops its reference while they may still be waking up. */
	f = fence_new();
	for (i = 0; i < 4; i++) {
		w[i] = (struct ref_waiter){ .fence = gpuvm_fence_get(f),
					    .wait_ret = 99 };
		pthread_create(&th[i], NULL, ref_waiter_thread, &w[i]);
	}
	sleep_ms(5);
	CHECK_EQ(gpuvm_fence_signal(f, -ETIME), 0);
	gpuvm_fence_put(f);	/* the waiters may still hold theirs */
	for (i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		CHECK_EQ(w[i].wait_ret, 0);
		CHECK_EQ(w[i].status, -ETIME);
	}

	/* Many creations and drops: nothing leaks (ASan). */
	for (i = 0; i < 1000; i++) {
		struct gpuvm_fence *g = fence_new();

		if (i & 1)
			gpuvm_fence_signal(g, i & 2 ? -EIO : 0);
		gpuvm_fence_put(gpuvm_fence_get(g));
		gpuvm_fence_put(g);
	}
}

/* ---- Many threads waiting on one fence ---------------------------------------- */

struct multi_wait {
	struct gpuvm_fence *fence;
	atomic_int *started;
	int64_t timeout_ns;
	int ret, status;
};

static void *multi_wait_thread(void *arg)
{
	struct multi_wait *m = arg;

	atomic_fetch_add(m->started, 1);
	m->ret = gpuvm_fence_wait(m->fence, m->timeout_ns);
	m->status = gpuvm_fence_status(m->fence);
	return NULL;
}

static void test_many_waiters(void)
{
	long nthreads = env_long("MT_FENCE_THREADS", 8);
	long rounds = env_long("MT_FENCE_ROUNDS", 50);
	struct multi_wait *m = calloc(nthreads, sizeof(*m));
	pthread_t *th = calloc(nthreads, sizeof(*th));
	long r, i, bad_ret = 0, bad_status = 0;

	if (!m || !th)
		exit(2);
	for (r = 0; r < rounds; r++) {
		struct gpuvm_fence *f = fence_new();
		atomic_int started = 0;
		int error = r % 3 == 0 ? 0 : r % 3 == 1 ? -EIO : -ECANCELED;

		for (i = 0; i < nthreads; i++) {
			m[i] = (struct multi_wait){
				.fence = f, .started = &started,
				/* half wait without limit, half with a
				 * timeout they will not reach */
				.timeout_ns = i & 1 ? 60 * 1000000000LL : -1,
				.ret = 99,
			};
			pthread_create(&th[i], NULL, multi_wait_thread, &m[i]);
		}
		while (atomic_load(&started) < nthreads)
			sched_yield();
		if (r & 1)	/* sometimes let them block first */
			sleep_ms(1);
		CHECK_EQ(gpuvm_fence_signal(f, error), 0);
		for (i = 0; i < nthreads; i++) {
			pthread_join(th[i], NULL);
			bad_ret += m[i].ret != 0;
			bad_status += m[i].status != (error ? error : 1);
		}
		gpuvm_fence_put(f);
	}
	CHECK_EQ(bad_ret, 0);
	CHECK_EQ(bad_status, 0);
	free(m);
	free(th);
}

/* ---- Chains ---------------------------------------------------------------- */

/* Callback chain: signalling link i signals link i + 1 from its callback,
 * with the same error, in the signalling thread. */
struct link {
	struct gpuvm_fence_cb cb;
	struct gpuvm_fence *fence;
	struct link *next;
	atomic_int *order;
	int seen;		/* the order in which it ran */
	pthread_t ran_on;
	int next_ret;
};

static void link_func(struct gpuvm_fence *fence, struct gpuvm_fence_cb *cb)
{
	struct link *l = (struct link *)cb;
	int status = gpuvm_fence_status(fence);

	l->seen = atomic_fetch_add(l->order, 1);
	l->ran_on = pthread_self();
	if (l->next)
		l->next_ret = gpuvm_fence_signal(l->next->fence,
						 status < 0 ? status : 0);
}

struct chain_thread {
	struct link *links;
	long n;
	int error;
	int signal_ret;
	long bad;
};

static void *chain_signal_thread(void *arg)
{
	struct chain_thread *c = arg;
	pthread_t me = pthread_self();
	long i;

	c->signal_ret = gpuvm_fence_signal(c->links[0].fence, c->error);
	for (i = 0; i < c->n; i++)
		c->bad += !pthread_equal(c->links[i].ran_on, me);
	return NULL;
}

static void test_callback_chain(void)
{
	long n = env_long("MT_FENCE_CHAIN", 1000);
	struct link *links = calloc(n, sizeof(*links));
	struct chain_thread ct;
	atomic_int order = 0;
	pthread_t th;
	long i, bad_order = 0, bad_status = 0, bad_ret = 0;

	if (!links)
		exit(2);
	for (i = 0; i < n; i++)
		links[i] = (struct link){
			.fence = fence_new(), .next = i + 1 < n ? &links[i + 1]
							       : NULL,
			.order = &order, .seen = -1, .next_ret = 99,
		};
	for (i = 0; i < n; i++)
		CHECK_EQ(gpuvm_fence_add_callback(links[i].fence, &links[i].cb,
						  link_func), 0);
	/* Nothing runs until the first link is signalled, from another
	 * thread, where the whole chain then runs. */
	CHECK_EQ(gpuvm_fence_wait(links[n - 1].fence, 0), -ETIMEDOUT);
	ct = (struct chain_thread){ .links = links, .n = n, .error = -EXDEV,
				    .signal_ret = 99 };
	pthread_create(&th, NULL, chain_signal_thread, &ct);
	CHECK_EQ(gpuvm_fence_wait(links[n - 1].fence, -1), 0);
	pthread_join(th, NULL);
	CHECK_EQ(ct.signal_ret, 0);
	CHECK_EQ(ct.bad, 0);
	CHECK_EQ(atomic_load(&order), n);
	for (i = 0; i < n; i++) {
		bad_order += links[i].seen != i;
		bad_status += gpuvm_fence_status(links[i].fence) != -EXDEV;
		bad_ret += i + 1 < n && links[i].next_ret != 0;
	}
	CHECK_EQ(bad_order, 0);
	CHECK_EQ(bad_status, 0);
	CHECK_EQ(bad_ret, 0);
	for (i = 0; i < n; i++)
		gpuvm_fence_put(links[i].fence);
	free(links);
}

/*
 * A relay across threads: thread i waits for fence i, then signals fence
 * i + 1 with its status's error; callbacks on each fence signal a side
 * fence, so both paths must deliver every link's error.
 */
struct relay {
	struct gpuvm_fence *in, *out;
	struct gpuvm_fence_cb cb;
	struct gpuvm_fence *side;
	int wait_ret;
};

static void relay_side_func(struct gpuvm_fence *fence,
			    struct gpuvm_fence_cb *cb)
{
	struct relay *r = (struct relay *)((char *)cb -
					   offsetof(struct relay, cb));
	int status = gpuvm_fence_status(fence);

	gpuvm_fence_signal(r->side, status < 0 ? status : 0);
}

static void *relay_thread(void *arg)
{
	struct relay *r = arg;
	int status;

	r->wait_ret = gpuvm_fence_wait(r->in, -1);
	status = gpuvm_fence_status(r->in);
	gpuvm_fence_signal(r->out, status < 0 ? status : 0);
	return NULL;
}

static void test_thread_relay(void)
{
	long nthreads = env_long("MT_FENCE_THREADS", 8);
	long rounds = env_long("MT_FENCE_ROUNDS", 50) / 5 + 1;
	long r, i, bad = 0;

	for (r = 0; r < rounds; r++) {
		struct gpuvm_fence **f = calloc(nthreads + 1, sizeof(*f));
		struct relay *rel = calloc(nthreads, sizeof(*rel));
		pthread_t *th = calloc(nthreads, sizeof(*th));
		int error = r & 1 ? -ENOLINK : 0;

		if (!f || !rel || !th)
			exit(2);
		for (i = 0; i <= nthreads; i++)
			f[i] = fence_new();
		for (i = 0; i < nthreads; i++) {
			rel[i] = (struct relay){ .in = f[i], .out = f[i + 1],
						 .side = fence_new(),
						 .wait_ret = 99 };
			CHECK_EQ(gpuvm_fence_add_callback(f[i + 1], &rel[i].cb,
							  relay_side_func), 0);
		}
		/* Started in reverse, so most wait before their turn. */
		for (i = nthreads - 1; i >= 0; i--)
			pthread_create(&th[i], NULL, relay_thread, &rel[i]);
		CHECK_EQ(gpuvm_fence_signal(f[0], error), 0);
		CHECK_EQ(gpuvm_fence_wait(f[nthreads], 10 * 1000000000LL), 0);
		for (i = 0; i < nthreads; i++) {
			pthread_join(th[i], NULL);
			bad += rel[i].wait_ret != 0;
			bad += gpuvm_fence_status(rel[i].out) != (error ? error : 1);
			bad += gpuvm_fence_status(rel[i].side) != (error ? error : 1);
			gpuvm_fence_put(rel[i].side);
		}
		for (i = 0; i <= nthreads; i++)
			gpuvm_fence_put(f[i]);
		free(f);
		free(rel);
		free(th);
	}
	CHECK_EQ(bad, 0);
}

/* ---- Callbacks racing with the signal ----------------------------------------- */

#define RACE_CBS 64

struct race_cb {
	struct gpuvm_fence_cb cb;
	atomic_int calls;
};

static void race_func(struct gpuvm_fence *fence, struct gpuvm_fence_cb *cb)
{
	(void)fence;
	atomic_fetch_add(&((struct race_cb *)cb)->calls, 1);
}

struct racer {
	struct gpuvm_fence *fence;
	struct race_cb cbs[RACE_CBS];
	int add_ret[RACE_CBS];
	bool removed[RACE_CBS];
	atomic_int *go, *ready;
};

/* Adds its callbacks, and removes every third one again, while another
 * thread signals. */
static void *racer_thread(void *arg)
{
	struct racer *r = arg;
	int i;

	atomic_fetch_add(r->ready, 1);
	while (!atomic_load(r->go))
		;
	for (i = 0; i < RACE_CBS; i++) {
		r->add_ret[i] = gpuvm_fence_add_callback(r->fence, &r->cbs[i].cb,
							 race_func);
		if (i % 3 == 2 && !r->add_ret[i])
			r->removed[i] = gpuvm_fence_remove_callback(r->fence,
								    &r->cbs[i].cb);
	}
	return NULL;
}

static volatile long sink;

static void test_add_remove_race(void)
{
	long rounds = env_long("MT_FENCE_ROUNDS", 50);
	long r, i, j, bad = 0, added = 0, late = 0;

	for (r = 0; r < rounds; r++) {
		struct gpuvm_fence *f = fence_new();
		struct racer rc[3];
		pthread_t th[3];
		atomic_int go = 0, ready = 0;

		for (i = 0; i < 3; i++) {
			memset(&rc[i], 0, sizeof(rc[i]));
			rc[i].fence = f;
			rc[i].go = &go;
			rc[i].ready = &ready;
			pthread_create(&th[i], NULL, racer_thread, &rc[i]);
		}
		while (atomic_load(&ready) < 3)
			sched_yield();
		atomic_store(&go, 1);
		for (i = 0; i < (r % 10) * 3000; i++)	/* vary the moment */
			sink = sink + i;
		CHECK_EQ(gpuvm_fence_signal(f, 0), 0);
		for (i = 0; i < 3; i++) {
			pthread_join(th[i], NULL);
			for (j = 0; j < RACE_CBS; j++) {
				int calls = atomic_load(&rc[i].cbs[j].calls);
				int want;

				if (rc[i].add_ret[j] == -ENOENT) {
					want = 0;
					late++;
				} else if (rc[i].add_ret[j] == 0) {
					/* removed while waiting: never
					 * runs; otherwise exactly once */
					want = rc[i].removed[j] ? 0 : 1;
					added++;
				} else {
					want = -1;	/* bad return */
				}
				bad += calls != want;
			}
		}
		gpuvm_fence_put(f);
	}
	CHECK_EQ(bad, 0);
	CHECK_EQ(added + late, rounds * 3 * RACE_CBS);
	printf("  add/signal race: %ld added before the signal, %ld after\n",
	       added, late);
}

/* ---- Fence-signalling sections --------------------------------------------------- */

static void test_signalling_nesting(void)
{
	unsigned long before = forbidden_allocs();
	struct gpuvm_fence *f = fence_new(), *g;
	static struct cb_log log;
	struct rec_cb rc;
	bool outer, inner;

	memset(&log, 0, sizeof(log));
	rc = (struct rec_cb){ .log = &log, .expect = f, .id = 0 };

	/* Everything a signalling path does with fences allocates nothing. */
	outer = gpuvm_fence_begin_signalling();
	inner = gpuvm_fence_begin_signalling();
	CHECK_EQ(gpuvm_fence_add_callback(f, &rc.cb, rec_func), 0);
	CHECK_EQ(gpuvm_fence_status(f), 0);
	gpuvm_fence_end_signalling(inner);
	CHECK(gpuvm_fence_get(f) == f);
	CHECK_EQ(gpuvm_fence_signal(f, 0), 0);
	CHECK_EQ(gpuvm_fence_wait(f, 0), 0);
	CHECK(!gpuvm_fence_remove_callback(f, &rc.cb));
	gpuvm_fence_put(f);
	gpuvm_fence_end_signalling(outer);
	CHECK_EQ(atomic_load(&log.calls[0]), 1);
	CHECK_EQ(forbidden_allocs(), before);

	/* Once every section is closed, allocating is fine again. */
	g = gpuvm_fence_create();
	CHECK(g != NULL);
	CHECK_EQ(forbidden_allocs(), before);
	gpuvm_fence_put(g);
	gpuvm_fence_put(f);

	/* Sections are per thread: another thread's section does not
	 * forbid this one's allocations (tested the other way round in
	 * the child below). */
}

/* Run @arg, a void (*)(void), in a child (see harness_run_child()). */
static void call_void(void *arg)
{
	void (**fn)(void) = arg;

	(*fn)();
}

static int run_child(void (*fn)(void))
{
	return harness_run_child(call_void, &fn);
}

/* In NDEBUG builds the allocation goes through and is counted: the
 * child then exits with 0 if it was counted, 3 if not. */
static void child_exit_counted(unsigned long before, bool ok)
{
	_exit(ok && forbidden_allocs() == before + 1 ? 0 : 3);
}

static void child_fence_create_in_section(void)
{
	unsigned long before = forbidden_allocs();
	bool c = gpuvm_fence_begin_signalling();
	struct gpuvm_fence *f = gpuvm_fence_create();

	gpuvm_fence_end_signalling(c);
	child_exit_counted(before, f != NULL);
}

/* A nested section, inner one closed: the outer still forbids. */
static void child_alloc_after_inner_end(void)
{
	unsigned long before = forbidden_allocs();
	bool outer = gpuvm_fence_begin_signalling();
	bool inner = gpuvm_fence_begin_signalling();
	struct gpuvm_fence *f;

	gpuvm_fence_end_signalling(inner);
	f = gpuvm_fence_create();
	gpuvm_fence_end_signalling(outer);
	child_exit_counted(before, f != NULL);
}

/* A tree node allocation, not only the VA manager's own. */
static void child_tree_store_in_section(void)
{
	static struct maple_tree mt;
	unsigned long before = forbidden_allocs();
	bool c;
	int ret;

	mt_init(&mt);
	c = gpuvm_fence_begin_signalling();
	ret = mtree_store_range(&mt, 10, 20, xa_mk_value(1), GFP_KERNEL);
	gpuvm_fence_end_signalling(c);
	child_exit_counted(before, ret == 0);
}

/* The same allocations outside any section: the child exits 0 with the
 * count unchanged (the control for the cases above). */
static void child_control(void)
{
	static struct maple_tree mt;
	unsigned long before = forbidden_allocs();
	bool c = gpuvm_fence_begin_signalling();
	struct gpuvm_fence *f;

	gpuvm_fence_end_signalling(c);
	f = gpuvm_fence_create();
	mt_init(&mt);
	if (!f || mtree_store_range(&mt, 10, 20, xa_mk_value(1), GFP_KERNEL))
		_exit(4);
	_exit(forbidden_allocs() == before ? 0 : 5);
}

static void check_child(const char *what, int st, bool expect_abort)
{
	bool ok;

	if (expect_abort)
		ok = st != -1 && WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT;
	else
		ok = st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0;
	if (ok) {
		harness_passed++;
		return;
	}
	harness_failed++;
	fprintf(stderr, "FAIL [%s]: child status %#x (%s %d), expected %s\n",
		what, st, st != -1 && WIFSIGNALED(st) ? "signal" : "exit",
		st != -1 && WIFSIGNALED(st) ? WTERMSIG(st) :
		st != -1 ? WEXITSTATUS(st) : -1,
		expect_abort ? "SIGABRT" : "exit 0");
}

static void test_forbidden_alloc_children(void)
{
#ifdef NDEBUG
	const bool aborts = false;
#else
	const bool aborts = true;
#endif

	check_child("control", run_child(child_control), false);
	check_child("fence_create in a section",
		    run_child(child_fence_create_in_section), aborts);
	check_child("allocation after the inner section ended",
		    run_child(child_alloc_after_inner_end), aborts);
	check_child("tree store in a section",
		    run_child(child_tree_store_in_section), aborts);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	/* Forks first, while this is the only thread. */
	test_forbidden_alloc_children();
	test_signal_status_wait();
	test_callbacks_order_once();
	test_callback_frees_itself();
	test_callback_adds_callback();
	test_refcount();
	test_signalling_nesting();
	test_wait_wakes();
	test_many_waiters();
	test_callback_chain();
	test_thread_relay();
	test_add_remove_race();
	return harness_finish();
}
