/* SPDX-License-Identifier: MIT */
/*
 * Peer for loads only: ranges kept in three parallel sorted arrays (first,
 * last, entry) and found by a branch-free binary search over the firsts.
 * It is built once by appending ranges in increasing order; the write
 * workloads skip it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>

#include "bench.h"

struct sarray {
	unsigned long *first;
	unsigned long *last;
	void **entry;
	size_t count;
	size_t cap;
};

static void *sa_create(void)
{
	struct sarray *a = calloc(1, sizeof(*a));

	if (!a)
		bench_fail("out of memory in the sorted-array peer");
	return a;
}

static void sa_destroy(void *s)
{
	struct sarray *a = s;

	free(a->first);
	free(a->last);
	free(a->entry);
	free(a);
}

static void *sa_grow(void *p, size_t elems, size_t size)
{
	p = realloc(p, elems * size);
	if (!p)
		bench_fail("out of memory in the sorted-array peer");
	return p;
}

/* Appends only: ranges must come in increasing order. */
static int sa_insert_range(void *s, unsigned long first, unsigned long last,
			   void *entry)
{
	struct sarray *a = s;

	if (first > last || !entry)
		return -EINVAL;
	if (a->count && a->last[a->count - 1] >= first)
		bench_fail("sorted-array peer: ranges must be appended in order");
	if (a->count == a->cap) {
		a->cap = a->cap ? a->cap * 2 : 1024;
		a->first = sa_grow(a->first, a->cap, sizeof(*a->first));
		a->last = sa_grow(a->last, a->cap, sizeof(*a->last));
		a->entry = sa_grow(a->entry, a->cap, sizeof(*a->entry));
	}
	a->first[a->count] = first;
	a->last[a->count] = last;
	a->entry[a->count] = entry;
	a->count++;
	return 0;
}

static void *sa_load(void *s, unsigned long index)
{
	const struct sarray *a = s;
	const unsigned long *base = a->first;
	size_t len = a->count, i;

	if (!len || base[0] > index)
		return NULL;
	/* Invariant: base[0] <= index; the answer lies in [base, base+len). */
	while (len > 1) {
		size_t half = len / 2;

		base = base[half] <= index ? base + half : base;
		len -= half;
	}
	i = (size_t)(base - a->first);
	return a->last[i] >= index ? a->entry[i] : NULL;
}

static void sa_visit(void *s, visit_fn fn, void *arg)
{
	const struct sarray *a = s;

	for (size_t i = 0; i < a->count; i++)
		fn(arg, a->first[i], a->last[i], a->entry[i]);
}

static bool sa_empty(void *s)
{
	const struct sarray *a = s;

	return a->count == 0;
}

static void sa_memory(void *s, size_t entries, struct mem_report *out)
{
	const struct sarray *a = s;
	size_t per = sizeof(*a->first) + sizeof(*a->last) + sizeof(*a->entry);

	out->bytes_per_entry = (double)(a->cap * per) / (double)entries;
	out->held_per_entry = -1;
	out->shrunk_per_entry = -1;
}

const struct bench_ops sortedarray_ops = {
	.name = "sortedarray",
	.writable = false,
	.rcu_readers = false,
	.create = sa_create,
	.destroy = sa_destroy,
	.insert_range = sa_insert_range,
	.store_range = NULL,
	.load = sa_load,
	.erase = NULL,
	.iterate = NULL,
	.visit = sa_visit,
	.empty = sa_empty,
	.validate = NULL,
	.settle = NULL,
	.memory = sa_memory,
};
