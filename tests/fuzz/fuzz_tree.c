// SPDX-License-Identifier: MIT
/*
 * fuzz_tree: the bytes of an input, decoded into operations on a fresh
 * tree; every answer is checked against a sorted array of ranges.
 *
 * One source, two programs (see tests/fuzz/meson.build and README.md):
 *   fuzz_tree         built with -DMT_LIBFUZZER -fsanitize=fuzzer (clang)
 *   test_fuzz_replay  runs each file of MT_FUZZ_CORPUS in a child process
 *                     and ends with "N passed, N failed"; files given as
 *                     arguments run in-process instead (for a debugger)
 * A wrong answer prints what was expected and aborts, so libFuzzer keeps
 * the input. MT_FUZZ_TRACE=1 prints each operation on stderr.
 *
 * Input: byte 0 picks the tree's flags (bit 0 MT_FLAGS_ALLOC_RANGE, bit 1
 * MT_FLAGS_USE_RCU). Then operations: an opcode byte and its arguments,
 * until the input ends (reads past the end give 0). Keys come mostly from
 * a small space, so that operations collide.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <urcu/urcu-memb.h>

#include <mapletree/maple_tree.h>

#define LONG_BITS	(sizeof(unsigned long) * CHAR_BIT)
#define MAX_OPS		1000	/* bounds the time one input may take */
#define BULK_STORES	2000	/* what bulk fills may store per input */
#define WHOLE_CHECKS	12	/* dups and whole-tree comparisons per input:
				 * each costs O(entries) */

#ifdef MT_LIBFUZZER
#define BARRIER_EVERY	64	/* an RCU barrier costs a grace period */
#else
#define BARRIER_EVERY	1
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ---- The model: sorted, disjoint spans; NULL lies between them --------- */

struct span {
	unsigned long first, last;
	void *e;			/* never NULL; may be XA_ZERO_ENTRY */
};

static struct span *mr;
static size_t mn, mcap;

