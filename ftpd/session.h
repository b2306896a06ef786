/*
 * session: one FTP control connection (RFC 959) and what the ftpd files share.
 *
 * The session owns its control conn (conn->proto), its data setup (a PASV
 * listener, a PORT address, the data conn) and at most one transfer
 * (struct ftp_transfer, xfer.h). Login state is one enum changed only by
 * ftp_set_state(); a transfer is orthogonal to it (s->xfer). While a transfer
 * runs, only the commands RFC 959 §4.1.3 allows in its middle (ABOR, STAT,
 * QUIT) are executed; any other is held and runs when the transfer ends.
 * Behind a held command only ABOR is executed at once (it answers the held
 * command before its own 226); the next other line waits its turn.
 *
 * Files: session.c (state, I/O glue, dispatch, prepare/accept), commands.c
 * (the handler table and most handlers), login.c (USER/PASS), and the
 * transfer files listed in xfer.h (PASV/EPSV/PORT/EPRT in dataconn.c, RETR,
 * STOR/APPE/STOU, LIST/NLST/MLSD, ABOR).
 */
#ifndef FTPD_SESSION_H
#define FTPD_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "conf.h"
#include "parse.h"
#include "path.h"
#include "triad/metrics.h"
#include "triad/server.h"

int ftp_prepare(struct conf *c, struct server_runtime *rt, char *err, size_t errlen);
void ftp_release(struct server_runtime *rt);
void ftp_accept(struct conn *c, int tag);

/* What ftp_prepare builds per configuration generation. */
struct ftp_app {
	struct fsroot ftp_root;
};

enum ftp_state {
	FTP_STATE_USER,    /* greeted: USER expected */
	FTP_STATE_PASS,    /* USER given: PASS expected */
	FTP_STATE_AUTH,    /* PAM answer pending: commands are not read */
	FTP_STATE_READY,   /* logged in */
	FTP_STATE_CLOSING, /* 221 or 421 queued: nothing more is read */
};

enum ftp_data_mode { FTP_DATA_NONE, FTP_DATA_PASV, FTP_DATA_PORT };

struct ftp_transfer;
struct ftp_list_opts;
struct ftp_commit;
struct evconnlistener;
struct auth_req;

struct ftp_session {
	struct conn *c;
	enum ftp_state state;
	const struct ftpd_conf *cf;
	const struct fsroot *root; /* ftp_root of the conn's generation, or &site_root */
	struct fsroot site_root;   /* a site login's docroot ([site NAME] ftp_users); fd -1: none */
	const char *site;          /* that site's name (the generation's string), or NULL */
	SSL_CTX *tls_ctx;          /* NULL: no TLS configured */

	/* login (login.c) */
	char user[TRIAD_AUTH_FIELD_MAX + 1];
	bool anonymous; /* logged in as anonymous/ftp: read-only */
	unsigned failures;
	struct auth_req *auth;
	struct event *login_timer; /* login_timeout: pending until READY */

	/* per-session settings */
	struct ftp_vpath cwd;
	enum ftp_type type;
	uint64_t rest; /* REST offset for the next RETR/STOR */
	bool have_rnfr;
	struct ftp_vpath rnfr;
	unsigned facts;     /* OPTS MLST */
	bool pbsz, prot_p;  /* RFC 4217 §8, §9 */
	bool epsv_all;      /* RFC 2428 §4 */
	bool shutting_down; /* SIGTERM: close once the transfer ends */
	bool output_wait;   /* reading paused until the replies drain */
	bool quit_pending;  /* QUIT during a transfer: 221 once it is answered */

	/* data connection (dataconn.c, xfer.c) */
	enum ftp_data_mode dmode;
	struct evconnlistener *pasv;
	struct sockaddr_storage port_addr;
	socklen_t port_len;
	struct conn *data;
	bool data_tls_done, data_tls_ok;
	int connect_fd;
	struct event *connect_ev;   /* PORT connect in progress */
	struct event *accept_timer; /* waiting for the PASV connection */
	struct ftp_transfer *xfer;
	struct ftp_commit *commit; /* upload being made durable on the workq */

	/* the command being run, or held while a transfer runs; while one is held
	 * reading goes on for an ABOR, and the next other line waits in NEXT */
	bool held;
	struct ftp_command cmd;
	bool have_next;
	enum ftp_parse_status next_status; /* of NEXT: a bad line is answered in turn too */
	struct ftp_command next;
	char line[FTP_COMMAND_LINE_MAX];
};

void ftp_set_state(struct ftp_session *s, enum ftp_state st);

