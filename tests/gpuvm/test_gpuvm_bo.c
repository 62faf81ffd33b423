// SPDX-License-Identifier: MIT
/*
 * VM-BO pairs, VA spaces and choosing addresses in <mapletree/gpuvm.h>:
 *
 *  - gpuvm_bo_obtain/find/get/put reference counts, gpuvm_bo_create with
 *    gpuvm_bo_obtain_prealloc (both paths), gpuva_link/unlink and the BO's
 *    mapping list, external objects, eviction (one and several spaces),
 *    gpuvm_validate, gpuvm_bo_handle_fini;
 *  - VA space reference counts, teardown with leftover mappings,
 *    gpuvm_init validation, the VM lock;
 *  - gpuvm_va_find_free/gpuvm_va_alloc against a brute-force reference on
 *    small random spaces (seeded), on spaces with and without
 *    GPUVM_NO_VA_ALLOCATOR, plus 64-bit edge cases.
 *
 * Set GPUVM_BO_ITERS to scale the random part (default 120 spaces).
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <urcu/urcu-memb.h>

#include "gpuvm_test.h"

/* ---- Hooks (gpuvm_test.h counts the common ones) ------------------------ */

static atomic_long n_leftover;
static struct gpuvm *leftover_vm_seen;
static struct gpuva *leftover_seen[16];

static void hook_va_leftover(struct gpuvm *vm, struct gpuva *va)
{
	long i = atomic_fetch_add(&n_leftover, 1);

	leftover_vm_seen = vm;
	if (i < 16)
		leftover_seen[i] = va;
}

/* gpuvm_validate(): fails on call number fail_at (from 0). */
struct validate_ctx {
	int calls;
	int fail_at, fail_err;
	struct gpuvm_bo *called[16];
	bool evicted_when_called[16];
	struct gpuvm_bo *evict_other;	/* evicted from inside the callback */
	void *priv_seen;
};

static int hook_validate(struct gpuvm_bo *vm_bo, void *priv)
{
	struct validate_ctx *c = priv;
	int i = c->calls++;

	c->priv_seen = priv;
	if (i < 16) {
		c->called[i] = vm_bo;
		c->evicted_when_called[i] = vm_bo->evicted;
	}
	if (c->evict_other) {
		gpuvm_bo_evict(c->evict_other, true);
		c->evict_other = NULL;
	}
	if (i == c->fail_at)
		return c->fail_err;
	return 0;
}

static const struct gpuvm_ops full_ops = {
	.vm_free = gt_hook_vm_free,
	.va_free = gt_hook_va_free,
	.vm_bo_alloc = gt_hook_vm_bo_alloc,
	.vm_bo_free = gt_hook_vm_bo_free,
	.vm_bo_validate = hook_validate,
	.va_leftover = hook_va_leftover,
};

/* No validate and no leftover callback. */
static const struct gpuvm_ops bare_ops = {
	.vm_free = gt_hook_vm_free,
	.va_free = gt_hook_va_free,
	.vm_bo_alloc = gt_hook_vm_bo_alloc,
	.vm_bo_free = gt_hook_vm_bo_free,
};

static struct gpuvm *vm_new(const struct gpuvm_ops *ops)
{
	return gt_vm_new("bo", 0, 0, 1ull << 40, 0, 0, ops);
}

static int count_obj_vm_bos(struct gpuvm_bo_handle *obj)
{
	struct gpuvm_bo *vm_bo;
	int n = 0;

	pthread_mutex_lock(&obj->lock);
	cds_list_for_each_entry(vm_bo, &obj->vm_bos, obj_entry)
		n++;
	pthread_mutex_unlock(&obj->lock);
	return n;
}

/* Collects the vm_bos an iteration visits. */
struct collect {
	int n;
	struct gpuvm_bo *v[32];
	int stop_after;		/* return 7 after this many calls (0: never) */
};

static int collect_fn(struct gpuvm_bo *vm_bo, void *priv)
{
	struct collect *c = priv;

	if (c->n < 32)
		c->v[c->n] = vm_bo;
	c->n++;
	if (c->stop_after && c->n == c->stop_after)
		return 7;
	return 0;
}

static bool collected(const struct collect *c, const struct gpuvm_bo *vm_bo)
{
	int k = 0;

	for (int i = 0; i < c->n && i < 32; i++)
		k += c->v[i] == vm_bo;
	return k == 1;
}

static struct collect extobjs(struct gpuvm *vm)
{
	struct collect c = { 0 };

	CHECK_EQ(gpuvm_extobj_for_each(vm, collect_fn, &c), 0);
	return c;
}

static struct collect evicted(struct gpuvm *vm)
{
	struct collect c = { 0 };

	CHECK_EQ(gpuvm_evicted_for_each(vm, collect_fn, &c), 0);
	return c;
}

/* ---- Reference counts ------------------------------------------------------ */

static void test_refcounts(void)
{
	struct gpuvm *vm = vm_new(&full_ops), *vm2 = vm_new(&full_ops);
	struct gpuvm_bo_handle obj;
	struct gpuvm_bo *b1 = NULL, *b2 = NULL, *c1 = NULL;
	long a0 = atomic_load(&gt.vm_bo_alloc), f0 = atomic_load(&gt.vm_bo_free);

	gpuvm_bo_handle_init(&obj, 0x10000, NULL);
	CHECK_EQ(obj.size, 0x10000);
	CHECK(obj.private_vm == NULL);
	CHECK_EQ(vm->refcount, 1);
	CHECK(gpuvm_bo_find(vm, &obj) == NULL);
	CHECK_EQ(count_obj_vm_bos(&obj), 0);

	CHECK_EQ(gpuvm_bo_obtain(vm, &obj, &b1), 0);
	CHECK(b1 != NULL);
	if (!b1)
		return;
	CHECK_EQ(atomic_load(&gt.vm_bo_alloc), a0 + 1);
	CHECK(b1->vm == vm && b1->obj == &obj);
	CHECK_EQ(b1->refcount, 1);
	CHECK(!b1->evicted);
	CHECK(cds_list_empty(&b1->gpuvas));
	CHECK_EQ(vm->refcount, 2);
	CHECK_EQ(count_obj_vm_bos(&obj), 1);

	/* Obtaining again: the same pair, one more reference. */
	CHECK_EQ(gpuvm_bo_obtain(vm, &obj, &b2), 0);
	CHECK(b2 == b1);
	CHECK_EQ(b1->refcount, 2);
	CHECK_EQ(atomic_load(&gt.vm_bo_alloc), a0 + 1);
	CHECK_EQ(vm->refcount, 2);
	CHECK(gpuvm_bo_find(vm, &obj) == b1);
	CHECK_EQ(b1->refcount, 3);
	CHECK(gpuvm_bo_get(b1) == b1);
	CHECK_EQ(b1->refcount, 4);

	/* Another space: another pair. */
	CHECK_EQ(gpuvm_bo_obtain(vm2, &obj, &c1), 0);
	CHECK(c1 != NULL && c1 != b1 && c1->vm == vm2);
	CHECK_EQ(count_obj_vm_bos(&obj), 2);
	CHECK(gpuvm_bo_find(vm2, &obj) == c1);
	CHECK(!gpuvm_bo_put(c1));

	CHECK(!gpuvm_bo_put(b1));
	CHECK(!gpuvm_bo_put(b1));
	CHECK(!gpuvm_bo_put(b1));
	CHECK_EQ(b1->refcount, 1);
	gt_rcu_wait_frees();
	CHECK_EQ(atomic_load(&gt.vm_bo_free), f0);
	CHECK(gpuvm_bo_put(b1));
	/* Off the BO's list at once, freed after a grace period. */
	CHECK(gpuvm_bo_find(vm, &obj) == NULL);
	CHECK_EQ(count_obj_vm_bos(&obj), 1);
	CHECK_EQ(gpuvm_bo_handle_fini(&obj), -EBUSY);
	gt_rcu_wait_frees();
	CHECK_EQ(atomic_load(&gt.vm_bo_free), f0 + 1);
	CHECK_EQ(vm->refcount, 1);
	CHECK(gpuvm_bo_find(vm2, &obj) == c1);
	CHECK_EQ(c1->refcount, 2);
	CHECK(!gpuvm_bo_put(c1));
	CHECK_EQ(c1->refcount, 1);

	/* Obtaining after the free makes a new pair. */
	CHECK_EQ(gpuvm_bo_obtain(vm, &obj, &b2), 0);
	CHECK_EQ(atomic_load(&gt.vm_bo_alloc), a0 + 3);
	CHECK_EQ(b2->refcount, 1);
	CHECK(gpuvm_bo_put(b2));

	CHECK(gpuvm_bo_put(c1));
	CHECK_EQ(count_obj_vm_bos(&obj), 0);
	CHECK_EQ(gpuvm_bo_handle_fini(&obj), 0);
	gt_rcu_wait_frees();
	CHECK_EQ(atomic_load(&gt.vm_bo_alloc) - a0,
		 atomic_load(&gt.vm_bo_free) - f0);
	CHECK_EQ(vm->refcount, 1);
	CHECK_EQ(vm2->refcount, 1);
	gt_vm_put_last(vm);
	gt_vm_put_last(vm2);
}

