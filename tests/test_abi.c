// SPDX-License-Identifier: MIT
/*
 * A shared library exports exactly the functions listed in its version
 * script, and each of them resolves at run time. Internal functions must
 * not leak into the ABI. Built twice: for libmapletree (src/mapletree.map)
 * and, with MT_GPUVM, for libmapletree-gpuvm (src/gpuvm/gpuvm.map).
 */
#include <dlfcn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define MAX_SYMBOLS	256

struct names {
	char *name[MAX_SYMBOLS];
	unsigned int n;
};

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void add_name(struct names *set, const char *name)
{
	if (set->n < MAX_SYMBOLS)
		set->name[set->n++] = strdup(name);
}

static void free_names(struct names *set)
{
	while (set->n)
		free(set->name[--set->n]);
}

static bool has_name(const struct names *set, const char *name)
{
	return bsearch(&name, set->name, set->n, sizeof(set->name[0]),
		       cmp_names) != NULL;
}

/* The names under "global:" in the version script. */
static void read_map(const char *path, struct names *set)
{
	FILE *f = fopen(path, "r");
	char line[256], name[128];
	bool global = false;

	CHECK(f != NULL);
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (strstr(line, "global:"))
			global = true;
		else if (strstr(line, "local:"))
			global = false;
		else if (global && sscanf(line, " %127[A-Za-z0-9_];", name) == 1)
			add_name(set, name);
	}
	fclose(f);
	qsort(set->name, set->n, sizeof(set->name[0]), cmp_names);
}

/* The functions the shared library defines in its dynamic symbol table. */
static void read_exports(const char *lib, struct names *set)
{
	char cmd[1024], line[256], addr[64], type[8], name[128];
	FILE *p;

	snprintf(cmd, sizeof(cmd), "nm -D --defined-only '%s'", lib);
	p = popen(cmd, "r");
	CHECK(p != NULL);
	if (!p)
		return;
	while (fgets(line, sizeof(line), p)) {
		if (sscanf(line, "%63s %7s %127s", addr, type, name) != 3 ||
		    strcmp(type, "T"))
			continue;
		name[strcspn(name, "@")] = '\0';	/* the symbol version */
		add_name(set, name);
	}
	CHECK_EQ(pclose(p), 0);
	qsort(set->name, set->n, sizeof(set->name[0]), cmp_names);
}

int main(void)
{
#ifdef MT_GPUVM
	static const char *const internal[] = {
		"gpuvm_check_map", "gpuvm_assert_locked", "gpuvm_bug",
	};
	const unsigned int min_listed = 40;
#else
	static const char *const internal[] = {
		"mt_store_range", "mt_node_alloc", "mt_node_free",
		"mas_descend", "mt_node_retire", "mt_root",
	};
	const unsigned int min_listed = 50;
#endif
	struct names map = { .n = 0 }, exported = { .n = 0 };
	unsigned int i;
	void *handle;

	read_map(MT_MAP_PATH, &map);
	read_exports(MT_SHARED_LIB, &exported);
	CHECK(map.n > min_listed);
	for (i = 0; i < map.n; i++)
		if (!has_name(&exported, map.name[i])) {
			fprintf(stderr, "listed but not exported: %s\n", map.name[i]);
			CHECK(false);
		}
	for (i = 0; i < exported.n; i++)
		if (!has_name(&map, exported.name[i])) {
			fprintf(stderr, "exported but not listed: %s\n",
				exported.name[i]);
			CHECK(false);
		}

	handle = dlopen(MT_SHARED_LIB, RTLD_NOW | RTLD_LOCAL);
	CHECK(handle != NULL);
	if (handle) {
		for (i = 0; i < map.n; i++)
			CHECK(dlsym(handle, map.name[i]) != NULL);
		for (i = 0; i < sizeof(internal) / sizeof(internal[0]); i++)
			CHECK(dlsym(handle, internal[i]) == NULL);
	}
	printf("test_abi: %u symbols listed, %u exported\n", map.n, exported.n);
	if (handle)
		dlclose(handle);
	free_names(&map);
	free_names(&exported);
	return harness_finish();
}
