/*
 * auth_helper: the privileged side of auth, a process forked while root.
 *
 * auth_helper_start() makes one socketpair per worker and forks. The helper
 * keeps root and the environment (PAM_WRAPPER*, LD_PRELOAD), closes every
 * other inherited descriptor (listeners, log files), and serves requests in a
 * poll() loop: each decoded frame is validated and handed to a child that runs
 * pam_authenticate + pam_acct_mgmt and exits with the enum auth_result, so a
 * slow PAM stack never holds up other logins. At most TRIAD_AUTH_INFLIGHT_MAX
 * children run at once (beyond: AUTH_ERROR at once), each for at most
 * TRIAD_AUTH_PAM_TIMEOUT_S. A malformed frame closes its channel. The helper
 * exits when every channel is closed or its parent dies; it leaves through
 * _exit() only, so the daemon's atexit handlers (and pam_wrapper's cleanup)
 * run in the daemon alone. It logs nothing but errors, to stderr: the log
 * writer thread does not exist on this side of fork().
 *
 * The daemon side keeps one end per worker until auth_client_new() takes it.
 */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <security/pam_appl.h>

#include "triad/auth.h"
#include "triad/sandbox.h"

/* A PAM child exits with this plus its enum auth_result; other statuses are errors. */
#define EXIT_BASE 100
/* Room for the reply of every request a channel may have outstanding. */
#define OUT_CAP (AUTH_REPLY_LEN * 2 * TRIAD_AUTH_INFLIGHT_MAX)

/* ---- daemon side: the channel table ------------------------------------ */

static pthread_mutex_t chan_lock = PTHREAD_MUTEX_INITIALIZER;
static int chan_fd[TRIAD_MAX_WORKERS];
static unsigned chan_count;
static int helper_running;
static pid_t helper_pid = -1;

/* ---- helper side -------------------------------------------------------- */

struct hchan {
	int fd; /* -1 once closed */
	size_t inlen, outlen;
	unsigned inflight; /* children whose reply goes here */
	uint8_t in[TRIAD_AUTH_FRAME_MAX];
	uint8_t out[OUT_CAP];
};

struct hslot {
	pid_t pid; /* 0: free */
	unsigned chan;
	uint32_t id;
};

static struct hchan *hchans;
static unsigned nhchans;
static struct hslot slots[TRIAD_AUTH_INFLIGHT_MAX];
static unsigned nslots_used;
static int sig_fd = -1;
static int under_pam_wrapper; /* see pwrap_start() */

__attribute__((format(printf, 1, 2))) static void helper_err(const char *fmt, ...)
{
	char line[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	dprintf(STDERR_FILENO, "triad-auth[%d]: %s\n", (int)getpid(), line);
}

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;
	return (x > y) - (x < y);
}

/* Closes every descriptor above 2 except KEEP[0..n). */
static void close_inherited(const int *keep, unsigned n)
{
	int sorted[TRIAD_MAX_WORKERS];
	unsigned lo = 3;
	int ok = 1;

	memcpy(sorted, keep, n * sizeof *keep);
	qsort(sorted, n, sizeof *sorted, cmp_int);
	for (unsigned i = 0; i < n && ok; i++) {
		if ((unsigned)sorted[i] > lo && close_range(lo, (unsigned)sorted[i] - 1, 0) < 0)
			ok = 0;
		lo = (unsigned)sorted[i] + 1;
	}
	if (ok && close_range(lo, ~0U, 0) == 0)
		return;

	/* Kernels before 5.9: walk /proc/self/fd, closing after the walk. */
	DIR *d = opendir("/proc/self/fd");
	if (d == NULL) {
		helper_err("cannot list inherited descriptors: %s", strerror(errno));
		_exit(1);
	}
	int victims[1024];
	size_t nv = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL && nv < sizeof victims / sizeof *victims) {
		char *endp;
		long fd = strtol(e->d_name, &endp, 10);
		if (*endp != '\0' || fd <= 2 || fd == dirfd(d) ||
		    bsearch(&(int){(int)fd}, sorted, n, sizeof *sorted, cmp_int) != NULL)
			continue;
		victims[nv++] = (int)fd;
	}
	closedir(d);
	for (size_t i = 0; i < nv; i++)
		close(victims[i]);
	if (nv == sizeof victims / sizeof *victims) {
		helper_err("too many inherited descriptors");
		_exit(1);
	}
}

