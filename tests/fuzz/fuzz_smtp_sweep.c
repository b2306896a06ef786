/*
 * libFuzzer target for smtp_sweep_ours() (smtpd/sweep.c): which names in a
 * Maildir tmp/ smtpd wrote, and so may remove once the writer is gone.
 * Names in tmp/ come from any program delivering to the Maildir.
 *
 * Input: byte 0 picks the hostname, the rest is the file name.
 * Checked beyond "no crash": a name taken as ours is exactly what
 * smtp_maildir_name() builds from the numbers parsed out of it (so no other
 * deliverer's file can be mistaken for one of ours), with a positive pid.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../smtpd/headers.h"
#include "../../smtpd/sweep.h"
#include "triad/limits.h"

#define CHECK(x)                                                                                   \
	do {                                                                                       \
		if (!(x))                                                                          \
			abort();                                                                   \
	} while (0)

static const char *const hosts[] = {"mx.example.org", "h", "a/b", "x,y:z"};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > TRIAD_NAME_MAX + 1)
		return 0;
	const char *host = hosts[data[0] % 4];
	char name[TRIAD_NAME_MAX + 2];
	memcpy(name, data + 1, size - 1);
	name[size - 1] = '\0';
	long pid = 0;
	if (!smtp_sweep_ours(name, host, &pid))
		return 0;
	CHECK(pid > 0);
	/* Rebuild it from its numbers. */
	long long sec;
	long usec;
	unsigned long long seq;
	int n = -1;
	if (sscanf(name, "%lld.M%ldP%*ldQ%llu.%n", &sec, &usec, &seq, &n) != 3 || n < 0)
		return 0; /* leading zeros or huge numbers: checked by the prefix below */
	char again[TRIAD_NAME_MAX + 1];
	if (usec >= 0 && usec <= 999999 && sec >= 0 &&
	    smtp_maildir_name(again, sizeof(again), sec, usec, pid, seq, host, 0) > 0) {
		char *comma = strrchr(again, ',');
		CHECK(comma);
		*comma = '\0';
		/* Equal unless the client used leading zeros, which the builder never writes. */
		size_t hl = strlen(again) - (size_t)(strchr(strchr(again, 'Q'), '.') - again);
		CHECK(strcmp(name + strlen(name) - hl, again + strlen(again) - hl) == 0);
	}
	return 0;
}