/* The first span with last >= idx (mn if none). */
static size_t m_at(unsigned long idx)
{
	size_t lo = 0, hi = mn;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (mr[mid].last < idx)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The raw entry at idx, reservations included. */
static void *m_get(unsigned long idx)
{
	size_t i = m_at(idx);

	return i < mn && mr[i].first <= idx ? mr[i].e : NULL;
}

/* What mtree_load() reads: a reservation reads as NULL. */
static void *m_load(unsigned long idx)
{
	void *e = m_get(idx);

	return e == XA_ZERO_ENTRY ? NULL : e;
}

/* The element holding idx of the partition of [0, ULONG_MAX] into spans
 * and maximal NULL ranges: what mas_walk() reports. */
static struct span m_part(unsigned long idx)
{
	size_t i = m_at(idx);
	struct span s = { 0, ULONG_MAX, NULL };

	if (i < mn && mr[i].first <= idx)
		return mr[i];
	if (i)
		s.first = mr[i - 1].last + 1;
	if (i < mn)
		s.last = mr[i].first - 1;
	return s;
}

static bool m_busy(unsigned long f, unsigned long l)
{
	size_t i = m_at(f);

	return i < mn && mr[i].first <= l;
}

/* The NULL range between span i - 1 and span i, for i in [0, mn]. */
static bool m_gap(size_t i, unsigned long *gf, unsigned long *gl)
{
	if (i && mr[i - 1].last == ULONG_MAX)
		return false;
	if (i < mn && mr[i].first == 0)
		return false;
	*gf = i ? mr[i - 1].last + 1 : 0;
	*gl = i < mn ? mr[i].first - 1 : ULONG_MAX;
	return *gf <= *gl;
}

/* Store e (NULL erases) over [f, l], trimming the spans it meets. */
static void m_store(unsigned long f, unsigned long l, void *e)
{
	size_t lo = m_at(f), hi = lo, k = 0, n;
	struct span repl[3];

	while (hi < mn && mr[hi].first <= l)
		hi++;
	if (lo < hi && mr[lo].first < f)
		repl[k++] = (struct span){ mr[lo].first, f - 1, mr[lo].e };
	if (e)
		repl[k++] = (struct span){ f, l, e };
	if (lo < hi && mr[hi - 1].last > l)
		repl[k++] = (struct span){ l + 1, mr[hi - 1].last,
					   mr[hi - 1].e };
	n = mn - (hi - lo) + k;
	if (n > mcap || !mr) {
		mcap = mcap ? 2 * mcap : 256;
		mr = realloc(mr, mcap * sizeof(*mr));
		if (!mr)
			abort();
	}
	memmove(&mr[lo + k], &mr[hi], (mn - hi) * sizeof(*mr));
	memcpy(&mr[lo], repl, k * sizeof(*mr));
	mn = n;
}

/* Spans that read as something (not reservations). */
static size_t m_visible(void)
{
	size_t v = 0;

	for (size_t i = 0; i < mn; i++)
		v += mr[i].e != XA_ZERO_ENTRY;
	return v;
}

/* Only [0, 0] or nothing: the tree may be a bare root pointer, where the
 * cursor rules differ (the spec's first list). */
static bool m_rootish(void)
{
	return !mn || (mn == 1 && mr[0].first == 0 && mr[0].last == 0);
}

/* First span meeting [idx, max]: a first mas_find(). */
static const struct span *m_from(unsigned long idx, unsigned long max)
{
	size_t i = m_at(idx);

	return i < mn && mr[i].first <= max ? &mr[i] : NULL;
}

/* Last span meeting [min, idx]: a first mas_find_rev(). */
static const struct span *m_upto(unsigned long idx, unsigned long min)
{
	size_t i = m_at(idx);

	if (i < mn && mr[i].first <= idx)
		i++;
	return i && mr[i - 1].last >= min ? &mr[i - 1] : NULL;
}

/* First span starting after idx, at most max: mas_next(). */
static const struct span *m_after(unsigned long idx, unsigned long max)
{
	size_t i = m_at(idx);

	if (i < mn && mr[i].first <= idx)
		i++;
	return i < mn && mr[i].first <= max ? &mr[i] : NULL;
}

/* Last span ending before idx, at least min: mas_prev(). */
static const struct span *m_before(unsigned long idx, unsigned long min)
{
	size_t i = m_at(idx);

	return i && mr[i - 1].last >= min ? &mr[i - 1] : NULL;
}

/* ---- Gap searches, answered by a linear scan of the model's gaps ------- */

struct area {
	unsigned long min, max, size, align, boundary;
};

static bool is_pow2(unsigned long x)
{
	return x && !(x & (x - 1));
}

static bool area_invalid(const struct area *q)
{
	return !q->size || q->min > q->max || q->max - q->min < q->size - 1 ||
	       !is_pow2(q->align) ||
	       (q->boundary && (!is_pow2(q->boundary) ||
				q->boundary < q->size));
}

/* The lowest start in the free run [lo, hi] that q accepts. */
static bool fit_low(unsigned long lo, unsigned long hi, const struct area *q,
		    unsigned long *start)
{
	unsigned long s = lo, mask = q->align - 1, end;

	for (;;) {
		if (s & mask) {
			if ((s | mask) == ULONG_MAX)
				return false;
			s = (s | mask) + 1;
		}
		if (s > hi || hi - s < q->size - 1)
			return false;
		if (!q->boundary)
			break;
		end = s | (q->boundary - 1);
		if (end - s >= q->size - 1)
			break;
		s = end + 1;		/* crosses: try the next block */
	}
	*start = s;
	return true;
}

/* The highest start in [lo, hi] that q accepts. */
static bool fit_high(unsigned long lo, unsigned long hi, const struct area *q,
		     unsigned long *start)
{
	unsigned long s, end;

	if (hi - lo < q->size - 1)
		return false;
	s = hi - (q->size - 1);
	for (;;) {
		s &= ~(q->align - 1);
		if (s < lo)
			return false;
		if (!q->boundary)
			break;
		end = s | (q->boundary - 1);
		if (end - s >= q->size - 1)
			break;
		s = end - (q->size - 1);	/* the end of s's own block */
	}
	*start = s;
	return true;
}

static int m_area(const struct area *q, bool rev, unsigned long *start)
{
	unsigned long gf, gl;
	size_t i;

	if (area_invalid(q))
		return -EINVAL;
	for (size_t k = 0; k <= mn; k++) {
		i = rev ? mn - k : k;
		if (!m_gap(i, &gf, &gl))
			continue;
		if (rev ? gf > q->max : gl < q->min)
			continue;
		if (rev ? gl < q->min : gf > q->max)
			break;
		if (gf < q->min)
			gf = q->min;
		if (gl > q->max)
			gl = q->max;
		if (rev ? fit_high(gf, gl, q, start) : fit_low(gf, gl, q, start))
			return 0;
	}
	return -EBUSY;
}

/* ---- Per-input state ---------------------------------------------------- */

static struct maple_tree T;
static bool alloc_tree, in_rcu;
static bool cyc_wrapped;	/* MT_FLAGS_ALLOC_WRAPPED, as the model sees it */
static unsigned long cyc_next;
static unsigned long serial;	/* entries are xa_mk_value(++serial) */
static unsigned long bulk_left;
static unsigned int whole_left;
static unsigned int opno;
static char opdesc[256];
static bool trace;

static const uint8_t *in_p;
static size_t in_n;

static unsigned int u8(void)
{
	if (!in_n)
		return 0;
	in_n--;
	return *in_p++;
}

static unsigned long sat_add(unsigned long a, unsigned long b)
{
	return b > ULONG_MAX - a ? ULONG_MAX : a + b;
}

static unsigned long sat_sub(unsigned long a, unsigned long b)
{
	return b > a ? 0 : a - b;
}

static void *fresh(void)
{
	return xa_mk_value(++serial);
}

static const char *ent(const void *e)
{
	static char buf[4][32];
	static unsigned int k;
	char *b = buf[k++ % 4];

	if (!e)
		return "NULL";
	if (e == XA_ZERO_ENTRY)
		return "ZERO";
	if (xa_is_value(e))
		snprintf(b, sizeof(buf[0]), "v%lu", xa_to_value(e));
	else
		snprintf(b, sizeof(buf[0]), "%p", e);
	return b;
}

/* Say what the current operation is; die() repeats it. */
static void begin(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void begin(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(opdesc, sizeof(opdesc), fmt, ap);
	va_end(ap);
	if (trace)
		fprintf(stderr, "#%u %s\n", opno, opdesc);
}

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "\nfuzz_tree: MISMATCH at op #%u: %s\n  (%s tree, %s RCU mode, model %zu spans)\n  ",
		opno, opdesc, alloc_tree ? "MT_FLAGS_ALLOC_RANGE" : "plain",
		in_rcu ? "in" : "not in", mn);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (mn <= 64) {
		fprintf(stderr, "  model:\n");
		for (size_t i = 0; i < mn; i++)
			fprintf(stderr, "    [%#lx, %#lx] %s\n", mr[i].first,
				mr[i].last, ent(mr[i].e));
		mt_dump(&T, mt_dump_hex);
	}
	abort();
}

static void want_int(const char *what, long got, long exp)
{
	if (got != exp)
		die("%s: expected %ld, got %ld", what, exp, got);
}

static void want_ptr(const char *what, const void *got, const void *exp)
{
	if (got != exp)
		die("%s: expected %s, got %s", what, ent(exp), ent(got));
}

static void want_mas(const char *what, const struct ma_state *mas,
		     const void *got, const struct span *exp)
{
	if (got != exp->e || mas->index != exp->first || mas->last != exp->last)
		die("%s: expected %s [%#lx, %#lx], got %s [%#lx, %#lx]", what,
		    ent(exp->e), exp->first, exp->last, ent(got), mas->index,
		    mas->last);
}

static size_t nodes_live(void)
{
	struct mt_cache_stats st;

	mt_cache_stats(&st);
	return st.nodes_live;
}

static void validate(struct maple_tree *mt)
{
	if (mt_validate(mt))
		die("mt_validate() failed (its report is above)");
}

/* After a write to [f, l]: the invariants, and the loads at its edges. */
static void written(unsigned long f, unsigned long l)
{
	validate(&T);
	want_ptr("load(first) after the write", mtree_load(&T, f), m_load(f));
	want_ptr("load(last) after the write", mtree_load(&T, l), m_load(l));
	if (f)
		want_ptr("load(first - 1) after the write",
			 mtree_load(&T, f - 1), m_load(f - 1));
	if (l < ULONG_MAX)
		want_ptr("load(last + 1) after the write",
			 mtree_load(&T, l + 1), m_load(l + 1));
}

/* Every span of mt, both ways and through the Normal API, against the
 * model. */
