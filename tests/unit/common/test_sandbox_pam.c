/*
 * Unit tests for the PAM helper's seccomp set (common/sandbox.c, pam_calls):
 * what PAM modules do on a stock Debian login must run under it, and a call
 * outside it must still kill. Each case runs in a forked child that loads
 * the filter (it cannot be removed again), and the parent reads its status:
 * exit 0 when the calls ran, 128 + SIGSYS from the SIGSYS handler when one
 * was refused.
 *
 * getaddrinfo with AI_ADDRCONFIG (RFC 3493 §6.1: addresses of a family only
 * when the host has one configured) asks the kernel over a netlink socket
 * that glibc binds. libaudit does so for the login records pam_unix writes
 * through Debian's common-* stack: without bind(2) in the set every such
 * login ended in 530 (found by bench/ftp.sh, which logs in through the
 * system's PAM).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <netdb.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/netlink.h>

#include "triad/sandbox.h"

/* FN's result is the child's exit status (0: as expected). */
static int in_pam_sandbox(int (*fn)(void))
{
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char err[256];
		if (sandbox_seccomp_pam(err, sizeof(err)) != 0)
			_exit(90);
		_exit(fn());
	}
	int st = 0;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	return WEXITSTATUS(st);
}

static int addrconfig_lookup(void)
{
	struct addrinfo hints, *res = NULL;
	memset(&hints, 0, sizeof(hints));
	hints.ai_flags = AI_ADDRCONFIG | AI_NUMERICSERV;
	hints.ai_socktype = SOCK_STREAM;
	/* The lookup's answer does not matter here (a container may have no
	 * loopback address configured); being allowed to ask does. */
	int rc = getaddrinfo("localhost", "25", &hints, &res);
	if (rc == 0)
		freeaddrinfo(res);
	return 0;
}

/* What glibc does for AI_ADDRCONFIG, step by step: the bind is the call
 * that was missing. */
static int netlink_route_bind(void)
{
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return 91;
	struct sockaddr_nl nl;
	memset(&nl, 0, sizeof(nl));
	nl.nl_family = AF_NETLINK;
	int rc = bind(fd, (struct sockaddr *)&nl, sizeof(nl));
	close(fd);
	return rc == 0 ? 0 : 92;
}

static int forbidden_call(void)
{
	syscall(SYS_acct, NULL); /* outside every set: the filter kills here */
	return 0;
}

static void test_addrconfig_lookup_runs(void **state)
{
	(void)state;
	assert_int_equal(in_pam_sandbox(addrconfig_lookup), 0);
}

static void test_netlink_bind_runs(void **state)
{
	(void)state;
	assert_int_equal(in_pam_sandbox(netlink_route_bind), 0);
}

static void test_call_outside_the_set_kills(void **state)
{
	(void)state;
	assert_int_equal(in_pam_sandbox(forbidden_call), 128 + SIGSYS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_addrconfig_lookup_runs),
	    cmocka_unit_test(test_netlink_bind_runs),
	    cmocka_unit_test(test_call_outside_the_set_kills),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