static void test_prealloc(void)
{
	struct gpuvm *vm = vm_new(&full_ops), *other = vm_new(&full_ops);
	struct gpuvm_bo_handle obj, priv_other, priv_own;
	struct gpuvm_bo *p, *r, *b = NULL;
	long a0 = atomic_load(&gt.vm_bo_alloc), f0 = atomic_load(&gt.vm_bo_free);
	struct collect c;

	gpuvm_bo_handle_init(&obj, 0, NULL);
	gpuvm_bo_handle_init(&priv_other, 0, other);
	gpuvm_bo_handle_init(&priv_own, 0, vm);

	/* Installs: the pair did not exist. */
	p = gpuvm_bo_create(vm, &obj);
	CHECK(p != NULL);
	if (!p)
		return;
	CHECK_EQ(atomic_load(&gt.vm_bo_alloc), a0 + 1);
	CHECK(p->vm == vm && p->obj == &obj);
	CHECK_EQ(p->refcount, 1);
	CHECK(gpuvm_bo_find(vm, &obj) == NULL);	/* not known yet */
	CHECK_EQ(count_obj_vm_bos(&obj), 0);
	CHECK_EQ(extobjs(vm).n, 0);
	r = gpuvm_bo_obtain_prealloc(p);
	CHECK(r == p);
	CHECK_EQ(p->refcount, 1);
	CHECK(gpuvm_bo_find(vm, &obj) == p);
	CHECK_EQ(p->refcount, 2);
	CHECK(!gpuvm_bo_put(p));
	CHECK_EQ(count_obj_vm_bos(&obj), 1);
	c = extobjs(vm);
	CHECK(c.n == 1 && collected(&c, p));
	CHECK_EQ(vm->refcount, 2);

	/* Already exists: the existing pair, the prealloc freed. */
	b = gpuvm_bo_create(vm, &obj);
	CHECK(b != NULL && b != p);
	CHECK_EQ(atomic_load(&gt.vm_bo_alloc), a0 + 2);
	r = gpuvm_bo_obtain_prealloc(b);
	CHECK(r == p);
	CHECK_EQ(p->refcount, 2);
	gt_rcu_wait_frees();
	CHECK_EQ(atomic_load(&gt.vm_bo_free), f0 + 1);
	CHECK_EQ(count_obj_vm_bos(&obj), 1);
	CHECK_EQ(extobjs(vm).n, 1);
	CHECK_EQ(vm->refcount, 2);
	CHECK(!gpuvm_bo_put(p));
	CHECK(gpuvm_bo_put(p));
	CHECK_EQ(extobjs(vm).n, 0);
	gt_rcu_wait_frees();
	CHECK_EQ(atomic_load(&gt.vm_bo_free), f0 + 2);
	CHECK_EQ(vm->refcount, 1);

	/* Private BOs: another space's is refused, its own is no extobj. */
	CHECK(gpuvm_bo_create(vm, &priv_other) == NULL);
	CHECK_EQ(gpuvm_bo_obtain(vm, &priv_other, &b), -EINVAL);
	p = gpuvm_bo_create(vm, &priv_own);
	CHECK(p != NULL);
	if (p) {
		r = gpuvm_bo_obtain_prealloc(p);
		CHECK(r == p);
		CHECK_EQ(extobjs(vm).n, 0);
		CHECK(gpuvm_bo_find(vm, &priv_own) == p);
		CHECK(!gpuvm_bo_put(p));
		CHECK(gpuvm_bo_put(p));
	}
	CHECK_EQ(vm->refcount, 1);
	gt_rcu_wait_frees();
	CHECK_EQ(atomic_load(&gt.vm_bo_alloc) - a0,
		 atomic_load(&gt.vm_bo_free) - f0);
	CHECK_EQ(gpuvm_bo_handle_fini(&obj), 0);
	CHECK_EQ(gpuvm_bo_handle_fini(&priv_other), 0);
	CHECK_EQ(gpuvm_bo_handle_fini(&priv_own), 0);
	gt_vm_put_last(vm);
	gt_vm_put_last(other);
}

/* ---- Links ------------------------------------------------------------------ */

static void test_links(void)
{
	struct gpuvm *vm = vm_new(&full_ops);
	struct gpuvm_bo_handle obj, obj2;
	struct gpuvm_bo *vb = NULL, *vb2 = NULL;
	struct gpuva *v1, *v2, *v3, *w, *va;
	int n, s1, s2;

	gpuvm_bo_handle_init(&obj, 0x100000, NULL);
	gpuvm_bo_handle_init(&obj2, 0, NULL);
	gpuvm_lock(vm);
	v1 = gt_insert(vm, 0x1000, 0x1000, &obj, 0);
	v2 = gt_insert(vm, 0x3000, 0x2000, &obj, 0x1000);
	v3 = gt_insert(vm, 0x8000, 0x1000, NULL, 0);
	w = gt_insert(vm, 0x9000, 0x1000, &obj2, 0);
	CHECK(v1 && v2 && v3 && w);
	if (!v1 || !v2 || !v3 || !w)
		return;
	CHECK(v1->vm_bo == NULL);

	CHECK_EQ(gpuvm_bo_obtain(vm, &obj, &vb), 0);
	CHECK_EQ(gpuvm_bo_obtain(vm, &obj2, &vb2), 0);
	gpuva_link(v1, vb);
	gpuva_link(v2, vb);
	gpuva_link(w, vb2);
	CHECK(v1->vm_bo == vb && v2->vm_bo == vb && w->vm_bo == vb2);
	CHECK_EQ(vb->refcount, 3);
	CHECK_EQ(vb2->refcount, 2);
	n = s1 = s2 = 0;
	gpuvm_bo_for_each_va(va, vb) {
		n++;
		s1 += va == v1;
		s2 += va == v2;
	}
	CHECK(n == 2 && s1 == 1 && s2 == 1);
	n = 0;
	gpuvm_bo_for_each_va(va, vb2)
		n += va == w ? 1 : 100;
	CHECK_EQ(n, 1);

	/* The links hold the pair: our references can go. */
	CHECK(!gpuvm_bo_put(vb));
	CHECK(!gpuvm_bo_put(vb2));
	CHECK(gpuvm_bo_find(vm, &obj) == vb);
	CHECK_EQ(vb->refcount, 3);
	CHECK(!gpuvm_bo_put(vb));

	gpuva_unlink(v1);
	CHECK(v1->vm_bo == NULL);
	CHECK_EQ(vb->refcount, 1);
	n = 0;
	gpuvm_bo_for_each_va(va, vb)
		n += va == v2 ? 1 : 100;
	CHECK_EQ(n, 1);
	gpuva_unlink(v1);	/* no-op */
	CHECK_EQ(vb->refcount, 1);
	gpuva_unlink(v3);	/* never linked: no-op */
	CHECK_EQ(vb->refcount, 1);
	CHECK_EQ(gpuvm_bo_handle_fini(&obj), -EBUSY);

	/* Unlinking the last mapping drops the last reference. */
	gpuva_unlink(v2);
	CHECK(gpuvm_bo_find(vm, &obj) == NULL);
	CHECK_EQ(gpuvm_bo_handle_fini(&obj), 0);

	/* A mapping stays in the tree when unlinked; removal keeps the link. */
	CHECK(gpuvm_lookup(vm, 0x1000) == v1);
	gpuva_remove(w);
	CHECK(w->vm_bo == vb2);
	CHECK(gpuvm_lookup(vm, 0x9000) == NULL);
	gpuva_unlink(w);
	gpuva_free_rcu(w);
	CHECK(gpuvm_bo_find(vm, &obj2) == NULL);
	gt_del(v1);
	gt_del(v2);
	gt_del(v3);
	gpuvm_unlock(vm);
	CHECK_EQ(gpuvm_bo_handle_fini(&obj2), 0);
	gt_vm_put_last(vm);
}

