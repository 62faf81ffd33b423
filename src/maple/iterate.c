// SPDX-License-Identifier: MIT
/*
 * The Advanced API's cursor: walk, find, next, prev and their range forms.
 *
 * The cursor remembers the leaf it stands in (node, min, max, offset,
 * end) and the range found (index, last). Moving within the leaf reads the
 * next or previous slot; leaving it, or finding the leaf dead (replaced
 * under RCU) or forgotten (after a store or a pause), walks again from the
 * root at the neighbouring index. A walk under RCU may find the tree
 * changed: the reported range is then clipped so iteration still moves
 * strictly forward (or backward).
 *
 * How each call behaves from each starting status is fixed by the table in
 * spec/maple_tree.md; the comments at each case name the rule.
 */
#include <errno.h>

#include "maple/node.h"

bool mas_is_err(const struct ma_state *mas)
{
	return mas->status == ma_error;
}

void mas_reset(struct ma_state *mas)
{
	mas->status = ma_start;
	mas->node = NULL;
}

void __mas_set_range(struct ma_state *mas, unsigned long start,
		     unsigned long last)
{
	mas->index = start;
	mas->last = last;
}

void mas_set_range(struct ma_state *mas, unsigned long start,
		   unsigned long last)
{
	__mas_set_range(mas, start, last);
	mas_reset(mas);
}

void mas_set(struct ma_state *mas, unsigned long index)
{
	mas_set_range(mas, index, index);
}

void mas_pause(struct ma_state *mas)
{
	mas->status = ma_pause;
	mas->node = NULL;
}

/* A cursor without a tree is put in the error state (-EINVAL). */
static bool mas_unusable(struct ma_state *mas)
{
	if (mas->tree)
		return false;
	mas_set_err(mas, -EINVAL);
	return true;
}

/* Walk to the range holding mas->index; the tree-without-nodes cases too. */
void *mas_walk(struct ma_state *mas)
{
	void *entry;

	if (mas_unusable(mas))
		return NULL;
	entry = mas_descend(mas, mas->index);

	if (mas->status == ma_none) {
		mas->index = 0;
		mas->last = ULONG_MAX;
	} else if (mas->status == ma_root) {
		if (mas->index) {
			mas->index = 1;
			mas->last = ULONG_MAX;
			entry = NULL;
		} else {
			mas->last = 0;
		}
	}
	return entry;
}

static bool mas_leaf_valid(const struct ma_state *mas)
{
	return mas->status == ma_active && mas->node &&
	       !mt_node_dead(mte_to_node(mas->node));
}

/* Move to the range after the current one. False if there is none. */
static bool mas_step_next(struct ma_state *mas, void **entry)
{
	unsigned long from = mas->last + 1;

	if (mas->last == ULONG_MAX)
		return false;
	if (mas_leaf_valid(mas) && mas->offset < mas->end) {
		struct maple_node *node = mte_to_node(mas->node);
		unsigned char off = mas->offset + 1;
		unsigned long first, last;
		void *slot;

		if (mt_leaf_read_slot(node, off, mas->min, mas->max, &first,
				      &last, &slot) &&
		    first == from && !mt_node_dead(node)) {
			mas->offset = off;
			mas->index = from;
			mas->last = last;
			*entry = slot;
			return true;
		}
	}
	*entry = mas_descend(mas, from);
	if (mas->status != ma_active)
		return false;
	if (mas->index < from)
		mas->index = from;
	return true;
}

/* Move to the range before the current one. False if there is none. */
static bool mas_step_prev(struct ma_state *mas, void **entry)
{
	unsigned long from = mas->index - 1;

	if (!mas->index)
		return false;
	if (mas_leaf_valid(mas) && mas->offset > 0) {
		struct maple_node *node = mte_to_node(mas->node);
		unsigned char off = mas->offset - 1;
		unsigned long first, last;
		void *slot;

		if (mt_leaf_read_slot(node, off, mas->min, mas->max, &first,
				      &last, &slot) &&
		    last == from && !mt_node_dead(node)) {
			mas->offset = off;
			mas->index = first;
			mas->last = from;
			*entry = slot;
			return true;
		}
	}
	*entry = mas_descend(mas, from);
	if (mas->status != ma_active)
		return false;
	if (mas->last > from)
		mas->last = from;
	return true;
}

enum mas_stop {
	stop_found,
	stop_end,	/* no range left to look at */
	stop_limit,	/* the range looked at reaches past the limit */
};

/* Look forward for an entry (or any range, with @empty) up to @max. */
static enum mas_stop mas_seek_next(struct ma_state *mas, unsigned long max,
				   bool empty, void **entry)
{
	for (;;) {
		if (!mas_step_next(mas, entry))
			return stop_end;
		if (mas->index > max)
			return stop_limit;
		if (*entry || empty)
			return stop_found;
		if (mas->last >= max)
			return stop_limit;
	}
}

