/* SPDX-License-Identifier: MIT */
/*
 * What the VA manager's suites share: driver hooks that count what the
 * library allocates and frees, mappings (plain, or tagged with a magic word
 * and an id), VA spaces made and torn down with their frees counted, and
 * one op applied as a driver does, with hooks for what a suite records on
 * the way.
 *
 * Nothing here counts as a check (CHECK/CHECK_EQ) except where a comment
 * says so, so that code running on other threads may use it.
 */
#ifndef MAPLETREE_GPUVM_TEST_H
#define MAPLETREE_GPUVM_TEST_H

#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <mapletree/gpuvm.h>

#include "harness.h"

/* ---- Hooks that count -------------------------------------------------- */

/* What the hooks below counted; a suite compares them at its end. */
struct gt_counts {
	atomic_long va_alloc, va_free;
	atomic_long va_bad_free;	/* tagged: bad magic word at free */
	atomic_long op_alloc, op_free;
	atomic_long vm_bo_alloc, vm_bo_free;
	atomic_long vm_free;
};

static struct gt_counts gt;

/* > 0: gt_hook_op_alloc() fails (returns NULL) on that call from now. */
static long gt_op_alloc_fail_in;

/* vm_free for a space from gt_vm_new(): counted and freed. */
static inline void gt_hook_vm_free(struct gpuvm *vm)
{
	atomic_fetch_add(&gt.vm_free, 1);
	free(vm);
}

/* vm_free for a space the suite embeds (a static): counted only. */
static inline void gt_hook_vm_free_count(struct gpuvm *vm)
{
	(void)vm;
	atomic_fetch_add(&gt.vm_free, 1);
}

static inline struct gpuva_op *gt_hook_op_alloc(void)
{
	struct gpuva_op *op;

	if (gt_op_alloc_fail_in > 0 && --gt_op_alloc_fail_in == 0)
		return NULL;
	op = calloc(1, sizeof(*op));
	if (op)
		atomic_fetch_add(&gt.op_alloc, 1);
	return op;
}

static inline void gt_hook_op_free(struct gpuva_op *op)
{
	if (op)
		atomic_fetch_add(&gt.op_free, 1);
	free(op);
}

static inline struct gpuvm_bo *gt_hook_vm_bo_alloc(void)
{
	struct gpuvm_bo *vm_bo = calloc(1, sizeof(*vm_bo));

	if (vm_bo)
		atomic_fetch_add(&gt.vm_bo_alloc, 1);
	return vm_bo;
}

static inline void gt_hook_vm_bo_free(struct gpuvm_bo *vm_bo)
{
	atomic_fetch_add(&gt.vm_bo_free, 1);
	free(vm_bo);
}

/* ---- Plain mappings (struct gpuva alone) ------------------------------- */

/* va_free for mappings from gt_va_new(). */
static inline void gt_hook_va_free(struct gpuva *va)
{
	atomic_fetch_add(&gt.va_free, 1);
	free(va);
}

static inline struct gpuva *gt_va_new(void)
{
	struct gpuva *va = calloc(1, sizeof(*va));

	if (!va)
		abort();
	atomic_fetch_add(&gt.va_alloc, 1);
	return va;
}

/* A mapping that never went into a tree (NULL is fine). */
static inline void gt_va_discard(struct gpuva *va)
{
	if (va)
		gt_hook_va_free(va);
}

/* ---- Tagged mappings: a magic word, an id, the gpuva embedded ---------- */

#define GT_TVA_MAGIC	0x6770757661ul
#define GT_TVA_DEAD	0xdead0000dead0000ul

/*
 * A mapping embedded in a driver struct. The magic word is set when it is
 * made and poisoned when it is freed, so a double free, a free of something
 * else or a read after the free shows. A suite that needs more fields
 * embeds this first in its own struct and allocates with gt_tva_alloc().
 */
struct gt_tva {
	unsigned long magic;
	struct gpuva va;
	uint64_t id;
};

static inline struct gt_tva *gt_to_tva(const struct gpuva *va)
{
	return (struct gt_tva *)((char *)va - offsetof(struct gt_tva, va));
}

/* A zeroed struct of @size bytes starting with a struct gt_tva. */
static inline struct gt_tva *gt_tva_alloc(size_t size, uint64_t id)
{
	struct gt_tva *t = calloc(1, size);

	if (!t) {
		fprintf(stderr, "out of memory\n");
		exit(2);
	}
	t->magic = GT_TVA_MAGIC;
	t->id = id;
	atomic_fetch_add(&gt.va_alloc, 1);
	return t;
}

