// SPDX-License-Identifier: MIT
/*
 * Writer locks. A tree is written under its internal mutex or under an
 * external lock whose owner told the tree how to ask whether it is held.
 * Debug builds (NDEBUG undefined) check on every write path and abort with
 * a message naming the function: a write without the lock is a bug that
 * must not pass silently.
 */
#include <stdio.h>
#include <stdlib.h>

#include "maple/node.h"

static void mt_lock_bug(const struct maple_tree *mt, const char *func,
			const char *why)
{
	fprintf(stderr, "mapletree: %s on tree %p: %s\n", func, (void *)mt, why);
	abort();
}

void mtree_lock(struct maple_tree *mt)
{
	if (mt_external_locked(mt))
		mt_lock_bug(mt, __func__, "the tree uses an external lock");
	pthread_mutex_lock(&mt->ma_lock);
	__atomic_store_n(&mt->ma_owner, pthread_self(), __ATOMIC_RELAXED);
	__atomic_store_n(&mt->ma_owned, true, __ATOMIC_RELAXED);
}

bool mtree_trylock(struct maple_tree *mt)
{
	if (pthread_mutex_trylock(&mt->ma_lock))
		return false;
	__atomic_store_n(&mt->ma_owner, pthread_self(), __ATOMIC_RELAXED);
	__atomic_store_n(&mt->ma_owned, true, __ATOMIC_RELAXED);
	return true;
}

void mtree_unlock(struct maple_tree *mt)
{
	if (mt_external_locked(mt))
		mt_lock_bug(mt, __func__, "the tree uses an external lock");
#ifndef NDEBUG
	if (!mt_lock_is_held(mt))
		mt_lock_bug(mt, __func__, "unlocking a lock this thread does not hold");
#endif
	__atomic_store_n(&mt->ma_owned, false, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&mt->ma_lock);
}

void mas_lock(struct ma_state *mas)
{
	mtree_lock(mas->tree);
}

void mas_unlock(struct ma_state *mas)
{
	mtree_unlock(mas->tree);
}

void mt_set_external_lock(struct maple_tree *mt, void *lock)
{
	mt->ma_external_lock = lock;
}

void mt_set_external_lock_check(struct maple_tree *mt, mt_lock_held_fn held,
				void *arg)
{
	mt->ma_lock_held = held;
	mt->ma_lock_arg = arg;
}

void mt_set_external_lock_ops(struct maple_tree *mt, mt_lock_try_fn trylock,
			      mt_lock_release_fn unlock)
{
	mt->ma_trylock = trylock;
	mt->ma_unlock = unlock;
}

void *mt_external_lock(const struct maple_tree *mt)
{
	return mt_external_locked(mt) ? mt->ma_external_lock : NULL;
}

bool mt_lock_is_held(const struct maple_tree *mt)
{
	if (mt_external_locked(mt))
		return mt->ma_lock_held && mt->ma_lock_held(mt->ma_lock_arg);
	/* Only the owner can see its own true, so the race is harmless. */
	return __atomic_load_n(&mt->ma_owned, __ATOMIC_RELAXED) &&
	       pthread_equal(__atomic_load_n(&mt->ma_owner, __ATOMIC_RELAXED),
			     pthread_self());
}

void mt_assert_locked(const struct maple_tree *mt, const char *func)
{
#ifndef NDEBUG
	if (mt_lock_is_held(mt))
		return;
	if (mt_external_locked(mt) && !mt->ma_lock_held)
		mt_lock_bug(mt, func, "external lock has no held-check; "
			    "call mt_set_external_lock_check()");
	mt_lock_bug(mt, func, "writer lock not held");
#else
	(void)mt;
	(void)func;
#endif
}