/* Look backward for an entry (or any range, with @empty) down to @min. */
static enum mas_stop mas_seek_prev(struct ma_state *mas, unsigned long min,
				   bool empty, void **entry)
{
	for (;;) {
		if (!mas_step_prev(mas, entry))
			return stop_end;
		if (mas->last < min)
			return stop_limit;
		if (*entry || empty)
			return stop_found;
		if (mas->index <= min)
			return stop_limit;
	}
}


static void *mas_set_none(struct ma_state *mas, unsigned long index,
			  unsigned long last)
{
	mas->status = ma_none;
	mas->node = NULL;
	mas->index = index;
	mas->last = last;
	return NULL;
}

/*
 * The cursor on a tree without nodes. @root is the root as read once by the
 * caller: a writer may give the tree nodes at any moment, and every
 * decision must come from the same reading.
 */
static void *mas_root_entry(struct ma_state *mas, void *root)
{
	if (!root)
		return mas_set_none(mas, 0, ULONG_MAX);
	mas->status = ma_root;
	mas->node = NULL;
	mas->index = 0;
	mas->last = 0;
	return root;
}

/* ---- next --------------------------------------------------------------- */

static void *mas_next_common(struct ma_state *mas, unsigned long max,
			     bool empty)
{
	enum maple_status from = mas->status;
	void *entry = NULL;

	void *root;

	if (from == ma_error || mas_unusable(mas))
		return NULL;
	root = mt_root(mas->tree);
	if (!mt_is_node(root)) {
		/*
		 * A root entry has nothing after index 0; from none at 0 (and
		 * not already past the limit, as after walking an empty tree)
		 * the entry at 0 is next.
		 */
		if (from == ma_none && !mas->index && mas->last < max)
			return mas_root_entry(mas, root);
		return mas_set_none(mas, 1, ULONG_MAX);
	}
	if (mas->last >= max) {
		mas->status = ma_overflow;
		return NULL;
	}
	switch (from) {
	case ma_active:
		break;
	case ma_underflow:
		/* Standing before the range it could not go below. */
		entry = mas_walk(mas);
		if (entry || empty)
			return entry;
		break;
	case ma_overflow:
		mas->status = ma_active;
		mas->node = NULL;
		break;
	default:
		mas_walk(mas);
		break;
	}
	switch (mas_seek_next(mas, max, empty, &entry)) {
	case stop_found:
		mas->status = ma_active;
		return entry;
	case stop_limit:
		mas->status = ma_overflow;
		return NULL;
	default:
		mas->status = ma_active;
		return NULL;
	}
}

void *mas_next(struct ma_state *mas, unsigned long max)
{
	return mas_next_common(mas, max, false);
}

void *mas_next_range(struct ma_state *mas, unsigned long max)
{
	return mas_next_common(mas, max, true);
}

/* ---- prev --------------------------------------------------------------- */

static void *mas_prev_common(struct ma_state *mas, unsigned long min,
			     bool empty)
{
	enum maple_status from = mas->status;
	void *entry = NULL;

	void *root;

	if (from == ma_error || mas_unusable(mas))
		return NULL;
	root = mt_root(mas->tree);
	if (!mt_is_node(root)) {
		/* A root entry is before every index but 0. */
		if (from != ma_root && mas->index && !min && root)
			return mas_root_entry(mas, root);
		return mas_set_none(mas, 0, 0);
	}
	if (from == ma_root)
		return mas_set_none(mas, 0, 0);
	switch (from) {
	case ma_active:
		if (mas->index <= min) {
			mas->status = ma_underflow;
			return NULL;
		}
		break;
	case ma_underflow:
		if (mas->index <= min)
			return NULL;
		mas->status = ma_active;
		mas->node = NULL;
		break;
	case ma_overflow:
		/* Overflow leaves the cursor one step past where it stands. */
		entry = mas_walk(mas);
		if (entry || empty)
			return entry;
		break;
	default:
		mas_walk(mas);
		break;
	}
	if (from != ma_active && from != ma_underflow && from != ma_overflow &&
	    mas->index <= min)
		goto not_found;
	switch (mas_seek_prev(mas, min, empty, &entry)) {
	case stop_found:
		mas->status = ma_active;
		return entry;
	default:
		if (from == ma_active || from == ma_underflow ||
		    from == ma_overflow) {
			mas->status = ma_underflow;
			return NULL;
		}
		break;
	}
not_found:
	mas->node = NULL;
	mas->index = min;
	mas->last = min;
	mas->status = from == ma_none ? ma_none : ma_active;
	return NULL;
}

