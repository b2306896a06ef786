/*
 * sandbox: Landlock and seccomp-bpf for the daemons (contract in sandbox.h).
 *
 * Landlock is driven through its three system calls (no library in
 * Debian 12); the ABI is asked first and only the rights that ABI knows
 * are handled, so one binary works from 5.13 on. libseccomp builds the
 * seccomp filter (its name tables spare us per-architecture numbers).
 */
#include "triad/sandbox.h"
#include "triad/log.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/landlock.h>
#include <seccomp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Rights newer than the oldest header we build with (Debian 12: 6.1). */
#ifndef LANDLOCK_ACCESS_FS_REFER
#define LANDLOCK_ACCESS_FS_REFER (1ULL << 13)
#endif
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14)
#endif

/* PATH as the kernel will see it: resolved when it exists (a rule binds an
 * inode, so a link and its target are the same rule), else as written. */
static char *resolved(const char *path)
{
	char *real = realpath(path, NULL);
	return real ? real : strdup(path);
}

static bool beneath(const char *rule, const char *path)
{
	size_t n = strlen(rule);
	if (strcmp(rule, "/") == 0)
		return path[0] == '/';
	return strncmp(rule, path, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

static bool grants(enum sandbox_access have, enum sandbox_access want)
{
	return have == want || have == SANDBOX_WRITE;
}

static bool covered_resolved(const struct sandbox_paths *p, const char *real,
                             enum sandbox_access access)
{
	for (size_t i = 0; i < p->n; i++)
		if (grants(p->v[i].access, access) && beneath(p->v[i].path, real))
			return true;
	return false;
}

bool sandbox_covered(const struct sandbox_paths *p, const char *path, enum sandbox_access access)
{
	char *real = resolved(path);
	bool yes = real && covered_resolved(p, real, access);
	free(real);
	return yes;
}

void sandbox_allow(struct sandbox_paths *p, const char *key, const char *path,
                   enum sandbox_access access)
{
	if (!path || !*path)
		return;
	char *real = resolved(path);
	if (!real) {
		p->oom = true;
		return;
	}
	/* 10,000 sites may name 10,000 certificates in a directory already allowed. */
	if (covered_resolved(p, real, access)) {
		free(real);
		return;
	}
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 32;
		struct sandbox_rule *v = realloc(p->v, cap * sizeof(*v));
		if (!v) {
			free(real);
			p->oom = true;
			return;
		}
		p->v = v;
		p->cap = cap;
	}
	p->v[p->n++] = (struct sandbox_rule){.path = real, .key = key, .access = access};
}

void sandbox_allow_dir_of(struct sandbox_paths *p, const char *key, const char *path,
                          enum sandbox_access access)
{
	if (!path || !*path)
		return;
	const char *slash = strrchr(path, '/');
	if (!slash) {
		sandbox_allow(p, key, ".", access);
		return;
	}
	size_t n = slash == path ? 1 : (size_t)(slash - path);
	char *dir = strndup(path, n);
	if (!dir) {
		p->oom = true;
		return;
	}
	sandbox_allow(p, key, dir, access);
	free(dir);
}

void sandbox_paths_free(struct sandbox_paths *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->v[i].path);
	free(p->v);
	*p = (struct sandbox_paths){0};
}

const struct sandbox_rule *sandbox_uncovered(const struct sandbox_paths *start,
                                             const struct sandbox_paths *want)
{
	for (size_t i = 0; i < want->n; i++)
		if (!covered_resolved(start, want->v[i].path, want->v[i].access))
			return &want->v[i];
	return NULL;
}

void sandbox_allow_system(struct sandbox_paths *p)
{
	static const char *const ro[] = {"/usr", "/etc", "/lib", "/lib64", "/dev/urandom"};
	for (size_t i = 0; i < sizeof(ro) / sizeof(ro[0]); i++)
		sandbox_allow(p, "system", ro[i], SANDBOX_READ);
#if defined(__SANITIZE_ADDRESS__)
	sandbox_allow(p, "system", "/proc", SANDBOX_READ); /* LeakSanitizer reads /proc/self */
#endif
}

