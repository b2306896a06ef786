/*
 * sandbox: what a daemon may still do once it runs as `user` (server.c),
 * and what its PAM helper may do (auth_helper.c).
 *
 * Two layers, each applied once per process and inherited by every thread
 * and child made afterwards:
 * - Landlock (filesystem): right after the privilege drop, before any
 *   thread exists (a Landlock domain binds the calling thread and what it
 *   creates afterwards), the process may open only beneath the paths its
 *   configuration names, with the access each needs (sandbox_allow).
 *   Everything else is refused with EACCES, whatever the file modes say. A
 *   kernel without Landlock (before 5.13, or disabled), or an outer seccomp
 *   filter that forbids its calls, is logged and tolerated.
 * - seccomp-bpf (system calls, libseccomp): once every thread is running,
 *   an allowlist for the event loops, the workq, TLS, logging, reloads and
 *   the gateway's outbound connections, with NoNewPrivs set on every thread
 *   (TSYNC). Any other call raises SIGSYS; its handler writes "seccomp:
 *   system call N (NAME) is not allowed" to stderr and to the log file, then
 *   the process exits with status 159 (128 + SIGSYS).
 * The PAM helper, forked while root before either is applied, gets its own
 * Landlock rules (sandbox_landlock_pam: the system trees read-only) and
 * its own allowlist (sandbox_seccomp_pam): what PAM modules need to read
 * the user databases and talk to NSS, syslog or a directory service, and
 * nothing that runs a program, changes credentials or mounts.
 */
#ifndef TRIAD_SANDBOX_H
#define TRIAD_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>

enum sandbox_access {
	SANDBOX_READ,    /* open files and list directories beneath */
	SANDBOX_APPEND,  /* write and create regular files beneath (log directories) */
	SANDBOX_WRITE,   /* everything on regular files and directories beneath */
};

struct sandbox_rule {
	char *path;
	const char *key; /* the configuration key it serves (for messages) */
	enum sandbox_access access;
	bool missing; /* set by sandbox_landlock: PATH did not exist, no rule made */
};

/* A growing list of rules; zero-initialise it. */
struct sandbox_paths {
	struct sandbox_rule *v;
	size_t n, cap;
	bool oom;
};

/* Adds PATH (copied; a file or a directory) with ACCESS for KEY, unless a
 * rule already in P covers it (sandbox_covered). */
void sandbox_allow(struct sandbox_paths *p, const char *key, const char *path,
                   enum sandbox_access access);
/* The directory of PATH with ACCESS (for files created or replaced later). */
void sandbox_allow_dir_of(struct sandbox_paths *p, const char *key, const char *path,
                          enum sandbox_access access);
void sandbox_paths_free(struct sandbox_paths *p);

/* Whether a rule of P grants ACCESS on PATH: PATH is that rule's path or
 * lies beneath it (by name, after resolving links where the path exists),
 * and the rule's access includes ACCESS (WRITE includes READ and APPEND). */
bool sandbox_covered(const struct sandbox_paths *p, const char *path, enum sandbox_access access);
/* The first rule of WANT that START does not cover, or NULL: a reload may
 * only name what the sandbox applied at start allows. */
const struct sandbox_rule *sandbox_uncovered(const struct sandbox_paths *start,
                                             const struct sandbox_paths *want);

/*
 * Landlock over P. 0 and *ABI the Landlock ABI used (0: the kernel has
 * none, -2: an outer seccomp filter forbids Landlock's calls; nothing
 * applied either way); a rule whose path does not exist is skipped and
 * marked `missing` (the caller tells the operator which key named it).
 * -1 with a message on a failure that must stop the start (a path that
 * cannot be opened, a ruleset the kernel refuses); *BAD is then the rule at
 * fault, or NULL when the failure is not one rule's, so the caller can name
 * its configuration key.
 */
int sandbox_landlock(struct sandbox_paths *p, int *abi, const struct sandbox_rule **bad,
                     char *err, size_t errlen);

/* The read-only system trees every process of ours reads (libraries, the
 * PAM modules, NSS, /etc), first, so that what lies beneath them adds no rule. */
void sandbox_allow_system(struct sandbox_paths *p);

/* Landlock for the PAM helper (its PAM children inherit it): read-only on
 * the system trees, read on sssd's caches, write in pam_faillock's tally
 * directory; with PAM_WRAPPER (pam_wrapper, the tests) also write in /tmp.
 * Same return values as sandbox_landlock. */
int sandbox_landlock_pam(bool pam_wrapper, int *abi, char *err, size_t errlen);

/* Extra calls one daemon needs beyond the shared allowlist (libseccomp names). */
struct sandbox_syscalls {
	const char *const *names; /* NULL-terminated */
};

/* seccomp over every thread; 0, or -1 with a message; 1 (with the message)
 * when an outer seccomp filter already on the process forbids loading ours. */
int sandbox_seccomp(const struct sandbox_syscalls *extra, char *err, size_t errlen);
/* The PAM helper's allowlist (one thread; its PAM children inherit it).
 * Same return values. */
int sandbox_seccomp_pam(char *err, size_t errlen);

/* Test builds only (TRIAD_TEST_HOOKS, TEST_HOOKS=1; release builds have
 * none of this). The daemon calls sandbox_probe(WHEN) once its sandbox is on
 * ("start") and after each reload ("reload"): TRIAD_SANDBOX_PROBE=PATH opens
 * PATH and logs the outcome; TRIAD_SANDBOX_PROBE_SYSCALL=WHEN calls acct(2),
 * which is outside every allowlist and must end the process. The PAM
 * helper's children call sandbox_probe_pam() before PAM runs:
 * TRIAD_SANDBOX_PROBE_PAM_OPEN=PATH opens PATH and writes the outcome to
 * stderr; TRIAD_SANDBOX_PROBE_PAM=1 calls acct(2) there. */
void sandbox_probe(const char *when);
void sandbox_probe_pam(void);

#endif
