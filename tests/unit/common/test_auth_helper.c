/*
 * Round-trip tests of privilege-separated PAM (common/auth.c,
 * common/auth_helper.c) against pam_wrapper's pam_matrix: no root, no system
 * PAM configuration. pam_wrapper works by LD_PRELOAD, which must be in place
 * when the process starts, so main() writes a service file and a passdb into
 * a temporary directory and re-executes itself with the environment set; the
 * helper inherits it like the daemons' helper does. Skipped when
 * libpam_wrapper.so is not installed. Every wait on the event loop has a
 * deadline, so a broken helper fails the test instead of hanging it.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>

#include "triad/auth.h"

#define PAM_WRAPPER_LIB "/usr/lib/x86_64-linux-gnu/libpam_wrapper.so"
#define PAM_MATRIX "/usr/lib/x86_64-linux-gnu/pam_wrapper/pam_matrix.so"
#define SERVICE "triad-test"
/* A deadline, not a sleep: answers end the wait. 40 PAM conversations under ASan on a
 * loaded 2-core machine once took more than 10 s. */
#define WAIT_MS 30000
/* libevent keeps time with CLOCK_MONOTONIC_COARSE: its timers may fire a tick early. */
#define TIMER_SLACK_MS 10

struct result {
	int done;
	enum auth_result r;
	uint64_t at_ms;
	struct ctx *t;
};

struct ctx {
	struct event_base *base;
	struct auth_client *client, *client1;
	int helper_killed;
	int count, target, timed_out;
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void on_result(enum auth_result r, void *arg)
{
	struct result *res = arg;

	if (res->done)
		fail_msg("callback ran twice");
	res->done = 1;
	res->r = r;
	res->at_ms = now_ms();
	if (++res->t->count >= res->t->target)
		event_base_loopbreak(res->t->base);
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct ctx *t = arg;

	(void)fd;
	(void)what;
	t->timed_out = 1;
	event_base_loopbreak(t->base);
}

/* Runs the loop until TARGET callbacks in all have run or MS passed; returns the count. */
static int run_until(struct ctx *t, int target, unsigned ms)
{
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
	struct event *deadline = evtimer_new(t->base, on_deadline, t);

	assert_non_null(deadline);
	t->target = target;
	t->timed_out = 0;
	evtimer_add(deadline, &tv);
	while (t->count < target && !t->timed_out)
		event_base_dispatch(t->base);
	event_free(deadline);
	return t->count;
}

static struct auth_req *ask(struct ctx *t, struct auth_client *c, const char *user,
                            const char *password, const char *rhost, struct result *res)
{
	memset(res, 0, sizeof *res);
	res->t = t;
	struct auth_req *req = auth_request(c, SERVICE, user, password, rhost, on_result, res);
	assert_non_null(req);
	return req;
}

static int setup(void **state)
{
	static struct ctx t;
	char err[256];

	memset(&t, 0, sizeof t);
	auth_set_fail_delay_ms(50);
	t.base = event_base_new();
	assert_non_null(t.base);
	if (auth_helper_start(2, true, err, sizeof err) < 0)
		fail_msg("%s", err);
	assert_true(auth_helper_running());
	t.client = auth_client_new(t.base, 0);
	assert_non_null(t.client);
	*state = &t;
	return 0;
}

/* The helper must leave by itself once the daemon's ends are closed. */
static int teardown(void **state)
{
	struct ctx *t = *state;
	auth_client_free(t->client);
	auth_client_free(t->client1);
	int status = auth_helper_stop();
	assert_false(auth_helper_running());
	if (status < 0)
		fail_msg("the helper did not exit after its channels closed");
	if (t->helper_killed)
		assert_true(WIFSIGNALED(status));
	else
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	event_base_free(t->base);
	return 0;
}

static void test_ok(void **state)
{
	struct ctx *t = *state;
	struct result res;

	auth_set_fail_delay_ms(2000);
	uint64_t start = now_ms();
	ask(t, t->client, "alice", "secret", "192.0.2.1", &res);
	assert_int_equal(run_until(t, 1, WAIT_MS), 1);
	assert_int_equal(res.r, AUTH_OK);
	/* Success is not held back. */
	assert_true(res.at_ms - start < 2000);
}

static void test_denied(void **state)
{
	struct ctx *t = *state;
	struct {
		int line;
		const char *user, *password;
	} rows[] = {
	    {__LINE__, "alice", "wrong"},
	    {__LINE__, "alice", ""},
	    {__LINE__, "alice", "secret2"},
	    {__LINE__, "alice", "SECRET"},
	    {__LINE__, "nobody-here", "secret"}, /* unknown user */
	    {__LINE__, "", "secret"},
	    {__LINE__, "bob", "hunter2"}, /* right password, another service's account */
	};

	auth_set_fail_delay_ms(300);
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		struct result res;
		print_message("row at line %d\n", rows[i].line);
		t->count = 0;
		uint64_t start = now_ms();
		ask(t, t->client, rows[i].user, rows[i].password, "192.0.2.2", &res);
		assert_int_equal(run_until(t, 1, WAIT_MS), 1);
		assert_int_equal(res.r, AUTH_DENIED);
		/* A failure arrives only after the delay. */
		assert_true(res.at_ms - start >= 300 - TIMER_SLACK_MS);
	}
}

