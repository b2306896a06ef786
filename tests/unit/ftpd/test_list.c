/*
 * ftpd list unit tests: LIST lines for recent, old and future files, every
 * file type and special mode bit, huge sizes; NLST; MLSD/MLST facts and
 * perm for writable and read-only sessions, owners and non-owners; names
 * with CR/LF skipped; FEAT/OPTS MLST texts; STAT framing; MDTM; and that
 * every output is refused rather than cut when the buffer is short. Rows
 * carry __LINE__.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "../../../ftpd/list.h"

#define S(lit) lit, sizeof(lit) - 1

/* 2024-02-29 12:34:56 UTC */
#define NOW 1709210096LL
#define HALF_YEAR 15778476LL
#define GIB 1073741824LL

#define ME 1000
#define OTHER 2000

enum kind { K_LIST, K_NLST, K_MLSD, K_CDIR, K_PDIR, K_MLST, K_STAT };
enum { O_RO = 1, O_DIR_RO = 2 }; /* session read-only; the containing directory not writable */

struct row {
	int line;
	enum kind kind;
	unsigned mode;
	unsigned nlink;
	long long size;
	long long mtime;
	unsigned uid, gid;
	unsigned opts;
	unsigned facts; /* 0 here means FTP_FACT_ALL; use NOFACTS for none */
	const char *name;
	size_t namelen;
	const char *want; /* "" : skipped (returns 0) */
};

#define NOFACTS 0x100u