/* ---- Landlock --------------------------------------------------------------- */

#define FS_FILE_RIGHTS                                                                             \
	(LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_READ_FILE |   \
	 LANDLOCK_ACCESS_FS_TRUNCATE)

static uint64_t handled_for(int abi)
{
	uint64_t h = LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE |
	             LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR |
	             LANDLOCK_ACCESS_FS_REMOVE_DIR | LANDLOCK_ACCESS_FS_REMOVE_FILE |
	             LANDLOCK_ACCESS_FS_MAKE_CHAR | LANDLOCK_ACCESS_FS_MAKE_DIR |
	             LANDLOCK_ACCESS_FS_MAKE_REG | LANDLOCK_ACCESS_FS_MAKE_SOCK |
	             LANDLOCK_ACCESS_FS_MAKE_FIFO | LANDLOCK_ACCESS_FS_MAKE_BLOCK |
	             LANDLOCK_ACCESS_FS_MAKE_SYM;
	if (abi >= 2)
		h |= LANDLOCK_ACCESS_FS_REFER;
	if (abi >= 3)
		h |= LANDLOCK_ACCESS_FS_TRUNCATE;
	return h;
}

static uint64_t rights_for(enum sandbox_access a)
{
	switch (a) {
	case SANDBOX_READ:
		return LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR;
	case SANDBOX_APPEND:
		return LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_MAKE_REG |
		       LANDLOCK_ACCESS_FS_TRUNCATE;
	case SANDBOX_WRITE:
	default:
		return LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR |
		       LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_TRUNCATE |
		       LANDLOCK_ACCESS_FS_MAKE_REG | LANDLOCK_ACCESS_FS_MAKE_DIR |
		       LANDLOCK_ACCESS_FS_REMOVE_FILE | LANDLOCK_ACCESS_FS_REMOVE_DIR |
		       LANDLOCK_ACCESS_FS_REFER;
	}
}

int sandbox_landlock(struct sandbox_paths *p, int *abi, const struct sandbox_rule **bad,
                     char *err, size_t errlen)
{
	*abi = 0;
	*bad = NULL;
	if (p->oom) {
		snprintf(err, errlen, "sandbox: out of memory");
		return -1;
	}
	long v = syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
	if (v < 1) {
		/* ENOSYS / EOPNOTSUPP: no Landlock; EPERM: an outer seccomp filter
		 * (systemd's SystemCallFilter=) forbids it. The caller logs which. */
		*abi = errno == EPERM ? -2 : 0;
		return 0;
	}
	uint64_t handled = handled_for((int)v);
	struct landlock_ruleset_attr attr = {.handled_access_fs = handled};
	int rs = (int)syscall(SYS_landlock_create_ruleset, &attr, sizeof(attr), 0);
	if (rs < 0) {
		snprintf(err, errlen, "sandbox: landlock_create_ruleset: %s", strerror(errno));
		return -1;
	}
	for (size_t i = 0; i < p->n; i++) {
		int fd = open(p->v[i].path, O_PATH | O_CLOEXEC);
		if (fd < 0) {
			if (errno == ENOENT) {
				p->v[i].missing = true; /* nothing there to allow */
				continue;
			}
			snprintf(err, errlen, "sandbox: Landlock cannot allow %s: %s", p->v[i].path,
			         strerror(errno));
			*bad = &p->v[i];
			close(rs);
			return -1;
		}
		struct stat st;
		uint64_t rights = rights_for(p->v[i].access) & handled;
		if (fstat(fd, &st) == 0 && !S_ISDIR(st.st_mode))
			rights &= FS_FILE_RIGHTS; /* a file rule takes file rights only */
		struct landlock_path_beneath_attr pb = {.allowed_access = rights, .parent_fd = fd};
		long rc = rights ? syscall(SYS_landlock_add_rule, rs, LANDLOCK_RULE_PATH_BENEATH, &pb, 0)
		                 : 0;
		int e = errno;
		close(fd);
		if (rc < 0) {
			snprintf(err, errlen, "sandbox: landlock_add_rule %s: %s", p->v[i].path,
			         strerror(e));
			*bad = &p->v[i];
			close(rs);
			return -1;
		}
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    syscall(SYS_landlock_restrict_self, rs, 0) < 0) {
		snprintf(err, errlen, "sandbox: landlock_restrict_self: %s", strerror(errno));
		close(rs);
		return -1;
	}
	close(rs);
	*abi = (int)v;
	return 0;
}

