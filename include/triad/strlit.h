/*
 * strlit: STRLIT("text") expands to a string literal and its length, for
 * the (pointer, length) calls that write header lines, tokens and
 * separators: the length comes from sizeof, never from a hand count that
 * drifts when the text changes (nginx's ngx_string does the same). The
 * empty strings around S make anything but a literal a compile error.
 */
#ifndef TRIAD_STRLIT_H
#define TRIAD_STRLIT_H

#define STRLIT(s) ("" s ""), (sizeof("" s "") - 1)

#endif
