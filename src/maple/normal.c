// SPDX-License-Identifier: MIT
/* The Normal API: each call takes the lock or RCU read lock it needs. */
#include <errno.h>

#include "maple/node.h"

int mtree_store_range(struct maple_tree *mt, unsigned long first,
		      unsigned long last, void *entry, gfp_t gfp)
{
	MA_STATE(mas, mt, first, last);
	int ret;

	if (!mt || first > last || mt_entry_reserved(entry))
		return -EINVAL;
	mt_normal_lock(mt);
	do {
		ret = mt_store_range(&mas, first, last, entry, gfp, 0, NULL);
	} while (ret == -ENOMEM && mas_nomem(&mas, gfp));
	mas_release_alloc(&mas);
	mt_normal_unlock(mt);
	return ret;
}

int mtree_store(struct maple_tree *mt, unsigned long index, void *entry,
		gfp_t gfp)
{
	return mtree_store_range(mt, index, index, entry, gfp);
}

bool mt_find_any(struct maple_tree *mt, unsigned long first,
		 unsigned long last)
{
	MA_STATE(mas, mt, first, first);

	if (mas_walk(&mas))
		return true;
	return mas.last < last && mas_find(&mas, last);
}

int mtree_insert_range(struct maple_tree *mt, unsigned long first,
		       unsigned long last, void *entry, gfp_t gfp)
{
	MA_STATE(mas, mt, first, last);
	int ret;

	if (!mt || first > last || !entry || mt_entry_reserved(entry))
		return -EINVAL;
	mt_normal_lock(mt);
	do {
		ret = mt_store_range(&mas, first, last, entry, gfp,
				     MT_STORE_INSERT, NULL);
	} while (ret == -ENOMEM && mas_nomem(&mas, gfp));
	mas_release_alloc(&mas);
	mt_normal_unlock(mt);
	return ret;
}

int mtree_insert(struct maple_tree *mt, unsigned long index, void *entry,
		 gfp_t gfp)
{
	return mtree_insert_range(mt, index, index, entry, gfp);
}

void *mtree_erase(struct maple_tree *mt, unsigned long index)
{
	MA_STATE(mas, mt, index, index);
	void *entry;

	if (!mt)
		return NULL;
	mt_normal_lock(mt);
	entry = mas_erase(&mas);
	mt_normal_unlock(mt);
	return entry;
}

void *mt_find(struct maple_tree *mt, unsigned long *index, unsigned long max)
{
	MA_STATE(mas, mt, index ? *index : 0, index ? *index : 0);
	void *entry;

	if (!mt || !index || *index > max)
		return NULL;
	mt_rcu_read_lock();
	do {
		entry = mas_find(&mas, max);
	} while (xa_is_zero(entry));
	mt_rcu_read_unlock();
	if (entry)
		*index = mas.last + 1;	/* 0 after ULONG_MAX */
	return entry;
}

void *mt_find_after(struct maple_tree *mt, unsigned long *index,
		    unsigned long max)
{
	if (!index || !*index)
		return NULL;
	return mt_find(mt, index, max);
}

void *mt_next(struct maple_tree *mt, unsigned long index, unsigned long max)
{
	MA_STATE(mas, mt, index, index);
	void *entry;

	if (!mt)
		return NULL;
	mt_rcu_read_lock();
	do {
		entry = mas_next(&mas, max);
	} while (xa_is_zero(entry));
	mt_rcu_read_unlock();
	return entry;
}

void *mt_prev(struct maple_tree *mt, unsigned long index, unsigned long min)
{
	MA_STATE(mas, mt, index, index);
	void *entry;

	if (!mt)
		return NULL;
	mt_rcu_read_lock();
	do {
		entry = mas_prev(&mas, min);
	} while (xa_is_zero(entry));
	mt_rcu_read_unlock();
	return entry;
}