/*
 * The PAM helper's rules, measured with strace on Debian 12's own stacks
 * (login, common-auth, common-account: pam_unix, pam_deny, pam_permit,
 * pam_env, pam_nologin, pam_faildelay...) and on the test suites'
 * pam_wrapper + pam_matrix: authentication and account management only
 * read (the PAM configuration, passwd, shadow, login.defs, nsswitch.conf,
 * the modules and the NSS libraries). Writable: pam_faillock's tally
 * directory (when it exists at start), and, under pam_wrapper only
 * (PAM_WRAPPER=1, the tests), /tmp, where pam_wrapper makes its
 * /tmp/pam.X copy of the stack and the helper takes its lock. Also read:
 * sssd's memory caches. Not allowed: /proc (libselinux then takes SELinux
 * as absent, libcap-ng reads nothing it needs), /home, /root, /var
 * otherwise, /run otherwise, /dev otherwise.
 */
int sandbox_landlock_pam(bool pam_wrapper, int *abi, char *err, size_t errlen)
{
	struct sandbox_paths p = {0};
	sandbox_allow_system(&p);
	sandbox_allow(&p, "system", "/var/lib/sss", SANDBOX_READ);
	sandbox_allow(&p, "system", "/run/faillock", SANDBOX_WRITE);
	if (pam_wrapper)
		sandbox_allow(&p, "system", "/tmp", SANDBOX_WRITE);
	const struct sandbox_rule *bad = NULL;
	int rc = sandbox_landlock(&p, abi, &bad, err, errlen);
	sandbox_paths_free(&p);
	return rc;
}

/* ---- seccomp ---------------------------------------------------------------- */

/*
 * What every daemon does once its threads run: the event loops (epoll,
 * timers, eventfd wake-ups, accept and the socket calls of conn.c), the
 * gateway's outbound connections (socket, non-blocking connect, SO_ERROR),
 * the workq's file work (open beneath fsroot, fsync, rename, unlink, mkdir,
 * utimensat, getdents), httpd's file-change watches (inotify), sendfile,
 * TLS (getrandom), logging (write, dup2 on
 * reopen, syslog's connect/sendto), sd_notify, reloads (reading the file,
 * certificates, aliases, libmagic's database, NSS for `user`), thread
 * start-up and shutdown (the helper's reaping). Not here, among others:
 * execve, fork (clone only makes threads, below), ptrace, mount, the set*id
 * calls, chroot, unshare/setns, bpf, keyctl, module and reboot calls,
 * personality, acct.
 */
static const char *const base_calls[] = {
    "read", "write", "readv", "writev", "pread64", "pwrite64", "preadv", "pwritev", "preadv2",
    "pwritev2", "lseek", "close", "close_range", "dup", "dup2", "dup3", "fcntl", "ioctl", "open",
    "openat", "openat2", "stat", "fstat", "lstat", "newfstatat", "statx", "fstatfs", "statfs",
    "getdents64", "readlink", "readlinkat", "access", "faccessat", "faccessat2", "mkdir",
    "mkdirat", "rmdir", "unlink", "unlinkat", "rename", "renameat", "renameat2", "fchmod",
    "chmod", "fchmodat", "utimensat", "fsync", "fdatasync", "sync_file_range", "syncfs",
    "ftruncate", "fallocate", "fadvise64", "flock", "mmap", "munmap", "mprotect", "mremap",
    "madvise", "brk", "epoll_create1", "epoll_ctl", "epoll_wait", "epoll_pwait", "epoll_pwait2",
    "poll", "ppoll", "select", "pselect6", "socketpair", "bind", "listen", "accept", "accept4",
    "connect", "getsockname", "getpeername", "setsockopt", "getsockopt", "shutdown", "sendto",
    "recvfrom", "sendmsg", "recvmsg", "sendmmsg", "recvmmsg", "sendfile", "splice",
    "copy_file_range", "eventfd2", "pipe2", "timerfd_create", "timerfd_settime",
    "timerfd_gettime", "clock_gettime", "clock_getres", "gettimeofday", "time", "nanosleep",
    "clock_nanosleep", "futex", "set_robust_list", "get_robust_list", "rseq", "exit",
    "exit_group", "gettid", "getpid", "getppid", "tgkill", "kill", "rt_sigaction",
    "rt_sigprocmask", "rt_sigreturn", "sigaltstack", "restart_syscall", "sched_yield",
    "sched_getaffinity", "getrandom", "getuid", "geteuid", "getgid", "getegid", "getgroups",
    "getresuid", "getresgid", "prlimit64", "getrlimit", "getrusage", "uname", "sysinfo",
    "getcwd", "umask", "wait4", "waitid", "membarrier", "prctl", "fchown", "fchownat",
    "inotify_init1", "inotify_add_watch", "inotify_rm_watch", NULL,
};

