/*
 * httpd/head.c: building a response head (RFC 9112 §4, RFC 9110 §6.6) into
 * one contiguous buffer, queued with a single conn_write. The Date value
 * is formatted once per second per worker from the loop's cached clock, so a
 * response costs no time syscall and no strftime.
 */
#include "session.h"
#include "triad/strlit.h"
#include "status.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <event2/event.h>

void http_head_add(struct http_head *h, const char *s, size_t n)
{
	if (h->len + n > h->cap) {
		h->overflow = true;
		return;
	}
	memcpy(h->p + h->len, s, n);
	h->len += n;
}

void http_head_str(struct http_head *h, const char *s)
{
	http_head_add(h, s, strlen(s));
}

void http_head_u64(struct http_head *h, uint64_t v)
{
	char tmp[24];
	size_t i = sizeof(tmp);
	do {
		tmp[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	http_head_add(h, tmp + i, sizeof(tmp) - i);
}

const char *http_worker_date(struct http_worker *w, struct conn *c)
{
	struct timeval tv;
	if (event_base_gettimeofday_cached(c->base, &tv) < 0)
		gettimeofday(&tv, NULL);
	if ((int64_t)tv.tv_sec != w->date_sec) {
		w->date_sec = tv.tv_sec;
		date_http_format(w->date_sec, w->date);
		struct date_tm tm;
		date_utc(w->date_sec, &tm);
		snprintf(w->clf, sizeof(w->clf), "%02d/%s/%04lld:%02d:%02d:%02d +0000", tm.mday,
		         date_month_abbr[tm.mon - 1], (long long)tm.year, tm.hour, tm.min, tm.sec);
	}
	return w->date;
}

void http_head_start(struct http_session *s, struct http_head *h, int status)
{
	s->t->x.status = status;
	/* Every status we send has three digits (RFC 9110 §15); no printf per response. */
	unsigned st = status >= 100 && status <= 999 ? (unsigned)status : 500;
	char code[4] = {(char)('0' + st / 100), (char)('0' + st / 10 % 10), (char)('0' + st % 10), ' '};
	http_head_add(h, STRLIT("HTTP/1.1 "));
	http_head_add(h, code, sizeof(code));
	http_head_str(h, http_status_reason((int)st));
	http_head_add(h, STRLIT("\r\nDate: "));
	http_head_add(h, http_worker_date(s->w, s->c), DATE_HTTP_LEN);
	http_head_add(h, STRLIT("\r\n"));
	http_head_str(h, s->app->server);
}

void http_head_session_fields(struct http_session *s, struct http_head *h)
{
	if (s->shutdown)
		s->t->x.close = true;
	if (s->t->x.close)
		http_head_str(h, "Connection: close\r\n");
	else if (s->t->req.version == HTTP_VERSION_1_0)
		http_head_str(h, "Connection: keep-alive\r\n");
	http_head_str(h, "X-Content-Type-Options: nosniff\r\n");
	if (s->c->ssl)
		http_head_str(h, s->site->hsts);
	http_head_str(h, s->t->x.rule_headers);
}

void http_head_send(struct http_session *s, struct http_head *h)
{
	s->c->bytes_out += h->len;
	conn_write(s->c, h->p, h->len);
}

void http_head_finish(struct http_session *s, struct http_head *h)
{
	http_head_session_fields(s, h);
	http_head_add(h, STRLIT("\r\n"));
	http_head_send(s, h);
}