/* ---- one PAM conversation (in its own child) ---------------------------- */

static int conv(int n, const struct pam_message **msg, struct pam_response **resp, void *data)
{
	const struct auth_frame *f = data;

	if (n <= 0 || n > PAM_MAX_NUM_MSG)
		return PAM_CONV_ERR;
	struct pam_response *r = calloc((size_t)n, sizeof *r);
	if (r == NULL)
		return PAM_BUF_ERR;
	for (int i = 0; i < n; i++) {
		switch (msg[i]->msg_style) {
		case PAM_PROMPT_ECHO_OFF:
			r[i].resp = strdup(f->password);
			break;
		case PAM_PROMPT_ECHO_ON:
			r[i].resp = strdup(f->user);
			break;
		case PAM_ERROR_MSG:
		case PAM_TEXT_INFO:
			continue;
		default:
			goto fail;
		}
		if (r[i].resp == NULL)
			goto fail;
	}
	*resp = r;
	return PAM_SUCCESS;
fail:
	for (int i = 0; i < n; i++) {
		if (r[i].resp != NULL) {
			explicit_bzero(r[i].resp, strlen(r[i].resp));
			free(r[i].resp);
		}
	}
	free(r);
	return PAM_CONV_ERR;
}

/* Our caller delays failures without blocking; PAM's own sleep would only hold a slot. */
static void no_fail_delay(int retval, unsigned usec, void *appdata)
{
	(void)retval;
	(void)usec;
	(void)appdata;
}

static enum auth_result map_auth(int rc)
{
	switch (rc) {
	case PAM_SUCCESS:
		return AUTH_OK;
	case PAM_AUTH_ERR:
	case PAM_USER_UNKNOWN:
	case PAM_MAXTRIES:
	case PAM_CRED_INSUFFICIENT:
	case PAM_PERM_DENIED:
	case PAM_ACCT_EXPIRED:
	case PAM_NEW_AUTHTOK_REQD: /* nobody can change a password over FTP or SMTP */
		return AUTH_DENIED;
	default:
		return AUTH_ERROR;
	}
}

/*
 * pam_start(), except under pam_wrapper (the PAM stack of the test suites):
 * that sets itself up in the first pam_start() of every process by claiming
 * a free /tmp/pam.X directory without a lock, so concurrent logins (of this
 * and of other triad processes) claim the same one and remove it under each
 * other. Taking turns on a lock on /tmp itself, for this call only, avoids
 * that; the lock goes away with the process should it die.
 */