static void test_bad_service(void **state)
{
	struct ctx *t = *state;
	struct result res;

	memset(&res, 0, sizeof res);
	res.t = t;
	/* The helper takes only names a PAM configuration file could have. */
	assert_non_null(auth_request(t->client, "../" SERVICE, "alice", "secret", "192.0.2.3",
	                             on_result, &res));
	assert_int_equal(run_until(t, 1, WAIT_MS), 1);
	assert_int_equal(res.r, AUTH_ERROR);
}

static void test_throttle(void **state)
{
	struct ctx *t = *state;
	struct result res[TRIAD_AUTH_FAIL_MAX], last, other;

	for (int i = 0; i < TRIAD_AUTH_FAIL_MAX; i++)
		ask(t, t->client, "alice", "guess", "203.0.113.9", &res[i]);
	assert_int_equal(run_until(t, TRIAD_AUTH_FAIL_MAX, WAIT_MS), TRIAD_AUTH_FAIL_MAX);
	for (int i = 0; i < TRIAD_AUTH_FAIL_MAX; i++)
		assert_int_equal(res[i].r, AUTH_DENIED);

	/* Even the right password is refused now, after the delay; other IPs are not. */
	auth_set_fail_delay_ms(200);
	t->count = 0;
	uint64_t start = now_ms();
	ask(t, t->client, "alice", "secret", "203.0.113.9", &last);
	ask(t, t->client, "alice", "secret", "203.0.113.10", &other);
	assert_int_equal(run_until(t, 2, WAIT_MS), 2);
	assert_int_equal(last.r, AUTH_THROTTLED);
	assert_true(last.at_ms - start >= 200 - TIMER_SLACK_MS);
	assert_int_equal(other.r, AUTH_OK);
}

/*
 * The throttle keys a client as the connection limits do (triad/addr.h):
 * rotating through the addresses of one IPv6 /64 does not dodge it (issue
 * 14 fix 6), the next /64 is another client, and an IPv4 address is the
 * same client whether it comes plain or IPv4-mapped.
 */
