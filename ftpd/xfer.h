/*
 * xfer: what the files of FTP data transfers share (RFC 959 §3.2-3.3,
 * RFC 2428, RFC 4217). Internal to ftpd: session.h declares the command
 * handlers the command table calls.
 *
 * One job per file:
 *   dataconn.c  getting a data connection: PASV/EPSV listener, PORT/EPRT
 *               target and connect, the accept deadline, the peer checks
 *   xfer.c      the transfer engine: a transfer's life (new, go, ready, end),
 *               the data conn's callbacks, streaming downloads and listings
 *   retr.c      RETR
 *   upload.c    STOR/APPE/STOU: the hidden temp file and the bytes into it
 *   commit.c    an upload's blocking file work on the workq (prefix copy,
 *               writeback, fsync + rename)
 *   stou.c      STOU's unique names
 *   rate.c      data_min_rate
 *   listing.c   LIST/NLST/MLSD: what is listed, line by line
 *   glob.c      the wildcard in LIST/NLST's last component
 *   abor.c      ABOR
 *   ascii.c     TYPE A conversion (pure, ascii.h)
 *
 * A transfer (struct ftp_transfer) runs on the loop: RETR in binary mode on
 * a plain connection is one sendfile segment; TLS or TYPE A is read in
 * chunks as the output drains. STOR, APPE, STOU and REST+STOR write a hidden
 * fsroot temp file in the target's directory (binary: straight from the
 * input's chains), which is renamed over the target once the client closed
 * the data connection cleanly (commit.c). Anything else (ABOR, reset,
 * timeout, TLS without close_notify) unlinks it, so the target only ever
 * holds a complete file. The reply pair 150 ... 226/4xx frames every
 * transfer; one log line records it.
 */
#ifndef FTPD_XFER_H
#define FTPD_XFER_H

#include <dirent.h>
#include <sys/socket.h>
#include <time.h>

#include "ascii.h"
#include "list.h"
#include "session.h"
#include "triad/fsroot.h"
#include "triad/workq.h"

enum ftp_xfer_kind { FTP_XFER_RETR, FTP_XFER_STOR, FTP_XFER_LIST };

struct ftp_transfer {
	enum ftp_xfer_kind kind;
	enum ftp_verb verb;
	struct ftp_vpath path;
	int fd;                 /* RETR: the file, until handed to sendfile */
	struct fsroot_temp tmp; /* STOR: the hidden file */
	bool have_tmp;
	uint64_t offset, end; /* RETR: the bytes [offset, end) */
	uint64_t bytes;       /* data bytes moved (RETR: queued) */
	uint64_t limit;       /* STOR: max_upload_size, 0: none */
	uint64_t kept;        /* STOR: old bytes the file starts with (REST, APPE) */
	uint64_t flushed;     /* STOR, sync_uploads: bytes whose writeback was started */
	bool ascii;
	struct ftp_ascii conv;
	bool started; /* 150 sent */
	bool streaming;
	bool flushing; /* everything queued: waiting for the output to drain */
	bool committing;
	bool fresh;        /* STOR: the target did not exist when the upload began */
	unsigned stou_seq; /* STOU: the name is stem, stem.1, stem.2 ... */
	char stou_stem[TRIAD_NAME_MAX + 1]; /* STOU: "" for the other uploads */
	bool tls;                           /* the data connection is TLS (PROT P) */
	struct timespec t0;
	struct event *rate_ev; /* data_min_rate: checks progress every data_timeout */
	uint64_t rate_mark;    /* bytes moved at the last check */
	/* listings */
	DIR *dir;
	char dirrel[TRIAD_PATH_MAX];
	size_t dirlen;
	bool single, single_done;
	struct stat st;
	char name[TRIAD_NAME_MAX + 1];
	char pattern[TRIAD_NAME_MAX + 1];  /* "": every entry; else an fnmatch pattern */
	char prefix[FTP_COMMAND_LINE_MAX]; /* NLST: put before each name (as given) */
	size_t prefixlen;
	struct ftp_list_opts lo;
};

/* Blocking file work of an upload, done on the workq: copying the old content
 * into the temp file before REST+STOR or APPE (prefix), and the fsync + rename
 * after it (commit). The session waits for it (in_transfer). */
