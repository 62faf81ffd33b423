/* SPDX-License-Identifier: MIT */
/*
 * test_torture: lock-free readers against one writer on an RCU-mode tree,
 * first a plain one, then an allocation-range one.
 *
 * Every entry the writer stores encodes the range it was stored over, so a
 * reader can check, with no lock and no shared model, that whatever it finds
 * at an index was stored over a range containing that index, and that the
 * range the tree reports lies inside the stored one (stores trim and split
 * ranges, never grow them). Iterations must be strictly ordered.
 *
 * Readers also count how often they saw the tree change under them (a second
 * look within one read section, or a second pass, differed). If that never
 * happens the race window was never hit and the test fails.
 *
 * The writer cycles through every kind of store: appends, random inserts
 * (splits), short overwrites, spanning stores, wide NULL stores (merges that
 * lower the tree), erasing everything right to left, descending refills,
 * allocations and frees in gaps, and a NULL store over everything.
 *
 * Short mode (the default, for CI): 3 s per tree. Long mode: --long (10
 * minutes per tree), or --seconds S. Environment: MT_SEED,
 * MT_TORTURE_SECONDS, MT_TORTURE_READERS (default 4; more threads than
 * cores is fine).
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

#include "../harness.h"

/*
 * Entry encoding (a pointer value the tree never interprets):
 *   bits 63..60  zero
 *   bits 59..32  first index of the stored range (KEY_BITS)
 *   bits 31..8   length - 1 of the stored range (LEN_BITS)
 *   bits  7..3   a generation, so equal ranges stored twice differ
 *   bits  2..0   0b100: never NULL, never internal (low bits are not 10)
 */
#define KEY_BITS	28
#define LEN_BITS	24
#define GEN_BITS	5
#define TAG_BITS	3
#define TAG		0x4UL
#define KEY_LIMIT	(1UL << KEY_BITS)	/* keys are below this */
#define LEN_LIMIT	(1UL << LEN_BITS)	/* last - first is below this */
#define KEY_SPACE	(1UL << 22)		/* what the writer uses */

static void *encode(unsigned long first, unsigned long last, unsigned int gen)
{
	unsigned long v = first;

	v = (v << LEN_BITS) | (last - first);
	v = (v << GEN_BITS) | (gen & ((1u << GEN_BITS) - 1));
	v = (v << TAG_BITS) | TAG;
	return (void *)v;
}

/* False if @e is not something the writer could have stored. */
static bool decode(const void *e, unsigned long *first, unsigned long *last)
{
	unsigned long v = (unsigned long)e;
	unsigned long f, len;

	if ((v & ((1UL << TAG_BITS) - 1)) != TAG)
		return false;
	if (v >> (KEY_BITS + LEN_BITS + GEN_BITS + TAG_BITS))
		return false;
	v >>= TAG_BITS + GEN_BITS;
	len = v & (LEN_LIMIT - 1);
	f = v >> LEN_BITS;
	if (f + len >= KEY_LIMIT)
		return false;
	*first = f;
	*last = f + len;
	return true;
}

/* ---- Shared state ------------------------------------------------------- */

static struct maple_tree tree;
static struct maple_tree *const t = &tree;
static atomic_bool stop_readers;
static atomic_ulong key_hi = 1024;	/* readers look mostly below this */
static atomic_ulong reader_failures;
static pthread_mutex_t report_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned int reports;
static uint64_t seed;

static void report(const char *who, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void report(const char *who, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&report_lock);
	if (reports++ < 30) {
		fprintf(stderr, "test_torture: FAIL [%s] (seed %llu): ", who,
			(unsigned long long)seed);
		va_start(ap, fmt);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
		fputc('\n', stderr);
	}
	pthread_mutex_unlock(&report_lock);
}

/* ---- Readers ------------------------------------------------------------ */

struct reader {
	pthread_t thread;
	int id;
	char name[24];
	uint64_t rng;
	unsigned long checks, failures;
	unsigned long loads, walks, iters, rev_iters, steps, entries;
	unsigned long races_load, races_walk, races_iter;
	unsigned long root_below_min;
};

struct seen {
	unsigned long index, last;
	void *entry;
};

#define WINDOW_MAX 64

static inline unsigned long rrnd(struct reader *r)
{
	return (unsigned long)harness_rand(&r->rng);
}