static inline struct gt_tva *gt_tva_new(uint64_t id)
{
	return gt_tva_alloc(sizeof(struct gt_tva), id);
}

/* A tagged mapping that never made it into the VA space (NULL is fine). */
static inline void gt_tva_discard(struct gt_tva *t)
{
	if (!t)
		return;
	t->magic = GT_TVA_DEAD;
	free(t);
	atomic_fetch_add(&gt.va_free, 1);
}

/* va_free for tagged mappings: counts a bad magic word, poisons, frees. */
static inline void gt_hook_tva_free(struct gpuva *va)
{
	struct gt_tva *t = gt_to_tva(va);

	if (t->magic != GT_TVA_MAGIC)
		atomic_fetch_add(&gt.va_bad_free, 1);
	t->magic = GT_TVA_DEAD;
	free(t);
	atomic_fetch_add(&gt.va_free, 1);
}

/* ---- Waiting and leaks ------------------------------------------------- */

/* Waits for the RCU callbacks queued so far (gpuva_free_rcu() among them). */
static inline void gt_rcu_wait_frees(void)
{
	mt_rcu_flavor()->barrier();
}

/* Tree nodes in use now. */
static inline size_t gt_nodes_live(void)
{
	struct mt_cache_stats st;

	mt_cache_stats(&st);
	return st.nodes_live;
}

/* Tree nodes in use once every retired node is back in the cache. */
static inline size_t gt_nodes_live_settled(void)
{
	mt_rcu_barrier(NULL);
	return gt_nodes_live();
}

/* ---- VA spaces --------------------------------------------------------- */

/* A space on the heap (@ops->vm_free should be gt_hook_vm_free); aborts
 * if gpuvm_init() fails. One check. */
static inline struct gpuvm *gt_vm_new(const char *name, unsigned int flags,
				      uint64_t start, uint64_t range,
				      uint64_t rs, uint64_t rr,
				      const struct gpuvm_ops *ops)
{
	struct gpuvm *vm = calloc(1, sizeof(*vm));
	int ret;

	if (!vm)
		abort();
	ret = gpuvm_init(vm, name, flags, start, range, rs, rr, ops);
	CHECK_EQ(ret, 0);
	if (ret)
		abort();
	return vm;
}

/* Drops the caller's (last) reference: vm_free must run exactly once. One
 * check. */
static inline void gt_vm_put_last(struct gpuvm *vm)
{
	long before = atomic_load(&gt.vm_free);

	gpuvm_put(vm);
	gt_rcu_wait_frees();
	CHECK_EQ(atomic_load(&gt.vm_free), before + 1);
}

/* ---- Mappings ---------------------------------------------------------- */

/* Inserts a plain mapping, not linked (VM lock). One check. */
static inline struct gpuva *gt_insert(struct gpuvm *vm, uint64_t addr,
				      uint64_t range,
				      struct gpuvm_bo_handle *bo, uint64_t off)
{
	struct gpuva *va = gt_va_new();
	int ret;

	gpuva_init(va, addr, range, bo, off);
	ret = gpuva_insert(vm, va);
	CHECK_EQ(ret, 0);
	if (ret) {
		fprintf(stderr, "  insert [%#llx, +%#llx) failed: %d\n",
			(unsigned long long)addr, (unsigned long long)range,
			ret);
		gt_va_discard(va);
		return NULL;
	}
	return va;
}

/* Removes, unlinks and frees a mapping, as a driver does (VM lock). */
static inline void gt_del(struct gpuva *va)
{
	gpuva_remove(va);
	gpuva_unlink(va);
	gpuva_free_rcu(va);
}

/* ---- Applying ops, as a driver does ------------------------------------ */

/*
 * How gt_apply_op() makes and drops mappings, and what it tells the suite.
 * NULL as a whole: plain mappings (gt_va_new(), gt_va_discard()).
 */
