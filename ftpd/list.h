/*
 * list: directory listing lines, formatted from (name, struct stat, now,
 * options), with no I/O. The session reads the directory through fsroot and
 * calls these once per entry.
 *
 * LIST is `ls -l` form as FileZilla, WinSCP, lftp, curl and Python parsers
 * read it:   "-rw-r--r--    1 ftp      ftp          1234 Mar  5 14:07 name"
 * Owner and group are always "ftp ftp": uids mean nothing to a client and
 * would reveal local accounts. Times are UTC, like MLSD. A file modified in
 * the six months before NOW shows "Mon DD HH:MM", an older one or one in the
 * future "Mon DD  YYYY" (the GNU ls rule). Month names are English whatever
 * the locale.
 *
 * Symbolic links: the session should stat entries with fsroot_stat, which
 * follows links only beneath the root, and pass the target's stat: such a
 * link is listed as what it leads to (like `ls -lL`), which is how RETR and
 * CWD treat it. A link that leads nowhere beneath the root (dangling, loop,
 * escaping) should be passed with its lstat: it is listed as 'l' with the
 * target "?", because its real target is never read (it may name a path
 * outside the root) and curl's parser refuses an 'l' line without " -> ".
 * It stays visible so that it can be deleted.
 *
 * Entries whose name holds CR or LF are skipped (return 0): they would end
 * the line early in every listing format (RFC 959 §3.3, RFC 3659 §7.2).
 * Every line ends with CRLF. Functions return the length written (a NUL
 * follows it), 0 for a skipped entry, or -ENOBUFS when OUT is too small
 * (FTP_LIST_LINE_MAX always suffices).
 */
#ifndef FTPD_LIST_H
#define FTPD_LIST_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

#include "parse.h"

struct ftp_list_opts {
	time_t now;        /* for the recent/old decision of LIST */
	uid_t uid;         /* the credentials the daemon runs with: decide which of */
	gid_t gid;         /* the owner/group/other bits apply (uid 0 may do all) */
	bool read_only;    /* anonymous session: no write permission shown */
	bool dir_writable; /* the directory holding the entry accepts deletes and
	                      renames (see ftp_list_access): perm d and f */
	unsigned facts;    /* FTP_FACT_ bits for MLSD/MLST (OPTS MLST) */
};

/* rwx access bits (4 2 1) the daemon has to ST under UID/GID. */
unsigned ftp_list_access(const struct stat *st, uid_t uid, gid_t gid);

ssize_t ftp_list_line(char *out, size_t size, const char *name, size_t namelen,
                      const struct stat *st, const struct ftp_list_opts *o);

/* NLST: the name alone. */
ssize_t ftp_nlst_line(char *out, size_t size, const char *name, size_t namelen);

/*
 * MLSD entry (RFC 3659 §7.2): "fact=value;...; name" with the facts o->facts
 * selects: type (file, dir, cdir, pdir; OS.unix=symlink for an unresolved link,
 * OS.unix=fifo, socket, chr or blk for the rest), size (files only),
 * modify (UTC, left out when the year is outside 0000-9999), perm
 * (§7.5.5, from the mode bits, o->dir_writable and o->read_only), unique
 * (device x inode, hex) and UNIX.mode (octal).
 */
enum ftp_entry_kind {
	FTP_ENTRY_PLAIN,
	FTP_ENTRY_CDIR, /* the listed directory itself: type=cdir */
	FTP_ENTRY_PDIR, /* its parent: type=pdir */
};
ssize_t ftp_mlsd_line(char *out, size_t size, const char *name, size_t namelen,
                      const struct stat *st, enum ftp_entry_kind kind,
                      const struct ftp_list_opts *o);

/* The MLST entry line (RFC 3659 §7.2): like MLSD but with a leading space,
 * to sit between "250-" and "250 " lines; PATH as the reply should name it. */
ssize_t ftp_mlst_line(char *out, size_t size, const char *path, size_t pathlen,
                      const struct stat *st, const struct ftp_list_opts *o);

/*
 * The FEAT line for MLST (RFC 3659 §7.8): "MLST type*;size*;...;" with '*'
 * on the facts FACTS selects; and the OPTS MLST reply text (§7.9):
 * "MLST OPTS type;size;" naming the selected facts. NUL-terminated; return
 * the length or -ENOBUFS.
 */
ssize_t ftp_mlst_feat(char *out, size_t size, unsigned facts);
ssize_t ftp_mlst_opts_reply(char *out, size_t size, unsigned facts);

/*
 * STAT with a path (RFC 959 §4.1.3): a multi-line reply, "213-Status of
 * <path>:" (212 for a directory), one LIST line per entry, "213 End of
 * status". ftp_stat_begin/ftp_stat_end write the first and last lines;
 * ftp_stat_line a LIST line (indented by a space should it begin with a
 * digit, RFC 959 §4.2). CODE is 212 or 213.
 */
/* FTP_STAT_ENTRIES_MAX (limits.h) bounds a STAT of a directory. */

ssize_t ftp_stat_begin(char *out, size_t size, int code, const char *path, size_t pathlen);
ssize_t ftp_stat_line(char *out, size_t size, const char *name, size_t namelen,
                      const struct stat *st, const struct ftp_list_opts *o);
ssize_t ftp_stat_end(char *out, size_t size, int code);

/* The MDTM reply text (RFC 3659 §3): "YYYYMMDDHHMMSS" of MTIME, or -ERANGE. */
ssize_t ftp_mdtm_text(char *out, size_t size, time_t mtime);

#endif