void *mas_prev(struct ma_state *mas, unsigned long min)
{
	return mas_prev_common(mas, min, false);
}

void *mas_prev_range(struct ma_state *mas, unsigned long min)
{
	return mas_prev_common(mas, min, true);
}

/* ---- find --------------------------------------------------------------- */

/* mas_find() on a tree without nodes, by the table's rules. */
static void *mas_find_rootless(struct ma_state *mas, enum maple_status from,
			       void *root)
{
	if (!mas->index) {
		if (from != ma_root)
			return mas_root_entry(mas, root);
		return mas_set_none(mas, 1, ULONG_MAX);
	}
	if (from == ma_none)
		return mas_set_none(mas, 1, 1);
	return mas_set_none(mas, 0, 0);
}

static void *mas_find_common(struct ma_state *mas, unsigned long max,
			     bool empty)
{
	enum maple_status from = mas->status;
	void *entry = NULL;

	void *root;

	if (from == ma_error || mas_unusable(mas))
		return NULL;
	root = mt_root(mas->tree);
	if (!mt_is_node(root)) {
		if (!root)
			return mas_set_none(mas, 0, ULONG_MAX);
		return mas_find_rootless(mas, from, root);
	}
	switch (from) {
	case ma_active:
		if (mas->last >= max)
			return NULL;
		break;
	case ma_overflow:
	case ma_underflow:
		if (from == ma_overflow && mas->last >= max)
			return NULL;
		entry = mas_walk(mas);
		if (entry || empty) {
			mas->status = ma_active;
			return entry;
		}
		break;
	case ma_pause:
		if (mas->last >= max)
			return NULL;
		mas->index = mas->last + 1;
		goto walk;
	case ma_none:
		mas->index = mas->last;
		goto walk;
	default:
walk:
		if (mas->index > max)
			goto not_found;
		entry = mas_walk(mas);
		if (entry || empty)
			return entry;
		break;
	}
	if (mas_seek_next(mas, max, empty, &entry) == stop_found) {
		mas->status = ma_active;
		return entry;
	}
	mas->status = ma_active;
	if (from != ma_start && from != ma_pause && from != ma_none)
		return NULL;
not_found:
	mas->status = ma_active;
	mas->node = NULL;
	mas->index = max;
	mas->last = max;
	return NULL;
}

void *mas_find(struct ma_state *mas, unsigned long max)
{
	return mas_find_common(mas, max, false);
}

void *mas_find_range(struct ma_state *mas, unsigned long max)
{
	return mas_find_common(mas, max, true);
}

/* mas_find_rev() on a tree without nodes, by the table's rules. */
static void *mas_find_rev_rootless(struct ma_state *mas,
				   enum maple_status from, unsigned long min,
				   void *root)
{
	if (mas->index && from != ma_root && !min)
		return mas_root_entry(mas, root);
	return mas_set_none(mas, 0, 0);
}

static void *mas_find_rev_common(struct ma_state *mas, unsigned long min,
				 bool empty)
{
	enum maple_status from = mas->status;
	void *entry = NULL;

	void *root;

	if (from == ma_error || mas_unusable(mas))
		return NULL;
	root = mt_root(mas->tree);
	if (!mt_is_node(root)) {
		if (!root)
			return mas_set_none(mas, 0, ULONG_MAX);
		return mas_find_rev_rootless(mas, from, min, root);
	}
	switch (from) {
	case ma_active:
	case ma_overflow:
		if (mas->index <= min)
			return NULL;
		mas->status = ma_active;
		break;
	case ma_underflow:
		if (mas->index <= min)
			return NULL;
		entry = mas_walk(mas);
		if (entry || empty) {
			mas->status = ma_active;
			return entry;
		}
		break;
	case ma_pause:
		if (mas->index <= min)
			return NULL;
		mas->index--;
		mas->last = mas->index;
		goto walk;
	default:
walk:
		if (mas->last < min)
			goto not_found;
		entry = mas_walk(mas);
		if (entry || empty)
			return entry;
		break;
	}
	if (mas_seek_prev(mas, min, empty, &entry) == stop_found) {
		mas->status = ma_active;
		return entry;
	}
	mas->status = ma_active;
	if (from != ma_start && from != ma_pause && from != ma_none)
		return NULL;
not_found:
	mas->status = ma_active;
	mas->node = NULL;
	mas->index = min;
	mas->last = min;
	return NULL;
}

void *mas_find_rev(struct ma_state *mas, unsigned long min)
{
	return mas_find_rev_common(mas, min, false);
}

void *mas_find_range_rev(struct ma_state *mas, unsigned long min)
{
	return mas_find_rev_common(mas, min, true);
}