static void compare(struct maple_tree *mt, const char *what)
{
	MA_STATE(mas, mt, 0, 0);
	unsigned long idx = 0;
	size_t i = 0;
	void *e;

	mtree_lock(mt);
	mas_for_each(&mas, e, ULONG_MAX) {
		if (i == mn)
			die("%s: mas_for_each: extra %s [%#lx, %#lx]", what,
			    ent(e), mas.index, mas.last);
		want_mas(what, &mas, e, &mr[i++]);
	}
	if (i != mn)
		die("%s: mas_for_each ended before [%#lx, %#lx] %s", what,
		    mr[i].first, mr[i].last, ent(mr[i].e));
	mas_set(&mas, ULONG_MAX);
	mas_for_each_rev(&mas, e, 0) {
		if (!i)
			die("%s: mas_for_each_rev: extra %s [%#lx, %#lx]",
			    what, ent(e), mas.index, mas.last);
		want_mas(what, &mas, e, &mr[--i]);
	}
	if (i)
		die("%s: mas_for_each_rev ended before [%#lx, %#lx] %s", what,
		    mr[i - 1].first, mr[i - 1].last, ent(mr[i - 1].e));
	mtree_unlock(mt);

	/* mt_for_each hides reservations. */
	mt_for_each(mt, e, idx, ULONG_MAX) {
		while (i < mn && mr[i].e == XA_ZERO_ENTRY)
			i++;
		if (i == mn)
			die("%s: mt_for_each: extra %s", what, ent(e));
		if (e != mr[i].e || idx != mr[i].last + 1)
			die("%s: mt_for_each: expected %s, index then %#lx; got %s, %#lx",
			    what, ent(mr[i].e), mr[i].last + 1, ent(e), idx);
		i++;
	}
	while (i < mn && mr[i].e == XA_ZERO_ENTRY)
		i++;
	if (i != mn)
		die("%s: mt_for_each ended before %s", what, ent(mr[i].e));
	if (!mn && !mtree_empty(mt))
		die("%s: mtree_empty() false on an empty tree", what);
	if (m_visible() && mtree_empty(mt))
		die("%s: mtree_empty() true on a tree with entries", what);
}

/* After a call failed with -ENOMEM: nothing changed, nothing leaked. */
static void unchanged(size_t live)
{
	validate(&T);
	compare(&T, "after -ENOMEM");
	want_int("nodes live after -ENOMEM", (long)nodes_live(), (long)live);
}

/* Reads in the Advanced API: the lock, or RCU alone in RCU mode. */
static bool read_begin(bool want_rcu)
{
	if (in_rcu && want_rcu) {
		mt_rcu_read_lock();
		return true;
	}
	mtree_lock(&T);
	return false;
}

static void read_end(bool rcu)
{
	if (rcu)
		mt_rcu_read_unlock();
	else
		mtree_unlock(&T);
}

/* ---- Decoding arguments ------------------------------------------------- */

/* An index below n (0 if n is 0), wide enough for big models. */
static size_t pick(size_t n)
{
	unsigned long v = u8();

	if (n > 256)
		v = v << 8 | u8();
	return n ? v % n : 0;
}

static unsigned long key(void)
{
	unsigned int b = u8();
	const struct span *s;
	unsigned long k;

	if (b < 0xb0)
		return b;			/* the small space: collisions */
	if (b < 0xd0)				/* room for taller trees */
		return 0xb0 + ((unsigned long)(b & 0x1f) << 8 | u8());
	if (b < 0xe0)
		return ULONG_MAX - (b & 15);	/* the top: overflow edges */
	if (b < 0xf0) {				/* on or beside a stored span */
		if (!mn)
			return b & 15;
		s = &mr[pick(mn)];
		switch (b & 3) {
		case 0: return s->first;
		case 1: return s->last;
		case 2: return sat_sub(s->first, 1);
		default: return sat_add(s->last, 1);
		}
	}
	switch (b & 7) {
	case 0: return ULONG_MAX - 0x10 - u8();
	case 1: return 1UL << (u8() % LONG_BITS);
	case 2: return (1UL << (u8() % LONG_BITS)) - 1;
	case 3: return ULONG_MAX / 2 - 0x80 + u8();
	default:
		k = 0;
		for (int i = 0; i < 8; i++)
			k = k << 8 | u8();
		return k;
	}
}

/* A distance: mostly short. */
static unsigned long wide(void)
{
	unsigned int b = u8();

	if (b < 0x80)
		return b & 15;
	if (b < 0xc0)
		return (unsigned long)(b & 0x3f) << 4;
	if (b < 0xf0)
		return key();
	return ULONG_MAX;
}

/* A range: short, between two keys, or to the top. */
static void range(unsigned long *f, unsigned long *l)
{
	unsigned long a = key(), z;
	unsigned int b = u8();

	if (b >= 0xc0 && b < 0xf0) {
		z = key();
		*f = a < z ? a : z;
		*l = a < z ? z : a;
		return;
	}
	*f = a;
	*l = b < 0x80 ? sat_add(a, b & 7) :
	     b < 0xc0 ? sat_add(a, b & 0x3f) : ULONG_MAX;
}

/* A new entry mostly; sometimes NULL or a reservation. */
static void *any_entry(unsigned int b)
{
	switch (b & 7) {
	case 6: return NULL;
	case 7: return XA_ZERO_ENTRY;
	default: return fresh();
	}
}

static unsigned long pow2_ceil(unsigned long x)
{
	unsigned long p = 1;

	while (p && p < x)
		p <<= 1;
	return p;			/* 0: above 2^63 */
}

/* A gap search: a window and size, aimed at a model gap now and then. */
static void area_args(struct area *q, bool aligned)
{
	unsigned int b = u8(), c;
	unsigned long gf, gl, p;

	if ((b & 3) == 0 && mn && m_gap(pick(mn + 1), &gf, &gl)) {
		/* The gap exactly, give or take an index at either end. */
		q->min = b & 4 ? sat_sub(gf, 1) : gf;
		q->max = b & 8 ? sat_add(gl, 1) : gl;
		q->size = sat_add(gl - gf, 1);
		if (b & 0x10)
			q->size = sat_add(q->size, 1);
		else if (b & 0x20 && q->size > 1)
			q->size--;
	} else {
		c = u8();
		q->size = c < 0x80 ? 1 + (c & 7) :
			  c < 0xc0 ? 1 + (c & 0x3f) * 3 :
			  c < 0xf0 ? sat_add(key(), 1) :
			  c & 8 ? 0 : ULONG_MAX - (c & 7);
		q->min = key();
		q->max = b & 4 ? key() : sat_add(q->min, wide());
	}
	q->align = 1;
	q->boundary = 0;
	if (!aligned)
		return;
	c = u8();
	if (c >= 0x80 && c < 0xc0)
		q->align = 1UL << (c & 7);
	else if (c >= 0xc0 && c < 0xf8)
		q->align = 1UL << (c % LONG_BITS);
	else if (c >= 0xf8)
		q->align = c & 1 ? 0 : 6;	/* not a power of two */
	c = u8();
	p = pow2_ceil(q->size);
	if (c < 0x80)
		q->boundary = 0;
	else if (c < 0xf0)
		q->boundary = p && (p << (c & 3)) ? p << (c & 3) : p;
	else
		q->boundary = p > 1 ? p >> 1 : 3;	/* below size, or odd */
}