/* clang-format off */
static const struct row rows[] = {
	/* LIST: recent files show the time, older and future ones the year */
	{__LINE__, K_LIST, 0100644, 1, 1234, NOW - 3600, ME, ME, 0, 0, S("index.html"),
	 "-rw-r--r--    1 ftp      ftp          1234 Feb 29 11:34 index.html\r\n"},
	{__LINE__, K_LIST, 0100644, 1, 0, NOW, ME, ME, 0, 0, S("now"),
	 "-rw-r--r--    1 ftp      ftp             0 Feb 29 12:34 now\r\n"},
	{__LINE__, K_LIST, 0100644, 1, 0, NOW - HALF_YEAR + 1, ME, ME, 0, 0, S("edge"),
	 "-rw-r--r--    1 ftp      ftp             0 Aug 30 21:40 edge\r\n"},
	{__LINE__, K_LIST, 0100644, 1, 0, NOW - HALF_YEAR, ME, ME, 0, 0, S("edge"),
	 "-rw-r--r--    1 ftp      ftp             0 Aug 30  2023 edge\r\n"},
	{__LINE__, K_LIST, 0100644, 1, 7, 1578182400, ME, ME, 0, 0, S("old.txt"),
	 "-rw-r--r--    1 ftp      ftp             7 Jan  5  2020 old.txt\r\n"},
	{__LINE__, K_LIST, 0100644, 1, 7, NOW + 1, ME, ME, 0, 0, S("future"),
	 "-rw-r--r--    1 ftp      ftp             7 Feb 29  2024 future\r\n"},
	{__LINE__, K_LIST, 0100644, 1, 7, NOW + 86400 * 400LL, ME, ME, 0, 0, S("far"),
	 "-rw-r--r--    1 ftp      ftp             7 Apr  4  2025 far\r\n"},
	{__LINE__, K_LIST, 0100644, 1, 7, -31536000, ME, ME, 0, 0, S("1969"),
	 "-rw-r--r--    1 ftp      ftp             7 Jan  1  1969 1969\r\n"},
	{__LINE__, K_LIST, 0100644, 1, 7, 253402300800LL, ME, ME, 0, 0, S("y10k"),
	 "-rw-r--r--    1 ftp      ftp             7 Jan  1 10000 y10k\r\n"},
	{__LINE__, K_LIST, 0100644, 1, 7, 1703980800, ME, ME, 0, 0, S("dec31"),
	 "-rw-r--r--    1 ftp      ftp             7 Dec 31 00:00 dec31\r\n"},
	/* sizes beyond 4 GiB and beyond the column */
	{__LINE__, K_LIST, 0100644, 1, 5 * GIB, NOW - 60, ME, ME, 0, 0, S("big.iso"),
	 "-rw-r--r--    1 ftp      ftp      5368709120 Feb 29 12:33 big.iso\r\n"},
	{__LINE__, K_LIST, 0100644, 1, 9223372036854775807LL, NOW - 60, ME, ME, 0, 0, S("max"),
	 "-rw-r--r--    1 ftp      ftp      9223372036854775807 Feb 29 12:33 max\r\n"},
	{__LINE__, K_LIST, 0100644, 12345, 1, NOW - 60, ME, ME, 0, 0, S("links"),
	 "-rw-r--r-- 12345 ftp      ftp             1 Feb 29 12:33 links\r\n"},
	/* types and mode bits */
	{__LINE__, K_LIST, 040755, 2, 4096, NOW - 60, ME, ME, 0, 0, S("dir"),
	 "drwxr-xr-x    2 ftp      ftp          4096 Feb 29 12:33 dir\r\n"},
	{__LINE__, K_LIST, 0120777, 1, 11, NOW - 60, ME, ME, 0, 0, S("link"),
	 "lrwxrwxrwx    1 ftp      ftp            11 Feb 29 12:33 link -> ?\r\n"},
	{__LINE__, K_LIST, 010644, 1, 0, NOW - 60, ME, ME, 0, 0, S("fifo"),
	 "prw-r--r--    1 ftp      ftp             0 Feb 29 12:33 fifo\r\n"},
	{__LINE__, K_LIST, 0140755, 1, 0, NOW - 60, ME, ME, 0, 0, S("sock"),
	 "srwxr-xr-x    1 ftp      ftp             0 Feb 29 12:33 sock\r\n"},
	{__LINE__, K_LIST, 020666, 1, 0, NOW - 60, ME, ME, 0, 0, S("chr"),
	 "crw-rw-rw-    1 ftp      ftp             0 Feb 29 12:33 chr\r\n"},
	{__LINE__, K_LIST, 060660, 1, 0, NOW - 60, ME, ME, 0, 0, S("blk"),
	 "brw-rw----    1 ftp      ftp             0 Feb 29 12:33 blk\r\n"},
	{__LINE__, K_LIST, 0104755, 1, 0, NOW - 60, ME, ME, 0, 0, S("suid"),
	 "-rwsr-xr-x    1 ftp      ftp             0 Feb 29 12:33 suid\r\n"},
	{__LINE__, K_LIST, 0104644, 1, 0, NOW - 60, ME, ME, 0, 0, S("suid"),
	 "-rwSr--r--    1 ftp      ftp             0 Feb 29 12:33 suid\r\n"},
	{__LINE__, K_LIST, 0102755, 1, 0, NOW - 60, ME, ME, 0, 0, S("sgid"),
	 "-rwxr-sr-x    1 ftp      ftp             0 Feb 29 12:33 sgid\r\n"},
	{__LINE__, K_LIST, 0102745, 1, 0, NOW - 60, ME, ME, 0, 0, S("sgid"),
	 "-rwxr-Sr-x    1 ftp      ftp             0 Feb 29 12:33 sgid\r\n"},
	{__LINE__, K_LIST, 041777, 2, 0, NOW - 60, ME, ME, 0, 0, S("tmp"),
	 "drwxrwxrwt    2 ftp      ftp             0 Feb 29 12:33 tmp\r\n"},
	{__LINE__, K_LIST, 041776, 2, 0, NOW - 60, ME, ME, 0, 0, S("tmp"),
	 "drwxrwxrwT    2 ftp      ftp             0 Feb 29 12:33 tmp\r\n"},
	{__LINE__, K_LIST, 0100000, 1, 0, NOW - 60, ME, ME, 0, 0, S("none"),
	 "----------    1 ftp      ftp             0 Feb 29 12:33 none\r\n"},
	/* names: spaces, UTF-8, dots are kept; CR or LF skip the entry */
	{__LINE__, K_LIST, 0100644, 1, 1, NOW - 60, ME, ME, 0, 0, S("a b  c "),
	 "-rw-r--r--    1 ftp      ftp             1 Feb 29 12:33 a b  c \r\n"},
	{__LINE__, K_LIST, 0100644, 1, 1, NOW - 60, ME, ME, 0, 0, S("caf\xc3\xa9 \xe2\x82\xac"),
	 "-rw-r--r--    1 ftp      ftp             1 Feb 29 12:33 caf\xc3\xa9 \xe2\x82\xac\r\n"},
	{__LINE__, K_LIST, 0100644, 1, 1, NOW - 60, ME, ME, 0, 0, S(".htaccess"),
	 "-rw-r--r--    1 ftp      ftp             1 Feb 29 12:33 .htaccess\r\n"},
	{__LINE__, K_LIST, 0100644, 1, 1, NOW - 60, ME, ME, 0, 0, S("a\rb"), ""},
	{__LINE__, K_LIST, 0100644, 1, 1, NOW - 60, ME, ME, 0, 0, S("a\nb"), ""},
	{__LINE__, K_LIST, 0100644, 1, 1, NOW - 60, ME, ME, 0, 0, S("x\r\n"), ""},
	{__LINE__, K_LIST, 0100644, 1, 1, NOW - 60, ME, ME, 0, 0, S(""), ""},

	/* NLST */
	{__LINE__, K_NLST, 0100644, 1, 1, NOW, ME, ME, 0, 0, S("a b.txt"), "a b.txt\r\n"},
	{__LINE__, K_NLST, 040755, 1, 1, NOW, ME, ME, 0, 0, S("dir"), "dir\r\n"},
	{__LINE__, K_NLST, 0100644, 1, 1, NOW, ME, ME, 0, 0, S("a\nb"), ""},
	{__LINE__, K_NLST, 0100644, 1, 1, NOW, ME, ME, 0, 0, S("a\rb"), ""},

	/* MLSD: a file of ours in a writable directory */
	{__LINE__, K_MLSD, 0100644, 1, 1234, NOW - 3600, ME, ME, 0, 0, S("index.html"),
	 "type=file;size=1234;modify=20240229113456;perm=adfrw;unique=803x1f;UNIX.mode=0644;"
	 " index.html\r\n"},
	{__LINE__, K_MLSD, 0100644, 1, 5 * GIB, NOW, ME, ME, 0, 0, S("big.iso"),
	 "type=file;size=5368709120;modify=20240229123456;perm=adfrw;unique=803x1f;"
	 "UNIX.mode=0644; big.iso\r\n"},
	/* ... in a read-only session: only r */
	{__LINE__, K_MLSD, 0100644, 1, 1, NOW, ME, ME, O_RO, 0, S("f"),
	 "type=file;size=1;modify=20240229123456;perm=r;unique=803x1f;UNIX.mode=0644; f\r\n"},
	/* ... in a directory we cannot write: no d f */
	{__LINE__, K_MLSD, 0100644, 1, 1, NOW, ME, ME, O_DIR_RO, 0, S("f"),
	 "type=file;size=1;modify=20240229123456;perm=arw;unique=803x1f;UNIX.mode=0644; f\r\n"},
	/* a file we may not write */
	{__LINE__, K_MLSD, 0100444, 1, 1, NOW, ME, ME, 0, 0, S("f"),
	 "type=file;size=1;modify=20240229123456;perm=dfr;unique=803x1f;UNIX.mode=0444; f\r\n"},
	/* someone else's: the other bits count */
	{__LINE__, K_MLSD, 0100640, 1, 1, NOW, OTHER, OTHER, 0, 0, S("f"),
	 "type=file;size=1;modify=20240229123456;perm=df;unique=803x1f;UNIX.mode=0640; f\r\n"},
	{__LINE__, K_MLSD, 0100664, 1, 1, NOW, OTHER, ME, 0, 0, S("f"),
	 "type=file;size=1;modify=20240229123456;perm=adfrw;unique=803x1f;UNIX.mode=0664; f\r\n"},
	{__LINE__, K_MLSD, 0100606, 1, 1, NOW, OTHER, ME, 0, 0, S("f"),
	 "type=file;size=1;modify=20240229123456;perm=df;unique=803x1f;UNIX.mode=0606; f\r\n"},
	/* directories */
	{__LINE__, K_MLSD, 040755, 2, 4096, NOW, ME, ME, 0, 0, S("sub"),
	 "type=dir;modify=20240229123456;perm=cdeflmp;unique=803x1f;UNIX.mode=0755; sub\r\n"},
	{__LINE__, K_MLSD, 040755, 2, 4096, NOW, ME, ME, O_RO, 0, S("sub"),
	 "type=dir;modify=20240229123456;perm=el;unique=803x1f;UNIX.mode=0755; sub\r\n"},
	{__LINE__, K_MLSD, 040555, 2, 4096, NOW, ME, ME, 0, 0, S("sub"),
	 "type=dir;modify=20240229123456;perm=defl;unique=803x1f;UNIX.mode=0555; sub\r\n"},
	{__LINE__, K_MLSD, 040711, 2, 4096, NOW, OTHER, OTHER, O_DIR_RO, 0, S("sub"),
	 "type=dir;modify=20240229123456;perm=e;unique=803x1f;UNIX.mode=0711; sub\r\n"},
	{__LINE__, K_MLSD, 040700, 2, 4096, NOW, OTHER, OTHER, 0, 0, S("sub"),
	 "type=dir;modify=20240229123456;perm=df;unique=803x1f;UNIX.mode=0700; sub\r\n"},
	{__LINE__, K_CDIR, 040755, 2, 4096, NOW, ME, ME, 0, 0, S("."),
	 "type=cdir;modify=20240229123456;perm=celmp;unique=803x1f;UNIX.mode=0755; .\r\n"},
	{__LINE__, K_PDIR, 040755, 2, 4096, NOW, ME, ME, 0, 0, S(".."),
	 "type=pdir;modify=20240229123456;perm=celmp;unique=803x1f;UNIX.mode=0755; ..\r\n"},
	{__LINE__, K_CDIR, 040755, 2, 4096, NOW, ME, ME, O_RO, 0, S("."),
	 "type=cdir;modify=20240229123456;perm=el;unique=803x1f;UNIX.mode=0755; .\r\n"},
	/* links that lead nowhere beneath the root, and special files */
	{__LINE__, K_MLSD, 0120777, 1, 11, NOW, ME, ME, 0, 0, S("l"),
	 "type=OS.unix=symlink;modify=20240229123456;perm=df;unique=803x1f;UNIX.mode=0777; l\r\n"},
	{__LINE__, K_MLSD, 0120777, 1, 11, NOW, ME, ME, O_RO, 0, S("l"),
	 "type=OS.unix=symlink;modify=20240229123456;perm=;unique=803x1f;UNIX.mode=0777; l\r\n"},
	{__LINE__, K_MLSD, 010644, 1, 0, NOW, ME, ME, 0, 0, S("p"),
	 "type=OS.unix=fifo;modify=20240229123456;perm=df;unique=803x1f;UNIX.mode=0644; p\r\n"},
	{__LINE__, K_MLSD, 0140644, 1, 0, NOW, ME, ME, 0, FTP_FACT_TYPE, S("s"),
	 "type=OS.unix=socket; s\r\n"},
	{__LINE__, K_MLSD, 020644, 1, 0, NOW, ME, ME, 0, FTP_FACT_TYPE, S("c"),
	 "type=OS.unix=chr; c\r\n"},
	{__LINE__, K_MLSD, 060644, 1, 0, NOW, ME, ME, 0, FTP_FACT_TYPE, S("b"),
	 "type=OS.unix=blk; b\r\n"},
	/* root may do anything; exec only where some x bit is set */
	{__LINE__, K_MLSD, 0100000, 1, 1, NOW, 0, 0, 0, FTP_FACT_PERM, S("f"), "perm=adfrw; f\r\n"},
	{__LINE__, K_MLSD, 040000, 2, 1, NOW, 0, 0, 0, FTP_FACT_PERM, S("d"), "perm=cdeflmp; d\r\n"},
	/* fact selection (OPTS MLST) */
	{__LINE__, K_MLSD, 0100644, 1, 9, NOW, ME, ME, 0, FTP_FACT_TYPE | FTP_FACT_SIZE, S("f"),
	 "type=file;size=9; f\r\n"},
	{__LINE__, K_MLSD, 0100644, 1, 9, NOW, ME, ME, 0, FTP_FACT_MODIFY | FTP_FACT_UNIQUE, S("f"),
	 "modify=20240229123456;unique=803x1f; f\r\n"},
	{__LINE__, K_MLSD, 0100644, 1, 9, NOW, ME, ME, 0, NOFACTS, S("f"), " f\r\n"},
	/* modify is left out rather than malformed */
	{__LINE__, K_MLSD, 0100644, 1, 9, 253402300800LL, ME, ME, 0, FTP_FACT_SIZE | FTP_FACT_MODIFY,
	 S("f"), "size=9; f\r\n"},
	{__LINE__, K_MLSD, 0100644, 1, 9, -1, ME, ME, 0, FTP_FACT_MODIFY, S("f"),
	 "modify=19691231235959; f\r\n"},
	/* names: kept as they are, or the entry skipped */
	{__LINE__, K_MLSD, 0100644, 1, 9, NOW, ME, ME, 0, FTP_FACT_TYPE, S(" lead; x=y "),
	 "type=file;  lead; x=y \r\n"},
	{__LINE__, K_MLSD, 0100644, 1, 9, NOW, ME, ME, 0, FTP_FACT_TYPE,
	 S("\xe6\x97\xa5\xe6\x9c\xac"), "type=file; \xe6\x97\xa5\xe6\x9c\xac\r\n"},
	{__LINE__, K_MLSD, 0100644, 1, 9, NOW, ME, ME, 0, 0, S("a\nb"), ""},
	{__LINE__, K_MLSD, 0100644, 1, 9, NOW, ME, ME, 0, 0, S("a\rb"), ""},

	/* MLST: a leading space, and dir (not cdir) for a directory */
	{__LINE__, K_MLST, 0100644, 1, 1234, NOW - 3600, ME, ME, 0, 0, S("/www/index.html"),
	 " type=file;size=1234;modify=20240229113456;perm=adfrw;unique=803x1f;UNIX.mode=0644;"
	 " /www/index.html\r\n"},
	{__LINE__, K_MLST, 040755, 2, 4096, NOW, ME, ME, O_RO, FTP_FACT_TYPE | FTP_FACT_PERM,
	 S("/"), " type=dir;perm=el; /\r\n"},
	{__LINE__, K_MLST, 0100644, 1, 1, NOW, ME, ME, 0, 0, S("/a\r\nb"), ""},

	/* STAT lines are LIST lines */
	{__LINE__, K_STAT, 0100644, 1, 1234, NOW - 3600, ME, ME, 0, 0, S("index.html"),
	 "-rw-r--r--    1 ftp      ftp          1234 Feb 29 11:34 index.html\r\n"},
	{__LINE__, K_STAT, 0100644, 1, 1234, NOW - 3600, ME, ME, 0, 0, S("123 go"),
	 "-rw-r--r--    1 ftp      ftp          1234 Feb 29 11:34 123 go\r\n"},
};
/* clang-format on */

