/*
 * sweep: stale Maildir tmp/ files (contract in sweep.h).
 *
 * Worker 0 runs a timer: shortly after start, then every
 * SMTP_SWEEP_INTERVAL_S, it hands a dup of the current generation's
 * maildir_root fd and the hostname to the workq, which walks
 * <domain>/<mailbox>/tmp with openat/fdopendir from there (no path strings,
 * no symbolic link followed: an aliasing link's target is swept where it
 * lives) and unlinks what is stale.
 */
#include "sweep.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <event2/event.h>

#include "headers.h"
#include "session.h"
#include "triad/limits.h"
#include "triad/log.h"
#include "triad/server.h"
#include "triad/strlit.h"
#include "triad/workq.h"


/* "<digits>" at *P, advanced past them; false when there are none. */
static bool digits(const char **p, long *out)
{
	const char *s = *p;
	long v = 0;
	bool overflow = false;
	while (*s >= '0' && *s <= '9') {
		if (v > (__LONG_MAX__ - 9) / 10)
			overflow = true;
		else
			v = v * 10 + (*s - '0');
		s++;
	}
	if (s == *p || overflow)
		return false;
	*p = s;
	if (out)
		*out = v;
	return true;
}

bool smtp_sweep_ours(const char *name, const char *host, long *pid)
{
	/* The host part exactly as smtp_maildir_name() escapes it: build a
	 * name with known numbers and take what follows them. */
	char probe[TRIAD_NAME_MAX + 1];
	if (smtp_maildir_name(probe, sizeof(probe), 0, 0, 1, 0, host, 0) < 0)
		return false;
	const char *h = probe + sizeof("0.M0P1Q0.") - 1;
	const char *comma = strrchr(h, ',');
	size_t hl = comma ? (size_t)(comma - h) : strlen(h);

	const char *p = name;
	long v;
	if (!digits(&p, NULL) || strncmp(p, STRLIT(".M")) != 0)
		return false;
	p += 2;
	if (!digits(&p, NULL) || *p++ != 'P' || !digits(&p, &v) || v <= 0 || *p++ != 'Q' ||
	    !digits(&p, NULL) || *p++ != '.')
		return false;
	if (strncmp(p, h, hl) != 0 || p[hl] != '\0')
		return false;
	*pid = v;
	return true;
}

static bool stale(int dirfd, const char *n, const char *host, time_t now,
                  bool (*pid_gone)(long))
{
	struct stat st;
	if (fstatat(dirfd, n, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
		return false;
	long pid;
	if (smtp_sweep_ours(n, host, &pid) && pid != (long)getpid() && pid_gone(pid))
		return true;
	return now - st.st_mtime >= SMTP_SWEEP_FOREIGN_AGE_S &&
	       now - st.st_atime >= SMTP_SWEEP_FOREIGN_AGE_S;
}

/* NAME beneath AT as a directory stream (not through a link), or NULL. */
static DIR *open_dir(int at, const char *name, int *fd)
{
	*fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	DIR *d = *fd < 0 ? NULL : fdopendir(*fd);
	if (!d && *fd >= 0)
		close(*fd);
	return d;
}

static unsigned sweep_tmp(int boxfd, const char *host, time_t now, bool (*pid_gone)(long))
{
	int fd;
	DIR *d = open_dir(boxfd, "tmp", &fd);
	if (!d)
		return 0;
	unsigned removed = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.' && stale(fd, e->d_name, host, now, pid_gone) &&
		    unlinkat(fd, e->d_name, 0) == 0)
			removed++;
	closedir(d);
	return removed;
}

/* Calls FN on every subdirectory of DIRFD (not a link, not a dot name). */
static unsigned each_dir(int dirfd, unsigned (*fn)(int, const char *, time_t, bool (*)(long)),
                         const char *host, time_t now, bool (*pid_gone)(long), int depth)
{
	int fd;
	DIR *d = open_dir(dirfd, ".", &fd);
	if (!d)
		return 0;
	unsigned removed = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		int sub = openat(fd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub < 0)
			continue;
		removed += depth == 0 ? each_dir(sub, fn, host, now, pid_gone, 1)
		                      : fn(sub, host, now, pid_gone);
		close(sub);
	}
	closedir(d);
	return removed;
}

unsigned smtp_sweep_maildirs(int rootfd, const char *host, time_t now,
                             bool (*pid_gone)(long pid))
{
	return each_dir(rootfd, sweep_tmp, host, now, pid_gone, 0);
}

/* ---- the periodic job ---------------------------------------------------------- */

struct sweep_job {
	struct workq_job job; /* first: the worker's list (workq.h) */
	int rootfd;
	char host[SMTP_DOMAIN_MAX + 1];
	unsigned removed;
};

/* EPERM: it exists, as another user. */
static bool pid_gone(long pid)
{
	return kill((pid_t)pid, 0) < 0 && errno == ESRCH;
}

static void sweep_run(void *arg)
{
	struct sweep_job *j = arg;
	j->removed = smtp_sweep_maildirs(j->rootfd, j->host, time(NULL), pid_gone);
	close(j->rootfd);
}

static void sweep_done(void *arg)
{
	struct sweep_job *j = arg;
	workq_job_untrack(&j->job);
	if (j->removed)
		log_info("removed %u stale file%s from Maildir tmp/ directories", j->removed,
		         j->removed == 1 ? "" : "s");
	free(j);
}

/* The periodic job: a dup of the current generation's maildir_root fd (a
 * reload may close the generation's while the job runs) and the hostname. */
static struct workq_job *sweep_prepare(void)
{
	struct conf *c = server_current_conf();
	if (!c)
		return NULL;
	struct server_runtime *rt = server_rt(c);
	const struct smtp_app *app = rt ? rt->app : NULL;
	struct sweep_job *j = app ? calloc(1, sizeof(*j)) : NULL;
	int rootfd = j ? fcntl(app->maildirs.fd, F_DUPFD_CLOEXEC, 0) : -1;
	if (j)
		snprintf(j->host, sizeof(j->host), "%s", app->hostname);
	conf_unref(c);
	if (rootfd < 0) {
		free(j);
		return NULL;
	}
	j->rootfd = rootfd;
	return &j->job;
}

static void sweep_discard(struct workq_job *job)
{
	struct sweep_job *j = (struct sweep_job *)job;
	close(j->rootfd);
	free(j);
}

static struct workq_periodic sweep = {
    .first_s = SMTP_SWEEP_FIRST_S,
    .every_s = SMTP_SWEEP_INTERVAL_S,
    .prepare = sweep_prepare,
    .run = sweep_run,
    .done = sweep_done,
    .discard = sweep_discard,
};

void smtp_sweep_worker_init(struct worker *w)
{
	workq_periodic_start(&sweep, w);
}

void smtp_sweep_worker_fini(struct worker *w)
{
	workq_periodic_stop(&sweep, w);
}
