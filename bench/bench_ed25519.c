/* bench_ed25519.c - the anchor of the treaty-mode submission goal (DESIGN §8, issue 5):
 * libsodium crypto_sign_verify_detached on a message the size of a signed notification note,
 * on 1 thread and on T threads (default 2, the machine's cores), in verifies per second of wall
 * clock and per CPU-second of the verifying threads.
 *
 *     bench_ed25519 [--ms MS] [--threads T] [--size BYTES]
 *
 * Every thread verifies its own set of 64 (message, signature) pairs made with one key, round
 * robin; a verify that fails (it must not) exits 1. Lines:
 *     bench ed25519_verify threads=1 verifies_per_s=... verifies_per_cpu_s=... us_per_verify=...
 *     bench ed25519_verify threads=T ...
 *     bench ed25519_sign threads=1 signs_per_s=...   (what `load --sign` spends before a run)
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "bench_util.h"

#define MSGS        64
#define THREADS_MAX 64
#define SIZE_MAX_B  65536

typedef struct vjob {
    const uint8_t *pk;
    uint8_t (*msg)[SIZE_MAX_B];
    uint8_t (*sig)[crypto_sign_BYTES];
    size_t size;
    double seconds;
    uint64_t done;
    double cpu;
    bool failed;
    pthread_barrier_t *start;
} vjob;

static void *verify_loop(void *arg)
{
    vjob *j = arg;
    pthread_barrier_wait(j->start);
    double c0 = bench_tcpu(), t0 = bench_now(), end = t0 + j->seconds;
    uint64_t n = 0;
    for (;;) {
        for (size_t i = 0; i < MSGS; i++) {
            if (crypto_sign_verify_detached(j->sig[i], j->msg[i], j->size, j->pk) != 0) {
                j->failed = true;
                return NULL;
            }
        }
        n += MSGS;
        if (bench_now() >= end)
            break;
    }
    j->done = n;
    j->cpu = bench_tcpu() - c0;
    return NULL;
}

/* Runs T threads for `seconds`; prints the line. Returns false on a failed verify. */
static bool run_verify(unsigned threads, double seconds, size_t size, const uint8_t *pk,
                       uint8_t (*msg)[SIZE_MAX_B], uint8_t (*sig)[crypto_sign_BYTES])
{
    pthread_t th[THREADS_MAX];
    vjob jobs[THREADS_MAX];
    pthread_barrier_t start;
    if (pthread_barrier_init(&start, NULL, threads + 1) != 0) {
        fprintf(stderr, "bench_ed25519: pthread_barrier_init failed\n");
        return false;
    }
    for (unsigned t = 0; t < threads; t++) {
        jobs[t] = (vjob){pk, msg, sig, size, seconds, 0, 0, false, &start};
        if (pthread_create(&th[t], NULL, verify_loop, &jobs[t]) != 0) {
            fprintf(stderr, "bench_ed25519: pthread_create failed\n");
            exit(2);
        }
    }
    double load = bench_loadavg();
    pthread_barrier_wait(&start);
    double t0 = bench_now();
    for (unsigned t = 0; t < threads; t++)
        pthread_join(th[t], NULL);
    double wall = bench_now() - t0;
    pthread_barrier_destroy(&start);
    uint64_t n = 0;
    double cpu = 0;
    bool ok = true;
    for (unsigned t = 0; t < threads; t++) {
        n += jobs[t].done;
        cpu += jobs[t].cpu;
        ok = ok && !jobs[t].failed;
    }
    if (!ok) {
        fprintf(stderr, "bench_ed25519: a signature did not verify\n");
        return false;
    }
    printf("bench ed25519_verify threads=%u size=%zu verifies=%" PRIu64
           " verifies_per_s=%.0f verifies_per_cpu_s=%.0f us_per_verify=%.2f"
           " wall_s=%.3f load=%.2f\n",
           threads, size, n, (double)n / wall, (double)n / cpu, cpu / (double)n * 1e6, wall, load);
    fflush(stdout);
    return true;
}

static unsigned long arg_num(const char *name, const char *s, unsigned long lo, unsigned long hi)
{
    char *end = NULL;
    unsigned long v = strtoul(s, &end, 10);
    if (!s[0] || *end || v < lo || v > hi) {
        fprintf(stderr, "bench_ed25519: %s %s: must be %lu..%lu\n", name, s, lo, hi);
        exit(2);
    }
    return v;
}

int main(int argc, char **argv)
{
    unsigned long ms = 2000, threads = 2, size = 300;
    for (int i = 1; i < argc; i++) {
        if (i + 1 < argc && strcmp(argv[i], "--ms") == 0)
            ms = arg_num("--ms", argv[++i], 100, 600000);
        else if (i + 1 < argc && strcmp(argv[i], "--threads") == 0)
            threads = arg_num("--threads", argv[++i], 1, THREADS_MAX);
        else if (i + 1 < argc && strcmp(argv[i], "--size") == 0)
            size = arg_num("--size", argv[++i], 1, SIZE_MAX_B);
        else {
            fprintf(stderr, "usage: %s [--ms MS] [--threads T] [--size BYTES]\n", argv[0]);
            return 2;
        }
    }
    if (sodium_init() < 0) {
        fprintf(stderr, "bench_ed25519: sodium_init failed\n");
        return 2;
    }
    uint8_t pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
    crypto_sign_keypair(pk, sk);
    uint8_t(*msg)[SIZE_MAX_B] = malloc(MSGS * sizeof *msg);
    uint8_t(*sig)[crypto_sign_BYTES] = malloc(MSGS * sizeof *sig);
    if (!msg || !sig) {
        fprintf(stderr, "bench_ed25519: out of memory\n");
        return 2;
    }
    for (size_t i = 0; i < MSGS; i++) {
        /* Printable text like a note: random letters, LF-terminated. */
        randombytes_buf(msg[i], size);
        for (size_t k = 0; k < size; k++)
            msg[i][k] = (uint8_t)('a' + msg[i][k] % 26);
        msg[i][size - 1] = '\n';
    }
    /* Signing rate (one thread), also the warm-up. */
    double t0 = bench_now(), c0 = bench_tcpu(), end = t0 + 0.5;
    uint64_t nsign = 0;
    while (bench_now() < end) {
        for (size_t i = 0; i < MSGS; i++)
            crypto_sign_detached(sig[i], NULL, msg[i], size, sk);
        nsign += MSGS;
    }
    double sw = bench_now() - t0, sc = bench_tcpu() - c0;
    printf("bench ed25519_sign threads=1 size=%lu signs_per_s=%.0f signs_per_cpu_s=%.0f\n", size,
           (double)nsign / sw, (double)nsign / sc);
    double secs = (double)ms / 1000.0;
    bool ok = run_verify(1, secs, size, pk, msg, sig);
    if (ok && threads > 1)
        ok = run_verify((unsigned)threads, secs, size, pk, msg, sig);
    sodium_memzero(sk, sizeof sk);
    free(msg);
    free(sig);
    return ok ? 0 : 1;
}
