/* SPDX-License-Identifier: MIT */
/* What the VA manager's files share; not installed. */
#ifndef MAPLETREE_GPUVM_INTERNAL_H
#define MAPLETREE_GPUVM_INTERNAL_H

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <mapletree/gpuvm.h>

_Static_assert(sizeof(unsigned long) == sizeof(uint64_t),
	       "the VA manager needs 64-bit tree indices");

#define gpuvm_container_of(ptr, type, member) \
	((type *)((char *)(ptr) - offsetof(type, member)))

/* One past the last address of [addr, addr + range); the range is valid. */
static inline uint64_t va_end(const struct gpuva *va)
{
	return va->va.addr + va->va.range;
}

/*
 * Allocations made by the library itself: they count for fault injection
 * and forbidden sections as node allocations do.
 */
static inline void *gpuvm_zalloc(size_t size)
{
	return mt_alloc_check() ? NULL : calloc(1, size);
}

/* Abort with a message unless the caller holds @vm's lock. */
void gpuvm_assert_locked(struct gpuvm *vm, const char *func);

/* Report a misuse or a broken invariant and abort. */
void gpuvm_bug(const char *what) __attribute__((noreturn));

/*
 * Merge the placeholders left by removed mappings into free space (see
 * mapping.c). Caller: VM lock; may allocate; a failure leaves them.
 */
void gpuvm_clear_placeholders(struct gpuvm *vm);

/* Request checks shared by inserts and split/merge. */
int gpuvm_check_map(const struct gpuvm *vm, const struct gpuva_op_map *map);

/* Run @fn on @head after a grace period of the tree's RCU flavour. */
static inline void gpuvm_call_rcu(struct gpuvm_rcu_head *head,
				  void (*fn)(struct rcu_head *head))
{
	mt_call_rcu((struct rcu_head *)head, fn);
}

#define gpuvm_rcu_owner(head, type, member) \
	gpuvm_container_of((struct gpuvm_rcu_head *)(head), type, member)

/* The mapping an entry of the tree stands for: NULL for placeholders. */
static inline struct gpuva *gpuvm_entry_va(void *entry)
{
	return xa_is_zero(entry) ? NULL : (struct gpuva *)entry;
}

#endif
