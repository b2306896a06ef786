/*
 * sweep: stale upload temp files (contract in sweep.h).
 *
 * A daemon killed during an upload (SIGKILL, a crash, power loss) leaves the
 * upload's hidden temp file; nothing else would ever remove it. Worker 0 runs
 * a timer: shortly after start, then every FTP_SWEEP_INTERVAL_S, it hands a dup
 * of the current generation's ftp_root fd to the workq, which walks the tree
 * with openat/fdopendir from there (no path strings, no symlink followed) and
 * unlinks the temp files that are ours and old.
 */
#include "sweep.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <event2/event.h>

#include "conf.h"
#include "session.h"
#include "triad/fsroot.h"
#include "triad/limits.h"
#include "triad/log.h"
#include "triad/server.h"
#include "triad/workq.h"


static unsigned sweep_dir(int dirfd, time_t now, time_t max_age, uid_t uid, unsigned depth)
{
	unsigned removed = 0;
	DIR *d = fdopendir(dirfd);
	if (!d) {
		close(dirfd);
		return 0;
	}
	struct dirent *e;
	while ((e = readdir(d))) {
		const char *n = e->d_name;
		if (strcmp(n, ".") == 0 || strcmp(n, "..") == 0)
			continue;
		struct stat st;
		if (fstatat(dirfd, n, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			if (depth + 1 >= FTP_SWEEP_DEPTH)
				continue;
			int sub = openat(dirfd, n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub >= 0)
				removed += sweep_dir(sub, now, max_age, uid, depth + 1);
			continue;
		}
		if (!S_ISREG(st.st_mode) || !fsroot_is_temp_name(n) || st.st_uid != uid ||
		    now - st.st_mtime < max_age)
			continue;
		if (unlinkat(dirfd, n, 0) == 0)
			removed++;
	}
	closedir(d); /* closes dirfd */
	return removed;
}

unsigned ftp_sweep_tree(int rootfd, time_t now, time_t max_age, uid_t uid)
{
	int fd = openat(rootfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return fd < 0 ? 0 : sweep_dir(fd, now, max_age, uid, 0);
}

/* ---- the periodic job ---------------------------------------------------------- */

struct sweep_job {
	struct workq_job job; /* first: the worker's list (workq.h) */
	int rootfd;
	time_t max_age;
	unsigned removed;
};

static void sweep_run(void *arg)
{
	struct sweep_job *j = arg;
	j->removed = ftp_sweep_tree(j->rootfd, time(NULL), j->max_age, geteuid());
	close(j->rootfd);
}

static void sweep_done(void *arg)
{
	struct sweep_job *j = arg;
	workq_job_untrack(&j->job);
	if (j->removed)
		log_info("removed %u stale upload temporary file%s (older than %lld s)", j->removed,
		         j->removed == 1 ? "" : "s", (long long)j->max_age);
	free(j);
}

/* The periodic job: a dup of the current generation's ftp_root fd (a
 * reload may close the generation's while the job runs) and the age. */
static struct workq_job *sweep_prepare(void)
{
	struct conf *c = server_current_conf();
	if (!c)
		return NULL;
	const struct ftpd_conf *f = c->own;
	struct server_runtime *rt = server_rt(c);
	struct sweep_job *j = calloc(1, sizeof(*j));
	int rootfd = j && rt && rt->app ? fcntl(((struct ftp_app *)rt->app)->ftp_root.fd,
	                                          F_DUPFD_CLOEXEC, 0)
	                                : -1;
	/* Never an upload that data_timeout still lets run. */
	time_t age = FTP_SWEEP_AGE_S;
	if ((time_t)(2 * f->data_timeout / 1000) > age)
		age = (time_t)(2 * f->data_timeout / 1000);
	conf_unref(c);
	if (rootfd < 0) {
		free(j);
		return NULL;
	}
	j->rootfd = rootfd;
	j->max_age = age;
	return &j->job;
}

static void sweep_discard(struct workq_job *job)
{
	struct sweep_job *j = (struct sweep_job *)job;
	close(j->rootfd);
	free(j);
}

static struct workq_periodic sweep = {
    .first_s = FTP_SWEEP_FIRST_S,
    .every_s = FTP_SWEEP_INTERVAL_S,
    .prepare = sweep_prepare,
    .run = sweep_run,
    .done = sweep_done,
    .discard = sweep_discard,
};

void ftp_sweep_worker_init(struct worker *w)
{
	workq_periodic_start(&sweep, w);
}

void ftp_sweep_worker_fini(struct worker *w)
{
	workq_periodic_stop(&sweep, w);
}
