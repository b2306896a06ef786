/*
 * groups: see triad/groups.h. The child answers over a pipe: a count, then
 * that many gid_t; the parent bounds the count by NGROUPS_MAX and checks
 * the child's exit status, so a child that died half-way is an error, not
 * a shorter list.
 */
#include "triad/groups.h"
#include "triad/fdio.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

/* In the child: getgrouplist with a list that grows to what it needs. */
static int child_answer(int fd, const char *user, gid_t gid, long max)
{
	int n = 32;
	gid_t *g = NULL;
	for (;;) {
		gid_t *more = realloc(g, (size_t)n * sizeof(*g));
		if (!more) {
			free(g);
			return 1;
		}
		g = more;
		int want = n;
		if (getgrouplist(user, gid, g, &want) >= 0) {
			n = want;
			break;
		}
		if (want <= n || want > max) {
			free(g);
			return 1;
		}
		n = want;
	}
	uint32_t count = (uint32_t)n;
	int rc = fdio_write_all(fd, &count, sizeof(count)) < 0 ||
	         fdio_write_all(fd, g, (size_t)n * sizeof(*g)) < 0;
	/* Freed although the child exits next: under valgrind's leak check
	 * (make valgrind) a lost list would change the child's exit status. */
	free(g);
	return rc;
}

int groups_lookup(const char *user, gid_t gid, gid_t **list, size_t *n)
{
	long max = sysconf(_SC_NGROUPS_MAX);
	if (max < 1)
		max = 65536;
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		close(p[0]);
		close(p[1]);
		return -e;
	}
	if (pid == 0) {
		close(p[0]);
		_exit(child_answer(p[1], user, gid, max));
	}
	close(p[1]);
	int rc = -EIO;
	uint32_t count = 0;
	gid_t *g = NULL;
	if (fdio_read_all(p[0], &count, sizeof(count)) == 0 && count >= 1 && count <= (uint32_t)max &&
	    (g = malloc(count * sizeof(*g))) && fdio_read_all(p[0], g, count * sizeof(*g)) == 0)
		rc = 0;
	close(p[0]);
	int status;
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			rc = -errno;
			break;
		}
	}
	if (rc == 0 && (!WIFEXITED(status) || WEXITSTATUS(status) != 0))
		rc = -EIO;
	if (rc < 0) {
		free(g);
		return rc;
	}
	*list = g;
	*n = count;
	return 0;
}