static int pwrap_start(const char *service, const char *user, const struct pam_conv *pc,
                       pam_handle_t **ph)
{
	int lock = under_pam_wrapper ? open("/tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;

	if (lock >= 0)
		while (flock(lock, LOCK_EX) < 0 && errno == EINTR)
			;
	int rc = pam_start(service, user, pc, ph);
	if (lock >= 0)
		close(lock);
	return rc;
}

static enum auth_result run_pam(struct auth_frame *f)
{
	struct pam_conv pc = {conv, f};
	pam_handle_t *ph = NULL;
	int rc = pwrap_start(f->service, f->user, &pc, &ph);

	if (rc != PAM_SUCCESS) {
		helper_err("pam_start(%s): %s", f->service, pam_strerror(ph, rc));
		return AUTH_ERROR;
	}
	if (f->rhost[0] != '\0')
		rc = pam_set_item(ph, PAM_RHOST, f->rhost);
	if (rc == PAM_SUCCESS)
		rc = pam_set_item(ph, PAM_FAIL_DELAY, (const void *)no_fail_delay);
	if (rc == PAM_SUCCESS)
		rc = pam_authenticate(ph, PAM_SILENT | PAM_DISALLOW_NULL_AUTHTOK);
	if (rc == PAM_SUCCESS)
		rc = pam_acct_mgmt(ph, PAM_SILENT | PAM_DISALLOW_NULL_AUTHTOK);
	enum auth_result r = map_auth(rc);
	if (r == AUTH_ERROR)
		helper_err("PAM service %s: %s", f->service, pam_strerror(ph, rc));
	pam_end(ph, rc);
	return r;
}

/*
 * Should the helper die first, the child still finishes (within the alarm)
 * rather than being killed: PAM modules and pam_wrapper then clean up.
 */
static __attribute__((noreturn)) void pam_child(struct auth_frame *f)
{
	sigset_t none;

	for (unsigned i = 0; i < nhchans; i++) {
		if (hchans[i].fd >= 0)
			close(hchans[i].fd);
		explicit_bzero(hchans[i].in, sizeof hchans[i].in);
	}
	close(sig_fd);
	signal(SIGPIPE, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* A hung PAM stack (unreachable directory server) dies here: AUTH_ERROR. */
	alarm(TRIAD_AUTH_PAM_TIMEOUT_S);
	sandbox_probe_pam();
	enum auth_result r = run_pam(f);
	auth_frame_wipe(f);
	/* pam_wrapper removes that directory in a destructor that _exit() skips. */
	void *cleanup = dlsym(RTLD_DEFAULT, "pwrap_destructor");
	if (cleanup != NULL)
		((void (*)(void))cleanup)();
	_exit(EXIT_BASE + (int)r);
}

/* ---- the helper's loop -------------------------------------------------- */

static void queue_reply(struct hchan *c, uint32_t id, enum auth_result r)
{
	if (c->fd < 0)
		return;
	/* The reservation in chan_frames() guarantees room. */
	c->outlen +=
	    (size_t)auth_reply_encode(id, r, c->out + c->outlen, sizeof c->out - c->outlen);
}

static void chan_close(struct hchan *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	explicit_bzero(c->in, sizeof c->in);
	c->inlen = c->outlen = 0;
}

static int service_ok(const char *s)
{
	if (s[0] == '\0' || s[0] == '.')
		return 0;
	for (; *s != '\0'; s++) {
		if (!(*s >= 'a' && *s <= 'z') && !(*s >= 'A' && *s <= 'Z') &&
		    !(*s >= '0' && *s <= '9') && *s != '-' && *s != '_' && *s != '.')
			return 0;
	}
	return 1;
}

static void start_request(unsigned ci, struct auth_frame *f)
{
	struct hchan *c = &hchans[ci];

	/* Only names a PAM configuration file could have; no path tricks. */
	if (!service_ok(f->service)) {
		queue_reply(c, f->id, AUTH_ERROR);
		return;
	}
	if (f->user[0] == '\0') {
		queue_reply(c, f->id, AUTH_DENIED);
		return;
	}
	if (nslots_used == TRIAD_AUTH_INFLIGHT_MAX) {
		queue_reply(c, f->id, AUTH_ERROR);
		return;
	}
	pid_t pid = fork();
	if (pid < 0) {
		helper_err("fork: %s", strerror(errno));
		queue_reply(c, f->id, AUTH_ERROR);
		return;
	}
	if (pid == 0)
		pam_child(f);
	for (unsigned i = 0; i < TRIAD_AUTH_INFLIGHT_MAX; i++) {
		if (slots[i].pid == 0) {
			slots[i] = (struct hslot){pid, ci, f->id};
			break;
		}
	}
	nslots_used++;
	c->inflight++;
}

/* Decodes and starts every complete request that its reply has room for. */
static void chan_frames(unsigned ci)
{
	struct hchan *c = &hchans[ci];
	struct auth_frame f;

	while (c->fd >= 0 && c->outlen + AUTH_REPLY_LEN * (c->inflight + 1) <= sizeof c->out) {
		int n = auth_frame_decode(c->in, c->inlen, &f);
		if (n == 0)
			break;
		if (n < 0) {
			helper_err("malformed request on channel %u; closing it", ci);
			chan_close(c);
			break;
		}
		memmove(c->in, c->in + n, c->inlen - (size_t)n);
		c->inlen -= (size_t)n;
		explicit_bzero(c->in + c->inlen, (size_t)n);
		start_request(ci, &f);
		auth_frame_wipe(&f);
	}
}

static void chan_read(unsigned ci)
{
	struct hchan *c = &hchans[ci];
	ssize_t n = read(c->fd, c->in + c->inlen, sizeof c->in - c->inlen);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		chan_close(c); /* the worker went away; its children's replies are dropped */
		return;
	}
	c->inlen += (size_t)n;
	chan_frames(ci);
}

static void chan_write(unsigned ci)
{
	struct hchan *c = &hchans[ci];
	ssize_t n = send(c->fd, c->out, c->outlen, MSG_NOSIGNAL | MSG_DONTWAIT);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n < 0) {
		chan_close(c);
		return;
	}
	memmove(c->out, c->out + n, c->outlen - (size_t)n);
	c->outlen -= (size_t)n;
	/* Room for replies may let buffered requests proceed. */
	chan_frames(ci);
}

