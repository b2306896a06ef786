/*
 * Unit tests for httpd/status.c: reason phrases, error pages, errno mapping.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "../../../httpd/status.h"

static void test_reasons(void **state)
{
	/* clang-format off */
	static const struct {
		int line, status;
		const char *reason;
	} r[] = {
		{__LINE__, 100, "Continue"},
		{__LINE__, 200, "OK"},
		{__LINE__, 204, "No Content"},
		{__LINE__, 206, "Partial Content"},
		{__LINE__, 301, "Moved Permanently"},
		{__LINE__, 302, "Found"},
		{__LINE__, 304, "Not Modified"},
		{__LINE__, 307, "Temporary Redirect"},
		{__LINE__, 308, "Permanent Redirect"},
		{__LINE__, 400, "Bad Request"},
		{__LINE__, 403, "Forbidden"},
		{__LINE__, 404, "Not Found"},
		{__LINE__, 405, "Method Not Allowed"},
		{__LINE__, 408, "Request Timeout"},
		{__LINE__, 411, "Length Required"},
		{__LINE__, 412, "Precondition Failed"},
		{__LINE__, 413, "Content Too Large"},
		{__LINE__, 414, "URI Too Long"},
		{__LINE__, 416, "Range Not Satisfiable"},
		{__LINE__, 417, "Expectation Failed"},
		{__LINE__, 431, "Request Header Fields Too Large"},
		{__LINE__, 500, "Internal Server Error"},
		{__LINE__, 501, "Not Implemented"},
		{__LINE__, 503, "Service Unavailable"},
		{__LINE__, 505, "HTTP Version Not Supported"},
		{__LINE__, 299, ""},
		{__LINE__, 0, ""},
		{__LINE__, -1, ""},
	};
	/* clang-format on */
	(void)state;
	for (size_t i = 0; i < sizeof(r) / sizeof(r[0]); i++)
		if (strcmp(http_status_reason(r[i].status), r[i].reason) != 0)
			fail_msg("row at line %d: %d -> \"%s\"", r[i].line, r[i].status,
			         http_status_reason(r[i].status));
}

static void test_error_page(void **state)
{
	static const char want[] = "<!DOCTYPE html>\n"
	                           "<html>\n"
	                           "<head><title>404 Not Found</title></head>\n"
	                           "<body>\n"
	                           "<h1>404 Not Found</h1>\n"
	                           "</body>\n"
	                           "</html>\n";
	char buf[512];

	(void)state;
	assert_int_equal(http_error_page(404, buf, sizeof(buf)), sizeof(want) - 1);
	assert_string_equal(buf, want);

	/* too small: truncated, NUL-terminated, the full length returned */
	memset(buf, 'x', sizeof(buf));
	assert_int_equal(http_error_page(404, buf, 10), sizeof(want) - 1);
	assert_int_equal(strlen(buf), 9);
	assert_int_equal(http_error_page(404, NULL, 0), sizeof(want) - 1);

	assert_true(http_error_page(431, buf, sizeof(buf)) < sizeof(buf));
	assert_non_null(strstr(buf, "<title>431 Request Header Fields Too Large</title>"));
	/* an unknown code still makes a page; a nonsense one becomes 500 */
	http_error_page(599, buf, sizeof(buf));
	assert_non_null(strstr(buf, "<h1>599 </h1>"));
	http_error_page(12345, buf, sizeof(buf));
	assert_non_null(strstr(buf, "<h1>500 Internal Server Error</h1>"));
}

static void test_errno(void **state)
{
	/* clang-format off */
	static const struct {
		int line, err, status;
	} r[] = {
		{__LINE__, ENOENT, 404},   {__LINE__, -ENOENT, 404}, {__LINE__, ENOTDIR, 404},
		{__LINE__, -EXDEV, 404},   {__LINE__, ELOOP, 404},   {__LINE__, EACCES, 403},
		{__LINE__, -EPERM, 403},   {__LINE__, ENAMETOOLONG, 414}, {__LINE__, EINVAL, 400},
		{__LINE__, EMFILE, 503},   {__LINE__, ENFILE, 503},  {__LINE__, ENOMEM, 503},
		{__LINE__, EIO, 500},      {__LINE__, 0, 500},
	};
	/* clang-format on */
	(void)state;
	for (size_t i = 0; i < sizeof(r) / sizeof(r[0]); i++)
		if (http_status_for_errno(r[i].err) != r[i].status)
			fail_msg("row at line %d: %d -> %d", r[i].line, r[i].err,
			         http_status_for_errno(r[i].err));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reasons),
		cmocka_unit_test(test_error_page),
		cmocka_unit_test(test_errno),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
