/* clock.c - the wall clock with a forward-only offset (clock.h). */
#include "treatylog/clock.h"

#include <time.h>

static int64_t real_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t tl_clock_now_ms(const tl_clock *c)
{
    return real_ms() + (c ? atomic_load(&c->offset_ms) : 0);
}

void tl_clock_advance_to(tl_clock *c, int64_t ms)
{
    int64_t want = ms - real_ms();
    int64_t cur = atomic_load(&c->offset_ms);
    while (want > cur && !atomic_compare_exchange_weak(&c->offset_ms, &cur, want)) {
    }
}

void tl_clock_start_at(tl_clock *c, int64_t ms)
{
    atomic_store(&c->offset_ms, ms - real_ms());
}