/* ---- External objects -------------------------------------------------------- */

static void test_extobj(void)
{
	struct gpuvm *vm = vm_new(&full_ops), *vm2 = vm_new(&full_ops);
	struct gpuvm_bo_handle e1, e2, pr;
	struct gpuvm_bo *b1 = NULL, *b2 = NULL, *bp = NULL, *o1 = NULL;
	struct collect c;

	gpuvm_bo_handle_init(&e1, 0, NULL);
	gpuvm_bo_handle_init(&e2, 0, NULL);
	gpuvm_bo_handle_init(&pr, 0, vm);
	CHECK(pr.private_vm == vm);
	CHECK_EQ(gpuvm_bo_obtain(vm, &e1, &b1), 0);
	CHECK_EQ(gpuvm_bo_obtain(vm, &e2, &b2), 0);
	CHECK_EQ(gpuvm_bo_obtain(vm, &pr, &bp), 0);
	CHECK_EQ(gpuvm_bo_obtain(vm2, &e1, &o1), 0);
	CHECK_EQ(gpuvm_bo_obtain(vm2, &pr, &o1), -EINVAL);
	o1 = gpuvm_bo_find(vm2, &e1);
	CHECK(o1 != NULL);

	c = extobjs(vm);
	CHECK_EQ(c.n, 2);
	CHECK(collected(&c, b1) && collected(&c, b2) && !collected(&c, bp));
	c = extobjs(vm2);
	CHECK(c.n == 1 && collected(&c, o1));

	/* A non-zero return stops the walk and is returned. */
	memset(&c, 0, sizeof(c));
	c.stop_after = 1;
	CHECK_EQ(gpuvm_extobj_for_each(vm, collect_fn, &c), 7);
	CHECK_EQ(c.n, 1);

	/* Obtaining again does not list it twice. */
	CHECK_EQ(gpuvm_bo_obtain(vm, &e1, &b1), 0);
	CHECK_EQ(extobjs(vm).n, 2);
	CHECK(!gpuvm_bo_put(b1));

	/* The last put takes it off. */
	CHECK(gpuvm_bo_put(b1));
	c = extobjs(vm);
	CHECK(c.n == 1 && collected(&c, b2));
	CHECK(gpuvm_bo_put(b2));
	CHECK(gpuvm_bo_put(bp));
	CHECK_EQ(extobjs(vm).n, 0);
	CHECK_EQ(extobjs(vm2).n, 1);
	CHECK(!gpuvm_bo_put(o1));
	CHECK(gpuvm_bo_put(o1));
	CHECK_EQ(extobjs(vm2).n, 0);
	CHECK_EQ(gpuvm_bo_handle_fini(&e1), 0);
	CHECK_EQ(gpuvm_bo_handle_fini(&e2), 0);
	CHECK_EQ(gpuvm_bo_handle_fini(&pr), 0);
	gt_rcu_wait_frees();
	gt_vm_put_last(vm);
	gt_vm_put_last(vm2);
}

/* ---- Eviction ----------------------------------------------------------------- */

static void test_evict(void)
{
	struct gpuvm *va_ = vm_new(&full_ops), *vb_ = vm_new(&full_ops);
	struct gpuvm_bo_handle s, t;
	struct gpuvm_bo *as = NULL, *bs = NULL, *at = NULL;
	struct collect c;

	gpuvm_bo_handle_init(&s, 0, NULL);
	gpuvm_bo_handle_init(&t, 0, NULL);
	CHECK_EQ(gpuvm_bo_obtain(va_, &s, &as), 0);
	CHECK_EQ(gpuvm_bo_obtain(vb_, &s, &bs), 0);
	CHECK_EQ(gpuvm_bo_obtain(va_, &t, &at), 0);
	CHECK_EQ(evicted(va_).n, 0);
	CHECK_EQ(evicted(vb_).n, 0);

	gpuvm_bo_evict(at, true);
	CHECK(at->evicted && !as->evicted && !bs->evicted);
	c = evicted(va_);
	CHECK(c.n == 1 && collected(&c, at));
	CHECK_EQ(evicted(vb_).n, 0);
	gpuvm_bo_evict(at, true);	/* again: still once */
	CHECK_EQ(evicted(va_).n, 1);

	/* The BO in both spaces. */
	gpuvm_bo_handle_evict(&s, true);
	CHECK(as->evicted && bs->evicted);
	c = evicted(va_);
	CHECK(c.n == 2 && collected(&c, at) && collected(&c, as));
	c = evicted(vb_);
	CHECK(c.n == 1 && collected(&c, bs));

	/* A non-zero return stops the walk. */
	memset(&c, 0, sizeof(c));
	c.stop_after = 1;
	CHECK_EQ(gpuvm_evicted_for_each(va_, collect_fn, &c), 7);
	CHECK_EQ(c.n, 1);

	gpuvm_bo_evict(at, false);
	CHECK(!at->evicted);
	c = evicted(va_);
	CHECK(c.n == 1 && collected(&c, as));
	gpuvm_bo_evict(at, false);	/* again: nothing */
	CHECK_EQ(evicted(va_).n, 1);

	gpuvm_bo_handle_evict(&s, false);
	CHECK(!as->evicted && !bs->evicted);
	CHECK_EQ(evicted(va_).n, 0);
	CHECK_EQ(evicted(vb_).n, 0);

	/* The last put of an evicted pair takes it off the list. */
	gpuvm_bo_handle_evict(&s, true);
	CHECK(gpuvm_bo_put(bs));
	CHECK_EQ(evicted(vb_).n, 0);
	CHECK_EQ(evicted(va_).n, 1);
	CHECK(gpuvm_bo_put(as));
	CHECK(gpuvm_bo_put(at));
	CHECK_EQ(evicted(va_).n, 0);
	/* Evicting a BO in no space is harmless. */
	gpuvm_bo_handle_evict(&s, true);
	CHECK_EQ(gpuvm_bo_handle_fini(&s), 0);
	CHECK_EQ(gpuvm_bo_handle_fini(&t), 0);
	gt_vm_put_last(va_);
	gt_vm_put_last(vb_);
}

