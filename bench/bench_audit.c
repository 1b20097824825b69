/* bench_audit.c - the full audit (tl_audit, include/treatylog/log.h): recompute every tile of
 * a log from its entry bundles and compare with the stored tiles and the signed checkpoint.
 * Single thread.
 *
 *   bench_audit --dir DIR [--vkey FILE] [--runs R]
 *
 * DIR is a log directory (bench_append's, or any tile directory with --vkey, e.g. one
 * `tlogverify build` wrote). The verifier key defaults to DIR/.treatylog/log.vkey. The audit
 * runs R times (default 3; the first also pulls the files into the page cache if they were
 * not there) and each run prints one line; the last line is the median run.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "treatylog/log.h"

static int read_vkey(tl_vkey *key, const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        perror(path);
        return -1;
    }
    char buf[TL_VKEY_TEXT_MAX + 2];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        n--;
    tl_diag d = {{0}};
    if (tl_vkey_parse(key, buf, n, &d) != TL_OK) {
        fprintf(stderr, "%s: %s\n", path, d.msg);
        return -1;
    }
    return 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    const char *dir = NULL, *vkey_path = NULL;
    uint64_t runs = 3;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
            dir = argv[++i];
        else if (strcmp(argv[i], "--vkey") == 0 && i + 1 < argc)
            vkey_path = argv[++i];
        else if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc)
            runs = bench_u64_arg("--runs", argv[++i], 1, 100);
        else {
            fprintf(stderr, "usage: %s --dir DIR [--vkey FILE] [--runs R]\n", argv[0]);
            return 2;
        }
    }
    if (!dir) {
        fprintf(stderr, "%s: --dir DIR is required\n", argv[0]);
        return 2;
    }
    if (tl_init() != TL_OK) {
        fprintf(stderr, "tl_init failed\n");
        return 1;
    }
    char kpath[4096];
    if (!vkey_path) {
        int n = snprintf(kpath, sizeof kpath, "%s/.treatylog/log.vkey", dir);
        if (n < 0 || (size_t)n >= sizeof kpath) {
            fprintf(stderr, "path too long\n");
            return 2;
        }
        vkey_path = kpath;
    }
    tl_vkey key;
    if (read_vkey(&key, vkey_path) != 0)
        return 1;

    double leaf_cpu = 0;
    double leaf_rate = bench_leaf_rate(256, 1.0, &leaf_cpu);
    printf("bench sha256_leaf_256B leaf_hashes_per_s=%.0f leaf_hashes_per_cpu_s=%.0f "
           "loadavg=%.2f\n",
           leaf_rate, leaf_cpu, bench_loadavg());
    fflush(stdout);

    tl_diag d = {{0}};
    tl_store *st = NULL;
    if (tl_store_posix_open(&st, dir, false, NULL, &d) != TL_OK) {
        fprintf(stderr, "open %s: %s\n", dir, d.msg);
        return 1;
    }
    tl_checkpoint cp;
    if (tl_read_checkpoint(st, &key, &cp, NULL, NULL, &d) != TL_OK) {
        fprintf(stderr, "checkpoint: %s\n", d.msg);
        return 1;
    }
    double *rates = calloc(runs, sizeof *rates);
    if (!rates)
        return 1;
    tl_audit_result res = {0};
    for (uint64_t r = 0; r < runs; r++) {
        double w0 = bench_now(), c0 = bench_cpu();
        tl_err e = tl_audit(st, &key, &cp, NULL, &res, &d);
        double wall = bench_now() - w0, cpu = bench_cpu() - c0;
        if (e != TL_OK) {
            fprintf(stderr, "audit failed: %s: %s\n", tl_strerror(e), d.msg);
            return 1;
        }
        if (res.entries != cp.size) {
            fprintf(stderr, "audit hashed %llu entries, checkpoint has %llu\n",
                    (unsigned long long)res.entries, (unsigned long long)cp.size);
            return 1;
        }
        rates[r] = (double)res.entries / wall;
        printf("bench audit_run entries_per_s=%.0f entries_per_cpu_s=%.0f MB_per_s=%.1f "
               "run=%llu entries=%llu tiles=%llu bundles=%llu wall_s=%.3f cpu_s=%.3f\n",
               rates[r], (double)res.entries / cpu, (double)res.bytes / wall / 1e6,
               (unsigned long long)r + 1, (unsigned long long)res.entries,
               (unsigned long long)res.tiles, (unsigned long long)res.bundles, wall, cpu);
        fflush(stdout);
    }
    qsort(rates, runs, sizeof *rates, cmp_double);
    double med = rates[runs / 2];
    printf("bench audit entries_per_s=%.0f ratio_to_leaf_hash=%.3f entries=%llu runs=%llu "
           "goal_entries_per_s=1000000 loadavg=%.2f\n",
           med, med / leaf_rate, (unsigned long long)cp.size, (unsigned long long)runs,
           bench_loadavg());
    free(rates);
    st->ops->close(st);
    return 0;
}
