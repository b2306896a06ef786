/*
 * duration: configured durations are milliseconds (uint64_t, config.c's
 * duration values); libevent's timers take a struct timeval. The one
 * conversion between the two.
 */
#ifndef TRIAD_DURATION_H
#define TRIAD_DURATION_H

#include <stdint.h>
#include <sys/time.h>

/* MS milliseconds as a timeval for event_add/evtimer_add. */
static inline struct timeval duration_tv(uint64_t ms)
{
	return (struct timeval){(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};
}

#endif
