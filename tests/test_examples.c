// SPDX-License-Identifier: MIT
/*
 * The examples in examples/ must build (meson does that) and run to a
 * clean exit; the guide's RCU example must be examples/regions.c word for
 * word, so the documentation cannot drift from code that is run.
 */
#define _GNU_SOURCE
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "harness.h"

extern char **environ;

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t size = 0;

	if (!f)
		return NULL;
	if (getdelim(&buf, &size, '\0', f) < 0) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

static int run(const char *path)
{
	char *argv[] = { (char *)path, NULL };
	int status;
	pid_t pid;

	if (posix_spawn(&pid, path, NULL, NULL, argv, environ))
		return -1;
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

/* The guide's code block that starts with @first_line, as a string. */
static char *guide_block(const char *guide, const char *first_line)
{
	const char *start = strstr(guide, first_line), *end;

	if (!start)
		return NULL;
	end = strstr(start, "```");
	return end ? strndup(start, (size_t)(end - start)) : NULL;
}

int main(void)
{
	char paths[] = MT_EXAMPLES;
	char *guide = slurp(MT_GUIDE), *example = slurp(MT_REGIONS_SRC);
	char *block, *save = NULL;

	for (char *p = strtok_r(paths, ":", &save); p;
	     p = strtok_r(NULL, ":", &save)) {
		int rc = run(p);

		if (rc)
			fprintf(stderr, "test_examples: %s exited with %d\n", p,
				rc);
		CHECK_EQ(rc, 0);
	}

	CHECK(guide && example);
	block = guide ? guide_block(guide, "/* regions.c:") : NULL;
	CHECK(block && example && !strcmp(block, example));
	free(block);
	free(guide);
	free(example);
	return harness_finish();
}
