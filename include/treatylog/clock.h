/* clock.h - the wall clock the log and the witnesses read, with an offset that only a demo
 * moves: `treatylog demo` replays dated public events on an accelerated clock, so the
 * operator's `logged` times and the witnesses' cosignature times move together through the
 * scenario's dates. A NULL clock is the real clock.
 *
 * THREAD SAFETY: any thread may read; tl_clock_advance_to may run concurrently with readers.
 */
#ifndef TREATYLOG_CLOCK_H
#define TREATYLOG_CLOCK_H

#include <stdatomic.h>
#include <stdint.h>

typedef struct tl_clock {
    _Atomic int64_t offset_ms; /* added to the real clock */
} tl_clock;

/* Unix milliseconds: the real clock plus c's offset (NULL: the real clock). */
int64_t tl_clock_now_ms(const tl_clock *c);

/* Sets c to read `ms` now (the start of a replay, possibly in the past). Call it before any
 * reader uses c; afterwards only tl_clock_advance_to. */
void tl_clock_start_at(tl_clock *c, int64_t ms);

/* Moves c forward so that it reads at least `ms` now; never backward. */
void tl_clock_advance_to(tl_clock *c, int64_t ms);

#endif
