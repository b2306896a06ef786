/*
 * httpd/status.c: reason phrases, error pages and errno mapping (contract
 * in status.h).
 */
#include "status.h"

#include <errno.h>
#include <stdio.h>

/* clang-format off */
const char *http_status_reason(int status)
{
	switch (status) {
	case 100: return "Continue";
	case 101: return "Switching Protocols";
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 203: return "Non-Authoritative Information";
	case 204: return "No Content";
	case 205: return "Reset Content";
	case 206: return "Partial Content";
	case 300: return "Multiple Choices";
	case 301: return "Moved Permanently";
	case 302: return "Found";
	case 303: return "See Other";
	case 304: return "Not Modified";
	case 305: return "Use Proxy";
	case 307: return "Temporary Redirect";
	case 308: return "Permanent Redirect";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 402: return "Payment Required";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 406: return "Not Acceptable";
	case 407: return "Proxy Authentication Required";
	case 408: return "Request Timeout";
	case 409: return "Conflict";
	case 410: return "Gone";
	case 411: return "Length Required";
	case 412: return "Precondition Failed";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 415: return "Unsupported Media Type";
	case 416: return "Range Not Satisfiable";
	case 417: return "Expectation Failed";
	case 421: return "Misdirected Request";
	case 422: return "Unprocessable Content";
	case 426: return "Upgrade Required";
	case 428: return "Precondition Required";     /* RFC 6585 */
	case 429: return "Too Many Requests";         /* RFC 6585 */
	case 431: return "Request Header Fields Too Large"; /* RFC 6585 */
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	case 505: return "HTTP Version Not Supported";
	case 507: return "Insufficient Storage";      /* RFC 4918 */
	default: return "";
	}
}
/* clang-format on */

size_t http_error_page(int status, char *buf, size_t size)
{
	const char *reason = http_status_reason(status);
	int n;

	if (status < 100 || status > 999)
		status = 500, reason = http_status_reason(500);
	n = snprintf(buf, size,
	             "<!DOCTYPE html>\n"
	             "<html>\n"
	             "<head><title>%d %s</title></head>\n"
	             "<body>\n"
	             "<h1>%d %s</h1>\n"
	             "</body>\n"
	             "</html>\n",
	             status, reason, status, reason);
	return n < 0 ? 0 : (size_t)n;
}

int http_status_for_errno(int err)
{
	if (err < 0)
		err = -err;
	switch (err) {
	case ENOENT:
	case ENOTDIR:
	case EXDEV:
	case ELOOP:
		return 404;
	case EACCES:
	case EPERM:
		return 403;
	case ENAMETOOLONG:
		return 414;
	case EINVAL:
		return 400;
	case EMFILE:
	case ENFILE:
	case ENOMEM:
	case EAGAIN:
		return 503;
	default:
		return 500;
	}
}