static void test_throttle_per_client(void **state)
{
	struct ctx *t = *state;
	struct result res[TRIAD_AUTH_FAIL_MAX], r64, next64, mapped, v4other;
	char rhost[TRIAD_AUTH_FAIL_MAX][48];

	for (int i = 0; i < TRIAD_AUTH_FAIL_MAX; i++) {
		snprintf(rhost[i], sizeof rhost[i], "2001:db8:64:1:%x::%x", i * 7 + 1, i + 1);
		ask(t, t->client, "alice", "guess", rhost[i], &res[i]);
	}
	assert_int_equal(run_until(t, TRIAD_AUTH_FAIL_MAX, WAIT_MS), TRIAD_AUTH_FAIL_MAX);
	for (int i = 0; i < TRIAD_AUTH_FAIL_MAX; i++)
		assert_int_equal(res[i].r, AUTH_DENIED);
	for (int i = 0; i < TRIAD_AUTH_FAIL_MAX; i++)
		ask(t, t->client, "alice", "guess", "198.18.0.7", &res[i]);
	assert_int_equal(run_until(t, 2 * TRIAD_AUTH_FAIL_MAX, WAIT_MS), 2 * TRIAD_AUTH_FAIL_MAX);

	auth_set_fail_delay_ms(50);
	t->count = 0;
	/* A fresh interface identifier in the same /64, with the right password. */
	ask(t, t->client, "alice", "secret", "2001:db8:64:1:ffff:ffff:ffff:fffe", &r64);
	ask(t, t->client, "alice", "secret", "2001:db8:64:2::1", &next64);
	ask(t, t->client, "alice", "secret", "::ffff:198.18.0.7", &mapped);
	ask(t, t->client, "alice", "secret", "198.18.0.8", &v4other);
	assert_int_equal(run_until(t, 4, WAIT_MS), 4);
	assert_int_equal(r64.r, AUTH_THROTTLED);
	assert_int_equal(next64.r, AUTH_OK);
	assert_int_equal(mapped.r, AUTH_THROTTLED);
	assert_int_equal(v4other.r, AUTH_OK);
}

static void test_cancel(void **state)
{
	struct ctx *t = *state;
	struct result gone, kept, late;

	/* Cancelled while PAM runs: the reply is swallowed and freed. */
	struct auth_req *req = ask(t, t->client, "alice", "secret", "192.0.2.4", &gone);
	auth_cancel(req);
	ask(t, t->client, "alice", "secret", "192.0.2.4", &kept);
	assert_int_equal(run_until(t, 1, WAIT_MS), 1);
	assert_int_equal(kept.r, AUTH_OK);

	/* Cancelled while the failure is being held back. */
	auth_set_fail_delay_ms(400);
	req = ask(t, t->client, "alice", "bad", "192.0.2.4", &late);
	run_until(t, 2, 200);
	auth_cancel(req);
	run_until(t, 2, 600);
	assert_false(gone.done);
	assert_false(late.done);
	assert_int_equal(t->count, 1);
}

static void test_concurrent(void **state)
{
	struct ctx *t = *state;
	struct auth_client *c1 = t->client1 = auth_client_new(t->base, 1);
	struct result res[40];
	char rhost[40][32];

	assert_non_null(c1);
	/* Each channel can be taken once. */
	assert_null(auth_client_new(t->base, 1));
	assert_null(auth_client_new(t->base, 2));
	for (int i = 0; i < 40; i++) {
		snprintf(rhost[i], sizeof rhost[i], "198.51.100.%d", i);
		ask(t, i % 2 ? c1 : t->client, i % 3 ? "alice" : "carol", i % 3 ? "secret" : "nope",
		    rhost[i], &res[i]);
	}
	assert_int_equal(run_until(t, 40, WAIT_MS), 40);
	for (int i = 0; i < 40; i++) {
		if (res[i].r != (i % 3 ? AUTH_OK : AUTH_DENIED))
			fail_msg("request %d: result %d", i, res[i].r);
	}
}

