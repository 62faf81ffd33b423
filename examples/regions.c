/* regions.c: readers look up addresses while a writer replaces regions.
 * cc -std=gnu11 regions.c $(pkg-config --cflags --libs mapletree) */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <pthread.h>

#include <urcu/urcu-memb.h>		/* the tree's default flavour */
#include <mapletree/maple_tree.h>

#define NR_REGIONS	64
#define REGION_SIZE	4096UL
#define NR_READERS	2

struct region {
	unsigned long first, last;	/* the range this region covers */
	unsigned long version;
	struct rcu_head rcu;		/* for the deferred free */
};

static struct maple_tree regions;
static atomic_bool stop;

static struct region *region_new(unsigned long i, unsigned long version)
{
	struct region *r = malloc(sizeof(*r));

	if (!r)
		abort();
	r->first = i * REGION_SIZE;
	r->last = r->first + REGION_SIZE / 2 - 1;	/* leave a gap after */
	r->version = version;
	return r;
}

static void region_free(struct rcu_head *head)
{
	free(caa_container_of(head, struct region, rcu));
}

static void *reader(void *arg)
{
	unsigned long *bad = arg, hits = 0;
	unsigned long addr = 0;

	urcu_memb_register_thread();
	while (!atomic_load(&stop)) {
		addr = (addr + 997) % (NR_REGIONS * REGION_SIZE);
		/*
		 * mtree_load() takes RCU itself, but the region it returns
		 * may be freed as soon as no read-side section covers it:
		 * hold one across the lookup and every use of the result.
		 */
		urcu_memb_read_lock();
		struct region *r = mtree_load(&regions, addr);
		if (r) {
			hits++;
			if (addr < r->first || addr > r->last)
				(*bad)++;
		}
		urcu_memb_read_unlock();
	}
	urcu_memb_unregister_thread();
	printf("reader: %lu hits\n", hits);
	return NULL;
}

int main(void)
{
	pthread_t threads[NR_READERS];
	unsigned long bad[NR_READERS] = { 0 };
	unsigned long i, round, total_bad = 0;
	struct region *r;
	void *entry;
	int err;

	urcu_memb_register_thread();	/* this thread calls call_rcu() */
	mt_init_flags(&regions, MT_FLAGS_USE_RCU);
	for (i = 0; i < NR_REGIONS; i++) {
		r = region_new(i, 0);
		err = mtree_insert_range(&regions, r->first, r->last, r,
					 GFP_KERNEL);
		if (err) {
			fprintf(stderr, "insert: %d\n", err);
			return 1;
		}
	}

	for (i = 0; i < NR_READERS; i++)
		pthread_create(&threads[i], NULL, reader, &bad[i]);

	/* The only writer: replace regions, free the old ones later. */
	for (round = 1; round <= 100000; round++) {
		struct region *old;

		i = round % NR_REGIONS;
		r = region_new(i, round);
		old = mtree_load(&regions, r->first);	/* no other writer */
		err = mtree_store_range(&regions, r->first, r->last, r,
					GFP_KERNEL);
		if (err) {
			free(r);	/* the tree is unchanged */
			continue;
		}
		/* Readers may still hold old: free it after a grace period. */
		urcu_memb_call_rcu(&old->rcu, region_free);
	}

	atomic_store(&stop, true);
	for (i = 0; i < NR_READERS; i++) {
		pthread_join(threads[i], NULL);
		total_bad += bad[i];
	}

	err = mt_validate(&regions);	/* 0, or the first broken rule */

	/* No reader is left: free the entries, then the tree's nodes. */
	i = 0;
	mt_for_each(&regions, entry, i, ULONG_MAX)
		free(entry);
	mtree_destroy(&regions);
	urcu_memb_barrier();		/* our call_rcu() frees */
	mt_rcu_barrier(&regions);	/* the tree's deferred node frees */
	urcu_memb_unregister_thread();

	printf("mt_validate: %d, wrong regions seen: %lu\n", err, total_bad);
	return err || total_bad ? 1 : 0;
}