/* ---- Operations --------------------------------------------------------- */

static void do_store(void *e)
{
	unsigned long f, l;
	unsigned int b = u8();
	int ret;

	range(&f, &l);
	if ((b & 0x1f) == 0) {
		/* Bad arguments: -EINVAL, and nothing changes. */
		if (f < l && b & 0x20) {
			begin("mtree_store_range [%#lx, %#lx] (first > last)",
			      l, f);
			ret = mtree_store_range(&T, l, f, fresh(), GFP_KERNEL);
		} else {
			e = xa_mk_internal(b >> 6);
			begin("mtree_store_range [%#lx, %#lx] reserved %p", f,
			      l, e);
			ret = mtree_store_range(&T, f, l, e, GFP_KERNEL);
		}
		want_int("return", ret, -EINVAL);
		return;
	}
	if (f == l && b & 0x20) {
		begin("mtree_store %#lx %s", f, ent(e));
		ret = mtree_store(&T, f, e, GFP_KERNEL);
	} else {
		begin("mtree_store_range [%#lx, %#lx] %s", f, l, ent(e));
		ret = mtree_store_range(&T, f, l, e, GFP_KERNEL);
	}
	want_int("return", ret, 0);
	m_store(f, l, e);
	written(f, l);
}

static void op_store(void)
{
	do_store(fresh());
}

static void op_store_null(void)
{
	do_store(NULL);
}

static void op_store_zero(void)
{
	do_store(XA_ZERO_ENTRY);
}

static void op_insert(void)
{
	unsigned long f, l, gf, gl;
	unsigned int b = u8();
	void *e = fresh();
	int ret, exp;

	if ((b & 3) == 0 && mn && m_gap(pick(mn + 1), &gf, &gl)) {
		/* Exactly a gap, or one index more (a collision). */
		f = gf;
		l = b & 4 ? sat_add(gl, 1) : gl;
	} else {
		range(&f, &l);
	}
	if ((b & 0x78) == 0) {
		e = b & 4 ? NULL : xa_mk_internal(4);
		exp = -EINVAL;
	} else if ((b & 0x78) == 8 && f < l) {
		unsigned long t = f;

		f = l;
		l = t;
		exp = -EINVAL;
	} else {
		exp = m_busy(f, l) ? -EEXIST : 0;
	}
	if (f == l && b & 0x80) {
		begin("mtree_insert %#lx %s", f, ent(e));
		ret = mtree_insert(&T, f, e, GFP_KERNEL);
	} else {
		begin("mtree_insert_range [%#lx, %#lx] %s", f, l, ent(e));
		ret = mtree_insert_range(&T, f, l, e, GFP_KERNEL);
	}
	want_int("return", ret, exp);
	if (ret)
		return;
	m_store(f, l, e);
	written(f, l);
}

static void op_erase(void)
{
	unsigned long idx = key();
	struct span p = m_part(idx);

	begin("mtree_erase %#lx (holds %s)", idx, ent(p.e));
	want_ptr("return", mtree_erase(&T, idx), p.e);
	if (p.e)
		m_store(p.first, p.last, NULL);
	written(p.first, p.last);
}

static void op_mas_erase(void)
{
	unsigned long idx = key();
	struct span p = m_part(idx);
	MA_STATE(mas, &T, idx, idx);
	void *got;

	begin("mas_erase %#lx (holds %s)", idx, ent(p.e));
	mtree_lock(&T);
	got = mas_erase(&mas);
	mtree_unlock(&T);
	want_ptr("return", got, p.e);
	if (p.e)
		m_store(p.first, p.last, NULL);
	written(p.first, p.last);
}

static void op_load(void)
{
	unsigned long idx = key();

	begin("mtree_load %#lx", idx);
	want_ptr("mtree_load", mtree_load(&T, idx), m_load(idx));
}

/* mt_find(), then mt_find_after() a few times. */
static void op_find(void)
{
	unsigned long idx = key(), max, mi;
	unsigned int b = u8(), n = 1 + (b & 7);
	const struct span *exp;
	void *got;

	max = b & 8 ? key() : sat_add(idx, wide());
	mi = idx;
	begin("mt_find from %#lx to %#lx, %u steps", idx, max, n);
	for (unsigned int s = 0; s < n; s++) {
		exp = NULL;
		/* After a hit at ULONG_MAX the index wraps to 0: the end. */
		if (mi <= max && (s == 0 || mi)) {
			size_t i = m_at(mi);

			while (i < mn && mr[i].e == XA_ZERO_ENTRY)
				i++;
			if (i < mn && mr[i].first <= max)
				exp = &mr[i];
		}
		got = s ? mt_find_after(&T, &idx, max) : mt_find(&T, &idx, max);
		want_ptr(s ? "mt_find_after" : "mt_find", got,
			 exp ? exp->e : NULL);
		if (!exp)
			break;
		want_int("*index after a hit", (long)idx, (long)(exp->last + 1));
		mi = exp->last + 1;
	}
}

static void op_walk(void)
{
	unsigned int b = u8(), n = 1 + (b & 3);
	unsigned long idx = key();
	MA_STATE(mas, &T, idx, idx);
	struct span exp;
	bool rcu = read_begin(b & 4);

	for (unsigned int w = 0; w < n; w++) {
		begin("mas_walk %#lx (walk %u)", idx, w);
		exp = m_part(idx);
		want_mas("mas_walk", &mas, mas_walk(&mas), &exp);
		idx = key();
		if (b & 8)
			mas_set(&mas, idx);
		else
			mas_set_range(&mas, idx, idx);
	}
	read_end(rcu);
}

