/*
 * rcpt: RCPT TO (RFC 5321 §4.1.1.3) and the recipient check of interface.md:
 * accepted when the domain is listed and <maildir_root>/<domain>/<local>/ is
 * a Maildir (tmp/ new/ cur/).
 *
 * The domain is checked on the loop thread (configuration only). The
 * Maildir's stat()s are file work, which never runs on a loop thread: they
 * go to a workq thread, and the session waits in SMTP_S_RCPT_WAIT, reading
 * no further command, until the answer is sent. Replies to pipelined
 * commands (RFC 2920 §3) therefore keep their order. A session that goes
 * away meanwhile detaches from the check, whose done callback frees it; one
 * whose loop stopped first is released by workq_jobs_release().
 */
#include "session.h"
#include "conf.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include "triad/log.h"
#include "triad/site.h"
#include "triad/workq.h"

struct smtp_lookup {
	struct workq_job job; /* first: the worker's list (workq.h) */
	struct conf *conf;   /* a reference: keeps the maildir fsroot open */
	const struct fsroot *root;
	struct smtp_session *s; /* NULL once the session went away */
	struct smtp_rcpt_entry e;
	enum smtp_rid result;
	/* aliases: the recipient's alias (or, once its mailbox is missing, the
	 * catch-all of its domain), and per target the entry it resolved to */
	const struct smtp_aliases *aliases;
	const struct smtp_alias *alias;
	struct smtp_rcpt_entry *targets;
	bool *found;
};

static void free_lookup(struct smtp_lookup *l)
{
	workq_job_untrack(&l->job);
	conf_unref(l->conf);
	free(l->targets);
	free(l->found);
	free(l);
}

static void release(struct workq_job *j)
{
	struct smtp_lookup *l = (struct smtp_lookup *)j;
	if (l->s && l->s->lookup == l)
		l->s->lookup = NULL;
	free_lookup(l);
}