static ssize_t run(const struct row *r, char *out, size_t size)
{
	struct stat st;
	memset(&st, 0, sizeof(st));
	st.st_mode = r->mode;
	st.st_nlink = r->nlink;
	st.st_size = r->size;
	st.st_mtime = (time_t)r->mtime;
	st.st_uid = r->uid;
	st.st_gid = r->gid;
	st.st_dev = 0x803;
	st.st_ino = 0x1f;
	struct ftp_list_opts o = {
	    .now = (time_t)NOW,
	    .uid = ME,
	    .gid = ME,
	    .read_only = r->opts & O_RO,
	    .dir_writable = !(r->opts & O_DIR_RO),
	    .facts = r->facts == NOFACTS ? 0
	             : r->facts          ? r->facts
	                                 : FTP_FACT_ALL,
	};
	if (r->uid == 0 && r->gid == 0) /* the root rows: the daemon runs as root */
		o.uid = o.gid = 0;
	switch (r->kind) {
	case K_LIST:
		return ftp_list_line(out, size, r->name, r->namelen, &st, &o);
	case K_NLST:
		return ftp_nlst_line(out, size, r->name, r->namelen);
	case K_MLSD:
		return ftp_mlsd_line(out, size, r->name, r->namelen, &st, FTP_ENTRY_PLAIN, &o);
	case K_CDIR:
		return ftp_mlsd_line(out, size, r->name, r->namelen, &st, FTP_ENTRY_CDIR, &o);
	case K_PDIR:
		return ftp_mlsd_line(out, size, r->name, r->namelen, &st, FTP_ENTRY_PDIR, &o);
	case K_MLST:
		return ftp_mlst_line(out, size, r->name, r->namelen, &st, &o);
	default:
		return ftp_stat_line(out, size, r->name, r->namelen, &st, &o);
	}
}

