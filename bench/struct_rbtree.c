/* SPDX-License-Identifier: MIT */
/*
 * Peer: a red-black tree of ranges keyed by their first index, built with
 * libbsd's <bsd/sys/tree.h> macros. One malloc'd node per range.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <malloc.h>
#include <stddef.h>
#include <stdlib.h>

#include <bsd/sys/tree.h>

#include "bench.h"

struct rnode {
	RB_ENTRY(rnode) link;
	unsigned long first;
	unsigned long last;
	void *entry;
};

RB_HEAD(rtree, rnode);

static int rnode_cmp(struct rnode *a, struct rnode *b)
{
	if (a->first < b->first)
		return -1;
	return a->first > b->first;
}

/* libbsd leaves __unused undefined, so spell the static attribute out. */
RB_GENERATE_INTERNAL(rtree, rnode, link, rnode_cmp,
		     __attribute__((__unused__)) static)

struct rbmap {
	struct rtree head;
	size_t count;
};

static struct rnode *rnode_new(unsigned long first, unsigned long last,
			       void *entry)
{
	struct rnode *n = malloc(sizeof(*n));

	if (!n)
		bench_fail("out of memory in the rbtree peer");
	n->first = first;
	n->last = last;
	n->entry = entry;
	return n;
}

/* The node with the greatest first <= index, or NULL. */
static struct rnode *rb_floor(struct rbmap *m, unsigned long index)
{
	struct rnode *n = RB_ROOT(&m->head), *best = NULL;

	while (n) {
		if (n->first <= index) {
			best = n;
			n = RB_RIGHT(n, link);
		} else {
			n = RB_LEFT(n, link);
		}
	}
	return best;
}

static void *rb_create(void)
{
	struct rbmap *m = malloc(sizeof(*m));

	if (!m)
		bench_fail("out of memory in the rbtree peer");
	RB_INIT(&m->head);
	m->count = 0;
	return m;
}

static void rb_free_subtree(struct rnode *n)
{
	while (n) {
		struct rnode *right = RB_RIGHT(n, link);

		rb_free_subtree(RB_LEFT(n, link));
		free(n);
		n = right;
	}
}

static void rb_destroy(void *s)
{
	struct rbmap *m = s;

	rb_free_subtree(RB_ROOT(&m->head));
	free(m);
}

static int rb_insert_range(void *s, unsigned long first, unsigned long last,
			   void *entry)
{
	struct rbmap *m = s;
	struct rnode *p;

	if (first > last || !entry)
		return -EINVAL;
	/* Only the range starting last at or before @last can overlap. */
	p = rb_floor(m, last);
	if (p && p->last >= first)
		return -EEXIST;
	RB_INSERT(rtree, &m->head, rnode_new(first, last, entry));
	m->count++;
	return 0;
}

static int rb_store_range(void *s, unsigned long first, unsigned long last,
			  void *entry)
{
	struct rbmap *m = s;
	struct rnode *p, *n, *next, *reuse = NULL;

	if (first > last)
		return -EINVAL;
	p = rb_floor(m, first);
	if (p && p->first < first) {
		/* A range that starts before us: trim it, maybe split it. */
		if (p->last >= first) {
			if (p->last > last) {
				RB_INSERT(rtree, &m->head,
					  rnode_new(last + 1, p->last,
						    p->entry));
				m->count++;
			}
			p->last = first - 1;
		}
		n = RB_NEXT(rtree, &m->head, p);
	} else {
		n = p ? p : RB_MIN(rtree, &m->head);
	}
	/* Every range starting inside [first, last]. */
	while (n && n->first <= last) {
		next = RB_NEXT(rtree, &m->head, n);
		if (n->last > last) {
			/* Keeps its tail: moving its key keeps the order. */
			n->first = last + 1;
			break;
		}
		if (!reuse && n->first == first && entry) {
			reuse = n;	/* same key: becomes the new range */
		} else {
			RB_REMOVE(rtree, &m->head, n);
			free(n);
			m->count--;
		}
		n = next;
	}
	if (reuse) {
		reuse->last = last;
		reuse->entry = entry;
	} else if (entry) {
		RB_INSERT(rtree, &m->head, rnode_new(first, last, entry));
		m->count++;
	}
	return 0;
}

static void *rb_load(void *s, unsigned long index)
{
	struct rnode *p = rb_floor(s, index);

	return p && p->last >= index ? p->entry : NULL;
}

static void *rb_erase(void *s, unsigned long index)
{
	struct rbmap *m = s;
	struct rnode *p = rb_floor(m, index);
	void *entry;

	if (!p || p->last < index)
		return NULL;
	entry = p->entry;
	RB_REMOVE(rtree, &m->head, p);
	free(p);
	m->count--;
	return entry;
}

static void rb_iterate(void *s, struct iter_sum *sum)
{
	struct rbmap *m = s;
	struct rnode *n;
	unsigned long count = 0, sum_value = 0, sum_last = 0;

	RB_FOREACH(n, rtree, &m->head) {
		count++;
		sum_value += entry_val(n->entry);
		sum_last += n->last;
	}
	sum->count = count;
	sum->sum_value = sum_value;
	sum->sum_last = sum_last;
}

static void rb_visit(void *s, visit_fn fn, void *arg)
{
	struct rbmap *m = s;
	struct rnode *n;

	RB_FOREACH(n, rtree, &m->head)
		fn(arg, n->first, n->last, n->entry);
}

static bool rb_empty(void *s)
{
	struct rbmap *m = s;

	return RB_EMPTY(&m->head) && m->count == 0;
}

static void rb_memory(void *s, size_t entries, struct mem_report *out)
{
	struct rbmap *m = s;
	struct rnode *n = RB_ROOT(&m->head);
	size_t per_node;

	if (!n) {
		out->bytes_per_entry = 0;
		out->held_per_entry = -1;
	out->shrunk_per_entry = -1;
		return;
	}
	/* What malloc really hands out per node, plus its chunk header. */
	per_node = malloc_usable_size(n) + 8;
	out->bytes_per_entry = (double)(per_node * m->count) / (double)entries;
	out->held_per_entry = -1;
	out->shrunk_per_entry = -1;
}

const struct bench_ops rbtree_ops = {
	.name = "rbtree",
	.writable = true,
	.rcu_readers = false,
	.create = rb_create,
	.destroy = rb_destroy,
	.insert_range = rb_insert_range,
	.store_range = rb_store_range,
	.load = rb_load,
	.erase = rb_erase,
	.iterate = rb_iterate,
	.visit = rb_visit,
	.empty = rb_empty,
	.validate = NULL,
	.settle = NULL,
	.memory = rb_memory,
};