static void test_validate(void)
{
	struct gpuvm *vm = vm_new(&full_ops), *bare = vm_new(&bare_ops);
	struct gpuvm_bo_handle o[4];
	struct gpuvm_bo *b[4] = { NULL };
	struct validate_ctx ctx;
	struct collect c;
	int first, second;

	for (int i = 0; i < 4; i++) {
		gpuvm_bo_handle_init(&o[i], 0, NULL);
		CHECK_EQ(gpuvm_bo_obtain(vm, &o[i], &b[i]), 0);
	}

	/* Nothing evicted: 0, no call. */
	memset(&ctx, 0, sizeof(ctx));
	ctx.fail_at = -1;
	CHECK_EQ(gpuvm_validate(vm, &ctx), 0);
	CHECK_EQ(ctx.calls, 0);

	/* Three evicted, the second call fails. */
	gpuvm_bo_evict(b[0], true);
	gpuvm_bo_evict(b[1], true);
	gpuvm_bo_evict(b[2], true);
	memset(&ctx, 0, sizeof(ctx));
	ctx.fail_at = 1;
	ctx.fail_err = -EIO;
	CHECK_EQ(gpuvm_validate(vm, &ctx), -EIO);
	CHECK_EQ(ctx.calls, 2);
	CHECK(ctx.priv_seen == &ctx);
	first = second = -1;
	for (int i = 0; i < 3; i++) {
		if (ctx.called[0] == b[i])
			first = i;
		if (ctx.called[1] == b[i])
			second = i;
	}
	CHECK(first >= 0 && second >= 0 && first != second);
	CHECK(ctx.evicted_when_called[0] && ctx.evicted_when_called[1]);
	if (first >= 0 && second >= 0) {
		c = evicted(vm);
		CHECK_EQ(c.n, 2);
		CHECK(!b[first]->evicted && !collected(&c, b[first]));
		CHECK(b[second]->evicted && collected(&c, b[second]));
		CHECK(b[3 - first - second]->evicted &&
		      collected(&c, b[3 - first - second]));
	}
	CHECK(!b[3]->evicted);

	/* Again without failure: both left are validated. */
	memset(&ctx, 0, sizeof(ctx));
	ctx.fail_at = -1;
	CHECK_EQ(gpuvm_validate(vm, &ctx), 0);
	CHECK_EQ(ctx.calls, 2);
	CHECK_EQ(evicted(vm).n, 0);
	for (int i = 0; i < 4; i++)
		CHECK(!b[i]->evicted);

	/* The callback may evict: b[3] is evicted while b[0] is validated. */
	gpuvm_bo_evict(b[0], true);
	memset(&ctx, 0, sizeof(ctx));
	ctx.fail_at = -1;
	ctx.evict_other = b[3];
	CHECK_EQ(gpuvm_validate(vm, &ctx), 0);
	CHECK(ctx.calls == 1 || ctx.calls == 2);
	CHECK(!b[0]->evicted);
	c = evicted(vm);
	/* b[3] is either validated in the same pass or still listed. */
	if (ctx.calls == 2)
		CHECK(ctx.called[1] == b[3] && !b[3]->evicted && c.n == 0);
	else
		CHECK(b[3]->evicted && c.n == 1 && collected(&c, b[3]));
	gpuvm_bo_evict(b[3], false);
	CHECK_EQ(evicted(vm).n, 0);

	/* Without a callback: -EINVAL when something is evicted. */
	{
		struct gpuvm_bo *x = NULL;

		CHECK_EQ(gpuvm_validate(bare, NULL), 0);
		CHECK_EQ(gpuvm_bo_obtain(bare, &o[0], &x), 0);
		gpuvm_bo_evict(x, true);
		CHECK_EQ(gpuvm_validate(bare, NULL), -EINVAL);
		CHECK(x->evicted);
		CHECK_EQ(evicted(bare).n, 1);
		CHECK(gpuvm_bo_put(x));
		CHECK_EQ(evicted(bare).n, 0);
	}

	for (int i = 0; i < 4; i++) {
		CHECK(gpuvm_bo_put(b[i]));
		CHECK_EQ(gpuvm_bo_handle_fini(&o[i]), 0);
	}
	gt_vm_put_last(vm);
	gt_vm_put_last(bare);
}

static void test_handle_fini(void)
{
	struct gpuvm *vm = vm_new(&full_ops), *vm2 = vm_new(&bare_ops);
	struct gpuvm_bo_handle obj;
	struct gpuvm_bo *b = NULL, *b2 = NULL;

	gpuvm_bo_handle_init(&obj, 0, NULL);
	CHECK_EQ(gpuvm_bo_obtain(vm, &obj, &b), 0);
	CHECK_EQ(gpuvm_bo_obtain(vm2, &obj, &b2), 0);
	CHECK_EQ(gpuvm_bo_handle_fini(&obj), -EBUSY);
	CHECK(gpuvm_bo_put(b));
	CHECK_EQ(gpuvm_bo_handle_fini(&obj), -EBUSY);
	/* -EBUSY did nothing: the BO still works. */
	CHECK(gpuvm_bo_find(vm2, &obj) == b2);
	CHECK(!gpuvm_bo_put(b2));
	CHECK(gpuvm_bo_put(b2));
	CHECK_EQ(gpuvm_bo_handle_fini(&obj), 0);
	gt_vm_put_last(vm);
	gt_vm_put_last(vm2);
}

/* ---- VA spaces ---------------------------------------------------------------- */

static void test_vm_refcount(void)
{
	struct gpuvm *vm = vm_new(&full_ops);
	struct gpuvm_bo_handle obj;
	struct gpuvm_bo *b = NULL;
	long freed = atomic_load(&gt.vm_free);

	gpuvm_bo_handle_init(&obj, 0, NULL);
	CHECK_EQ(vm->refcount, 1);
	CHECK(gpuvm_get(vm) == vm);
	CHECK_EQ(vm->refcount, 2);
	gpuvm_put(vm);
	CHECK_EQ(vm->refcount, 1);
	gt_rcu_wait_frees();
	CHECK_EQ(atomic_load(&gt.vm_free), freed);

	/* A vm_bo keeps the space alive after its owner's put. */
	CHECK_EQ(gpuvm_bo_obtain(vm, &obj, &b), 0);
	CHECK_EQ(vm->refcount, 2);
	gpuvm_put(vm);
	gt_rcu_wait_frees();
	CHECK_EQ(atomic_load(&gt.vm_free), freed);
	CHECK_EQ(vm->refcount, 1);
	CHECK(b->vm == vm);
	CHECK(gpuvm_bo_find(vm, &obj) == b);
	CHECK(!gpuvm_bo_put(b));
	CHECK(gpuvm_bo_put(b));
	gt_rcu_wait_frees();
	CHECK_EQ(atomic_load(&gt.vm_free), freed + 1);
	gt_rcu_wait_frees();
	CHECK_EQ(atomic_load(&gt.vm_free), freed + 1);
	CHECK_EQ(gpuvm_bo_handle_fini(&obj), 0);

	/* Without ops at all: an embedded space, put does not free it. */
	{
		struct gpuvm embedded;

		memset(&embedded, 0, sizeof(embedded));
		CHECK_EQ(gpuvm_init(&embedded, "embedded", 0, 0, 0x1000, 0, 0,
				    NULL), 0);
		gpuvm_lock(&embedded);
		{
			struct gpuva *va = calloc(1, sizeof(*va));

			gpuva_init(va, 0x10, 0x10, NULL, 0);
			CHECK_EQ(gpuva_insert(&embedded, va), 0);
			CHECK(gpuvm_lookup(&embedded, 0x18) == va);
			gt_del(va);	/* free() */
		}
		gpuvm_unlock(&embedded);
		gpuvm_put(&embedded);
		CHECK_EQ(atomic_load(&gt.vm_free), freed + 1);
	}
}

/* Runs gpuvm_put() with stderr captured; returns what it printed. */
static char *put_capturing_stderr(struct gpuvm *vm)
{
	char *buf = calloc(1, 4096);
	FILE *tmp = tmpfile();
	int saved;
	size_t n = 0;

	if (!buf || !tmp)
		abort();
	fflush(stderr);
	saved = dup(2);
	dup2(fileno(tmp), 2);
	gpuvm_put(vm);
	gt_rcu_wait_frees();
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	rewind(tmp);
	n = fread(buf, 1, 4095, tmp);
	buf[n] = 0;
	fclose(tmp);
	return buf;
}

