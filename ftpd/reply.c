/*
 * reply: reply line formatting and errno mapping for ftpd. See reply.h.
 */
#include "reply.h"

#include <errno.h>
#include <string.h>

/* Bytes of TEXT that fit in ROOM, not cutting a UTF-8 sequence in two. */
static size_t fit_utf8(const char *text, size_t len, size_t room)
{
	if (len <= room)
		return len;
	/* Cut before the character TEXT[room] belongs to if it is in the
	 * middle of one (10xxxxxx continuation bytes). */
	size_t n = room;
	while (n > 0 && ((unsigned char)text[n] & 0xC0) == 0x80)
		n--;
	return n;
}

size_t ftp_reply_line(char *out, size_t size, int code, enum ftp_reply_part part, const char *text,
                      size_t len)
{
	if (size < FTP_REPLY_MIN || code < 100 || code > 599)
		return 0;
	size_t n = 0;
	if (part == FTP_REPLY_MORE) {
		if (len > 0 && text[0] >= '0' && text[0] <= '9')
			out[n++] = ' ';
	} else {
		out[n++] = (char)('0' + code / 100);
		out[n++] = (char)('0' + code / 10 % 10);
		out[n++] = (char)('0' + code % 10);
		out[n++] = part == FTP_REPLY_FIRST ? '-' : ' ';
	}
	size_t take = fit_utf8(text, len, size - n - 3);
	for (size_t i = 0; i < take; i++) {
		char c = text[i];
		out[n++] = (c == '\r' || c == '\n' || c == '\0') ? ' ' : c;
	}
	out[n++] = '\r';
	out[n++] = '\n';
	out[n] = '\0';
	return n;
}

ssize_t ftp_reply_multi(char *out, size_t size, int code, const char *text, size_t len)
{
	if (code < 100 || code > 599)
		return -EINVAL;
	size_t nlines = 1;
	for (size_t i = 0; i < len; i++)
		nlines += text[i] == '\n';

	size_t n = 0, pos = 0;
	for (size_t line = 0; line < nlines; line++) {
		size_t end = pos;
		while (end < len && text[end] != '\n')
			end++;
		size_t llen = end - pos;
		if (llen > 0 && text[pos + llen - 1] == '\r')
			llen--;
		enum ftp_reply_part part = nlines == 1          ? FTP_REPLY_ONLY
		                           : line == 0          ? FTP_REPLY_FIRST
		                           : line + 1 == nlines ? FTP_REPLY_LAST
		                                                : FTP_REPLY_MORE;
		/* code + sep + pad + CRLF + NUL at most */
		if (size - n < llen + 7)
			return -ENOBUFS;
		n += ftp_reply_line(out + n, size - n, code, part, text + pos, llen);
		pos = end + 1;
	}
	return (ssize_t)n;
}

/* clang-format off */
static const struct {
	int code;
	const char *text;
} texts[] = {
	{110, "Restart marker reply"},
	{120, "Service ready in a few minutes"},
	{125, "Data connection already open; transfer starting"},
	{150, "File status okay; about to open data connection"},
	{200, "Command okay"},
	{202, "Command not implemented, superfluous at this site"},
	{211, "System status"},
	{212, "Directory status"},
	{213, "File status"},
	{214, "Help message"},
	{215, "UNIX Type: L8"},
	{220, "Service ready for new user"},
	{221, "Service closing control connection"},
	{225, "Data connection open; no transfer in progress"},
	{226, "Closing data connection; transfer complete"},
	{227, "Entering Passive Mode"},
	{229, "Entering Extended Passive Mode"},
	{230, "User logged in, proceed"},
	{234, "Security data exchange complete"},
	{250, "Requested file action okay, completed"},
	{257, "Created"},
	{331, "User name okay, need password"},
	{332, "Need account for login"},
	{350, "Requested file action pending further information"},
	{421, "Service not available, closing control connection"},
	{425, "Can't open data connection"},
	{426, "Connection closed; transfer aborted"},
	{431, "Need some unavailable resource to process security"},
	{450, "Requested file action not taken: file unavailable"},
	{451, "Requested action aborted: local error in processing"},
	{452, "Requested action not taken: insufficient storage space"},
	{500, "Syntax error, command unrecognized"},
	{501, "Syntax error in parameters or arguments"},
	{502, "Command not implemented"},
	{503, "Bad sequence of commands"},
	{504, "Command not implemented for that parameter"},
	{521, "Data connection cannot be opened with this PROT setting"},
	{522, "Network protocol not supported, use (1,2)"},
	{530, "Not logged in"},
	{532, "Need account for storing files"},
	{533, "Command protection level denied for policy reasons"},
	{534, "Request denied for policy reasons"},
	{535, "Failed security check"},
	{536, "Requested PROT level not supported by mechanism"},
	{550, "Requested action not taken: file unavailable"},
	{551, "Requested action aborted: page type unknown"},
	{552, "Requested file action aborted: exceeded storage allocation"},
	{553, "Requested action not taken: file name not allowed"},
};
/* clang-format on */

const char *ftp_reply_text(int code)
{
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
		if (texts[i].code == code)
			return texts[i].text;
	return "";
}

int ftp_reply_errno(int err, const char **text)
{
	switch (err < 0 ? -err : err) {
	case ENOENT:
		*text = "No such file or directory";
		return 550;
	case EACCES:
	case EPERM:
	case EXDEV:
	case EROFS:
		*text = "Permission denied";
		return 550;
	case ELOOP:
		*text = "Too many levels of symbolic links";
		return 550;
	case EISDIR:
		*text = "Is a directory";
		return 550;
	case ENOTDIR:
		*text = "Not a directory";
		return 550;
	case EEXIST:
		*text = "File exists";
		return 550;
	case ENOTEMPTY:
		*text = "Directory not empty";
		return 550;
	case ENAMETOOLONG:
	case EINVAL:
		*text = "File name not allowed";
		return 553;
	case ENOSPC:
		/* RFC 959: 452 is the system running out of space ... */
		*text = "Insufficient storage space";
		return 452;
	case EDQUOT:
	case EFBIG:
		/* ... 552 this user's or this file's allocation exceeded. */
		*text = "Exceeded storage allocation";
		return 552;
	case EBUSY:
	case ETXTBSY:
	case EAGAIN:
		*text = "File busy";
		return 450;
	default:
		*text = "Local error in processing";
		return 451;
	}
}