struct gt_driver {
	/* A new mapping for @m (a MAP, or a piece a REMAP keeps); not NULL. */
	struct gpuva *(*va_alloc)(const struct gpuva_op_map *m, void *priv);
	/* A mapping from va_alloc that never went into the tree. */
	void (*va_discard)(struct gpuva *va, void *priv);
	/* Optional: a MAP inserted @va, which is not linked yet; @vm_bo is
	 * the pair it is about to be linked to (NULL: none). */
	void (*mapped)(struct gpuva *va, const struct gpuva_op_map *m,
		       struct gpuvm_bo *vm_bo, void *priv);
	/* Optional: @va left the tree and its vm_bo; it is freed next. */
	void (*removed)(struct gpuva *va, void *priv);
	/* Optional: the step @what failed with @err (then returned). */
	void (*failed)(const char *what, int err, void *priv);
};

static inline struct gpuva *gt_drv_alloc(const struct gt_driver *d,
					 const struct gpuva_op_map *m,
					 void *priv)
{
	return d ? d->va_alloc(m, priv) : gt_va_new();
}

static inline void gt_drv_discard(const struct gt_driver *d,
				  struct gpuva *va, void *priv)
{
	if (!va)
		return;
	if (d)
		d->va_discard(va, priv);
	else
		gt_va_discard(va);
}

static inline int gt_drv_fail(const struct gt_driver *d, const char *what,
			      int err, void *priv)
{
	if (d && d->failed)
		d->failed(what, err, priv);
	return err;
}

static inline void gt_drv_free_removed(const struct gt_driver *d,
				       struct gpuva *va, void *priv)
{
	if (d && d->removed)
		d->removed(va, priv);
	gpuva_free_rcu(va);
}

/*
 * Applies @op to @vm under its lock: MAP makes a mapping, obtains the BO's
 * vm_bo first (so that a failure leaves nothing behind), inserts and links
 * it; REMAP makes the kept pieces, swaps them in, links them to the old
 * mapping's vm_bo and frees the old one; UNMAP removes, unlinks and frees.
 * Returns 0 or the first error (the op then changed nothing); no checks.
 */
static inline int gt_apply_op(struct gpuvm *vm, struct gpuva_op *op,
			      const struct gt_driver *d, void *priv)
{
	int ret;

	switch (op->op) {
	case GPUVA_OP_MAP: {
		struct gpuva *va = gt_drv_alloc(d, &op->map, priv);
		struct gpuvm_bo *vm_bo = NULL;

		if (op->map.bo) {
			ret = gpuvm_bo_obtain(vm, op->map.bo, &vm_bo);
			if (ret) {
				gt_drv_discard(d, va, priv);
				return gt_drv_fail(d, "gpuvm_bo_obtain", ret,
						   priv);
			}
		}
		ret = gpuva_map(vm, va, &op->map);
		if (ret) {
			if (vm_bo)
				gpuvm_bo_put(vm_bo);
			gt_drv_discard(d, va, priv);
			return gt_drv_fail(d, "gpuva_map", ret, priv);
		}
		if (d && d->mapped)
			d->mapped(va, &op->map, vm_bo, priv);
		if (vm_bo) {
			gpuva_link(va, vm_bo);	/* holds its own reference */
			gpuvm_bo_put(vm_bo);
		}
		return 0;
	}
	case GPUVA_OP_REMAP: {
		struct gpuva *old = op->remap.unmap->va;
		struct gpuva *prev = op->remap.prev ?
			gt_drv_alloc(d, op->remap.prev, priv) : NULL;
		struct gpuva *next = op->remap.next ?
			gt_drv_alloc(d, op->remap.next, priv) : NULL;

		ret = gpuva_remap(prev, next, &op->remap);
		if (ret) {
			gt_drv_discard(d, prev, priv);
			gt_drv_discard(d, next, priv);
			return gt_drv_fail(d, "gpuva_remap", ret, priv);
		}
		if (old->vm_bo) {
			if (prev)
				gpuva_link(prev, old->vm_bo);
			if (next)
				gpuva_link(next, old->vm_bo);
		}
		gpuva_unlink(old);
		gt_drv_free_removed(d, old, priv);
		return 0;
	}
	case GPUVA_OP_UNMAP: {
		struct gpuva *va = op->unmap.va;

		gpuva_unmap(&op->unmap);
		gpuva_unlink(va);
		gt_drv_free_removed(d, va, priv);
		return 0;
	}
	default:
		return gt_drv_fail(d, "an unknown op", -EPROTO, priv);
	}
}

/* ---- Settings ---------------------------------------------------------- */

/* The environment variable @name as a number, or @def if unset or empty. */
static inline long gt_env_long(const char *name, long def)
{
	const char *s = getenv(name);

	return s && *s ? strtol(s, NULL, 0) : def;
}

#endif