struct ftp_commit {
	struct workq_job job;  /* first: the worker's list (workq.h) */
	struct ftp_session *s; /* NULL once the session is gone */
	bool prefix;
	struct fsroot_temp tmp; /* commit: the file to rename into place */
	bool durable;           /* commit: fsync file and directory (sync_uploads) */
	bool unique;            /* commit (STOU): never replace, try stem.N on a clash */
	unsigned seq;           /* STOU: N of the name tried; changed when it clashed */
	char stem[TRIAD_NAME_MAX + 1];
	int src, dst; /* prefix: copy src[0, len) to dst (a dup of the temp fd) */
	uint64_t len;
	int rc;
};

/* xfer.c: the transfer engine. */
/* A transfer of KIND for CMD, or NULL when there is no data setup (425) or
 * no memory (451), already answered. */
struct ftp_transfer *ftp_xfer_new(struct ftp_session *s, enum ftp_xfer_kind kind,
                                  struct ftp_command *cmd);
/* Releases X (its file, temp file, directory, timer); not s->xfer's link. */
void ftp_xfer_free(struct ftp_session *s, struct ftp_transfer *x);
/* Starts X: waits for, or makes, the data connection. */
void ftp_xfer_go(struct ftp_session *s, struct ftp_transfer *x);
/* Ends the transfer: logs it, releases it, closes the data connection and
 * sends the final reply. The caller resumes the session. */
void ftp_xfer_end(struct ftp_session *s, bool ok, int code, const char *text);
/* ftp_xfer_end with a failure, then resumes the session. */
void ftp_xfer_fail(struct ftp_session *s, int code, const char *text);
/* ftp_xfer_fail with the reply for ERR (negative errno). */
void ftp_xfer_fail_errno(struct ftp_session *s, int err);
/* A data connection arrived (PASV) or connected (PORT) on FD. */
void ftp_xfer_attach(struct ftp_session *s, int fd, const struct sockaddr *peer, socklen_t len);

/* dataconn.c: the data connection's setup. */
/* Closes everything of the data setup but the transfer itself. */
void ftp_dataconn_close(struct ftp_session *s, bool graceful);
/* The data connection is there: its accept deadline no longer runs. */
void ftp_dataconn_accept_stop(struct ftp_session *s);
/* A transfer waits for its data connection: connects to the PORT target,
 * or arms the PASV accept deadline. Fails the transfer when it cannot. */
void ftp_dataconn_open(struct ftp_session *s);

/* upload.c */
/* Moves what the data connection delivered into the temp file. */
void ftp_upload_read(struct ftp_session *s, struct conn *d);
/* The client closed the data connection cleanly: commit the upload. */
void ftp_upload_complete(struct ftp_session *s);

/* commit.c: the workq jobs of an upload. */
/* Renames s->xfer's complete temp file into place, on the workq when it may
 * block; answers 226 or the error and resumes the session. */
void ftp_commit_upload(struct ftp_session *s, struct ftp_transfer *x);
/* Copies the first LEN bytes of SRC (closed after) into X's temp file on the
 * workq, then starts X (REST+STOR, APPE). */
void ftp_commit_prefix(struct ftp_session *s, struct ftp_transfer *x, int src, uint64_t len);
/* sync_uploads: starts writing out what X wrote since the last time, every
 * FTP_UPLOAD_WRITEBACK bytes. */
void ftp_commit_writeback(struct ftp_session *s, struct ftp_transfer *x);

/* stou.c */
/* STOU's candidate names: STEM, then STEM.SEQ. Returns the length or
 * -ENAMETOOLONG. */
int ftp_stou_name(char *out, size_t size, const char *stem, unsigned seq);
/* Picks the first free name for STOU CMD (see stou.c). */
int ftp_stou_pick(struct ftp_session *s, struct ftp_command *cmd, struct ftp_vpath *vp,
                  char base[TRIAD_NAME_MAX + 1], unsigned *seq);

/* rate.c */
/* data_min_rate: starts checking X's progress every data_timeout. */
void ftp_rate_start(struct ftp_session *s, struct ftp_transfer *x);

/* listing.c */
/* The next listing line of X into OUT: its length, 0 at the end. */
ssize_t ftp_listing_next(struct ftp_session *s, struct ftp_transfer *x, char *out, size_t size);

/* glob.c */
/* See glob.c. */
int ftp_glob_parent(struct ftp_session *s, struct ftp_vpath *vp, char *pattern, const char **rel,
                    size_t *rl, struct stat *st);
/* Whether NAME is listed under PATTERN ("": every name). */
bool ftp_glob_match(const char *pattern, const char *name);

#endif