enum step {
	FIND, NEXT, FIND_REV, PREV, NEXT_RANGE, PREV_RANGE, FIND_RANGE,
	FIND_RANGE_REV, WALK,
};
static const char *const step_name[] = {
	"mas_find", "mas_next", "mas_find_rev", "mas_prev", "mas_next_range",
	"mas_prev_range", "mas_find_range", "mas_find_range_rev", "mas_walk",
};

/* One cursor: a first step from a fresh state, then steps from the range
 * found. Misses end the sequence (their cursor states are test_cursor's).
 * The range calls come only after a first step: a first one from inside a
 * NULL range may return it or move on (the spec leaves it open). */
static void op_cursor(void)
{
	unsigned int b = u8(), steps = 1 + (b & 7);
	unsigned long idx = key();
	unsigned long max = sat_add(idx, wide()), min = sat_sub(idx, wide());
	const struct span *exp = NULL;
	struct span cur = { 0, 0, NULL }, part;
	MA_STATE(mas, &T, idx, idx);
	enum step st = (b >> 4) % 5 == 4 ? WALK : (enum step)((b >> 4) % 5);
	bool rcu;
	void *got;

	if (m_rootish()) {
		steps = 1;
		min = 0;
	}
	rcu = read_begin(b & 8);
	for (unsigned int s = 0; s < steps; s++) {
		unsigned int c = s ? u8() : 0;

		if (s)
			st = (enum step)(c % 8);
		begin("cursor at %#lx [%#lx, %#lx]: step %u %s", idx, min, max,
		      s, step_name[st]);
		if (!s) {
			switch (st) {
			case WALK:
				part = m_part(idx);
				want_mas("first mas_walk", &mas, mas_walk(&mas),
					 &part);
				cur = part;
				continue;
			case FIND:
				exp = m_from(idx, max);
				got = mas_find(&mas, max);
				break;
			case FIND_REV:
				/* A root pointer is not found from index 0. */
				exp = !idx && !mt_height(&T) ? NULL :
				      m_upto(idx, min);
				got = mas_find_rev(&mas, min);
				break;
			case NEXT:
				exp = m_after(idx, max);
				got = mas_next(&mas, max);
				break;
			default:
				exp = m_before(idx, min);
				got = mas_prev(&mas, min);
				break;
			}
		} else if (st >= NEXT_RANGE) {
			/* The neighbouring element of the partition. */
			bool fwd = st == NEXT_RANGE || st == FIND_RANGE;

			if (fwd ? cur.last == ULONG_MAX : cur.first == 0)
				break;
			part = m_part(fwd ? cur.last + 1 : cur.first - 1);
			got = st == NEXT_RANGE ? mas_next_range(&mas, ULONG_MAX) :
			      st == PREV_RANGE ? mas_prev_range(&mas, 0) :
			      st == FIND_RANGE ? mas_find_range(&mas, ULONG_MAX) :
						 mas_find_range_rev(&mas, 0);
			want_mas(step_name[st], &mas, got, &part);
			cur = part;
			continue;
		} else if (st == FIND || st == NEXT) {
			if (cur.last == ULONG_MAX)
				break;
			if (c & 0x10) {
				/* Pause and drop the lock: resumes after last. */
				mas_pause(&mas);
				read_end(rcu);
				rcu = read_begin(b & 8);
			}
			exp = m_after(cur.last, max);
			got = st == FIND ? mas_find(&mas, max) :
					   mas_next(&mas, max);
		} else {
			if (cur.first == 0)
				break;
			exp = m_before(cur.first, min);
			got = st == FIND_REV ? mas_find_rev(&mas, min) :
					       mas_prev(&mas, min);
		}
		if (!exp) {
			if (got)
				die("expected nothing, got %s [%#lx, %#lx]",
				    ent(got), mas.index, mas.last);
			break;
		}
		want_mas(step_name[st], &mas, got, exp);
		cur = *exp;
	}
	read_end(rcu);
}

static int empty_area(struct ma_state *mas, int v, const struct area *q)
{
	switch (v) {
	case 0: return mas_empty_area(mas, q->min, q->max, q->size);
	case 1: return mas_empty_area_rev(mas, q->min, q->max, q->size);
	case 2: return mas_empty_area_aligned(mas, q->min, q->max, q->size,
					      q->align, q->boundary);
	default: return mas_empty_area_rev_aligned(mas, q->min, q->max,
						   q->size, q->align,
						   q->boundary);
	}
}

static const char *const area_name[] = {
	"mas_empty_area", "mas_empty_area_rev",
	"mas_empty_area_aligned", "mas_empty_area_rev_aligned",
};

/* A gap search; sometimes the span found is then filled. */
static void op_area(void)
{
	unsigned int b = u8();
	int v = b & 3, exp, ret;
	MA_STATE(mas, &T, 0, 0);
	unsigned long es = 0;
	struct area q;
	bool rcu;
	void *e;

	area_args(&q, v >= 2);
	exp = m_area(&q, v & 1, &es);
	begin("%s [%#lx, %#lx] size %#lx align %#lx boundary %#lx",
	      area_name[v], q.min, q.max, q.size, q.align, q.boundary);
	rcu = read_begin(b & 4);
	if (b & 8) {
		/* A cursor used before: a reset must be all it takes. */
		mas_set(&mas, key());
		mas_walk(&mas);
		mas_reset(&mas);
	}
	ret = empty_area(&mas, v, &q);
	if (ret != exp || (!ret && (mas.index != es ||
				    mas.last != es + q.size - 1)))
		die("expected %d [%#lx, %#lx], got %d [%#lx, %#lx]", exp, es,
		    es + q.size - 1, ret, mas.index, mas.last);
	if (ret || rcu || !(b & 0x10)) {
		read_end(rcu);
		return;
	}
	e = fresh();
	begin("mas_store_gfp %s over the span %s found", ent(e),
	      area_name[v]);
	ret = mas_store_gfp(&mas, e, GFP_KERNEL);
	mas_destroy(&mas);
	read_end(rcu);
	want_int("return", ret, 0);
	m_store(es, es + q.size - 1, e);
	written(es, es + q.size - 1);
}

static const char *const alloc_name[] = {
	"mtree_alloc_range", "mtree_alloc_rrange",
	"mtree_alloc_range_aligned", "mtree_alloc_rrange_aligned",
};

static int alloc(int v, unsigned long *start, void *e, const struct area *q)
{
	switch (v) {
	case 0: return mtree_alloc_range(&T, start, e, q->size, q->min,
					 q->max, GFP_KERNEL);
	case 1: return mtree_alloc_rrange(&T, start, e, q->size, q->min,
					  q->max, GFP_KERNEL);
	case 2: return mtree_alloc_range_aligned(&T, start, e, q->size,
						 q->align, q->boundary,
						 q->min, q->max, GFP_KERNEL);
	default: return mtree_alloc_rrange_aligned(&T, start, e, q->size,
						   q->align, q->boundary,
						   q->min, q->max, GFP_KERNEL);
	}
}