static void reap(void)
{
	struct signalfd_siginfo si;
	int status;
	pid_t pid;

	while (read(sig_fd, &si, sizeof si) == sizeof si)
		;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (unsigned i = 0; i < TRIAD_AUTH_INFLIGHT_MAX; i++) {
			if (slots[i].pid != pid)
				continue;
			enum auth_result r = AUTH_ERROR;
			if (WIFEXITED(status) && WEXITSTATUS(status) >= EXIT_BASE &&
			    WEXITSTATUS(status) <= EXIT_BASE + AUTH_ERROR)
				r = (enum auth_result)(WEXITSTATUS(status) - EXIT_BASE);
			else if (WIFEXITED(status) && WEXITSTATUS(status) == 128 + SIGSYS)
				helper_err("PAM conversation ended by the sandbox (a system call "
				           "outside the PAM set; see above)");
			else if (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM)
				helper_err("PAM conversation timed out after %ds",
				           TRIAD_AUTH_PAM_TIMEOUT_S);
			else if (WIFSIGNALED(status))
				helper_err("PAM conversation killed by signal %d",
				           WTERMSIG(status));
			else if (WIFEXITED(status))
				/* Not ours: a module that exit()ed, or a checker's
				 * status (valgrind's --error-exitcode in `make valgrind`). */
				helper_err("PAM conversation exited with status %d",
				           WEXITSTATUS(status));
			struct hchan *c = &hchans[slots[i].chan];
			c->inflight--;
			queue_reply(c, slots[i].id, r);
			slots[i].pid = 0;
			nslots_used--;
			break;
		}
	}
}

static __attribute__((noreturn)) void helper_main(int *fds, unsigned n, pid_t parent,
                                                  bool sandbox)
{
	struct pollfd pfd[TRIAD_MAX_WORKERS + 1];
	sigset_t mask;

	/* Dying with the daemon; the check closes the race with an early death.
	 * SIGKILL, because SIGTERM is ignored below. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(0);
	prctl(PR_SET_NAME, "triad-auth");
	close_inherited(fds, n);

	/* Handlers installed by the daemon (libevent's included) are not ours. */
	for (int s = 1; s < NSIG; s++) {
		if (s != SIGKILL && s != SIGSTOP)
			signal(s, SIG_DFL);
	}
	signal(SIGPIPE, SIG_IGN);
	/* Ctrl-C, a hangup or a SIGTERM to the whole process group (timeout(1),
	 * systemd) is for the daemon: it drains its logins and closes our
	 * channels, and we exit on that EOF. */
	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigprocmask(SIG_SETMASK, &mask, NULL);
	sig_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	const char *pwrap = getenv("PAM_WRAPPER");
	under_pam_wrapper = pwrap != NULL && pwrap[0] == '1';
	hchans = calloc(n, sizeof *hchans);
	if (sig_fd < 0 || hchans == NULL) {
		helper_err("cannot start: %s", strerror(errno));
		_exit(1);
	}
	nhchans = n;
	for (unsigned i = 0; i < n; i++) {
		hchans[i].fd = fds[i];
		fcntl(fds[i], F_SETFL, fcntl(fds[i], F_GETFL) | O_NONBLOCK);
	}
	/* Landlock, then the PAM set (sandbox.h; the set has no Landlock
	 * calls), both inherited by every PAM child. A helper that cannot
	 * confine itself answers no login rather than run open; a kernel
	 * without Landlock is the daemon's to log (it finds the same). */
	char why[256];
	int abi = 0;
	if (sandbox && sandbox_landlock_pam(under_pam_wrapper, &abi, why, sizeof(why)) < 0) {
		helper_err("cannot start: %s", why);
		_exit(1);
	}
	int src = sandbox ? sandbox_seccomp_pam(why, sizeof(why)) : 0;
	if (src < 0) {
		helper_err("cannot start: %s", why);
		_exit(1);
	}
	if (src > 0)
		helper_err("%s; an outer seccomp filter is in place and forbids ours, which is "
		           "skipped", why);

	for (;;) {
		unsigned open_chans = 0;
		pfd[0] = (struct pollfd){.fd = sig_fd, .events = POLLIN};
		for (unsigned i = 0; i < n; i++) {
			struct hchan *c = &hchans[i];
			short ev = 0;
			if (c->fd >= 0) {
				open_chans++;
				if (c->inlen < sizeof c->in)
					ev |= POLLIN;
				if (c->outlen > 0)
					ev |= POLLOUT;
			}
			pfd[i + 1] = (struct pollfd){.fd = ev != 0 ? c->fd : -1, .events = ev};
		}
		if (open_chans == 0)
			_exit(0);
		/* The timeout re-checks the parent should PDEATHSIG ever miss. */
		if (poll(pfd, n + 1, 1000) < 0 && errno != EINTR) {
			helper_err("poll: %s", strerror(errno));
			_exit(1);
		}
		if (getppid() != parent)
			_exit(0);
		if (pfd[0].revents != 0)
			reap();
		for (unsigned i = 0; i < n; i++) {
			if (hchans[i].fd < 0 || pfd[i + 1].fd < 0)
				continue;
			if (pfd[i + 1].revents & POLLOUT)
				chan_write(i);
			if (hchans[i].fd >= 0 &&
			    (pfd[i + 1].revents & (POLLIN | POLLHUP | POLLERR)))
				chan_read(i);
		}
		/* Replies queued by reap() go out on the next round's POLLOUT. */
	}
}

