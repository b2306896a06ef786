/*
 * groups: a user's supplementary groups (getgrouplist) looked up in a child
 * process, so the daemon itself never loads the NSS modules the group
 * database names. glibc dlopen()s every module of nsswitch.conf's "group:"
 * line to answer initgroups (libnss_systemd, with libcap and libm on
 * Debian); loaded into the daemon they stay mapped for its whole life,
 * ~600 KiB of resident pages for one lookup at start-up.
 */
#ifndef TRIAD_GROUPS_H
#define TRIAD_GROUPS_H

#include <stddef.h>
#include <sys/types.h>

/* USER's groups with GID among them (getgrouplist's answer), into a
 * malloc'd *LIST of *N entries. 0, or -errno (fork, pipe, a child that could
 * not answer: -EIO). Call before any thread exists (it forks). */
int groups_lookup(const char *user, gid_t gid, gid_t **list, size_t *n);

#endif