/* Any alloc call, under fault injection or not: -ENOMEM is accepted only
 * when faults is set, and must change nothing. */
static void do_alloc(unsigned int b, long faults)
{
	int v = b & 3, exp, ret;
	unsigned long es = 0, start = 0;
	size_t live = nodes_live();
	struct area q;
	void *e;

	e = (b & 0x1c) == 0 ? XA_ZERO_ENTRY :
	    (b & 0x1c) == 4 ? xa_mk_internal(3) : fresh();
	area_args(&q, v >= 2);
	exp = !alloc_tree || xa_is_internal(e) ? -EINVAL :
	      m_area(&q, v & 1, &es);
	begin("%s%s [%#lx, %#lx] size %#lx align %#lx boundary %#lx %s",
	      faults ? "fault-injected " : "", alloc_name[v], q.min, q.max,
	      q.size, q.align, q.boundary, ent(e));
	mt_fault_inject(faults);
	ret = alloc(v, &start, e, &q);
	mt_fault_inject(0);
	if (faults && ret == -ENOMEM && !exp) {
		unchanged(live);
		return;
	}
	if (ret != exp || (!ret && start != es))
		die("expected %d at %#lx, got %d at %#lx", exp, es, ret, start);
	if (ret)
		return;
	m_store(es, es + q.size - 1, e);
	written(es, es + q.size - 1);
}

static void op_alloc(void)
{
	do_alloc(u8(), 0);
}

static void op_cyclic(void)
{
	unsigned int b = u8();
	unsigned long lo = key(), hi = b & 1 ? sat_add(lo, wide()) : key();
	unsigned long next, from, s = 0, start = 0;
	struct area q = { 0, 0, 1, 1, 0 };
	void *e = (b & 0x1e) == 0 ? xa_mk_internal(3) : fresh();
	int exp, ret;

	if (b & 0x20)
		cyc_next = key();	/* a caller may pass any *next */
	next = cyc_next;
	if (!alloc_tree || mt_entry_reserved(e) || lo > hi) {
		exp = -EINVAL;
	} else {
		/* From max(lo, *next) up; failing that, from lo: a wrap. */
		from = next > lo ? next : lo;
		q.min = from;
		q.max = hi;
		exp = -EBUSY;
		if (from <= hi && !m_area(&q, false, &s)) {
			exp = cyc_wrapped;
		} else if (from > lo) {
			q.min = lo;
			if (!m_area(&q, false, &s))
				exp = 1;
		}
	}
	begin("mtree_alloc_cyclic [%#lx, %#lx] next %#lx %s", lo, hi, next,
	      ent(e));
	ret = mtree_alloc_cyclic(&T, &start, e, lo, hi, &cyc_next, GFP_KERNEL);
	want_int("return", ret, exp);
	if (ret < 0) {
		want_int("*next after a failure", (long)cyc_next, (long)next);
		return;
	}
	want_int("*startp", (long)start, (long)s);
	want_int("*next", (long)cyc_next, (long)(s + 1));
	cyc_wrapped = s == ULONG_MAX;
	m_store(s, s, e);
	written(s, s);
}

static unsigned int tree_flags(void)
{
	return (alloc_tree ? MT_FLAGS_ALLOC_RANGE : 0) |
	       (in_rcu ? MT_FLAGS_USE_RCU : 0);
}

/* mtree_dup(): the copy must read as the model, have the same shape, and
 * be independent; -ENOMEM (with faults) must leave it empty. */
static void do_dup(unsigned int b, long faults)
{
	struct maple_tree copy;
	unsigned int fl = tree_flags();
	size_t live = nodes_live();
	int exp = 0, ret;

	if ((b & 7) == 0) {
		fl ^= b & 8 ? MT_FLAGS_ALLOC_RANGE : MT_FLAGS_USE_RCU;
		exp = -EINVAL;
	}
	mt_init_flags(&copy, fl);
	if ((b & 7) == 1) {
		if (mtree_store(&copy, 5, xa_mk_value(0), GFP_KERNEL))
			die("mtree_store on a new tree failed");
		exp = -EINVAL;
		live = nodes_live();
	}
	begin("%smtree_dup (flags %#x into %#x%s)",
	      faults ? "fault-injected " : "", tree_flags(), fl,
	      (b & 7) == 1 ? ", not empty" : "");
	mt_fault_inject(faults);
	ret = mtree_dup(&T, &copy, GFP_KERNEL);
	mt_fault_inject(0);
	if (faults && ret == -ENOMEM && !exp) {
		if (!mtree_empty(&copy))
			die("the copy is not empty after -ENOMEM");
		want_int("nodes live after -ENOMEM", (long)nodes_live(),
			 (long)live);
		mtree_destroy(&copy);
		return;
	}
	want_int("return", ret, exp);
	if (ret) {
		if ((b & 7) == 1)
			want_ptr("the refused copy's own entry",
				 mtree_load(&copy, 5), xa_mk_value(0));
		else if (!mtree_empty(&copy))
			die("the refused copy is not empty");
		mtree_destroy(&copy);
		return;
	}
	validate(&copy);
	compare(&copy, "the copy");
	want_int("height of the copy", mt_height(&copy), mt_height(&T));
	if (b & 0x10) {
		/* Wiping the copy must leave the original alone. */
		if (mtree_store_range(&copy, 0, ULONG_MAX, NULL, GFP_KERNEL))
			die("wiping the copy failed");
		validate(&copy);
		compare(&T, "the original after wiping its copy");
	}
	mtree_destroy(&copy);
}

/* One of the input's budget of whole-tree checks, if any is left. */
static bool whole_check(void)
{
	if (!whole_left)
		return false;
	whole_left--;
	return true;
}

static void op_dup(void)
{
	if (whole_check())
		do_dup(u8(), 0);
}

/* mas_preallocate(), then mas_store_prealloc() with allocation made
 * impossible (it must not allocate), or mas_destroy() (it must give back
 * every node). */
