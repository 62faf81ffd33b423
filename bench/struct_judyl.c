/* SPDX-License-Identifier: MIT */
/*
 * Peer: JudyL. Two arrays keyed by each range's first index: one holds the
 * range's last index, the other its entry. A load finds the greatest first
 * <= index with JudyLLast, checks the last, then fetches the entry.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>

#include <Judy.h>

#include "bench.h"

struct jmap {
	Pvoid_t last;	/* first -> last */
	Pvoid_t ent;	/* first -> entry */
};

static PWord_t j_ins(Pvoid_t *array, Word_t index)
{
	PPvoid_t slot = JudyLIns(array, index, PJE0);

	if (slot == PPJERR || !slot)
		bench_fail("JudyLIns failed (out of memory?)");
	return (PWord_t)slot;
}

static void j_set(struct jmap *j, Word_t first, Word_t last, void *entry)
{
	*j_ins(&j->last, first) = last;
	*j_ins(&j->ent, first) = (Word_t)entry;
}

static void j_del(struct jmap *j, Word_t first)
{
	if (JudyLDel(&j->last, first, PJE0) != 1 ||
	    JudyLDel(&j->ent, first, PJE0) != 1)
		bench_fail("JudyLDel of %lu failed", (unsigned long)first);
}

static void *j_entry(struct jmap *j, Word_t first)
{
	PWord_t p = (PWord_t)JudyLGet(j->ent, first, PJE0);

	if (!p || p == (PWord_t)PPJERR)
		bench_fail("JudyL peer: entry array lost key %lu",
			   (unsigned long)first);
	return (void *)*p;
}

static void *j_create(void)
{
	struct jmap *j = calloc(1, sizeof(*j));

	if (!j)
		bench_fail("out of memory in the JudyL peer");
	return j;
}

static void j_destroy(void *s)
{
	struct jmap *j = s;

	JudyLFreeArray(&j->last, PJE0);
	JudyLFreeArray(&j->ent, PJE0);
	free(j);
}

static int j_insert_range(void *s, unsigned long first, unsigned long last,
			  void *entry)
{
	struct jmap *j = s;
	Word_t idx = last;
	PWord_t pl;

	if (first > last || !entry)
		return -EINVAL;
	pl = (PWord_t)JudyLLast(j->last, &idx, PJE0);
	if (pl && *pl >= first)
		return -EEXIST;
	j_set(j, first, last, entry);
	return 0;
}

static int j_store_range(void *s, unsigned long first, unsigned long last,
			 void *entry)
{
	struct jmap *j = s;
	Word_t idx = first;
	PWord_t pl;

	if (first > last)
		return -EINVAL;
	pl = (PWord_t)JudyLLast(j->last, &idx, PJE0);
	if (pl && idx < first && *pl >= first) {
		/* A range starting before us overlaps: trim, maybe split. */
		Word_t old_last = *pl;

		*pl = first - 1;	/* before any insert moves the slot */
		if (old_last > last)
			j_set(j, last + 1, old_last, j_entry(j, idx));
	}
	/* Every range starting inside [first, last]. */
	idx = first;
	pl = (PWord_t)JudyLFirst(j->last, &idx, PJE0);
	while (pl && idx <= last) {
		Word_t start = idx, end = *pl;

		if (end > last) {
			/* Keeps its tail, which now starts after us. */
			void *tail = j_entry(j, start);

			j_del(j, start);
			j_set(j, last + 1, end, tail);
			break;
		}
		/* A range at exactly @first is simply overwritten below. */
		if (start != first || !entry)
			j_del(j, start);
		pl = (PWord_t)JudyLNext(j->last, &idx, PJE0);
	}
	if (entry)
		j_set(j, first, last, entry);
	return 0;
}

static void *j_load(void *s, unsigned long index)
{
	struct jmap *j = s;
	Word_t idx = index;
	PWord_t pl = (PWord_t)JudyLLast(j->last, &idx, PJE0);

	if (!pl || *pl < index)
		return NULL;
	return (void *)*(PWord_t)JudyLGet(j->ent, idx, PJE0);
}

static void *j_erase(void *s, unsigned long index)
{
	struct jmap *j = s;
	Word_t idx = index;
	PWord_t pl = (PWord_t)JudyLLast(j->last, &idx, PJE0);
	void *entry;

	if (!pl || *pl < index)
		return NULL;
	entry = j_entry(j, idx);
	j_del(j, idx);
	return entry;
}

static void j_iterate(void *s, struct iter_sum *sum)
{
	struct jmap *j = s;
	Word_t il = 0, ie = 0;
	PWord_t pl = (PWord_t)JudyLFirst(j->last, &il, PJE0);
	PWord_t pe = (PWord_t)JudyLFirst(j->ent, &ie, PJE0);
	unsigned long count = 0, sum_value = 0, sum_last = 0;

	while (pl && pe) {
		count++;
		sum_last += *pl;
		sum_value += entry_val((void *)*pe);
		pl = (PWord_t)JudyLNext(j->last, &il, PJE0);
		pe = (PWord_t)JudyLNext(j->ent, &ie, PJE0);
	}
	if (pl || pe)
		bench_fail("JudyL peer: the two arrays differ in length");
	sum->count = count;
	sum->sum_value = sum_value;
	sum->sum_last = sum_last;
}

static void j_visit(void *s, visit_fn fn, void *arg)
{
	struct jmap *j = s;
	Word_t idx = 0;
	PWord_t pl = (PWord_t)JudyLFirst(j->last, &idx, PJE0);

	while (pl) {
		fn(arg, idx, *pl, j_entry(j, idx));
		pl = (PWord_t)JudyLNext(j->last, &idx, PJE0);
	}
}

static bool j_empty(void *s)
{
	struct jmap *j = s;

	return !j->last && !j->ent;
}

static void j_memory(void *s, size_t entries, struct mem_report *out)
{
	struct jmap *j = s;
	Word_t used = JudyLMemUsed(j->last) + JudyLMemUsed(j->ent);

	out->bytes_per_entry = (double)used / (double)entries;
	out->held_per_entry = -1;
	out->shrunk_per_entry = -1;
}

const struct bench_ops judyl_ops = {
	.name = "judyl",
	.writable = true,
	.rcu_readers = false,
	.create = j_create,
	.destroy = j_destroy,
	.insert_range = j_insert_range,
	.store_range = j_store_range,
	.load = j_load,
	.erase = j_erase,
	.iterate = j_iterate,
	.visit = j_visit,
	.empty = j_empty,
	.validate = NULL,
	.settle = NULL,
	.memory = j_memory,
};