static void lower(char *p)
{
	for (; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
}

/* The loop thread's part: the domain and the mailbox key. Unlisted domains are
 * never relayed, authenticated or not. */
static enum smtp_rid check_domain(struct smtp_session *s, struct smtp_rcpt_entry *e)
{
	const struct smtpd_conf *conf = smtp_conf(s);
	const struct smtp_path *p = &e->r.path;
	if (p->postmaster) {
		/* §4.1.1.3: <Postmaster> without a domain is ours: the first listed one. */
		if (conf->domains.n == 0)
			return SMTP_R_NO_MAILBOX;
		snprintf(e->domain, sizeof(e->domain), "%s", conf->domains.v[0]);
	} else {
		snprintf(e->domain, sizeof(e->domain), "%.*s", (int)(p->len - p->local_len - 1),
		         p->addr + p->local_len + 1);
		lower(e->domain);
		if (p->literal || !smtp_domain_accepted(s->c->conf, e->domain))
			return SMTP_R_RELAY_DENIED;
	}
	lower(e->domain);
	char dom[SMTP_DOMAIN_MAX + 1];
	size_t base;
	if (smtp_mailbox_key(p, e->local, sizeof(e->local), dom, sizeof(dom), &base) < 0)
		return SMTP_R_NO_MAILBOX;
	e->local[base] = '\0';
	return SMTP_R_NONE;
}

/*
 * Workq thread: <domain>/<local>/ and its tmp/ new/ cur/ are directories.
 * The mailbox is opened beneath the root once and its three subdirectories
 * are looked at through that descriptor, without following a link: 6 system
 * calls per recipient instead of an open, fstat and close for each of the
 * four paths (12, a fifth of a message's calls over a connection of its
 * own). A subdirectory that is a symbolic link is resolved beneath the root
 * as a whole path, as before, so a link that stays inside is still fine and
 * one that leaves is still refused.
 */
static bool maildir_exists(const struct fsroot *root, struct smtp_rcpt_entry *e)
{
	char path[SMTP_DOMAIN_MAX + sizeof(e->local) + 8];
	static const char *const subs[] = {"tmp", "new", "cur"};
	int n = snprintf(path, sizeof(path), "%s/%s", e->domain, e->local);
	if (n < 0 || (size_t)n + sizeof("/tmp") > sizeof(path))
		return false;
	int fd = fsroot_openat(root, path, (size_t)n, O_PATH | O_DIRECTORY, 0);
	if (fd < 0)
		return false;
	struct stat st;
	bool ok = fstat(fd, &st) == 0;
	if (ok) {
		e->dev = st.st_dev;
		e->ino = st.st_ino;
	}
	for (size_t i = 0; ok && i < sizeof(subs) / sizeof(subs[0]); i++) {
		ok = fstatat(fd, subs[i], &st, AT_SYMLINK_NOFOLLOW) == 0;
		if (ok && S_ISLNK(st.st_mode)) {
			int m = snprintf(path + n, sizeof(path) - (size_t)n, "/%s", subs[i]);
			ok = fsroot_stat(root, path, (size_t)n + (size_t)m, &st) == 0;
		}
		ok = ok && S_ISDIR(st.st_mode);
	}
	close(fd);
	return ok;
}

/*
 * Workq thread. An alias beats a mailbox of its name; a mailbox beats the
 * catch-all. An alias is accepted when at least one target's Maildir
 * exists; targets are mailboxes, never expanded again.
 */
static void lookup_run(void *arg)
{
	struct smtp_lookup *l = arg;
	l->result = SMTP_R_NONE;
	if (!l->alias) {
		if (maildir_exists(l->root, &l->e))
			return;
		char key[SMTP_DOMAIN_MAX + 2];
		snprintf(key, sizeof(key), "@%s", l->e.domain);
		l->alias = smtp_aliases_find(l->aliases, key);
		if (!l->alias) {
			l->result = SMTP_R_NO_MAILBOX;
			return;
		}
	}
	size_t n = l->alias->ntargets;
	l->targets = calloc(n, sizeof(*l->targets));
	l->found = calloc(n, sizeof(*l->found));
	if (!l->targets || !l->found) {
		l->result = SMTP_R_LOCAL_ERROR;
		return;
	}
	l->result = SMTP_R_NO_MAILBOX;
	for (size_t i = 0; i < n; i++) {
		struct smtp_rcpt_entry *t = &l->targets[i];
		const char *target = l->alias->targets[i], *at = strrchr(target, '@');
		*t = l->e;
		snprintf(t->local, sizeof(t->local), "%.*s", (int)(at - target), target);
		snprintf(t->domain, sizeof(t->domain), "%s", at + 1);
		l->found[i] = maildir_exists(l->root, t);
		if (l->found[i])
			l->result = SMTP_R_NONE;
	}
}

/*
 * E joins the transaction. One copy per Maildir, also when two addresses
 * name the same directory (a symbolic link aliasing a domain or a mailbox,
 * aliases fanning out to one mailbox): two copies would collide on their
 * tmp/ name and fail the whole delivery.
 */
static bool add_entry(struct smtp_tx *tx, struct smtp_rcpt_entry *e)
{
	for (size_t i = 0; i < tx->nrcpts; i++)
		if (!tx->rcpts[i].dup && tx->rcpts[i].dev == e->dev && tx->rcpts[i].ino == e->ino)
			e->dup = true;
	if (tx->nrcpts == tx->cap) {
		size_t cap = tx->cap ? tx->cap * 2 : 4;
		struct smtp_rcpt_entry *v = realloc(tx->rcpts, cap * sizeof(*v));
		if (!v)
			return false;
		tx->rcpts = v;
		tx->cap = cap;
	}
	tx->rcpts[tx->nrcpts++] = *e;
	return true;
}

/* RCPT commands accepted so far (an alias's extra targets are not commands). */
size_t smtp_rcpt_count(const struct smtp_tx *tx)
{
	size_t n = 0;
	for (size_t i = 0; i < tx->nrcpts; i++)
		n += !tx->rcpts[i].extra;
	return n;
}

/* The answer to one RCPT: refused with R, or E joins the transaction. */
static void answer(struct smtp_session *s, struct smtp_rcpt_entry *e, enum smtp_rid r)
{
	struct smtp_tx *tx = s->tx;
	if (r != SMTP_R_NONE) {
		char addr[128];
		log_escape(addr, sizeof(addr), e->r.path.addr, e->r.path.len);
		log_msg(LOG_LEVEL_INFO, s->c->id, "rcpt refused id=%s to=<%s> reply=%u", tx->id,
		        addr, smtp_reply_def(r)->code);
		if (r == SMTP_R_NO_MAILBOX || r == SMTP_R_RELAY_DENIED)
			tx->nrefused++; /* before the reply: max_errors looks at it */
		smtp_send(s, r);
		return;
	}
	if (!add_entry(tx, e)) {
		smtp_send(s, SMTP_R_LOCAL_ERROR);
		return;
	}
	smtp_set_state(s, SMTP_S_RCPT);
	smtp_send(s, SMTP_R_RCPT_OK);
}

/* An alias's existing targets join the transaction: one RCPT, one reply. */
static void answer_alias(struct smtp_session *s, struct smtp_lookup *l)
{
	struct smtp_tx *tx = s->tx;
	size_t before = tx->nrcpts;
	bool first = true;
	for (size_t i = 0; i < l->alias->ntargets; i++) {
		if (!l->found[i])
			continue;
		l->targets[i].extra = !first;
		if (!add_entry(tx, &l->targets[i])) {
			tx->nrcpts = before; /* all or nothing */
			smtp_send(s, SMTP_R_LOCAL_ERROR);
			return;
		}
		first = false;
	}
	smtp_set_state(s, SMTP_S_RCPT);
	smtp_send(s, SMTP_R_RCPT_OK);
}

static void lookup_done(void *arg)
{
	struct smtp_lookup *l = arg;
	struct smtp_session *s = l->s;
	if (!s) {
		free_lookup(l); /* the session went away meanwhile */
		return;
	}
	s->lookup = NULL;
	smtp_set_state(s, s->tx->nrcpts > 0 ? SMTP_S_RCPT : SMTP_S_MAIL);
	if (l->alias && l->result == SMTP_R_NONE)
		answer_alias(s, l);
	else
		answer(s, &l->e, l->result);
	free_lookup(l);
	smtp_process(s); /* what the client pipelined after this RCPT */
}

void smtp_rcpt_abort(struct smtp_session *s)
{
	if (s->lookup) {
		s->lookup->s = NULL;
		s->lookup = NULL;
	}
}

void smtp_cmd_rcpt(struct smtp_session *s, const char *arg, size_t len)
{
	struct smtp_tx *tx = s->tx;
	if (tx->bdat) {
		smtp_send(s, SMTP_R_BAD_SEQUENCE);
		return;
	}
	struct smtp_parse_opts o = {.esmtp = s->esmtp, .smtputf8 = tx->mail.smtputf8};
	struct smtp_rcpt_entry e;
	memset(&e, 0, sizeof(e));
	enum smtp_rid r = smtp_parse_rcpt(arg, len, &o, &e.r);
	if (r == SMTP_R_NONE && smtp_rcpt_count(tx) >= smtp_conf(s)->max_recipients)
		r = SMTP_R_TOO_MANY_RCPTS; /* §4.5.3.1.10 */
	if (r == SMTP_R_NONE)
		r = check_domain(s, &e);
	if (r != SMTP_R_NONE) {
		answer(s, &e, r);
		return;
	}
	struct smtp_lookup *l = calloc(1, sizeof(*l));
	if (!l) {
		smtp_send(s, SMTP_R_LOCAL_ERROR);
		return;
	}
	l->conf = conf_ref(s->c->conf);
	l->root = &s->app->maildirs;
	l->s = s;
	l->e = e;
	l->aliases = &s->app->aliases;
	char key[sizeof(e.local) + sizeof(e.domain) + 1];
	snprintf(key, sizeof(key), "%s@%s", e.local, e.domain);
	l->alias = smtp_aliases_find(l->aliases, key);
	workq_job_track(s->c->worker, &l->job, release);
	if (workq_submit(s->c->base, lookup_run, lookup_done, l) < 0) {
		/* The queue is full: try again later. */
		free_lookup(l);
		smtp_send(s, SMTP_R_LOCAL_ERROR);
		return;
	}
	s->lookup = l;
	smtp_set_state(s, SMTP_S_RCPT_WAIT);
}