static void test_teardown(void)
{
	struct gpuvm *vm = vm_new(&full_ops);
	struct gpuvm_bo_handle obj;
	struct gpuva *v[5];
	long vf = atomic_load(&gt.va_free), vmf = atomic_load(&gt.vm_free);
	bool all_seen = true;
	char *out;
	int lines = 0;

	gpuvm_bo_handle_init(&obj, 0, NULL);

	/* With va_leftover: told once per mapping, each freed. */
	atomic_store(&n_leftover, 0);
	gpuvm_lock(vm);
	for (int i = 0; i < 5; i++)
		v[i] = gt_insert(vm, 0x1000 * (uint64_t)(i + 1), 0x800,
			      i % 2 ? &obj : NULL, 0);
	/* A linked mapping unlinked again is a leftover like the others. */
	{
		struct gpuvm_bo *b = NULL;

		CHECK_EQ(gpuvm_bo_obtain(vm, &obj, &b), 0);
		gpuva_link(v[1], b);
		gpuvm_bo_put(b);
		gpuva_unlink(v[1]);
	}
	gpuvm_unlock(vm);
	CHECK_EQ(gpuvm_mapping_count(vm), 5);
	gpuvm_put(vm);
	gt_rcu_wait_frees();
	CHECK_EQ(atomic_load(&n_leftover), 5);
	CHECK(leftover_vm_seen == vm);
	for (int i = 0; i < 5; i++) {
		int k = 0;

		for (int j = 0; j < 5; j++)
			k += leftover_seen[j] == v[i];
		all_seen &= k == 1;
	}
	CHECK(all_seen);
	CHECK_EQ(atomic_load(&gt.va_free), vf + 5);
	CHECK_EQ(atomic_load(&gt.vm_free), vmf + 1);

	/* Without it: one line on stderr with the count; still freed. */
	vm = vm_new(&bare_ops);
	gpuvm_lock(vm);
	for (int i = 0; i < 3; i++)
		gt_insert(vm, 0x1000 * (uint64_t)(i + 1), 0x800, NULL, 0);
	gpuvm_unlock(vm);
	out = put_capturing_stderr(vm);
	for (char *p = out; *p; p++)
		lines += *p == '\n';
	CHECK_EQ(lines, 1);
	CHECK(strchr(out, '3') != NULL);
	if (lines != 1 || !strchr(out, '3'))
		fprintf(stderr, "  teardown printed: \"%s\"\n", out);
	free(out);
	CHECK_EQ(atomic_load(&gt.va_free), vf + 8);
	CHECK_EQ(atomic_load(&gt.vm_free), vmf + 2);
	CHECK_EQ(atomic_load(&n_leftover), 5);

	/* An empty space prints nothing. */
	vm = vm_new(&bare_ops);
	out = put_capturing_stderr(vm);
	CHECK_EQ(strlen(out), 0);
	free(out);
	CHECK_EQ(atomic_load(&gt.vm_free), vmf + 3);

	/* Mappings removed but whose RCU free is pending: put waits. */
	vm = vm_new(&bare_ops);
	gpuvm_lock(vm);
	for (int i = 0; i < 4; i++) {
		struct gpuva *va = gt_insert(vm, 0x1000 * (uint64_t)(i + 1),
					     0x10, NULL, 0);

		if (va)
			gt_del(va);
	}
	gpuvm_unlock(vm);
	gpuvm_put(vm);
	CHECK_EQ(atomic_load(&gt.va_free), vf + 12);
	gt_rcu_wait_frees();
	CHECK_EQ(atomic_load(&gt.vm_free), vmf + 4);
	CHECK_EQ(gpuvm_bo_handle_fini(&obj), 0);
}

static void test_init(void)
{
	static const struct {
		unsigned int flags;
		uint64_t start, range, rs, rr;
		int ret;
		const char *why;
	} t[] = {
		{ 0, 0x1000, 0, 0, 0, -EINVAL, "range 0" },
		{ 0, UINT64_MAX - 10, 20, 0, 0, -EINVAL, "wraps" },
		{ 0, 1, UINT64_MAX, 0, 0, -EINVAL, "ends at 2^64" },
		{ 0, UINT64_MAX, 1, 0, 0, -EINVAL, "the last byte, end 2^64" },
		{ 0, 0x1000, 0x1000, 0x800, 0x100, -EINVAL, "reserve below" },
		{ 0, 0x1000, 0x1000, 0xf00, 0x200, -EINVAL, "reserve across start" },
		{ 0, 0x1000, 0x1000, 0x1f00, 0x200, -EINVAL, "reserve across end" },
		{ 0, 0x1000, 0x1000, 0x2000, 0x1, -EINVAL, "reserve just past" },
		{ 0, 0x1000, 0x1000, 0x3000, 0x10, -EINVAL, "reserve above" },
		{ 0, 0x1000, 0x1000, UINT64_MAX - 1, 0x10, -EINVAL, "reserve wraps" },
		{ 0, 0x1000, 0x1000, 0x1800, UINT64_MAX, -EINVAL, "reserve huge" },
		{ 1u << 7, 0x1000, 0x1000, 0, 0, -EINVAL, "unknown flag" },
		{ ~0u, 0x1000, 0x1000, 0, 0, -EINVAL, "every flag" },
		{ 0, 0, UINT64_MAX, 0, 0, 0, "all of 64 bits but the last" },
		{ 0, 0x1000, 0x1000, 0x1000, 0x1000, 0, "reserve is the space" },
		{ 0, 0x1000, 0x1000, 0x1fff, 0x1, 0, "reserve the last byte" },
		{ 0, 0x1000, 0x1000, 0x5000, 0, 0, "reserve_range 0: none" },
		{ GPUVM_NO_VA_ALLOCATOR, 0x1000, 0x1000, 0, 0, 0, "flag" },
		{ 0, UINT64_MAX - 1, 1, 0, 0, 0, "one byte at the top" },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct gpuvm *vm = calloc(1, sizeof(*vm));
		int ret;

		ret = gpuvm_init(vm, t[i].why, t[i].flags, t[i].start,
				 t[i].range, t[i].rs, t[i].rr, &full_ops);
		CHECK_EQ(ret, t[i].ret);
		if (ret != t[i].ret)
			fprintf(stderr, "  gpuvm_init: %s: got %d\n", t[i].why,
				ret);
		if (ret) {
			free(vm);
			continue;
		}
		CHECK(vm->name == t[i].why);
		CHECK(vm->mm_start == t[i].start && vm->mm_range == t[i].range);
		CHECK(vm->ops == &full_ops);
		CHECK_EQ(vm->refcount, 1);
		CHECK_EQ(gpuvm_mapping_count(vm), 0);
		if (t[i].rr) {
			CHECK(vm->reserve_start == t[i].rs &&
			      vm->reserve_range == t[i].rr);
			CHECK(!gpuvm_range_valid(vm, t[i].rs, t[i].rr));
		}
		CHECK(gpuvm_range_valid(vm, t[i].start, 1) ==
		      !(t[i].rr && t[i].rs == t[i].start));
		gt_vm_put_last(vm);
	}
}

static void *lock_probe(void *arg)
{
	return (void *)(uintptr_t)gpuvm_is_locked(arg);
}

struct lock_holder {
	struct gpuvm *vm;
	pthread_mutex_t m;
	pthread_cond_t cv;
	int stage;
	bool held_here;
};

