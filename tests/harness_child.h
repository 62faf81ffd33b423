/* SPDX-License-Identifier: MIT */
/* For suites that check that misuse dies loudly: run code in a child. */
#ifndef MAPLETREE_TEST_HARNESS_CHILD_H
#define MAPLETREE_TEST_HARNESS_CHILD_H

#include <fcntl.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

/*
 * Run @fn(@arg) in a forked child with stderr discarded, no core file and
 * a 20 s alarm (a hang is a failure, not a stuck suite); the child exits 0
 * if @fn returns. Return: its wait status, or -1.
 */
static inline int harness_run_child(void (*fn)(void *), void *arg)
{
	pid_t pid;
	int status = 0;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		struct rlimit no_core = { 0, 0 };
		int fd = open("/dev/null", O_WRONLY);

		if (fd >= 0)
			dup2(fd, STDERR_FILENO);
		setrlimit(RLIMIT_CORE, &no_core);
		alarm(20);
		fn(arg);
		_exit(0);
	}
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return status;
}

#endif
