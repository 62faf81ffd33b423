// SPDX-License-Identifier: MIT
/*
 * Fences: one-shot events with an error status, waiters and callbacks;
 * and the annotation of fence-signalling sections.
 *
 * Callbacks run after the fence lock is dropped, so a callback may use
 * fences (its own included) freely. A callback being removed while the
 * fence is signalled may therefore be running: remove_callback() then
 * says so.
 */
#include <time.h>

#include "gpuvm/gpuvm_internal.h"

struct gpuvm_fence {
	pthread_mutex_t lock;
	pthread_cond_t signalled_cond;
	long refcount;			/* atomic */
	int status;			/* 0, 1 or an error; under lock */
	struct cds_list_head callbacks;	/* under lock, until signalled */
};

struct gpuvm_fence *gpuvm_fence_create(void)
{
	struct gpuvm_fence *fence = gpuvm_zalloc(sizeof(*fence));
	pthread_condattr_t attr;

	if (!fence)
		return NULL;
	pthread_mutex_init(&fence->lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&fence->signalled_cond, &attr);
	pthread_condattr_destroy(&attr);
	fence->refcount = 1;
	CDS_INIT_LIST_HEAD(&fence->callbacks);
	return fence;
}

struct gpuvm_fence *gpuvm_fence_get(struct gpuvm_fence *fence)
{
	__atomic_fetch_add(&fence->refcount, 1, __ATOMIC_RELAXED);
	return fence;
}

void gpuvm_fence_put(struct gpuvm_fence *fence)
{
	if (!fence ||
	    __atomic_sub_fetch(&fence->refcount, 1, __ATOMIC_ACQ_REL))
		return;
	pthread_cond_destroy(&fence->signalled_cond);
	pthread_mutex_destroy(&fence->lock);
	free(fence);
}

int gpuvm_fence_signal(struct gpuvm_fence *fence, int error)
{
	struct cds_list_head callbacks;
	struct gpuvm_fence_cb *cb, *next;

	if (error > 0)
		return -EINVAL;
	pthread_mutex_lock(&fence->lock);
	if (fence->status) {
		pthread_mutex_unlock(&fence->lock);
		return -EINVAL;
	}
	fence->status = error ? error : 1;
	CDS_INIT_LIST_HEAD(&callbacks);
	cds_list_splice(&fence->callbacks, &callbacks);
	CDS_INIT_LIST_HEAD(&fence->callbacks);
	pthread_cond_broadcast(&fence->signalled_cond);
	pthread_mutex_unlock(&fence->lock);
	/* A callback may free the memory its cb lives in: read next first. */
	cds_list_for_each_entry_safe(cb, next, &callbacks, node) {
		CDS_INIT_LIST_HEAD(&cb->node);
		cb->func(fence, cb);
	}
	return 0;
}

int gpuvm_fence_status(struct gpuvm_fence *fence)
{
	int status;

	pthread_mutex_lock(&fence->lock);
	status = fence->status;
	pthread_mutex_unlock(&fence->lock);
	return status;
}

static struct timespec deadline_after(int64_t ns)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	t.tv_sec += ns / 1000000000;
	t.tv_nsec += ns % 1000000000;
	if (t.tv_nsec >= 1000000000) {
		t.tv_sec++;
		t.tv_nsec -= 1000000000;
	}
	return t;
}

int gpuvm_fence_wait(struct gpuvm_fence *fence, int64_t timeout_ns)
{
	struct timespec deadline = deadline_after(timeout_ns > 0 ? timeout_ns :
						  0);
	int ret = 0;

	pthread_mutex_lock(&fence->lock);
	while (!fence->status && !ret) {
		if (timeout_ns < 0)
			pthread_cond_wait(&fence->signalled_cond, &fence->lock);
		else if (pthread_cond_timedwait(&fence->signalled_cond,
						&fence->lock, &deadline))
			ret = -ETIMEDOUT;
	}
	if (fence->status)
		ret = 0;
	pthread_mutex_unlock(&fence->lock);
	return ret;
}

int gpuvm_fence_add_callback(struct gpuvm_fence *fence,
			     struct gpuvm_fence_cb *cb, gpuvm_fence_func_t func)
{
	int ret = 0;

	cb->func = func;
	pthread_mutex_lock(&fence->lock);
	if (fence->status) {
		CDS_INIT_LIST_HEAD(&cb->node);
		ret = -ENOENT;
	} else {
		cds_list_add_tail(&cb->node, &fence->callbacks);
	}
	pthread_mutex_unlock(&fence->lock);
	return ret;
}

bool gpuvm_fence_remove_callback(struct gpuvm_fence *fence,
				 struct gpuvm_fence_cb *cb)
{
	bool waiting;

	pthread_mutex_lock(&fence->lock);
	waiting = !fence->status;
	if (waiting)
		cds_list_del_init(&cb->node);
	pthread_mutex_unlock(&fence->lock);
	return waiting;
}

bool gpuvm_fence_begin_signalling(void)
{
	mt_alloc_forbid_begin();
	return true;
}

void gpuvm_fence_end_signalling(bool cookie)
{
	if (cookie)
		mt_alloc_forbid_end();
}