static void op_prealloc(void)
{
	unsigned int b = u8();
	unsigned long f, l;
	void *e = any_entry(b);
	size_t live = nodes_live();
	MA_STATE(mas, &T, 0, 0);
	int ret;

	range(&f, &l);
	begin("mas_preallocate%s [%#lx, %#lx] %s",
	      b & 0x40 ? " + mas_destroy" : " + mas_store_prealloc", f, l,
	      ent(e));
	mas_set_range(&mas, f, l);
	mtree_lock(&T);
	ret = mas_preallocate(&mas, e, GFP_KERNEL);
	if (ret) {
		mtree_unlock(&T);
		die("mas_preallocate returned %d", ret);
	}
	if (b & 0x40) {
		mas_destroy(&mas);
		mtree_unlock(&T);
		want_int("nodes live after mas_destroy", (long)nodes_live(),
			 (long)live);
		return;
	}
	mt_fault_inject_all(true);
	mt_alloc_forbid_begin();
	mas_store_prealloc(&mas, e);
	mt_alloc_forbid_end();
	mt_fault_inject_all(false);
	if (mas_is_err(&mas))
		die("mas_store_prealloc failed with %d", xa_err(mas.node));
	want_int("mas_allocated after mas_store_prealloc",
		 (long)mas_allocated(&mas), 0);
	mas_destroy(&mas);
	mtree_unlock(&T);
	m_store(f, l, e);
	written(f, l);
}

/* mt_reserve() for a few stores, which then must not allocate at all. */
static void op_reserve(void)
{
	unsigned int b = u8(), nr = 1 + (b & 3);
	unsigned long max_entries = mn + 2 * nr;	/* a store adds <= 2 */
	struct mt_reservation res;
	int ret;

	begin("mt_reserve %u stores, at most %lu entries", nr, max_entries);
	ret = mt_reserve(&T, &res, nr, max_entries, GFP_KERNEL);
	want_int("mt_reserve", ret, 0);
	for (unsigned int k = 0; k < nr; k++) {
		unsigned long f, l;
		void *e = any_entry(u8()), *old, *at_first;
		MA_STATE(mas, &T, 0, 0);
		bool defined;
		int err;

		range(&f, &l);
		begin("mas_store #%u from a reservation [%#lx, %#lx] %s (%lu nodes left)",
		      k, f, l, ent(e), mt_reservation_nodes(&res));
		/* The old entry returned: the first one overwritten, which
		 * is the one at f whenever f is covered or nothing is. */
		at_first = m_get(f);
		defined = at_first || !m_busy(f, l);
		mas_set_range(&mas, f, l);
		mas_use_reservation(&mas, &res);
		mtree_lock(&T);
		mt_fault_inject_all(true);
		mt_alloc_forbid_begin();
		old = mas_store(&mas, e);
		mt_alloc_forbid_end();
		mt_fault_inject_all(false);
		err = mas_is_err(&mas) ? xa_err(mas.node) : 0;
		mas_destroy(&mas);
		mtree_unlock(&T);
		if (err)
			die("mas_store from a reservation failed with %d", err);
		if (defined)
			want_ptr("mas_store return", old, at_first);
		m_store(f, l, e);
		written(f, l);
	}
	mt_reserve_release(&res);
	want_int("nodes in a released reservation",
		 (long)mt_reservation_nodes(&res), 0);
}

/* A write with the nth allocation from now failing (or all of them):
 * it fails with -ENOMEM and changes nothing, or succeeds. */
static void op_fault(void)
{
	unsigned int b = u8();
	long nth = 1 + (u8() & 15);
	size_t live = nodes_live();
	unsigned long f, l;
	void *e = any_entry(b >> 3), *got;
	int ret, exp;

	switch (b & 7) {
	case 0: {
		/* The Advanced API does not retry: the failure shows. */
		MA_STATE(mas, &T, 0, 0);

		range(&f, &l);
		begin("fault %ld: mas_store_gfp [%#lx, %#lx] %s", nth, f, l,
		      ent(e));
		mas_set_range(&mas, f, l);
		mtree_lock(&T);
		mt_fault_inject(nth);
		ret = mas_store_gfp(&mas, e, GFP_KERNEL);
		mt_fault_inject(0);
		mas_destroy(&mas);
		mtree_unlock(&T);
		break;
	}
	case 1:
	case 2:
		/* The Normal API retries after one failure; not after all. */
		range(&f, &l);
		begin("fault %s: mtree_store_range [%#lx, %#lx] %s",
		      b & 1 ? "once" : "all", f, l, ent(e));
		if (b & 1)
			mt_fault_inject(nth);
		else
			mt_fault_inject_all(true);
		ret = mtree_store_range(&T, f, l, e, GFP_KERNEL);
		mt_fault_inject(0);
		mt_fault_inject_all(false);
		break;
	case 3:
		range(&f, &l);
		e = fresh();
		exp = m_busy(f, l) ? -EEXIST : 0;
		begin("fault %ld: mtree_insert_range [%#lx, %#lx] %s", nth, f,
		      l, ent(e));
		mt_fault_inject(nth);
		ret = mtree_insert_range(&T, f, l, e, GFP_KERNEL);
		mt_fault_inject(0);
		if (ret == -EEXIST || exp) {
			want_int("return", ret, exp);
			return;
		}
		break;
	case 4: {
		unsigned long idx = key();
		struct span p = m_part(idx);

		/* No memory at all: the entry stays and NULL comes back. */
		begin("fault all: mtree_erase %#lx (holds %s)", idx,
		      ent(p.e));
		mt_fault_inject_all(true);
		got = mtree_erase(&T, idx);
		mt_fault_inject_all(false);
		if (got != p.e && got)
			die("mtree_erase returned %s, not %s or NULL",
			    ent(got), ent(p.e));
		if (p.e && !got) {
			unchanged(live);
			return;
		}
		if (p.e)
			m_store(p.first, p.last, NULL);
		written(p.first, p.last);
		return;
	}
	case 5:
		if (whole_check())
			do_dup(u8() | 0x10, nth);
		return;
	case 6: {
		MA_STATE(mas, &T, 0, 0);

		range(&f, &l);
		begin("fault %ld: mas_preallocate [%#lx, %#lx] %s", nth, f, l,
		      ent(e));
		mas_set_range(&mas, f, l);
		mtree_lock(&T);
		mt_fault_inject(nth);
		ret = mas_preallocate(&mas, e, GFP_KERNEL);
		mt_fault_inject(0);
		if (!ret)
			mas_store_prealloc(&mas, e);
		mas_destroy(&mas);
		mtree_unlock(&T);
		break;
	}
	default:
		do_alloc(u8(), nth);
		return;
	}
	if (ret == -ENOMEM) {
		unchanged(live);
		return;
	}
	want_int("return", ret, 0);
	m_store(f, l, e);
	written(f, l);
}