static void *lock_hold(void *arg)
{
	struct lock_holder *h = arg;

	gpuvm_lock(h->vm);
	h->held_here = gpuvm_is_locked(h->vm);
	pthread_mutex_lock(&h->m);
	h->stage = 1;
	pthread_cond_broadcast(&h->cv);
	while (h->stage != 2)
		pthread_cond_wait(&h->cv, &h->m);
	pthread_mutex_unlock(&h->m);
	gpuvm_unlock(h->vm);
	return NULL;
}

static void test_lock(void)
{
	struct gpuvm *vm = vm_new(&full_ops);
	struct lock_holder h = { .vm = vm };
	pthread_t th;
	void *res = (void *)1;

	CHECK(!gpuvm_is_locked(vm));
	gpuvm_lock(vm);
	CHECK(gpuvm_is_locked(vm));
	pthread_create(&th, NULL, lock_probe, vm);
	pthread_join(th, &res);
	CHECK(res == NULL);	/* held, but not by that thread */
	gpuvm_unlock(vm);
	CHECK(!gpuvm_is_locked(vm));

	pthread_mutex_init(&h.m, NULL);
	pthread_cond_init(&h.cv, NULL);
	pthread_create(&th, NULL, lock_hold, &h);
	pthread_mutex_lock(&h.m);
	while (h.stage != 1)
		pthread_cond_wait(&h.cv, &h.m);
	CHECK(h.held_here);
	CHECK(!gpuvm_is_locked(vm));
	h.stage = 2;
	pthread_cond_broadcast(&h.cv);
	pthread_mutex_unlock(&h.m);
	pthread_join(th, NULL);
	CHECK(!gpuvm_is_locked(vm));
	gpuvm_lock(vm);
	CHECK(gpuvm_is_locked(vm));
	gpuvm_unlock(vm);
	pthread_mutex_destroy(&h.m);
	pthread_cond_destroy(&h.cv);
	gt_vm_put_last(vm);
}

/* ---- Choosing addresses ----------------------------------------------------- */

#define SPACE_MAX 512

struct ref_space {
	uint64_t start, end, rs, rr;
	bool used[SPACE_MAX];
};

static bool is_pow2(uint64_t x)
{
	return x && !(x & (x - 1));
}

static bool ref_free_at(const struct ref_space *s, uint64_t addr,
			uint64_t size)
{
	for (uint64_t a = addr; a < addr + size; a++)
		if (s->used[a] || (s->rr && a >= s->rs && a < s->rs + s->rr))
			return false;
	return true;
}

/* The answer by trying every address. */
static int ref_find(const struct ref_space *s,
		    const struct gpuvm_va_alloc_req *req, uint64_t *addr)
{
	uint64_t lo = s->start, hi = s->end, size = req->size;
	bool top = req->flags & GPUVM_ALLOC_TOP;

	if (!size || (req->align > 1 && !is_pow2(req->align)) ||
	    (req->boundary && (!is_pow2(req->boundary) ||
			       req->boundary < size)))
		return -EINVAL;
	if (req->start || req->end) {
		if (req->start < s->start || req->end > s->end ||
		    req->start >= req->end)
			return -EINVAL;
		lo = req->start;
		hi = req->end;
	}
	if (hi - lo < size)
		return -ENOSPC;
	for (uint64_t i = 0; i <= hi - lo - size; i++) {
		uint64_t a = top ? hi - size - i : lo + i;

		if (req->align > 1 && a % req->align)
			continue;
		if (req->boundary &&
		    a / req->boundary != (a + size - 1) / req->boundary)
			continue;
		if (!ref_free_at(s, a, size))
			continue;
		*addr = a;
		return 0;
	}
	return -ENOSPC;
}

static void req_print(const struct gpuvm_va_alloc_req *r)
{
	fprintf(stderr,
		"  req size %#llx align %#llx boundary %#llx window [%#llx, %#llx) flags %#x\n",
		(unsigned long long)r->size, (unsigned long long)r->align,
		(unsigned long long)r->boundary, (unsigned long long)r->start,
		(unsigned long long)r->end, r->flags);
}

static unsigned long alloc_queries;

/* Both spaces answer @req as the reference does. */
static void check_find(struct gpuvm *vms[2], const struct ref_space *s,
		       const struct gpuvm_va_alloc_req *req)
{
	uint64_t want = 0, got[2] = { 0, 0 };
	int wret = ref_find(s, req, &want);

	alloc_queries++;
	for (int v = 0; v < 2; v++) {
		int ret = gpuvm_va_find_free(vms[v], req, &got[v]);
		bool ok = ret == wret && (ret || got[v] == want);

		CHECK(ok);
		if (!ok) {
			fprintf(stderr,
				"  va_find_free (vm flags %#x, space [%#llx, %#llx) reserve [%#llx, +%#llx)): got %d @%#llx, want %d @%#llx\n",
				vms[v]->flags, (unsigned long long)s->start,
				(unsigned long long)s->end,
				(unsigned long long)s->rs,
				(unsigned long long)s->rr, ret,
				(unsigned long long)got[v], wret,
				(unsigned long long)want);
			req_print(req);
		}
	}
}

/* gpuvm_va_alloc() on both; the reference is updated. */
static int do_alloc(struct gpuvm *vms[2], struct ref_space *s,
		    const struct gpuvm_va_alloc_req *req, struct gpuva **out)
{
	uint64_t want = 0;
	int wret = ref_find(s, req, &want);

	for (int v = 0; v < 2; v++) {
		struct gpuva *va = gt_va_new();
		int ret;

		gpuva_init(va, 0, 0, NULL, 0);
		va->flags = GPUVA_USERBITS;
		ret = gpuvm_va_alloc(vms[v], va, req);
		CHECK_EQ(ret, wret);
		if (ret) {
			gt_va_discard(va);
			if (out)
				out[v] = NULL;
			continue;
		}
		CHECK(va->va.addr == want && va->va.range == req->size);
		CHECK(va->vm == vms[v] && (va->flags & GPUVA_USERBITS));
		CHECK(gpuvm_lookup(vms[v], want) == va);
		CHECK(gpuvm_lookup(vms[v], want + req->size - 1) == va);
		if (va->va.addr != want) {
			fprintf(stderr, "  va_alloc: got %#llx want %#llx\n",
				(unsigned long long)va->va.addr,
				(unsigned long long)want);
			req_print(req);
		}
		if (out)
			out[v] = va;
	}
	if (!wret)
		for (uint64_t a = want; a < want + req->size; a++)
			s->used[a] = true;
	return wret;
}

static uint64_t pick_pow2(uint64_t *rng, int max_shift)
{
	return 1ull << (harness_rand(rng) % (uint64_t)(max_shift + 1));
}

static void random_req(uint64_t *rng, const struct ref_space *s,
		       struct gpuvm_va_alloc_req *req)
{
	uint64_t span = s->end - s->start;

	memset(req, 0, sizeof(*req));
	req->size = 1 + harness_rand(rng) % 24;
	if (harness_rand(rng) % 16 == 0)
		req->size = span - 2 + harness_rand(rng) % 5;
	switch (harness_rand(rng) % 3) {
	case 0:
		req->align = harness_rand(rng) % 2;
		break;
	default:
		req->align = pick_pow2(rng, 6);
	}
	if (harness_rand(rng) % 2) {
		uint64_t b = 1;

		while (b < req->size)
			b <<= 1;
		req->boundary = b << (harness_rand(rng) % 3);
	}
	if (harness_rand(rng) % 2) {
		req->start = s->start + harness_rand(rng) % span;
		req->end = req->start + 1 + harness_rand(rng) % (s->end - req->start);
		if (req->end - req->start < req->size) {
			req->end = req->start + req->size;
			if (req->end > s->end)
				req->start = req->end = 0;
		}
	}
	if (harness_rand(rng) % 2)
		req->flags = GPUVM_ALLOC_TOP;