static void rfail(struct reader *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void rfail(struct reader *r, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	r->failures++;
	atomic_fetch_add(&reader_failures, 1);
	report(r->name, "%s", buf);
}

/* A looked-up entry at @idx: the writer stored it over a range holding idx. */
static bool check_at(struct reader *r, const char *op, unsigned long idx,
		     const void *e)
{
	unsigned long f, l;

	if (!e) {
		r->checks++;
		return true;
	}
	if (!decode(e, &f, &l)) {
		rfail(r, "%s(%#lx): returned %p, not an entry the writer stores",
		      op, idx, e);
		return false;
	}
	if (idx < f || idx > l) {
		rfail(r, "%s(%#lx): returned %p stored over [%#lx, %#lx], which does not hold the index",
		      op, idx, e, f, l);
		return false;
	}
	r->checks++;
	return true;
}

/* A range [index, last] reported for @e must lie inside its stored range. */
static bool check_range(struct reader *r, const char *op, const void *e,
			unsigned long index, unsigned long last)
{
	unsigned long f, l;

	if (index > last) {
		rfail(r, "%s: range [%#lx, %#lx] is inverted (entry %p)", op,
		      index, last, e);
		return false;
	}
	if (!e) {
		r->checks++;
		return true;
	}
	if (!decode(e, &f, &l)) {
		rfail(r, "%s: [%#lx, %#lx] holds %p, not an entry the writer stores",
		      op, index, last, e);
		return false;
	}
	if (index < f || last > l) {
		rfail(r, "%s: entry %p stored over [%#lx, %#lx] reported over [%#lx, %#lx]",
		      op, e, f, l, index, last);
		return false;
	}
	r->checks++;
	return true;
}

static unsigned long reader_key(struct reader *r)
{
	unsigned long hi = atomic_load_explicit(&key_hi, memory_order_relaxed);

	switch (rrnd(r) % 16) {
	case 0:
		return rrnd(r) % KEY_SPACE;
	case 1:
		return hi + rrnd(r) % 64;	/* around the right edge */
	default:
		return rrnd(r) % (hi + 1);
	}
}

/* Loads at one index within one read section; different answers = race. */
static void r_loads(struct reader *r)
{
	unsigned long idx = reader_key(r);
	void *a, *b;
	bool changed = false;

	mt_rcu_read_lock();
	a = mtree_load(t, idx);
	check_at(r, "mtree_load", idx, a);
	for (int i = 0; i < 8; i++) {
		b = mtree_load(t, idx);
		if (!check_at(r, "mtree_load (again)", idx, b))
			break;
		if (b != a)
			changed = true;
	}
	mt_rcu_read_unlock();
	r->loads += 9;
	if (changed)
		r->races_load++;
}

/* mas_walk: the range must bracket the index and fit the entry. */
static void r_walk(struct reader *r)
{
	unsigned long idx = reader_key(r);
	MA_STATE(mas, t, idx, idx);
	struct seen first = { 0, 0, NULL };
	void *e;

	mt_rcu_read_lock();
	for (int i = 0; i < 2; i++) {
		if (i)
			mas_set(&mas, idx);
		e = mas_walk(&mas);
		r->walks++;
		if (mas.index > idx || mas.last < idx) {
			rfail(r, "mas_walk(%#lx): range [%#lx, %#lx] does not hold the index (entry %p)",
			      idx, mas.index, mas.last, e);
			break;
		}
		if (!check_at(r, "mas_walk", idx, e) ||
		    !check_range(r, "mas_walk", e, mas.index, mas.last))
			break;
		if (!i) {
			first = (struct seen){ mas.index, mas.last, e };
		} else if (first.entry != e || first.index != mas.index ||
			   first.last != mas.last) {
			r->races_walk++;
		}
	}
	mt_rcu_read_unlock();
}

/* Forward iteration over a window; returns how many entries were seen. */
static int fwd_pass(struct reader *r, unsigned long start, unsigned long max,
		    struct seen *out, bool pause)
{
	MA_STATE(mas, t, start, start);
	unsigned long prev_last = 0;
	bool paused = false;
	int n = 0;
	void *e;

	mt_rcu_read_lock();
	mas_for_each(&mas, e, max) {
		if (!check_range(r, "mas_for_each", e, mas.index, mas.last))
			break;
		if (mas.last < start || mas.index > max) {
			rfail(r, "mas_for_each from %#lx to %#lx: entry %p over [%#lx, %#lx] is outside the window",
			      start, max, e, mas.index, mas.last);
			break;
		}
		/*
		 * Within one read section ranges come strictly in order and
		 * never overlap. Across a pause the range holding last + 1 may
		 * since have been stored over from further left, so then only
		 * progress is required.
		 */
		if (n && (paused ? mas.last <= prev_last :
				   mas.index <= prev_last)) {
			rfail(r, "mas_for_each from %#lx%s: entry %p over [%#lx, %#lx] after one ending at %#lx (%s)",
			      start, paused ? " (resumed after mas_pause)" : "",
			      e, mas.index, mas.last, prev_last,
			      paused ? "no progress" : "not increasing");
			break;
		}
		paused = false;
		prev_last = mas.last;
		out[n++] = (struct seen){ mas.index, mas.last, e };
		r->entries++;
		if (n == WINDOW_MAX || mas.last >= max)
			break;
		if (pause && n % 8 == 0) {
			paused = true;
			mas_pause(&mas);
			mt_rcu_read_unlock();
			mt_rcu_read_lock();
		}
	}
	mt_rcu_read_unlock();
	r->iters++;
	return n;
}

static void r_iterate(struct reader *r)
{
	struct seen a[WINDOW_MAX], b[WINDOW_MAX];
	unsigned long start = reader_key(r);
	unsigned long max = start + 1 + rrnd(r) % 4096;
	bool pause = rrnd(r) % 4 == 0;
	int na, nb;

	na = fwd_pass(r, start, max, a, pause);
	nb = fwd_pass(r, start, max, b, pause);
	if (na != nb || memcmp(a, b, na * sizeof(a[0])))
		r->races_iter++;
}

/* The Normal API loop: each mt_find takes its own read section. */
static void r_mt_for_each(struct reader *r)
{
	unsigned long start = reader_key(r);
	unsigned long max = start + rrnd(r) % 4096;
	unsigned long idx = start, before = start;
	int n = 0;
	void *e;

	mt_for_each(t, e, idx, max) {
		unsigned long last = idx - 1;	/* keys never reach ULONG_MAX */

		if (idx == 0 || last < before) {
			rfail(r, "mt_for_each from %#lx: entry %p moved the index from %#lx to %#lx",
			      start, e, before, idx);
			break;
		}
		if (!check_at(r, "mt_for_each", last, e))
			break;
		before = idx;
		r->entries++;
		if (++n == WINDOW_MAX)
			break;
	}
	r->iters++;
}

/* Backward iteration with mas_find_rev, or mas_walk then mas_prev. */
static int rev_pass(struct reader *r, unsigned long start, unsigned long min,
		    struct seen *out, bool use_prev)
{
	const char *op = use_prev ? "mas_prev" : "mas_find_rev";
	MA_STATE(mas, t, start, start);
	unsigned long bound = ULONG_MAX;	/* next range must end below */
	int n = 0;
	void *e;

	mt_rcu_read_lock();
	if (use_prev) {
		e = mas_walk(&mas);
		if (!check_range(r, "mas_walk", e, mas.index, mas.last) ||
		    mas.index > start || mas.last < start) {
			if (mas.index > start || mas.last < start)
				rfail(r, "mas_walk(%#lx): range [%#lx, %#lx] does not hold the index",
				      start, mas.index, mas.last);
			goto out;
		}
		if (e && mas.last >= min)
			out[n++] = (struct seen){ mas.index, mas.last, e };
		bound = mas.index;
		if (mas.index <= min)
			goto out;
	}
	for (;;) {
		e = use_prev ? mas_prev(&mas, min) : mas_find_rev(&mas, min);
		if (!e)
			break;
		if (!check_range(r, op, e, mas.index, mas.last))
			break;
		if (mas.last < min && mas.index == 0 && mas.last == 0 &&
		    mas.status == ma_root) {
			/*
			 * A tree that is only a root pointer at index 0: the
			 * spec (like the kernel) has mas_prev/mas_find_rev
			 * return that entry from any index > 0, whatever min.
			 */
			r->root_below_min++;
			break;
		}
		if (mas.index > start || mas.last < min) {
			rfail(r, "%s from %#lx down to %#lx: entry %p over [%#lx, %#lx] is outside the window",
			      op, start, min, e, mas.index, mas.last);
			break;
		}
		if (bound != ULONG_MAX && mas.last >= bound) {
			rfail(r, "%s from %#lx: entry %p over [%#lx, %#lx] after a range starting at %#lx (not decreasing)",
			      op, start, e, mas.index, mas.last, bound);
			break;
		}
		bound = mas.index;
		out[n++] = (struct seen){ mas.index, mas.last, e };
		r->entries++;
		if (n == WINDOW_MAX || mas.index <= min)
			break;
	}
out:
	mt_rcu_read_unlock();
	r->rev_iters++;
	return n;
}

static void r_reverse(struct reader *r)
{
	struct seen a[WINDOW_MAX], b[WINDOW_MAX];
	unsigned long start = reader_key(r);
	unsigned long span = 1 + rrnd(r) % 4096;
	unsigned long min = start > span ? start - span : 0;
	bool use_prev = rrnd(r) % 2;
	int na, nb;

	na = rev_pass(r, start, min, a, use_prev);
	nb = rev_pass(r, start, min, b, use_prev);
	if (na != nb || memcmp(a, b, na * sizeof(a[0])))
		r->races_iter++;
}

/* mas_walk then mas_next steps; and mt_next / mt_prev. */
static void r_steps(struct reader *r)
{
	unsigned long idx = reader_key(r);
	unsigned long max = idx + 1 + rrnd(r) % 8192;
	MA_STATE(mas, t, idx, idx);
	unsigned long prev_last;
	void *e;

	mt_rcu_read_lock();
	e = mas_walk(&mas);
	if (!check_range(r, "mas_walk", e, mas.index, mas.last)) {
		mt_rcu_read_unlock();
		return;
	}
	prev_last = mas.last;
	for (int i = 0; i < 16; i++) {
		e = mas_next(&mas, max);
		r->steps++;
		if (!e)
			break;
		if (!check_range(r, "mas_next", e, mas.index, mas.last))
			break;
		if (mas.index <= prev_last || mas.index > max) {
			rfail(r, "mas_next from %#lx (max %#lx): entry %p over [%#lx, %#lx] after a range ending at %#lx",
			      idx, max, e, mas.index, mas.last, prev_last);
			break;
		}
		prev_last = mas.last;
	}
	mt_rcu_read_unlock();

	e = mt_next(t, idx, max);
	if (e) {
		unsigned long f, l;

		if (!decode(e, &f, &l) || l <= idx)
			rfail(r, "mt_next(%#lx): entry %p cannot lie after the index",
			      idx, e);
		else
			r->checks++;
	}
	e = mt_prev(t, idx, 0);
	if (e) {
		unsigned long f, l;

		if (!decode(e, &f, &l) || f >= idx)
			rfail(r, "mt_prev(%#lx): entry %p cannot lie before the index",
			      idx, e);
		else
			r->checks++;
	}
	r->steps += 2;
}

/*
 * A gap search under RCU alone is a hint, but it must not crash, and the
 * span it reports must have the size and lie in the window asked for.
 */
static void r_gaps(struct reader *r)
{
	unsigned long min = reader_key(r);
	unsigned long max = min + rrnd(r) % (1UL << 16);
	unsigned long size = 1 + rrnd(r) % 64;
	bool rev = rrnd(r) % 2;
	MA_STATE(mas, t, 0, 0);
	int ret;

	if (max - min < size - 1)
		max = min + size - 1;
	mt_rcu_read_lock();
	ret = rev ? mas_empty_area_rev(&mas, min, max, size) :
		    mas_empty_area(&mas, min, max, size);
	mt_rcu_read_unlock();
	r->steps++;
	if (ret == -EBUSY)
		return;
	if (ret || mas.index < min || mas.last > max ||
	    mas.last - mas.index != size - 1)
		rfail(r, "mas_empty_area%s(%#lx, %#lx, %lu) = %d, [%#lx, %#lx]",
		      rev ? "_rev" : "", min, max, size, ret, mas.index,
		      mas.last);
	else
		r->checks++;
}

static void *reader_main(void *arg)
{
	struct reader *r = arg;

	urcu_memb_register_thread();
	while (!atomic_load_explicit(&stop_readers, memory_order_relaxed) &&
	       r->failures < 10) {
		if (rrnd(r) % 16 == 0) {
			r_gaps(r);
			continue;
		}
		switch (rrnd(r) % 8) {
		case 0: case 1: r_loads(r); break;
		case 2: case 3: r_walk(r); break;
		case 4: r_iterate(r); break;
		case 5: r_mt_for_each(r); break;
		case 6: r_reverse(r); break;
		default: r_steps(r); break;
		}
	}
	urcu_memb_unregister_thread();
	return NULL;
}

/* ---- The writer --------------------------------------------------------- */

static uint64_t wrng;
static unsigned int gen;
static unsigned long w_stores, w_inserts, w_eexist, w_erases, w_null,
		     w_cycles, w_validations, w_max_height, w_mas;
static unsigned long w_failures;
static double deadline;

static double now_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static bool time_up(void)
{
	return now_sec() >= deadline;
}

static inline unsigned long wrnd(void)
{
	return (unsigned long)harness_rand(&wrng);
}

static void wfail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void wfail(const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	w_failures++;
	report("writer", "%s", buf);
}

static void publish_hi(unsigned long last)
{
	if (last > atomic_load_explicit(&key_hi, memory_order_relaxed))
		atomic_store_explicit(&key_hi, last, memory_order_relaxed);
}

static void w_store(unsigned long f, unsigned long l)
{
	void *e;
	int ret;

	if (l >= KEY_SPACE)
		l = KEY_SPACE - 1;
	if (f > l)
		f = l;
	if (l - f >= LEN_LIMIT)
		l = f + LEN_LIMIT - 1;
	e = encode(f, l, gen++);
	ret = mtree_store_range(t, f, l, e, GFP_KERNEL);
	w_stores++;
	if (ret) {
		wfail("mtree_store_range(%#lx, %#lx) returned %d", f, l, ret);
		return;
	}
	if (mtree_load(t, f) != e || mtree_load(t, l) != e)
		wfail("after mtree_store_range(%#lx, %#lx, %p) the load reads %p / %p",
		      f, l, e, mtree_load(t, f), mtree_load(t, l));
	publish_hi(l);
}

static void w_insert(unsigned long f, unsigned long l)
{
	void *e;
	int ret;

	if (l >= KEY_SPACE)
		l = KEY_SPACE - 1;
	if (f > l)
		f = l;
	e = encode(f, l, gen++);
	ret = mtree_insert_range(t, f, l, e, GFP_KERNEL);
	w_inserts++;
	if (ret == -EEXIST) {
		w_eexist++;
		return;
	}
	if (ret) {
		wfail("mtree_insert_range(%#lx, %#lx) returned %d", f, l, ret);
		return;
	}
	if (mtree_load(t, f) != e)
		wfail("after mtree_insert_range(%#lx, %#lx, %p) the load reads %p",
		      f, l, e, mtree_load(t, f));
	publish_hi(l);
}

static void w_null_store(unsigned long f, unsigned long l)
{
	int ret = mtree_store_range(t, f, l, NULL, GFP_KERNEL);

	w_null++;
	if (ret)
		wfail("mtree_store_range(%#lx, %#lx, NULL) returned %d", f, l,
		      ret);
	else if (mtree_load(t, f) || mtree_load(t, l))
		wfail("after mtree_store_range(%#lx, %#lx, NULL) loads read %p / %p",
		      f, l, mtree_load(t, f), mtree_load(t, l));
}

/* Advanced API stores under the lock, with and without preallocation. */
static void w_mas_store(unsigned long f, unsigned long l, bool null)
{
	void *e;
	MA_STATE(mas, t, f, l);

	if (l >= KEY_SPACE)
		l = KEY_SPACE - 1;
	if (f > l)
		f = l;
	mas_set_range(&mas, f, l);
	e = null ? NULL : encode(f, l, gen++);
	mtree_lock(t);
	if (wrnd() % 2) {
		if (mas_preallocate(&mas, e, GFP_KERNEL)) {
			wfail("mas_preallocate(%#lx, %#lx) failed", f, l);
			mtree_unlock(t);
			return;
		}
		mas_store_prealloc(&mas, e);
	} else {
		for (;;) {
			mas_store(&mas, e);
			if (!mas_is_err(&mas))
				break;
			if (xa_err(mas.node) != -ENOMEM ||
			    !mas_nomem(&mas, GFP_KERNEL)) {
				wfail("mas_store(%#lx, %#lx) failed: %d", f, l,
				      xa_err(mas.node));
				break;
			}
		}
	}
	mas_destroy(&mas);
	mtree_unlock(t);
	w_mas++;
	if (mtree_load(t, f) != e)
		wfail("after mas_store(%#lx, %#lx, %p) the load reads %p", f,
		      l, e, mtree_load(t, f));
	if (e)
		publish_hi(l);
}

static void w_validate(const char *after)
{
	int ret;
	unsigned int h;

	mtree_lock(t);
	ret = mt_validate(t);
	h = mt_height(t);
	mtree_unlock(t);
	w_validations++;
	if (h > w_max_height)
		w_max_height = h;
	if (ret)
		wfail("mt_validate() = %d after %s", ret, after);
	if (!mt_in_rcu(t))
		wfail("the tree left RCU mode after %s", after);
}

/* Appends at the right edge, sometimes adjacent, sometimes with gaps. */
static unsigned long append_pos;

static void w_append(void)
{
	unsigned long n = 2000 + wrnd() % 30000;

	if (append_pos > KEY_SPACE - 300000)
		append_pos = 0;
	for (unsigned long i = 0; i < n; i++) {
		unsigned long len = wrnd() % 8;
		unsigned long f = append_pos;

		if (wrnd() % 2)
			w_store(f, f + len);
		else
			w_insert(f, f + len);
		append_pos = f + len + 1 + wrnd() % 4;
		if ((i & 63) == 0 && time_up())
			return;
	}
}

static unsigned long hi_key(void)
{
	unsigned long hi = atomic_load_explicit(&key_hi, memory_order_relaxed);

	return hi < 1024 ? 1024 : hi;
}

/* Random short inserts into gaps: node splits all over the tree. */
static void w_random_inserts(void)
{
	for (int i = 0; i < 4000; i++) {
		unsigned long f = wrnd() % hi_key();

		w_insert(f, f + wrnd() % 3);
		if ((i & 63) == 0 && time_up())
			return;
	}
}

/* Short overwrites that trim or split their neighbours. */
static void w_overwrites(void)
{
	for (int i = 0; i < 4000; i++) {
		unsigned long f = wrnd() % hi_key();
		unsigned long len = wrnd() % 16;

		if (wrnd() % 8 == 0)
			w_mas_store(f, f + len, false);
		else
			w_store(f, f + len);
		if ((i & 63) == 0 && time_up())
			return;
	}
}

/* Stores spanning many entries, many nodes, several levels. */
static void w_spanning(void)
{
	for (int i = 0; i < 300; i++) {
		unsigned long f = wrnd() % hi_key();
		unsigned long len = wrnd() % 16 ? wrnd() % 4096 :
						  wrnd() % (1UL << 18);

		if (wrnd() % 4 == 0)
			w_mas_store(f, f + len, false);
		else
			w_store(f, f + len);
		/* Refill behind it so the tree stays populated. */
		for (unsigned long k = 0; k < 32; k++) {
			unsigned long g = f + wrnd() % (len + 1);

			w_store(g, g + wrnd() % 4);
		}
		if ((i & 7) == 0 && time_up())
			return;
	}
}

/* Wide NULL stores: rebalancing, merging nodes, lowering the tree. */
static void w_null_spans(void)
{
	for (int i = 0; i < 40; i++) {
		unsigned long f = wrnd() % hi_key();
		unsigned long len = (1UL << 10) + wrnd() % (1UL << 17);

		if (wrnd() % 4 == 0)
			w_mas_store(f, f + len, true);
		else
			w_null_store(f, f + len);
		if (time_up())
			return;
	}
}

/* Erase every entry, right to left, one mtree_erase at a time. */
static void w_erase_all_rtl(void)
{
	unsigned long top = ULONG_MAX;
	unsigned long n = 0;

	for (;;) {
		MA_STATE(mas, t, top, top);
		unsigned long index, last;
		void *e, *got;

		mtree_lock(t);
		e = mas_find_rev(&mas, 0);
		index = mas.index;
		last = mas.last;
		mtree_unlock(t);
		if (!e)
			break;
		if (last > top) {
			wfail("mas_find_rev(%#lx) went up to [%#lx, %#lx]", top,
			      index, last);
			return;
		}
		if (wrnd() % 2) {
			got = mtree_erase(t, index + wrnd() % (last - index + 1));
		} else {
			MA_STATE(m2, t, last, last);

			mtree_lock(t);
			got = mas_erase(&m2);
			mtree_unlock(t);
		}
		w_erases++;
		if (got != e) {
			wfail("erasing [%#lx, %#lx] returned %p, mas_find_rev found %p",
			      index, last, got, e);
			return;
		}
		if (!index)
			break;
		top = index - 1;
		if ((++n & 255) == 0 && time_up())
			return;
	}
	if (!mtree_empty(t))
		wfail("tree not empty after erasing every entry right to left");
	append_pos = 0;
	atomic_store_explicit(&key_hi, 1024, memory_order_relaxed);
}

/* Fill downwards (prepending), the mirror image of appends. */
static void w_refill_descending(void)
{
	unsigned long n = 2000 + wrnd() % 20000;
	unsigned long pos = n * 6;

	for (unsigned long i = 0; i < n && pos > 8; i++) {
		unsigned long len = wrnd() % 4;

		pos -= len + 1 + wrnd() % 3;
		w_store(pos, pos + len);
		if ((i & 63) == 0 && time_up())
			return;
	}
}

/*
 * Allocations into gaps (the search and the store under one lock hold)
 * and frees: in allocation-range trees the gaps move under the readers.
 */
static void w_alloc_free(void)
{
	for (int i = 0; i < 2000; i++) {
		unsigned long lo = wrnd() % hi_key();
		unsigned long size = 1 + wrnd() % 16;
		MA_STATE(mas, t, 0, 0);
		void *e = NULL;
		int ret;

		if (wrnd() % 3 == 0) {
			e = mtree_erase(t, lo);
			w_erases++;
			continue;
		}
		mtree_lock(t);
		ret = mas_empty_area(&mas, lo, KEY_SPACE - 1, size);
		if (!ret) {
			e = encode(mas.index, mas.last, gen++);
			ret = mas_store_gfp(&mas, e, GFP_KERNEL);
		}
		mtree_unlock(t);
		if (ret == -EBUSY)
			continue;
		w_stores++;
		if (ret)
			wfail("allocating %lu from %#lx: %d", size, lo, ret);
		else if (mtree_load(t, mas.index) != e)
			wfail("allocated [%#lx, %#lx] reads %p, not %p", mas.index,
			      mas.last, mtree_load(t, mas.index), e);
		if ((i & 63) == 0 && time_up())
			return;
	}
}

/* NULL over everything: the tree drops to height 0 in one store. */
static void w_wipe(void)
{
	int ret = mtree_store_range(t, 0, ULONG_MAX, NULL, GFP_KERNEL);

	w_null++;
	if (ret)
		wfail("mtree_store_range(0, ULONG_MAX, NULL) returned %d", ret);
	if (!mtree_empty(t))
		wfail("tree not empty after storing NULL over everything");
	append_pos = 0;
	atomic_store_explicit(&key_hi, 1024, memory_order_relaxed);
}

static void writer(void)
{
	while (!time_up()) {
		w_append();
		w_validate("appends");
		w_random_inserts();
		w_validate("random inserts");
		w_overwrites();
		w_validate("short overwrites");
		w_spanning();
		w_validate("spanning stores");
		w_null_spans();
		w_validate("NULL spans");
		w_append();
		w_validate("appends");
		w_erase_all_rtl();
		w_validate("erasing right to left");
		w_refill_descending();
		w_validate("descending refill");
		w_overwrites();
		w_validate("short overwrites");
		w_alloc_free();
		w_validate("allocations and frees");
		if (w_cycles % 2) {
			w_wipe();
			w_validate("a NULL store over everything");
		} else {
			w_null_spans();
			w_validate("NULL spans");
		}
		w_cycles++;
		if (w_failures)
			break;
	}
}

/* ---- Main --------------------------------------------------------------- */

/* One run: readers against the writer on a tree with @flags. */
static void run(const char *name, unsigned int flags, double seconds,
		int nreaders)
{
	struct mt_cache_stats st0, st1;
	struct reader *readers;
	unsigned long races = 0, checks = 0, rfails = 0;

	printf("test_torture: %s tree: %d readers, writer for %.1f s\n", name,
	       nreaders, seconds);
	fflush(stdout);
	w_stores = w_inserts = w_eexist = w_erases = w_null = w_mas = 0;
	w_cycles = w_validations = w_max_height = w_failures = 0;
	append_pos = 0;
	atomic_store(&key_hi, 1024);
	atomic_store(&stop_readers, false);
	mt_cache_stats(&st0);
	mt_init_flags(t, flags);
	CHECK(mt_in_rcu(t));

	readers = calloc(nreaders, sizeof(*readers));
	if (!readers)
		exit(2);
	for (int i = 0; i < nreaders; i++) {
		struct reader *r = &readers[i];

		r->id = i;
		snprintf(r->name, sizeof(r->name), "reader %d", i);
		r->rng = seed ^ (0x9E3779B97F4A7C15ULL * (uint64_t)(i + 1 + flags));
		if (!r->rng)
			r->rng = 1;
		if (pthread_create(&r->thread, NULL, reader_main, r)) {
			perror("pthread_create");
			exit(2);
		}
	}

	deadline = now_sec() + seconds;
	writer();
	atomic_store(&stop_readers, true);
	for (int i = 0; i < nreaders; i++) {
		struct reader *r = &readers[i];
		unsigned long rr;

		pthread_join(r->thread, NULL);
		rr = r->races_load + r->races_walk + r->races_iter;
		races += rr;
		checks += r->checks;
		rfails += r->failures;
		printf("test_torture: reader %d: %lu loads, %lu walks, %lu iterations (%lu reverse), %lu steps, %lu entries checked; changes seen: %lu loads, %lu walks, %lu iterations%s\n",
		       i, r->loads, r->walks, r->iters, r->rev_iters, r->steps,
		       r->entries, r->races_load, r->races_walk,
		       r->races_iter,
		       r->root_below_min ? " (root entry below min seen)" : "");
	}
	printf("test_torture: writer: %lu cycles, %lu stores, %lu inserts (%lu -EEXIST), %lu mas stores, %lu NULL stores, %lu erases, %lu validations, max height %lu\n",
	       w_cycles, w_stores, w_inserts, w_eexist, w_mas, w_null, w_erases,
	       w_validations, w_max_height);
	printf("test_torture: %lu reader checks passed, %lu reader failures, %lu writer failures, %lu changes observed mid-read\n",
	       checks, rfails, w_failures, races);

	harness_passed += checks;
	CHECK_EQ(rfails, 0);
	CHECK_EQ(w_failures, 0);
	/* A run that never saw the tree change under a reader proved nothing. */
	if (races == 0)
		fprintf(stderr, "test_torture: FAIL: no reader ever saw a change mid-read: the race window was never hit\n");
	CHECK(races > 0);
	CHECK(w_cycles > 0 || w_stores > 1000);
	/* Once a whole cycle ran, the tree must have grown several levels. */
	if (w_cycles > 0)
		CHECK(w_max_height >= 3);
	else
		printf("test_torture: note: the writer did not finish one cycle in time\n");

	CHECK_EQ(mt_validate(t), 0);
	mtree_destroy(t);
	CHECK(mtree_empty(t));
	mt_rcu_barrier(NULL);
	mt_cache_stats(&st1);
	if (st1.nodes_live != st0.nodes_live || st1.nodes_rcu != 0)
		fprintf(stderr, "test_torture: nodes_live %zu (at start %zu), nodes_rcu %zu after destroy + barrier\n",
			st1.nodes_live, st0.nodes_live, st1.nodes_rcu);
	CHECK_EQ(st1.nodes_live, st0.nodes_live);
	CHECK_EQ(st1.nodes_rcu, 0);
	free(readers);
}

static void usage(const char *prog)
{
	fprintf(stderr, "usage: %s [--long | --seconds S] [--readers N]\n",
		prog);
	exit(2);
}

int main(int argc, char **argv)
{
	double seconds = 3.0;
	int nreaders = 4;
	const char *env;

	env = getenv("MT_TORTURE_SECONDS");
	if (env && strtod(env, NULL) > 0)
		seconds = strtod(env, NULL);
	env = getenv("MT_TORTURE_READERS");
	if (env && atoi(env) > 0)
		nreaders = atoi(env);
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--long"))
			seconds = 600;
		else if (!strcmp(argv[i], "--seconds") && i + 1 < argc &&
			 strtod(argv[i + 1], NULL) > 0)
			seconds = strtod(argv[++i], NULL);
		else if (!strcmp(argv[i], "--readers") && i + 1 < argc &&
			 atoi(argv[i + 1]) > 0)
			nreaders = atoi(argv[++i]);
		else
			usage(argv[0]);
	}
	seed = harness_seed("test_torture");
	wrng = seed;

	/* The encoding must round-trip and never look internal. */
	{
		unsigned long f, l;
		void *e = encode(KEY_SPACE - 5, KEY_SPACE - 1, 31);

		CHECK(decode(e, &f, &l) && f == KEY_SPACE - 5 &&
		      l == KEY_SPACE - 1);
		CHECK(!xa_is_internal(e) && !xa_is_value(e) && e);
		CHECK(!xa_is_internal(encode(0, 0, 0)) && encode(0, 0, 0));
	}

	urcu_memb_register_thread();
	run("plain", MT_FLAGS_USE_RCU, seconds, nreaders);
	/* Internal nodes of 8 slots and gaps updated in place. */
	run("allocation-range", MT_FLAGS_USE_RCU | MT_FLAGS_ALLOC_RANGE,
	    seconds, nreaders);
	urcu_memb_unregister_thread();
	return harness_finish();
}