/* One reply line; the text is sanitised (reply.c). */
void ftp_reply(struct ftp_session *s, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A reply whose text holds '\n'-separated lines (multi-line when several). */
void ftp_reply_lines(struct ftp_session *s, int code, const char *text, size_t len);
/* The errno reply for a failed file operation (ERR positive or negative). */
void ftp_reply_err(struct ftp_session *s, int err);
/* Replies CODE TEXT and closes the control connection (421, 221). */
void ftp_close(struct ftp_session *s, int code, const char *text);
/* A transfer ended or a login was answered: run a held command, read on. */
void ftp_resume(struct ftp_session *s);
/* Runs the command held behind a transfer now (ABOR answers it before its
 * own 226). */
void ftp_run_held(struct ftp_session *s);
/* Whether a transfer (or the workq part of an upload) is under way. */
bool ftp_in_transfer(const struct ftp_session *s);

/*
 * Resolves a command argument against the cwd. Fails with -ENOENT when a
 * component is one of fsroot's temporary upload names (never shown, never a
 * target). REL and RELLEN receive the path for fsroot.
 */
int ftp_resolve(struct ftp_session *s, const char *arg, size_t len, struct ftp_vpath *vp,
                const char **rel, size_t *rellen);

/* ftp_resolve for a name to be created (MKD, STOR, APPE, RNTO): a final
 * component that is a temporary upload name fails with -EINVAL (553 File
 * name not allowed) rather than -ENOENT. */
int ftp_resolve_target(struct ftp_session *s, const char *arg, size_t len, struct ftp_vpath *vp,
                       const char **rel, size_t *rellen);

/* commands.c: runs CMD after the policy gate. */
void ftp_execute(struct ftp_session *s, struct ftp_command *cmd);

/* login.c */
void ftp_cmd_user(struct ftp_session *s, struct ftp_command *cmd);
void ftp_cmd_pass(struct ftp_session *s, struct ftp_command *cmd);
/* Forgets the login (REIN) and cancels a pending PAM request. */
void ftp_login_reset(struct ftp_session *s);
/* Back to ftp_root after a site login (REIN, the end of the session). */
void ftp_site_leave(struct ftp_session *s);

/* the transfer files (xfer.h) */
void ftp_cmd_pasv(struct ftp_session *s, struct ftp_command *cmd);
void ftp_cmd_epsv(struct ftp_session *s, struct ftp_command *cmd);
void ftp_cmd_port(struct ftp_session *s, struct ftp_command *cmd);
void ftp_cmd_eprt(struct ftp_session *s, struct ftp_command *cmd);
void ftp_cmd_retr(struct ftp_session *s, struct ftp_command *cmd);
void ftp_cmd_stor(struct ftp_session *s, struct ftp_command *cmd); /* STOR, APPE, STOU */
void ftp_cmd_list(struct ftp_session *s, struct ftp_command *cmd); /* LIST, NLST, MLSD */
void ftp_cmd_abor(struct ftp_session *s, struct ftp_command *cmd);
/* A transfer command still waiting for its data connection (no 150 yet) is
 * answered 425 and dropped; returns whether there was one. */
bool ftp_data_drop_unstarted(struct ftp_session *s);
/* Status of the transfer in flight for STAT ("" when none). */
void ftp_data_status(struct ftp_session *s, char *buf, size_t len);
/* Drops the data setup and any transfer without replying (REIN, QUIT, free). */
void ftp_data_reset(struct ftp_session *s);
/* The session is going away: detach what outlives it (the workq commit). */
void ftp_data_free(struct ftp_session *s);
/* Closes FD on the workq: the last reference to an unlinked file frees its
 * blocks, which for a large file on ext4 can block for long (DELE, aborted
 * uploads). Inline when the pool refuses. */
void ftp_close_later(struct ftp_session *s, int fd);
/* The list options of this session for entries in a directory with DIRST. */
void ftp_list_opts_for(struct ftp_session *s, const struct stat *dirst, struct ftp_list_opts *o);

/* ftpd's metric families (server_ops.metrics), METRIC_COMMON + these (login.c). */
enum { FTP_METRIC_LOGINS, FTP_METRIC_TRANSFERS, FTP_METRICS };
enum { FTP_METRIC_LOGIN_OK, FTP_METRIC_LOGIN_FAILED };
enum { FTP_METRIC_UPLOAD, FTP_METRIC_DOWNLOAD };
extern const struct metric_family ftp_metrics[FTP_METRICS];

#endif