	/* Now and then something invalid. */
	switch (harness_rand(rng) % 24) {
	case 0:
		req->size = 0;
		break;
	case 1:
		req->align = 3 + 2 * (harness_rand(rng) % 8);
		break;
	case 2:
		req->boundary = req->size > 1 ? 1 : 3;
		break;
	case 3:
		req->boundary = 24;
		break;
	case 4:
		req->start = s->start ? s->start - 1 : 0;
		req->end = s->end;
		if (!req->start)
			req->end = s->end + 1;
		break;
	case 5:
		req->start = s->start + 1;
		req->end = s->end + 1;
		break;
	case 6:
		req->start = s->start + 5;
		req->end = s->start + 5;
		break;
	}
}

static void test_alloc_random(uint64_t *rng, long spaces)
{
	for (long it = 0; it < spaces; it++) {
		struct ref_space s;
		struct gpuvm *vms[2];
		struct gpuva *tmp[2];
		struct gpuvm_va_alloc_req req;
		uint64_t span, free_left = 0;
		int fills = 0;

		memset(&s, 0, sizeof(s));
		s.start = harness_rand(rng) % 64;
		span = 16 + harness_rand(rng) % 300;
		s.end = s.start + span;
		if (harness_rand(rng) % 3) {
			s.rs = s.start + harness_rand(rng) % span;
			s.rr = 1 + harness_rand(rng) % (s.end - s.rs < 32 ?
							 s.end - s.rs : 32);
		}
		vms[0] = gt_vm_new("bo", 0, s.start, span, s.rs, s.rr,
				   &full_ops);
		vms[1] = gt_vm_new("bo", GPUVM_NO_VA_ALLOCATOR, s.start, span,
				   s.rs, s.rr, &full_ops);
		gpuvm_lock(vms[0]);
		gpuvm_lock(vms[1]);

		/* A random layout, the same in both. */
		for (int k = 0, n = (int)(harness_rand(rng) % 40); k < n; k++) {
			uint64_t a = s.start + harness_rand(rng) % span;
			uint64_t r = 1 + harness_rand(rng) % 12;

			if (a + r > s.end || !ref_free_at(&s, a, r))
				continue;
			gt_insert(vms[0], a, r, NULL, 0);
			gt_insert(vms[1], a, r, NULL, 0);
			for (uint64_t x = a; x < a + r; x++)
				s.used[x] = true;
		}

		for (int q = 0; q < 120; q++) {
			random_req(rng, &s, &req);
			check_find(vms, &s, &req);
			if (harness_rand(rng) % 4 == 0) {
				do_alloc(vms, &s, &req, tmp);
				/* Removing one frees its space again. */
				if (tmp[0] && tmp[1] && harness_rand(rng) % 2) {
					uint64_t a = tmp[0]->va.addr, again = 0;

					gt_del(tmp[0]);
					gt_del(tmp[1]);
					for (uint64_t x = a; x < a + req.size; x++)
						s.used[x] = false;
					check_find(vms, &s, &req);
					CHECK_EQ(ref_find(&s, &req, &again), 0);
				}
			}
		}

		/* Fill up: every request ends in -ENOSPC at the same point. */
		memset(&req, 0, sizeof(req));
		req.size = 1 + harness_rand(rng) % 3;
		req.flags = harness_rand(rng) % 2 ? GPUVM_ALLOC_TOP : 0;
		for (;;) {
			if (do_alloc(vms, &s, &req, NULL))
				break;
			fills++;
			if (fills > SPACE_MAX)
				break;
		}
		CHECK(fills <= SPACE_MAX);
		/* Only gaps smaller than the request size remain. */
		for (uint64_t a = s.start; a + req.size <= s.end; a++)
			free_left += ref_free_at(&s, a, req.size);
		CHECK_EQ(free_left, 0);
		req.size = 1;
		check_find(vms, &s, &req);

		CHECK_EQ(mt_validate(gpuvm_tree(vms[0])), 0);
		CHECK_EQ(mt_validate(gpuvm_tree(vms[1])), 0);
		for (int v = 0; v < 2; v++) {
			struct gpuva *va;

			gpuvm_for_each_va(va, vms[v])
				gt_del(va);
		}
		/* Both unlocked before either goes (one lock order only). */
		gpuvm_unlock(vms[1]);
		gpuvm_unlock(vms[0]);
		gpuvm_put(vms[0]);
		gpuvm_put(vms[1]);
	}
	gt_rcu_wait_frees();
}

/* 64-bit spaces and the cases a small space cannot show. */
static void test_alloc_edges(void)
{
	for (int f = 0; f < 2; f++) {
		unsigned int flags = f ? GPUVM_NO_VA_ALLOCATOR : 0;
		struct gpuvm *vm = gt_vm_new("bo", flags, 0, UINT64_MAX, 0, 0,
					     &full_ops);
		struct gpuvm_va_alloc_req req;
		uint64_t addr = 0;
		struct gpuva *va;

		gpuvm_lock(vm);
		memset(&req, 0, sizeof(req));
		req.size = 0x1000;
		req.align = 0x1000;
		CHECK_EQ(gpuvm_va_find_free(vm, &req, &addr), 0);
		CHECK_EQ(addr, 0);
		req.flags = GPUVM_ALLOC_TOP;
		CHECK_EQ(gpuvm_va_find_free(vm, &req, &addr), 0);
		CHECK_EQ(addr, 0xFFFFFFFFFFFFE000ull);
		req.align = 0;
		CHECK_EQ(gpuvm_va_find_free(vm, &req, &addr), 0);
		CHECK_EQ(addr, UINT64_MAX - 0x1000);
		req.size = UINT64_MAX;
		CHECK_EQ(gpuvm_va_find_free(vm, &req, &addr), 0);
		CHECK_EQ(addr, 0);
		req.size = 0x1000;
		req.flags = 0;

		/* Boundary: not crossing a 4 GiB line. */
		va = gt_insert(vm, 0, (1ull << 32) - 0x800, NULL, 0);
		CHECK_EQ(gpuvm_va_find_free(vm, &req, &addr), 0);
		CHECK_EQ(addr, (1ull << 32) - 0x800);
		req.boundary = 1ull << 32;
		CHECK_EQ(gpuvm_va_find_free(vm, &req, &addr), 0);
		CHECK_EQ(addr, 1ull << 32);
		req.boundary = 0;
		req.align = 1ull << 40;
		CHECK_EQ(gpuvm_va_find_free(vm, &req, &addr), 0);
		CHECK_EQ(addr, 1ull << 40);
		req.align = 1ull << 63;
		CHECK_EQ(gpuvm_va_find_free(vm, &req, &addr), 0);
		CHECK_EQ(addr, 1ull << 63);
		req.flags = GPUVM_ALLOC_TOP;
		CHECK_EQ(gpuvm_va_find_free(vm, &req, &addr), 0);
		CHECK_EQ(addr, 1ull << 63);
		req.flags = 0;
		req.align = 0;

		/* A window, top first. */
		req.start = 0x100000000000ull;
		req.end = 0x100000020000ull;
		req.align = 0x1000;
		req.flags = GPUVM_ALLOC_TOP;
		CHECK_EQ(gpuvm_va_find_free(vm, &req, &addr), 0);
		CHECK_EQ(addr, 0x10000001f000ull);
		req.flags = 0;
		CHECK_EQ(gpuvm_va_find_free(vm, &req, &addr), 0);
		CHECK_EQ(addr, 0x100000000000ull);
		/* A window smaller than the size: an error, whichever. */
		req.end = req.start + 0x800;
		{
			int ret = gpuvm_va_find_free(vm, &req, &addr);

			CHECK(ret == -ENOSPC || ret == -EINVAL);
		}
		/* Windows leaving the space. */
		req.start = 0x1000;
		req.end = UINT64_MAX;
		CHECK_EQ(gpuvm_va_find_free(vm, &req, &addr), 0);
		CHECK_EQ(addr, 1ull << 32);
		req.end = 0;
		CHECK_EQ(gpuvm_va_find_free(vm, &req, &addr), -EINVAL);
		req.start = 0;
		req.end = 0;

		/* Bad requests. */
		req.align = 0;
		req.size = 0;
		CHECK_EQ(gpuvm_va_find_free(vm, &req, &addr), -EINVAL);
		req.size = 0x1000;
		req.align = 0x3000;
		CHECK_EQ(gpuvm_va_find_free(vm, &req, &addr), -EINVAL);
		req.align = 0;
		req.boundary = 0x800;
		CHECK_EQ(gpuvm_va_find_free(vm, &req, &addr), -EINVAL);
		req.boundary = 0x3000;
		CHECK_EQ(gpuvm_va_find_free(vm, &req, &addr), -EINVAL);
		req.boundary = 0;
		req.size = UINT64_MAX;
		{
			int ret = gpuvm_va_find_free(vm, &req, &addr);

			CHECK(ret == -ENOSPC);
		}
		if (va)
			gt_del(va);
		gpuvm_unlock(vm);
		gt_vm_put_last(vm);

		/* The reserved region is never handed out. */
		vm = gt_vm_new("bo", flags, 0, 1ull << 20, 0, 0x1000, &full_ops);
		gpuvm_lock(vm);
		memset(&req, 0, sizeof(req));
		req.size = 0x100;
		CHECK_EQ(gpuvm_va_find_free(vm, &req, &addr), 0);
		CHECK_EQ(addr, 0x1000);
		req.start = 0;
		req.end = 0x2000;
		req.flags = GPUVM_ALLOC_TOP;
		CHECK_EQ(gpuvm_va_find_free(vm, &req, &addr), 0);
		CHECK_EQ(addr, 0x1f00);
		req.end = 0x1000;
		CHECK_EQ(gpuvm_va_find_free(vm, &req, &addr), -ENOSPC);
		req.start = 0x800;
		req.end = 0x1100;
		req.flags = 0;
		CHECK_EQ(gpuvm_va_find_free(vm, &req, &addr), 0);
		CHECK_EQ(addr, 0x1000);
		/* gpuvm_va_alloc: -ENOSPC changes nothing. */
		{
			struct gpuva *a = gt_va_new();

			gpuva_init(a, 0x55, 0x66, NULL, 0);
			req.end = 0x1000;
			req.start = 0x100;
			CHECK_EQ(gpuvm_va_alloc(vm, a, &req), -ENOSPC);
			CHECK_EQ(gpuvm_mapping_count(vm), 0);
			req.size = 0;
			CHECK_EQ(gpuvm_va_alloc(vm, a, &req), -EINVAL);
			CHECK_EQ(gpuvm_mapping_count(vm), 0);
			gt_va_discard(a);
		}
		gpuvm_unlock(vm);
		gt_vm_put_last(vm);

		/* A full space: -ENOSPC. */
		vm = gt_vm_new("bo", flags, 0x100, 0x100, 0x180, 0x80,
			       &full_ops);
		gpuvm_lock(vm);
		va = gt_insert(vm, 0x100, 0x80, NULL, 0);
		memset(&req, 0, sizeof(req));
		req.size = 1;
		CHECK_EQ(gpuvm_va_find_free(vm, &req, &addr), -ENOSPC);
		req.flags = GPUVM_ALLOC_TOP;
		CHECK_EQ(gpuvm_va_find_free(vm, &req, &addr), -ENOSPC);
		if (va) {
			gt_del(va);
			CHECK_EQ(gpuvm_va_find_free(vm, &req, &addr), 0);
			CHECK_EQ(addr, 0x17f);
		}
		gpuvm_unlock(vm);
		gt_vm_put_last(vm);
	}
}