/*
 * The PAM helper and its PAM children: the loop (poll, fork, reap, the
 * socketpairs), dlopen of the modules, reading /etc/passwd, /etc/shadow and
 * the PAM configuration, NSS and directory services over sockets (nscd,
 * sssd, LDAP, Kerberos), getaddrinfo's AI_ADDRCONFIG check (a netlink
 * socket that glibc binds: libaudit's login records from pam_unix), syslog, lock and tally files (pam_faillock),
 * pam_modutil_drop_priv's file-system identity switch (setfsuid, setfsgid,
 * setgroups), and pam_wrapper's own files in the tests. Not here: execve
 * (no module may run a program: pam_exec, or unix_chkpwd, which pam_unix
 * needs only when not root), setuid and friends, ptrace, mount, listen and
 * accept (no socket is served from it), module loading, kexec, bpf.
 */
static const char *const pam_calls[] = {
    "read", "write", "readv", "writev", "pread64", "pwrite64", "lseek", "close", "close_range",
    "dup", "dup2", "dup3", "fcntl", "ioctl", "open", "openat", "stat", "fstat", "lstat",
    "newfstatat", "statx", "fstatfs", "statfs", "getdents64", "readlink", "readlinkat", "access",
    "faccessat", "faccessat2", "mkdir", "mkdirat", "rmdir", "unlink", "unlinkat", "rename",
    "renameat", "renameat2", "fchmod", "chmod", "fchmodat", "fchown", "fchownat", "chown",
    "lchown", "utimensat", "fsync", "fdatasync", "ftruncate", "flock", "symlink", "symlinkat",
    "mmap", "munmap", "mprotect", "mremap", "madvise", "brk", "poll", "ppoll", "select",
    "pselect6", "socket", "bind", "connect", "getsockname", "getpeername", "setsockopt", "getsockopt",
    "shutdown", "sendto", "recvfrom", "sendmsg", "recvmsg", "socketpair", "clock_gettime",
    "clock_getres", "gettimeofday", "time", "nanosleep", "clock_nanosleep", "alarm",
    "setitimer", "getitimer", "futex", "set_robust_list", "rseq", "clone", "wait4", "waitid",
    "exit", "exit_group", "gettid", "getpid", "getppid", "tgkill", "kill", "rt_sigaction",
    "rt_sigprocmask", "rt_sigreturn", "rt_sigtimedwait", "sigaltstack", "restart_syscall",
    "signalfd4", "sched_yield", "getrandom", "getuid", "geteuid", "getgid", "getegid",
    "getgroups", "getresuid", "getresgid", "setfsuid", "setfsgid", "setgroups", "prlimit64",
    "getrlimit", "uname", "sysinfo", "getcwd", "umask", "prctl", "membarrier", NULL,
};

#if defined(__SANITIZE_ADDRESS__)
/* LeakSanitizer stops the world at exit from a tracer task (clone without
 * CLONE_THREAD) that lists /proc/PID/task with the old getdents and ptraces
 * every thread; it blocks SIGSYS, so a call missing here kills it silently
 * and the exit hangs. */
