// SPDX-License-Identifier: MIT
/*
 * Reservations that survive change: nodes for a number of future stores,
 * whatever other writers do to the tree in between. The bound and why it
 * holds are in <mapletree/node_alloc.h>; the per-level count of 3 follows
 * from store.c: a level's content is at most 33 slots (up to 16 kept on
 * each side of what changed and what the level below made), or at most 32
 * when a neighbour was absorbed, which happens only below 7 slots or when
 * the two fit in 2 nodes. Internal levels of allocation-range trees hold
 * at most 17 (7 + 3 + 7) in nodes of 8, or 16 after absorbing: 3 again.
 */
#include <errno.h>

#include "maple/node.h"

#define MT_MAX_NODES_PER_LEVEL	3

/*
 * The highest a tree of @max_entries entries can be (see the header): a
 * tree of height h + 1 has at least 7 * fanout^(h - 1) ranges, where the
 * least fanout of internal nodes is 7, or 4 in allocation-range trees.
 */
static unsigned long mt_height_bound(const struct maple_tree *mt,
				     unsigned long max_entries)
{
	unsigned long ranges = max_entries > (ULONG_MAX - 1) / 2 ? ULONG_MAX :
			       2 * max_entries + 1;
	unsigned long fanout = mt_alloc_tree(mt) ? MAPLE_ARANGE_MIN :
			       MAPLE_NODE_MIN;
	unsigned long least = MAPLE_NODE_MIN;	/* ranges at height h + 1 */
	unsigned long h = 1;

	while (least <= ranges && h < MAPLE_HEIGHT_MAX) {
		h++;
		if (least > ULONG_MAX / fanout)
			break;
		least *= fanout;
	}
	return h;
}

struct maple_node *mt_reservation_take(struct mt_reservation *res)
{
	struct maple_node *node = mt_list_pop(&res->nodes);

	if (node)
		res->nr--;
	return node;
}

void mt_reservation_give(struct mt_reservation *res, struct maple_node *node)
{
	mt_list_push(&res->nodes, node);
	res->nr++;
}

int mt_reserve(struct maple_tree *mt, struct mt_reservation *res,
	       unsigned int nr_stores, unsigned long max_entries, gfp_t gfp)
{
	unsigned long i, total;

	if (!mt || !res)
		return -EINVAL;
	res->nodes = NULL;
	res->nr = 0;
	res->per_store = MT_MAX_NODES_PER_LEVEL * mt_height_bound(mt, max_entries) + 1;
	total = res->per_store * nr_stores;
	for (i = 0; i < total; i++) {
		struct maple_node *node = mt_node_alloc(gfp);

		if (!node) {
			mt_reserve_release(res);
			return -ENOMEM;
		}
		mt_reservation_give(res, node);
	}
	return 0;
}

void mas_use_reservation(struct ma_state *mas, struct mt_reservation *res)
{
	mas->reservation = res;
}

void mt_reserve_release(struct mt_reservation *res)
{
	struct maple_node *node;

	while ((node = mt_reservation_take(res)))
		mt_node_free(node);
}

unsigned long mt_reservation_nodes(const struct mt_reservation *res)
{
	return res ? res->nr : 0;
}
