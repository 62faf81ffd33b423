// SPDX-License-Identifier: MIT
/* Text and Graphviz dumps of a tree, for debugging. */
#include <errno.h>
#include <stdio.h>

#include "maple/node.h"

static void mt_dump_range(FILE *f, unsigned long min, unsigned long max,
			  enum mt_dump_format format)
{
	if (format == mt_dump_hex)
		fprintf(f, "%lx-%lx", min, max);
	else
		fprintf(f, "%lu-%lu", min, max);
}

static void mt_dump_node(void *enode, unsigned int depth, unsigned long min,
			 unsigned long max, enum mt_dump_format format)
{
	struct maple_node *node = mte_to_node(enode);
	unsigned char end = mt_node_end(node, max);
	unsigned char i;

	fprintf(stderr, "%*s", depth * 2, "");
	mt_dump_range(stderr, min, max, format);
	fprintf(stderr, ": %s %p", mte_is_leaf(enode) ? "leaf" : "node",
		(void *)node);
	for (i = 0; mte_type(enode) == maple_arange_64 && i <= end; i++)
		fprintf(stderr, "%s%lu", i ? " " : " gaps ", node->gap[i]);
	fputc('\n', stderr);
	for (i = 0; i <= end; i++) {
		unsigned long smin = mt_slot_min(node, i, min);
		unsigned long smax = mt_slot_max(node, i, max);

		if (!mte_is_leaf(enode)) {
			mt_dump_node(node->slot[i], depth + 1, smin, smax, format);
			continue;
		}
		fprintf(stderr, "%*s", depth * 2 + 2, "");
		mt_dump_range(stderr, smin, smax, format);
		fprintf(stderr, ": %p\n", node->slot[i]);
	}
}

void mt_dump(const struct maple_tree *mt, enum mt_dump_format format)
{
	void *root = mt_root(mt);

	fprintf(stderr, "maple_tree(%p) flags %x height %u root %p\n",
		(void *)mt, mt->ma_flags, mt_tree_height(mt), root);
	if (mt_is_node(root))
		mt_dump_node(root, 0, 0, ULONG_MAX, format);
	else if (root)
		fprintf(stderr, "  0-0: %p\n", root);
}

static void mt_dot_node(FILE *f, void *enode, unsigned long min,
			unsigned long max)
{
	struct maple_node *node = mte_to_node(enode);
	unsigned char end = mt_node_end(node, max);
	unsigned char i;

	fprintf(f, "  n%p [label=\"", (void *)node);
	for (i = 0; i <= end; i++) {
		fprintf(f, "%s<s%u> %lu-%lu", i ? "|" : "", i,
			mt_slot_min(node, i, min), mt_slot_max(node, i, max));
		if (mte_is_leaf(enode))
			fprintf(f, "\\n%p", node->slot[i]);
		else if (mte_type(enode) == maple_arange_64)
			fprintf(f, "\\ngap %lu", node->gap[i]);
	}
	fprintf(f, "\"];\n");
	if (mte_is_leaf(enode))
		return;
	for (i = 0; i <= end; i++) {
		fprintf(f, "  n%p:s%u -> n%p;\n", (void *)node, i,
			(void *)mte_to_node(node->slot[i]));
		mt_dot_node(f, node->slot[i], mt_slot_min(node, i, min),
			    mt_slot_max(node, i, max));
	}
}

int mt_dump_dot(const struct maple_tree *mt, FILE *out)
{
	void *root = mt_root(mt);

	fprintf(out, "digraph maple_tree {\n  node [shape=record];\n");
	if (mt_is_node(root))
		mt_dot_node(out, root, 0, ULONG_MAX);
	else if (root)
		fprintf(out, "  root [label=\"0-0\\n%p\"];\n", root);
	fprintf(out, "}\n");
	return ferror(out) ? -EIO : 0;
}