static const char *const sanitizer_calls[] = {"ptrace", "process_vm_readv", "pause", "clone",
                                              "getdents", NULL};
#endif

/* Names for the SIGSYS line, looked up before the filter goes on: the
 * handler may run inside malloc (a forbidden call made while it holds its
 * lock) and must not allocate. */
#define SYSCALL_NAMES 512
static char *syscall_names[SYSCALL_NAMES];

static void name_syscalls(void)
{
	for (int nr = 0; nr < SYSCALL_NAMES; nr++)
		if (!syscall_names[nr])
			syscall_names[nr] = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);
}

static size_t put(char *line, size_t n, size_t cap, const char *s)
{
	while (*s && n < cap)
		line[n++] = *s++;
	return n;
}

static void on_sigsys(int sig, siginfo_t *info, void *uctx)
{
	(void)sig;
	(void)uctx;
	char line[160];
	size_t n = put(line, 0, sizeof(line), "triad: seccomp: system call ");
	char digits[16];
	int nr = info ? info->si_syscall : -1;
	unsigned u = nr < 0 ? 0 : (unsigned)nr;
	size_t d = 0;
	do {
		digits[d++] = (char)('0' + u % 10);
		u /= 10;
	} while (u && d < sizeof(digits));
	while (d && n < sizeof(line))
		line[n++] = digits[--d];
	if (nr >= 0 && nr < SYSCALL_NAMES && syscall_names[nr]) {
		n = put(line, n, sizeof(line), " (");
		n = put(line, n, sizeof(line) - 1, syscall_names[nr]);
		n = put(line, n, sizeof(line), ")");
	}
	n = put(line, n, sizeof(line) - 1, " is not allowed; exiting");
	line[n++] = '\n';
	(void)!write(STDERR_FILENO, line, n);
	int fd = log_emergency_fd();
	if (fd >= 0)
		(void)!write(fd, line, n);
	_exit(128 + SIGSYS);
}

static int add_calls(scmp_filter_ctx ctx, const char *const *names, char *err, size_t errlen)
{
	for (size_t i = 0; names && names[i]; i++) {
		int nr = seccomp_syscall_resolve_name(names[i]);
		if (nr == __NR_SCMP_ERROR)
			continue; /* not a call of this architecture */
		int rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
		if (rc < 0) {
			snprintf(err, errlen, "sandbox: seccomp rule for %s: %s", names[i],
			         strerror(-rc));
			return -1;
		}
	}
	return 0;
}

/* socket(2) for the families the daemons use: AF_UNIX (syslog, sd_notify,
 * NSS, unix: upstreams), AF_INET, AF_INET6; not netlink, packet or others. */
static int add_socket(scmp_filter_ctx ctx)
{
	static const int families[] = {AF_UNIX, AF_INET, AF_INET6};
	/* datum_b (unused by SCMP_CMP_EQ) is given: clang's fuzz build warns on a
	 * missing field initializer. */
	for (size_t i = 0; i < sizeof(families) / sizeof(families[0]); i++)
		if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
		                     SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)families[i], 0)) < 0)
			return -1;
	return 0;
}

/* clone(2) only with CLONE_THREAD (pthread_create): no fork, no vfork.
 * clone3 passes its flags in memory a filter cannot read: it fails with
 * ENOSYS, and glibc falls back to clone. */
static int add_clone_threads(scmp_filter_ctx ctx)
{
	if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
	                     SCMP_A0(SCMP_CMP_MASKED_EQ, (scmp_datum_t)CLONE_THREAD,
	                             (scmp_datum_t)CLONE_THREAD)) < 0)
		return -1;
	return seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
}

enum which_set { SET_DAEMON, SET_PAM };