/* Many stores in a row: trees tall enough to split, rebalance and
 * collapse across levels. */
static void op_bulk(void)
{
	unsigned int b = u8();
	unsigned long start = key(), n = 16 + 4 * (unsigned long)u8();
	unsigned long stride = 1 + (b & 7), len = (b >> 3) & 7;
	unsigned long i, off, f, l;
	void *e;

	if (!bulk_left)
		return;
	if (n > bulk_left)
		n = bulk_left;
	bulk_left -= n;
	begin("bulk: %lu stores from %#lx %s, stride %lu, length %lu%s", n,
	      start, b & 0x40 ? "down" : "up", stride, len + 1,
	      b & 0x80 ? ", every 5th NULL" : "");
	for (i = 0; i < n; i++) {
		off = i * stride;
		if (b & 0x40) {
			if (off > start)
				break;
			f = start - off;
		} else {
			if (off > ULONG_MAX - start)
				break;
			f = start + off;
		}
		l = sat_add(f, len);
		e = b & 0x80 && i % 5 == 4 ? NULL : fresh();
		if (mtree_store_range(&T, f, l, e, GFP_KERNEL))
			die("store #%lu [%#lx, %#lx] failed", i, f, l);
		m_store(f, l, e);
	}
	validate(&T);
	if (whole_check())
		compare(&T, "after the bulk stores");
}

static void op_rcu(void)
{
	begin("%s", in_rcu ? "mt_clear_in_rcu" : "mt_set_in_rcu");
	if (in_rcu)
		mt_clear_in_rcu(&T);
	else
		mt_set_in_rcu(&T);
	in_rcu = !in_rcu;
	want_int("mt_in_rcu", mt_in_rcu(&T), in_rcu);
}

static void op_compare(void)
{
	if (!whole_check())
		return;
	begin("full comparison");
	compare(&T, "full comparison");
}

/* Indexed by an opcode byte modulo 32; repeats weigh the common writes. */
static void (*const ops[32])(void) = {
	op_store, op_store, op_store, op_store, op_store,
	op_store_null, op_store_null, op_store_zero,
	op_insert, op_insert, op_erase, op_erase, op_mas_erase,
	op_load, op_find, op_walk, op_cursor, op_cursor,
	op_area, op_area, op_alloc, op_alloc, op_cyclic,
	op_dup, op_prealloc, op_reserve, op_fault, op_fault,
	op_bulk, op_rcu, op_compare, op_store,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static unsigned long runs;
	static bool ready;
	unsigned int flags;
	size_t live;

	if (!ready) {
		urcu_memb_register_thread();
		trace = getenv("MT_FUZZ_TRACE") != NULL;
		ready = true;
	}
	if (!size)
		return 0;
	in_p = data;
	in_n = size;
	flags = u8();
	alloc_tree = flags & 1;
	in_rcu = flags & 2;
	cyc_wrapped = false;
	cyc_next = 0;
	serial = 0;
	bulk_left = BULK_STORES;
	whole_left = WHOLE_CHECKS;
	mn = 0;
	opno = 0;
	begin("mt_init_flags(%#x)", tree_flags());
	live = nodes_live();
	mt_init_flags(&T, tree_flags());
	for (; in_n && opno < MAX_OPS; opno++)
		ops[u8() % 32]();

	begin("end of input: full comparison, mtree_destroy");
	validate(&T);
	compare(&T, "at the end");
	mtree_destroy(&T);
	if (!mtree_empty(&T))
		die("the tree is not empty after mtree_destroy");
	want_int("nodes live after mtree_destroy", (long)nodes_live(),
		 (long)live);
	free(mr);
	mr = NULL;
	mn = mcap = 0;
	if (runs++ % BARRIER_EVERY == 0) {
		struct mt_cache_stats st;

		mt_rcu_barrier(NULL);
		mt_cache_stats(&st);
		want_int("nodes waiting for RCU after mt_rcu_barrier",
			 (long)st.nodes_rcu, 0);
	}
	return 0;
}

#ifndef MT_LIBFUZZER
/* ---- test_fuzz_replay --------------------------------------------------- */

#include "../harness.h"

static void run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	size_t n = 0, cap = 0, got;

	if (!f) {
		perror(path);
		exit(2);
	}
	do {
		if (n == cap) {
			cap = cap ? 2 * cap : 4096;
			buf = realloc(buf, cap);
			if (!buf)
				abort();
		}
		got = fread(buf + n, 1, cap - n, f);
		n += got;
	} while (got);
	fclose(f);
	LLVMFuzzerTestOneInput(buf, n);
	free(buf);
}

static int not_hidden(const struct dirent *d)
{
	return d->d_name[0] != '.';
}

int main(int argc, char **argv)
{
	const char *dir = getenv("MT_FUZZ_CORPUS");
	struct dirent **names;
	int n;

	if (argc > 1) {
		/* In-process: a failure aborts here, under the debugger. */
		for (int i = 1; i < argc; i++) {
			run_file(argv[i]);
			harness_passed++;
		}
		return harness_finish();
	}
	if (!dir)
		dir = MT_FUZZ_CORPUS;
	n = scandir(dir, &names, not_hidden, alphasort);
	if (n < 0) {
		perror(dir);
		n = 0;
	}
	/* One child per input: a crash fails that input, not the run. The
	 * parent never touches the library, so every child starts clean. */
	for (int i = 0; i < n; i++) {
		char path[4096];
		int status = 0;
		pid_t pid;

		snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name);
		fflush(NULL);
		pid = fork();
		if (pid < 0) {
			perror("fork");
			exit(2);
		}
		if (!pid) {
			run_file(path);
			exit(0);
		}
		waitpid(pid, &status, 0);
		if (WIFEXITED(status) && !WEXITSTATUS(status)) {
			harness_passed++;
		} else {
			harness_failed++;
			if (WIFSIGNALED(status))
				printf("test_fuzz_replay: %s: killed by signal %d\n",
				       path, WTERMSIG(status));
			else
				printf("test_fuzz_replay: %s: exit status %d\n",
				       path, WEXITSTATUS(status));
		}
		free(names[i]);
	}
	if (n > 0)
		free(names);
	printf("test_fuzz_replay: %d inputs from %s\n", n, dir);
	if (!n)
		harness_failed++;	/* a lost corpus must not pass quietly */
	return harness_finish();
}
#endif