static void test_rows(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *r = &rows[i];
		char out[512];
		ssize_t n = run(r, out, sizeof(out));
		size_t want = strlen(r->want);
		if (n != (ssize_t)want || (n > 0 && memcmp(out, r->want, want + 1) != 0))
			fail_msg("row at line %d: %zd\n got \"%s\"\nwant \"%s\"", r->line, n,
			         n > 0 ? out : "", r->want);
		if (n <= 0)
			continue;
		/* exactly enough room works; a byte less is refused, not cut */
		char exact[512];
		memset(exact, '#', sizeof(exact));
		if (run(r, exact, want + 1) != n || memcmp(exact, r->want, want + 1) != 0)
			fail_msg("row at line %d: fails with exactly enough room", r->line);
		memset(exact, '#', sizeof(exact));
		if (run(r, exact, want) != -ENOBUFS || exact[want] != '#')
			fail_msg("row at line %d: not refused one byte short", r->line);
		if (run(r, exact, 0) != -ENOBUFS)
			fail_msg("row at line %d: not refused with no room", r->line);
	}
}

/* The longest name and the longest MLST path fit FTP_LIST_LINE_MAX. */
static void test_longest(void **state)
{
	(void)state;
	static char name[TRIAD_PATH_MAX], out[FTP_LIST_LINE_MAX];
	struct stat st;
	memset(&st, 0, sizeof(st));
	st.st_mode = 0120777; /* the longest LIST line: a link with " -> ?" */
	st.st_nlink = (nlink_t)-1;
	st.st_size = INT64_MAX;
	st.st_mtime = (time_t)INT64_MAX;
	st.st_dev = (dev_t)-1;
	st.st_ino = (ino_t)-1;
	struct ftp_list_opts o = {.now = 0, .uid = 0, .gid = 0, .facts = FTP_FACT_ALL};
	memset(name, 'n', sizeof(name));
	assert_true(ftp_list_line(out, sizeof(out), name, TRIAD_NAME_MAX, &st, &o) > 0);
	assert_true(ftp_mlsd_line(out, sizeof(out), name, TRIAD_NAME_MAX, &st, 0, &o) > 0);
	st.st_mode = 040777;
	assert_true(ftp_mlst_line(out, sizeof(out), name, TRIAD_PATH_MAX - 1, &st, &o) > 0);
	assert_true(ftp_list_line(out, sizeof(out), name, TRIAD_PATH_MAX - 1, &st, &o) > 0);
}

