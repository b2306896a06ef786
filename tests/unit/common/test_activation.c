/*
 * activation: LISTEN_PID / LISTEN_FDS / LISTEN_FDNAMES as sd_listen_fds(3)
 * reads them, one row per case (__LINE__ names a failing row).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "triad/activation.h"

#define SELF 4242

struct row {
	int line;
	const char *pid, *fds, *names;
	int rc;
	const char *want[4]; /* names of the first descriptors */
};

static void test_parse_rows(void **state)
{
	(void)state;
	static const struct row rows[] = {
	    {__LINE__, NULL, NULL, NULL, 0, {NULL}},               /* not activated */
	    {__LINE__, "4242", NULL, NULL, 0, {NULL}},
	    {__LINE__, NULL, "2", NULL, 0, {NULL}},
	    {__LINE__, "1", "2", "a:b", 0, {NULL}},                 /* another process's */
	    {__LINE__, "4242", "0", NULL, 0, {NULL}},
	    {__LINE__, "4242", "1", NULL, 1, {""}},
	    {__LINE__, "4242", "2", "http:https", 2, {"http", "https"}},
	    {__LINE__, "4242", "3", "https", 3, {"https", "", ""}}, /* fewer names */
	    {__LINE__, "4242", "2", "a:b:c", 2, {"a", "b"}},        /* more names */
	    {__LINE__, "4242", "2", "unknown:ftps", 2, {"", "ftps"}},
	    {__LINE__, "4242", "2", ":ftps", 2, {"", "ftps"}},
	    {__LINE__, "4242", "4", "a:b:c:d", 4, {"a", "b", "c", "d"}},
	    {__LINE__, "4242", "5", NULL, -1, {NULL}},              /* more than max (4) */
	    {__LINE__, "4242", "-1", NULL, -1, {NULL}},
	    {__LINE__, "4242", "1x", NULL, -1, {NULL}},
	    {__LINE__, "4242", "", NULL, -1, {NULL}},
	    {__LINE__, "x", "1", NULL, -1, {NULL}},
	    {__LINE__, " 4242", "1", NULL, -1, {NULL}},
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct activation_fd out[4];
		memset(out, 0x55, sizeof(out));
		int rc = activation_parse(rows[i].pid, rows[i].fds, rows[i].names, SELF, out, 4);
		if (rc != rows[i].rc)
			fail_msg("line %d: rc %d, want %d", rows[i].line, rc, rows[i].rc);
		for (int j = 0; j < rc; j++) {
			if (out[j].fd != ACTIVATION_FDS_START + j)
				fail_msg("line %d: fd %d at %d", rows[i].line, out[j].fd, j);
			if (strcmp(out[j].name, rows[i].want[j]) != 0)
				fail_msg("line %d: name '%s' at %d, want '%s'", rows[i].line, out[j].name,
				         j, rows[i].want[j]);
		}
	}
}

/* A name of 256 bytes is longer than systemd allows (FDNAME_MAX 255). */
static void test_name_too_long(void **state)
{
	(void)state;
	char names[300];
	memset(names, 'n', sizeof(names) - 1);
	names[sizeof(names) - 1] = '\0';
	struct activation_fd out[1];
	names[ACTIVATION_NAME_MAX] = '\0';
	assert_int_equal(activation_parse("4242", "1", names, SELF, out, 1), 1);
	assert_int_equal(strlen(out[0].name), ACTIVATION_NAME_MAX);
	names[ACTIVATION_NAME_MAX] = 'n';
	assert_int_equal(activation_parse("4242", "1", names, SELF, out, 1), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_rows),
		cmocka_unit_test(test_name_too_long),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