/* Slots of the tree that hold the placeholder XA_ZERO_ENTRY in [lo, hi]. */
static unsigned long count_placeholders(struct gpuvm *vm, uint64_t lo,
					uint64_t hi)
{
	MA_STATE(mas, gpuvm_tree(vm), lo, lo);
	unsigned long n = 0;
	void *entry;

	mas_for_each(&mas, entry, hi)
		n += xa_is_zero(entry);
	return n;
}

/*
 * Removed mappings read as unmapped at once and join the free space when
 * the VM lock is released (or before a gap search), one store per run of
 * adjacent ranges, even when more runs are pending than the VA space
 * tracks one by one.
 */
static void test_placeholders(void)
{
	const uint64_t page = 0x1000, reserve = 0x80000;
	struct gpuvm_va_alloc_req req = { .size = reserve - page };
	struct gpuva *va[60];
	struct gpuvm *vm = gt_vm_new("placeholders", 0, 0, 1 << 20, reserve,
				     page, &bare_ops);
	uint64_t addr;
	int i;

	gpuvm_lock(vm);
	/* 20 adjacent mappings from 0x1000, then 40 with holes between. */
	for (i = 0; i < 60; i++) {
		uint64_t at = i < 20 ? page * (1 + i) : page * (2 * i + 1);

		va[i] = gt_va_new();
		gpuva_init(va[i], at, page, NULL, 0);
		CHECK_EQ(gpuva_insert(vm, va[i]), 0);
	}
	for (i = 0; i < 60; i++) {
		uint64_t at = va[i]->va.addr;

		gpuva_remove(va[i]);
		CHECK(gpuvm_lookup(vm, at) == NULL);
		gpuva_free_rcu(va[i]);
	}
	CHECK_EQ(gpuvm_mapping_count(vm), 0);
	CHECK(count_placeholders(vm, 0, reserve - 1) > 0);
	CHECK(gpuva_find_first(vm, 0, reserve) == NULL);
	gpuvm_unlock(vm);

	gpuvm_lock(vm);
	/* Only the reserved region is left, and the free space is whole. */
	CHECK_EQ(count_placeholders(vm, 0, UINT64_MAX), 1);
	{
		MA_STATE(mas, gpuvm_tree(vm), page, page);

		CHECK(mas_walk(&mas) == NULL);
		CHECK_EQ(mas.index, 0);
		CHECK_EQ(mas.last, reserve - 1);
	}
	CHECK_EQ(mt_validate(gpuvm_tree(vm)), 0);
	CHECK_EQ(gpuvm_va_find_free(vm, &req, &addr), 0);
	CHECK_EQ(addr, 0);

	/* A gap search under the same lock sees the space a removal freed. */
	va[0] = gt_va_new();
	gpuva_init(va[0], 0, reserve, NULL, 0);
	CHECK_EQ(gpuva_insert(vm, va[0]), 0);
	CHECK_EQ(gpuvm_va_find_free(vm, &req, &addr), 0);
	CHECK_EQ(addr, reserve + page);
	gpuva_remove(va[0]);
	gpuva_free_rcu(va[0]);
	CHECK_EQ(gpuvm_va_find_free(vm, &req, &addr), 0);
	CHECK_EQ(addr, 0);
	CHECK_EQ(count_placeholders(vm, 0, UINT64_MAX), 1);
	gpuvm_unlock(vm);
	gpuvm_put(vm);
}

int main(void)
{
	uint64_t rng = harness_seed("test_gpuvm_bo");
	long spaces = gt_env_long("GPUVM_BO_ITERS", 120);

	urcu_memb_register_thread();
	test_refcounts();
	test_prealloc();
	test_links();
	test_extobj();
	test_evict();
	test_validate();
	test_handle_fini();
	test_vm_refcount();
	test_teardown();
	test_init();
	test_lock();
	test_alloc_edges();
	test_alloc_random(&rng, spaces);
	test_placeholders();

	gt_rcu_wait_frees();
	CHECK_EQ(atomic_load(&gt.va_alloc), atomic_load(&gt.va_free));
	CHECK_EQ(atomic_load(&gt.vm_bo_alloc), atomic_load(&gt.vm_bo_free));
	printf("%lu allocator queries\n", alloc_queries);
	urcu_memb_unregister_thread();
	return harness_finish();
}