/* ---- daemon side -------------------------------------------------------- */

int auth_helper_start(unsigned nworkers, bool sandbox, char *err, size_t errlen)
{
	int mine[TRIAD_MAX_WORKERS], theirs[TRIAD_MAX_WORKERS];
	unsigned made = 0;

	if (nworkers == 0 || nworkers > TRIAD_MAX_WORKERS) {
		snprintf(err, errlen, "auth helper: %u workers is out of range", nworkers);
		return -1;
	}
	pthread_mutex_lock(&chan_lock);
	if (helper_running) {
		pthread_mutex_unlock(&chan_lock);
		snprintf(err, errlen, "auth helper: already running");
		return -1;
	}
	for (; made < nworkers; made++) {
		int sv[2];
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
			snprintf(err, errlen, "auth helper: socketpair: %s", strerror(errno));
			goto fail;
		}
		mine[made] = sv[0];
		theirs[made] = sv[1];
	}
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid < 0) {
		snprintf(err, errlen, "auth helper: fork: %s", strerror(errno));
		goto fail;
	}
	if (pid == 0)
		helper_main(theirs, nworkers, parent, sandbox); /* closes MINE with the rest */
	for (unsigned i = 0; i < nworkers; i++) {
		close(theirs[i]);
		chan_fd[i] = mine[i];
	}
	chan_count = nworkers;
	helper_pid = pid;
	helper_running = 1;
	pthread_mutex_unlock(&chan_lock);
	return 0;
fail:
	for (unsigned i = 0; i < made; i++) {
		close(mine[i]);
		close(theirs[i]);
	}
	pthread_mutex_unlock(&chan_lock);
	return -1;
}

int auth_helper_running(void)
{
	pthread_mutex_lock(&chan_lock);
	int r = helper_running;
	pthread_mutex_unlock(&chan_lock);
	return r;
}

int auth_helper_pid(void)
{
	pthread_mutex_lock(&chan_lock);
	int r = helper_pid;
	pthread_mutex_unlock(&chan_lock);
	return r;
}

int auth_helper_take_channel(unsigned worker)
{
	int fd = -1;

	pthread_mutex_lock(&chan_lock);
	if (helper_running && worker < chan_count) {
		fd = chan_fd[worker];
		chan_fd[worker] = -1;
	}
	pthread_mutex_unlock(&chan_lock);
	return fd;
}

int auth_helper_stop(void)
{
	pthread_mutex_lock(&chan_lock);
	for (unsigned i = 0; i < chan_count; i++) {
		if (chan_fd[i] >= 0)
			close(chan_fd[i]);
		chan_fd[i] = -1;
	}
	chan_count = 0;
	helper_running = 0;
	pthread_mutex_unlock(&chan_lock);
	/* The helper exits on EOF; reap it so no zombie outlives the daemon's stop. */
	pid_t pid = auth_helper_pid();
	int status;
	for (int i = 0; pid > 0 && i < 200; i++) { /* at most 2 s, then kill */
		pid_t r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			return status;
		if (r < 0)
			return -1;
		usleep(10000);
	}
	if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	return -1;
}
