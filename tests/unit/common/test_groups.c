/*
 * groups: the supplementary group list equals getgrouplist's (what
 * initgroups sets), and the lookup loads no NSS module into the caller.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <grp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "triad/groups.h"

/* Whether this process maps a dlopen()ed NSS module (libnss_*.so). */
static bool nss_module_mapped(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	assert_non_null(f);
	char line[512];
	bool found = false;
	while (fgets(line, sizeof(line), f))
		if (strstr(line, "/libnss_"))
			found = true;
	fclose(f);
	return found;
}

static void assert_same_as_getgrouplist(const char *user, gid_t gid, const gid_t *got, size_t n)
{
	gid_t want[256];
	int nwant = 256;
	assert_true(getgrouplist(user, gid, want, &nwant) >= 0);
	if ((size_t)nwant != n)
		fail_msg("%s: %zu groups, getgrouplist says %d", user, n, nwant);
	for (size_t i = 0; i < n; i++)
		if (got[i] != want[i])
			fail_msg("%s: group %zu is %u, getgrouplist says %u", user, i, (unsigned)got[i],
			         (unsigned)want[i]);
}

/* Runs first: nothing in this process has asked NSS anything yet. */
static void test_root_in_a_child(void **state)
{
	(void)state;
	bool before = nss_module_mapped();
	gid_t *g = NULL;
	size_t n = 0;
	assert_int_equal(groups_lookup("root", 0, &g, &n), 0);
	assert_true(n >= 1);
	if (!before && nss_module_mapped())
		fail_msg("groups_lookup loaded an NSS module into the caller");
	/* The same answer as in-process getgrouplist, which does load them. */
	assert_same_as_getgrouplist("root", 0, g, n);
	if (!before && !nss_module_mapped())
		print_message("note: nsswitch.conf's group line names no dlopen()ed module here; "
		              "the no-module check above could not fail on this machine\n");
	free(g);
}

/* An unknown user still has the group it is given (getgrouplist's rule). */
static void test_unknown_user(void **state)
{
	(void)state;
	gid_t *g = NULL;
	size_t n = 0;
	assert_int_equal(groups_lookup("triad-no-such-user-x9", 54321, &g, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(g[0], 54321);
	free(g);
}

/* The primary group is in the list whatever it is, once. */
static void test_primary_group_once(void **state)
{
	(void)state;
	gid_t *g = NULL;
	size_t n = 0;
	assert_int_equal(groups_lookup("root", 4242, &g, &n), 0);
	size_t seen = 0;
	for (size_t i = 0; i < n; i++)
		seen += g[i] == 4242;
	assert_int_equal(seen, 1);
	assert_same_as_getgrouplist("root", 4242, g, n);
	free(g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_root_in_a_child),
	    cmocka_unit_test(test_unknown_user),
	    cmocka_unit_test(test_primary_group_once),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