static int seccomp_load_set(enum which_set which, const struct sandbox_syscalls *extra,
                            char *err, size_t errlen)
{
	name_syscalls();
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sigsys;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSYS, &sa, NULL) < 0) {
		snprintf(err, errlen, "sandbox: sigaction(SIGSYS): %s", strerror(errno));
		return -1;
	}
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_TRAP);
	if (!ctx) {
		snprintf(err, errlen, "sandbox: seccomp_init failed");
		return -1;
	}
	int rc = -1;
	/* NoNewPrivs (libseccomp's default) and the filter on every thread. */
	if (seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 1) < 0 ||
	    seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1) < 0) {
		snprintf(err, errlen, "sandbox: seccomp attributes refused");
		goto out;
	}
	if (add_calls(ctx, which == SET_PAM ? pam_calls : base_calls, err, errlen) < 0 ||
	    add_calls(ctx, extra ? extra->names : NULL, err, errlen) < 0)
		goto out;
#if defined(__SANITIZE_ADDRESS__)
	if (add_calls(ctx, sanitizer_calls, err, errlen) < 0)
		goto out;
	bool any_clone = true;
#else
	bool any_clone = which == SET_PAM;
#endif
	/* PAM modules may resolve a directory server's name (netlink for
	 * AI_ADDRCONFIG): the helper keeps socket(2) for every family. */
	if ((which == SET_DAEMON && add_socket(ctx) < 0) ||
	    (any_clone ? seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0)
	               : add_clone_threads(ctx)) < 0) {
		snprintf(err, errlen, "sandbox: seccomp argument rules refused");
		goto out;
	}
	int lrc = seccomp_load(ctx);
	if (lrc < 0) {
		snprintf(err, errlen, "sandbox: seccomp_load: %s", strerror(-lrc));
		goto out;
	}
	rc = 0;
out:
	seccomp_release(ctx);
	/* Already under an outer filter that forbids installing ours (systemd's
	 * SystemCallFilter=@system-service has no seccomp(2)): that filter
	 * stays, ours is skipped, and the caller logs why. */
	if (rc < 0 && prctl(PR_GET_SECCOMP, 0, 0, 0, 0) == 2)
		return 1;
	return rc;
}

int sandbox_seccomp(const struct sandbox_syscalls *extra, char *err, size_t errlen)
{
	return seccomp_load_set(SET_DAEMON, extra, err, errlen);
}

int sandbox_seccomp_pam(char *err, size_t errlen)
{
	return seccomp_load_set(SET_PAM, NULL, err, errlen);
}

/* ---- the test hooks ---------------------------------------------------------- */

#ifdef TRIAD_TEST_HOOKS
static void probe_call(void)
{
	long r = syscall(SYS_acct, NULL);
	int e = errno;
	log_warn("sandbox probe: acct returned %ld (%s)", r, strerror(e));
}
#endif

void sandbox_probe(const char *when)
{
#ifdef TRIAD_TEST_HOOKS
	const char *path = getenv("TRIAD_SANDBOX_PROBE");
	if (path && *path) {
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		int e = errno;
		if (fd >= 0) {
			log_warn("sandbox probe (%s): opened %s", when, path);
			close(fd);
		} else {
			log_info("sandbox probe (%s): open %s: %s", when, path, strerror(e));
		}
	}
	const char *call = getenv("TRIAD_SANDBOX_PROBE_SYSCALL");
	if (call && strcmp(call, when) == 0)
		probe_call();
#else
	(void)when;
#endif
}

void sandbox_probe_pam(void)
{
#ifdef TRIAD_TEST_HOOKS
	const char *path = getenv("TRIAD_SANDBOX_PROBE_PAM_OPEN");
	if (path && *path) {
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		int e = errno;
		if (fd >= 0) {
			dprintf(STDERR_FILENO, "triad-auth: sandbox probe: opened %s\n", path);
			close(fd);
		} else {
			dprintf(STDERR_FILENO, "triad-auth: sandbox probe: open %s: %s\n", path,
			        strerror(e));
		}
	}
	const char *call = getenv("TRIAD_SANDBOX_PROBE_PAM");
	if (call && strcmp(call, "1") == 0) {
		long r = syscall(SYS_acct, NULL);
		dprintf(STDERR_FILENO, "triad-auth: sandbox probe: acct returned %ld\n", r);
	}
#endif
}
