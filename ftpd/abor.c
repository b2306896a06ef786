/*
 * abor: ABOR (RFC 959 §4.1.3). A transfer is answered 426, then the command
 * held behind it, then 226 for the ABOR; an upload already being renamed
 * finishes first and the ABOR waits its turn; without a transfer ABOR closes
 * the data setup (226) or has nothing to do (225). See xfer.h.
 */
#include "xfer.h"

void ftp_cmd_abor(struct ftp_session *s, struct ftp_command *cmd)
{
	(void)cmd;
	if (s->commit && s->commit->prefix) {
		/* The old content is still being copied into the hidden file: the
		 * job runs on into a file ftp_xfer_free() unlinks, as on REIN. */
		s->commit->s = NULL;
		s->commit = NULL;
	}
	if (s->commit) {
		/* The upload is complete and being renamed: its 226 comes first,
		 * then any command held behind it; this ABOR waits its turn. */
		if (s->held) {
			s->have_next = true;
			s->next_status = FTP_PARSE_OK;
		} else {
			s->held = true;
		}
		conn_pause_read(s->c);
		return;
	}
	if (s->xfer) {
		/* RFC 959 §4.1.3: 426 for the aborted command, the reply to a
		 * command sent before the ABOR, then 226 for ABOR. */
		ftp_xfer_end(s, false, 426, "Connection closed; transfer aborted");
		ftp_run_held(s);
		ftp_reply(s, 226, "ABOR successful");
		return;
	}
	bool had = s->data || s->pasv || s->dmode != FTP_DATA_NONE;
	ftp_dataconn_close(s, false);
	ftp_reply(s, had ? 226 : 225,
	          had ? "ABOR: data connection closed" : "No transfer to abort");
}