static void test_mlst_texts(void **state)
{
	(void)state;
	char out[128];
	assert_int_equal(ftp_mlst_feat(out, sizeof(out), FTP_FACT_ALL),
	                 strlen("MLST type*;size*;modify*;perm*;unique*;UNIX.mode*;"));
	assert_string_equal(out, "MLST type*;size*;modify*;perm*;unique*;UNIX.mode*;");
	ftp_mlst_feat(out, sizeof(out), FTP_FACT_TYPE | FTP_FACT_SIZE);
	assert_string_equal(out, "MLST type*;size*;modify;perm;unique;UNIX.mode;");
	ftp_mlst_feat(out, sizeof(out), 0);
	assert_string_equal(out, "MLST type;size;modify;perm;unique;UNIX.mode;");
	assert_int_equal(ftp_mlst_feat(out, 20, FTP_FACT_ALL), -ENOBUFS);

	assert_int_equal(ftp_mlst_opts_reply(out, sizeof(out), FTP_FACT_TYPE | FTP_FACT_SIZE),
	                 strlen("MLST OPTS type;size;"));
	assert_string_equal(out, "MLST OPTS type;size;");
	ftp_mlst_opts_reply(out, sizeof(out), FTP_FACT_ALL);
	assert_string_equal(out, "MLST OPTS type;size;modify;perm;unique;UNIX.mode;");
	ftp_mlst_opts_reply(out, sizeof(out), 0);
	assert_string_equal(out, "MLST OPTS");
	assert_int_equal(ftp_mlst_opts_reply(out, 9, 0), -ENOBUFS);
	assert_int_equal(ftp_mlst_opts_reply(out, 10, 0), 9);
}

