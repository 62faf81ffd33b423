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

/* Fill in @va from @op, as a mapping of @vm (NULL: not inserted yet). */
void gpuvm_va_from_op(struct gpuva *va, struct gpuvm *vm,
		      const struct gpuva_op_map *op);

/* Free a mapping no reader can hold (never published, or after RCU). */
void gpuvm_va_free(struct gpuvm *vm, struct gpuva *va);

/* Abort with a message unless the caller holds @vm's lock. */
void gpuvm_assert_locked(struct gpuvm *vm, const char *func);

/* Report a misuse or a broken invariant and abort. */
void gpuvm_bug(const char *what) __attribute__((noreturn));

/*
 * Merge the placeholders left by removed mappings into free space (see
 * mapping.c). Caller: VM lock; may allocate; a failure leaves them.
 */
void gpuvm_clear_placeholders(struct gpuvm *vm);

/*
 * Tidy the slots touching [start, end) now: merge the slots of split
 * mappings and turn placeholders into free space, except across the
 * boundaries pending binds need; what memory stops waits for the next
 * gpuvm_clear_placeholders(). Caller: VM lock; may allocate.
 */
void gpuvm_tidy(struct gpuvm *vm, uint64_t start, uint64_t end);

/* Remember [start, end) for the next gpuvm_clear_placeholders(). */
void gpuvm_tidy_later(struct gpuvm *vm, uint64_t start, uint64_t end);

/*
 * Store @entry over every slot of [addr, addr + range) in place, each
 * exactly. Caller: VM lock; no allocation. Return: 0, or -EFAULT if a slot
 * crosses an end of the range (the slots before it are replaced).
 */
int gpuvm_replace_slots(struct gpuvm *vm, uint64_t addr, uint64_t range,
			void *entry);

/* Count @delta mappings in or out of @vm. Caller: VM lock. */
void gpuvm_count_mappings(struct gpuvm *vm, long delta);

/*
 * The split/merge walk of a map (or, with @unmap, unmap) request, handing
 * each op to @fn, which may change the tree. Allocates nothing.
 */
int gpuvm_sm_walk(struct gpuvm *vm, bool unmap, const struct gpuva_op_map *req,
		  int (*fn)(void *priv, struct gpuva_op *op), void *priv);

/* Release the VM lock without tidying (inside signalling sections). */
void gpuvm_unlock_untidy(struct gpuvm *vm);

/* Request checks shared by inserts and split/merge. */
int gpuvm_check_map(const struct gpuvm *vm, const struct gpuva_op_map *map);

/* Run @fn on @head after a grace period of the tree's RCU flavour. */
static inline void gpuvm_call_rcu(struct gpuvm_rcu_head *head,
				  void (*fn)(struct rcu_head *head))
{
	mt_call_rcu((struct rcu_head *)head, fn);
}

#define gpuvm_rcu_owner(head, type, member) \
	caa_container_of((struct gpuvm_rcu_head *)(head), type, member)

/* The mapping an entry of the tree stands for: NULL for placeholders. */
static inline struct gpuva *gpuvm_entry_va(void *entry)
{
	return xa_is_zero(entry) ? NULL : (struct gpuva *)entry;
}

#endif