static void test_oversize(void **state)
{
	struct ctx *t = *state;
	char big[TRIAD_AUTH_PASSWORD_MAX + 2];
	struct result res;

	memset(big, 'a', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	assert_null(auth_request(t->client, SERVICE, "alice", big, "192.0.2.6", on_result, &res));
	big[TRIAD_AUTH_FIELD_MAX + 1] = '\0';
	assert_null(auth_request(t->client, SERVICE, big, "x", "192.0.2.6", on_result, &res));
	assert_null(auth_request(t->client, big, "alice", "x", "192.0.2.6", on_result, &res));
	assert_null(auth_request(t->client, SERVICE, "alice", "x", big, on_result, &res));
	/* At the limits it goes through (and is denied). */
	big[TRIAD_AUTH_FIELD_MAX] = '\0';
	ask(t, t->client, big, "x", "192.0.2.6", &res);
	assert_int_equal(run_until(t, 1, WAIT_MS), 1);
	assert_int_equal(res.r, AUTH_DENIED);
}

static void test_malformed_closes_channel(void **state)
{
	struct ctx *t = *state;
	int fd = auth_helper_take_channel(1);
	char byte;
	struct result res;

	assert_true(fd >= 0);
	assert_int_equal(auth_helper_take_channel(1), -1);
	assert_int_equal(write(fd, "\xff\xff\xff\xff", 4), 4);
	struct pollfd p = {fd, POLLIN, 0};
	assert_int_equal(poll(&p, 1, WAIT_MS), 1);
	assert_int_equal(read(fd, &byte, 1), 0);
	close(fd);
	/* The other channel is unaffected. */
	ask(t, t->client, "alice", "secret", "192.0.2.7", &res);
	assert_int_equal(run_until(t, 1, WAIT_MS), 1);
	assert_int_equal(res.r, AUTH_OK);
}

static void test_helper_killed(void **state)
{
	struct ctx *t = *state;
	struct result pending, later;

	auth_set_fail_delay_ms(1000);
	ask(t, t->client, "alice", "secret", "192.0.2.8", &pending);
	assert_int_equal(kill(auth_helper_pid(), SIGKILL), 0);
	t->helper_killed = 1;
	assert_int_equal(run_until(t, 1, WAIT_MS), 1);
	assert_int_equal(pending.r, AUTH_ERROR);
	/* Later requests fail too, without waiting for a helper that is gone. */
	uint64_t start = now_ms();
	ask(t, t->client, "alice", "secret", "192.0.2.8", &later);
	assert_int_equal(run_until(t, 2, WAIT_MS), 2);
	assert_int_equal(later.r, AUTH_ERROR);
	assert_true(now_ms() - start < 1000);
}

/* The helper keeps only stdio and its own descriptors: no listener leaks to root. */
static void test_helper_closes_inherited_fds(void **state)
{
	struct ctx *t = *state;
	struct result res;
	int leak[2];
	char path[64], link[PATH_MAX];

	/* The helper is already running; start another with a descriptor to inherit. */
	(void)teardown(state);
	assert_int_equal(pipe(leak), 0);
	(void)setup(state);
	t = *state;

	ask(t, t->client, "alice", "secret", "192.0.2.9", &res);
	assert_int_equal(run_until(t, 1, WAIT_MS), 1); /* the helper's loop is up */
	snprintf(path, sizeof path, "/proc/%d/fd", auth_helper_pid());
	DIR *d = opendir(path);
	assert_non_null(d);
	int sockets = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.' || atoi(e->d_name) <= 2)
			continue;
		char fdpath[64 + sizeof e->d_name];
		snprintf(fdpath, sizeof fdpath, "%s/%s", path, e->d_name);
		ssize_t len = readlink(fdpath, link, sizeof link - 1);
		if (len < 0)
			continue;
		link[len] = '\0';
		if (strncmp(link, "socket:", 7) == 0)
			sockets++;
		else if (strcmp(link, "anon_inode:[signalfd]") != 0)
			fail_msg("the helper inherited fd %s (%s)", e->d_name, link);
	}
	closedir(d);
	close(leak[0]);
	close(leak[1]);
	/* Above stdio: the two channels and the signalfd. */
	assert_int_equal(sockets, 2);
}