static void test_stat_frame(void **state)
{
	(void)state;
	char out[FTP_REPLY_LINE_MAX];
	assert_int_equal(ftp_stat_begin(out, sizeof(out), 213, S("/a b.txt")),
	                 strlen("213-Status of /a b.txt:\r\n"));
	assert_string_equal(out, "213-Status of /a b.txt:\r\n");
	ftp_stat_begin(out, sizeof(out), 212, S("/"));
	assert_string_equal(out, "212-Status of /:\r\n");
	assert_int_equal(ftp_stat_begin(out, 10, 213, S("/a b.txt")), -ENOBUFS);
	assert_int_equal(ftp_stat_end(out, sizeof(out), 213), strlen("213 End of status\r\n"));
	assert_string_equal(out, "213 End of status\r\n");
	ftp_stat_end(out, sizeof(out), 212);
	assert_string_equal(out, "212 End of status\r\n");
	assert_int_equal(ftp_stat_end(out, 5, 212), -ENOBUFS);
	/* a path of CR/LF cannot end the reply early */
	ftp_stat_begin(out, sizeof(out), 213, S("/a\r\n213 x"));
	assert_string_equal(out, "213-Status of /a  213 x:\r\n");
}

static void test_mdtm(void **state)
{
	(void)state;
	char out[32];
	assert_int_equal(ftp_mdtm_text(out, sizeof(out), (time_t)NOW), 14);
	assert_string_equal(out, "20240229123456");
	assert_int_equal(ftp_mdtm_text(out, 15, 0), 14);
	assert_string_equal(out, "19700101000000");
	assert_int_equal(ftp_mdtm_text(out, 14, 0), -ENOBUFS);
	assert_int_equal(ftp_mdtm_text(out, sizeof(out), (time_t)253402300800LL), -ERANGE);
}

static void test_access(void **state)
{
	(void)state;
	struct stat st;
	memset(&st, 0, sizeof(st));
	st.st_uid = ME;
	st.st_gid = ME;
	st.st_mode = 0100754;
	assert_int_equal(ftp_list_access(&st, ME, OTHER), 7);
	assert_int_equal(ftp_list_access(&st, OTHER, ME), 5);
	assert_int_equal(ftp_list_access(&st, OTHER, OTHER), 4);
	assert_int_equal(ftp_list_access(&st, 0, 0), 7);
	st.st_mode = 0100644;
	assert_int_equal(ftp_list_access(&st, 0, 0), 6);
	st.st_mode = 040000;
	assert_int_equal(ftp_list_access(&st, 0, 0), 7);
	assert_int_equal(ftp_list_access(&st, ME, ME), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rows),       cmocka_unit_test(test_longest),
	    cmocka_unit_test(test_mlst_texts), cmocka_unit_test(test_stat_frame),
	    cmocka_unit_test(test_mdtm),       cmocka_unit_test(test_access),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