static const char *tmpdir_env = "TRIAD_TEST_AUTH_DIR";

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	if (f == NULL || fputs(text, f) == EOF || fclose(f) != 0) {
		perror(path);
		exit(1);
	}
}

/* Sets up pam_wrapper and re-executes this binary under it. */
static void reexec_under_pam_wrapper(char **argv)
{
	char dir[] = "/tmp/triad-test-auth-XXXXXX";
	char path[128], text[1024], passdb[128], env[3 * PATH_MAX];

	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		exit(1);
	}
	snprintf(passdb, sizeof passdb, "%s/passdb", dir);
	write_file(passdb, "alice:secret:" SERVICE "\n"
	                   "carol:secret:" SERVICE "\n"
	                   "bob:hunter2:otherservice\n");
	snprintf(text, sizeof text,
	         "auth required " PAM_MATRIX " passdb=%s\n"
	         "account required " PAM_MATRIX " passdb=%s\n",
	         passdb, passdb);
	snprintf(path, sizeof path, "%s/" SERVICE, dir);
	write_file(path, text);
	/* Linux-PAM reads "other" too; without it pam_wrapper logs an error per login. */
	snprintf(path, sizeof path, "%s/other", dir);
	write_file(path, text);

	const char *preload = getenv("LD_PRELOAD");
	if (preload != NULL && strlen(preload) > PATH_MAX)
		preload = NULL;
	snprintf(env, sizeof env, "%s%s%s", PAM_WRAPPER_LIB, preload ? ":" : "",
	         preload ? preload : "");
	setenv("LD_PRELOAD", env, 1);
	setenv("PAM_WRAPPER", "1", 1);
	setenv("PAM_WRAPPER_SERVICE_DIR", dir, 1);
	/* Deep binding and the sanitizers do not mix (pam_wrapper(1)); 1.1.4 reads the
	 * variable under uid_wrapper's name. */
	setenv("PAM_WRAPPER_DISABLE_DEEPBIND", "1", 1);
	setenv("UID_WRAPPER_DISABLE_DEEPBIND", "1", 1);
	/* Under ASan the preloaded wrapper comes before the runtime; that is intended. */
	const char *asan = getenv("ASAN_OPTIONS");
	if (asan != NULL && strlen(asan) > PATH_MAX)
		asan = NULL;
	snprintf(env, sizeof env, "%s%sverify_asan_link_order=0", asan ? asan : "",
	         asan ? ":" : "");
	setenv("ASAN_OPTIONS", env, 1);
	setenv(tmpdir_env, dir, 1);
	execv("/proc/self/exe", argv);
	perror("execv /proc/self/exe");
	exit(1);
}

static void remove_tmpdir(void)
{
	const char *dir = getenv(tmpdir_env);
	char path[PATH_MAX];

	if (dir == NULL)
		return;
	snprintf(path, sizeof path, "%s/passdb", dir);
	unlink(path);
	snprintf(path, sizeof path, "%s/" SERVICE, dir);
	unlink(path);
	snprintf(path, sizeof path, "%s/other", dir);
	unlink(path);
	rmdir(dir);
}

static void test_skipped(void **state)
{
	(void)state;
	print_message("pam_wrapper is not installed (%s)\n", PAM_WRAPPER_LIB);
	skip();
}

int main(int argc, char **argv)
{
	(void)argc;
	if (access(PAM_WRAPPER_LIB, R_OK) != 0 || access(PAM_MATRIX, R_OK) != 0) {
		const struct CMUnitTest skipped[] = {cmocka_unit_test(test_skipped)};
		return cmocka_run_group_tests(skipped, NULL, NULL);
	}
	if (getenv("PAM_WRAPPER") == NULL)
		reexec_under_pam_wrapper(argv);

	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_ok, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_denied, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_service, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_throttle, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_throttle_per_client, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_concurrent, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_oversize, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_malformed_closes_channel, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_helper_closes_inherited_fds, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_helper_killed, setup, teardown),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	remove_tmpdir();
	return rc;
}
