/* bench_append.c - bulk append, durable: N entries of SIZE bytes through the log writer
 * (include/treatylog/log.h) in batches of BATCH, one tl_log_publish() (tiles staged, syncfs,
 * signed checkpoint written, fsync'ed and renamed) per batch. Single thread.
 *
 *   bench_append --dir DIR [-n N] [--batch B] [--size BYTES] [--io-floor]
 *   bench_append --emit FILE [-n N] [--size BYTES]
 *
 * DIR must not exist (or be empty); it is left in place for bench_audit. --emit writes the
 * same N records one per line (for `tlogverify build`) and exits. The records, key and origin
 * are deterministic (bench_util.h), so the final checkpoint is byte-identical to the one
 * `tlogverify build` signs with the same seed.
 *
 * Results (one line each):
 *   bench sha256_leaf_256B  leaf hashes/s of the same entries measured just before (anchor)
 *   bench append_256B       entries/s wall and per CPU-second, ratio to the anchor, and the
 *                           split: time in tl_log_add() vs tl_log_publish()
 *   bench io_floor_256B     (with --io-floor) the same files written by plain system calls in
 *                           DIR.floor, no library and no hashing: what this disk and file
 *                           system allow for the tlog-tiles layout (see io_floor())
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench_util.h"
#include "treatylog/log.h"
#include "treatylog/tile.h"

/* ---- the I/O floor ---- */

typedef struct floor_ctx {
    const char *dir;
    uint64_t seq;         /* temp file counter */
    char lastdir[2][512]; /* parent made last, for bundles [0] and hash tiles [1] */
} floor_ctx;

/* mkdir -p of path's parent, skipped when it is the one made last for this kind. */
static int floor_mkdirs(floor_ctx *f, const char *path, int kind)
{
    char buf[512];
    size_t n = strlen(path);
    if (n >= sizeof buf)
        return -1;
    memcpy(buf, path, n + 1);
    char *slash = strrchr(buf, '/');
    if (!slash)
        return 0;
    *slash = '\0';
    if (strcmp(buf, f->lastdir[kind]) == 0)
        return 0;
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0755) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    if (mkdir(buf, 0755) != 0 && errno != EEXIST)
        return -1;
    memcpy(f->lastdir[kind], buf, strlen(buf) + 1);
    return 0;
}

/* What the posix store does per object: temp file, write, close, rename over the target;
 * with durable, an fsync before the close and of the directory after the rename. */
static int floor_put(floor_ctx *f, const char *rel, const uint8_t *data, size_t len, int kind,
                     bool durable)
{
    char tmp[512], dst[512];
    int a = snprintf(tmp, sizeof tmp, "%s/.tmp/%llu", f->dir, (unsigned long long)f->seq++);
    int b = snprintf(dst, sizeof dst, "%s/%s", f->dir, rel);
    if (a < 0 || (size_t)a >= sizeof tmp || b < 0 || (size_t)b >= sizeof dst)
        return -1;
    if (floor_mkdirs(f, dst, kind) != 0)
        return -1;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -1;
    ssize_t w = write(fd, data, len);
    int rc = (w < 0 || (size_t)w != len) ? -1 : 0;
    if (rc == 0 && durable && fsync(fd) != 0)
        rc = -1;
    if (close(fd) != 0)
        rc = -1;
    if (rc == 0 && rename(tmp, dst) != 0)
        rc = -1;
    return rc;
}

/* What the posix store does for a full tile or bundle (docs/decisions/0002): create it in
 * place, O_CREAT|O_EXCL, write, close; no temp file, no rename. */
static int floor_create(floor_ctx *f, const char *rel, const uint8_t *data, size_t len, int kind)
{
    char dst[512];
    int b = snprintf(dst, sizeof dst, "%s/%s", f->dir, rel);
    if (b < 0 || (size_t)b >= sizeof dst || floor_mkdirs(f, dst, kind) != 0)
        return -1;
    int fd = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0)
        return -1;
    ssize_t w = write(fd, data, len);
    int rc = (w < 0 || (size_t)w != len) ? -1 : 0;
    if (close(fd) != 0)
        rc = -1;
    return rc;
}

static int floor_tile(floor_ctx *f, bool entries, unsigned level, uint64_t index, unsigned width,
                      const uint8_t *data, size_t len)
{
    tl_tile t = {.entries = entries, .level = (uint8_t)level, .index = index,
                 .width = (uint16_t)width};
    char path[TL_TILE_PATH_MAX];
    tl_tile_path(path, &t);
    if (width == TL_TILE_WIDTH)
        return floor_create(f, path, data, len, entries ? 0 : 1);
    return floor_put(f, path, data, len, entries ? 0 : 1, false);
}

/* The I/O floor: the objects a log of n entries published every `batch` writes (full and
 * partial bundles and hash tiles of every level, one checkpoint per publish), the same sizes
 * and the same system calls as the posix store (full objects created in place, partial ones
 * temp + rename, syncfs, then the checkpoint fsync'ed, renamed and the directory fsync'ed;
 * before 6898b12 full objects were temp + rename too), without hashing, signing or
 * any library code. Returns the wall seconds, or a negative value on error. */
static double io_floor(const char *dir, uint64_t n, uint64_t batch, size_t size)
{
    floor_ctx f = {.dir = dir, .seq = 0, .lastdir = {{0}, {0}}};
    char tmpdir[512];
    int pn = snprintf(tmpdir, sizeof tmpdir, "%s/.tmp", dir);
    if (pn < 0 || (size_t)pn >= sizeof tmpdir || mkdir(dir, 0755) != 0 ||
        mkdir(tmpdir, 0700) != 0)
        return -1;
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return -1;
    size_t bundle_len = (size_t)TL_TILE_WIDTH * (size + 2);
    uint8_t *bundle = malloc(bundle_len);
    uint8_t *hashes = malloc((size_t)TL_TILE_WIDTH * TL_HASH_LEN);
    if (!bundle || !hashes) {
        free(bundle);
        free(hashes);
        close(dfd);
        return -1;
    }
    for (size_t i = 0; i < TL_TILE_WIDTH; i++)
        bench_record(bundle + i * (size + 2), size + 2, i);
    memset(hashes, 0x5a, (size_t)TL_TILE_WIDTH * TL_HASH_LEN);
    static const char cp[] = "bench.treatylog.example\n1000000\n"
                             "6Ga/qIwhviC4CjrhtgJXAUEaOhFKtWm94ZrOkMxokOg=\n\n"
                             "\u2014 bench.treatylog.example ijHUHnEp1fqvnS6pFvjPBjTZ3Y2Vd6Sd1nwl"
                             "/x2IPm6G4Uve9BYJkKrIYGPWHaIjqF6Yf7i0LDJxxJBvqyM0JE5ETQ==\n";
    int rc = 0;
    double t0 = bench_now();
    for (uint64_t size_now = 0; size_now < n && rc == 0;) {
        uint64_t next = n - size_now < batch ? n : size_now + batch;
        /* Full objects completed by this batch, at every level. */
        for (unsigned level = 0; level < 8 && rc == 0; level++) {
            uint64_t before = tl_tile_level_count(size_now, level) / TL_TILE_WIDTH;
            uint64_t after = tl_tile_level_count(next, level) / TL_TILE_WIDTH;
            for (uint64_t k = before; k < after && rc == 0; k++) {
                if (level == 0)
                    rc = floor_tile(&f, true, 0, k, TL_TILE_WIDTH, bundle, bundle_len);
                if (rc == 0)
                    rc = floor_tile(&f, false, level, k, TL_TILE_WIDTH, hashes,
                                    (size_t)TL_TILE_WIDTH * TL_HASH_LEN);
            }
        }
        /* Partial objects of the published size. */
        for (unsigned level = 0; level < 8 && rc == 0; level++) {
            uint64_t cnt = tl_tile_level_count(next, level);
            unsigned w = (unsigned)(cnt % TL_TILE_WIDTH);
            if (cnt == 0)
                break;
            if (w == 0)
                continue;
            if (level == 0)
                rc = floor_tile(&f, true, 0, cnt / TL_TILE_WIDTH, w, bundle,
                                (size_t)w * (size + 2));
            if (rc == 0)
                rc = floor_tile(&f, false, level, cnt / TL_TILE_WIDTH, w, hashes,
                                (size_t)w * TL_HASH_LEN);
        }
        if (rc == 0 && syncfs(dfd) != 0)
            rc = -1;
        if (rc == 0)
            rc = floor_put(&f, "checkpoint", (const uint8_t *)cp, sizeof cp - 1, 1, true);
        if (rc == 0 && fsync(dfd) != 0)
            rc = -1;
        size_now = next;
    }
    double t = bench_now() - t0;
    free(bundle);
    free(hashes);
    close(dfd);
    return rc == 0 ? t : -1;
}

static int emit(const char *path, uint64_t n, size_t size)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        return 1;
    }
    uint8_t *rec = malloc(size + 1);
    if (!rec) {
        fclose(f);
        return 1;
    }
    for (uint64_t i = 0; i < n; i++) {
        bench_record(rec, size, i);
        rec[size] = '\n';
        if (fwrite(rec, 1, size + 1, f) != size + 1) {
            perror(path);
            free(rec);
            fclose(f);
            return 1;
        }
    }
    free(rec);
    if (fclose(f) != 0) {
        perror(path);
        return 1;
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
    const char *dir = NULL, *emit_path = NULL;
    bool floor_too = false;
    uint64_t n = 1000000, batch = 10000;
    size_t size = 256;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
            dir = argv[++i];
        else if (strcmp(argv[i], "--emit") == 0 && i + 1 < argc)
            emit_path = argv[++i];
        else if (strcmp(argv[i], "-n") == 0 && i + 1 < argc)
            n = bench_u64_arg("-n", argv[++i], 1, UINT64_C(1) << 40);
        else if (strcmp(argv[i], "--batch") == 0 && i + 1 < argc)
            batch = bench_u64_arg("--batch", argv[++i], 1, UINT64_C(1) << 30);
        else if (strcmp(argv[i], "--size") == 0 && i + 1 < argc)
            size = (size_t)bench_u64_arg("--size", argv[++i], 24, 65535);
        else if (strcmp(argv[i], "--io-floor") == 0)
            floor_too = true;
        else {
            fprintf(stderr,
                    "usage: %s --dir DIR [-n N] [--batch B] [--size BYTES] [--io-floor]\n"
                    "       %s --emit FILE [-n N] [--size BYTES]\n",
                    argv[0], argv[0]);
            return 2;
        }
    }
    if (emit_path)
        return emit(emit_path, n, size);
    if (!dir) {
        fprintf(stderr, "%s: --dir DIR is required\n", argv[0]);
        return 2;
    }
    if (tl_init() != TL_OK) {
        fprintf(stderr, "tl_init failed\n");
        return 1;
    }

    /* The anchor, measured in this process just before the run. */
    double leaf_cpu = 0;
    double leaf_rate = bench_leaf_rate(size, 1.0, &leaf_cpu);
    printf("bench sha256_leaf_%zuB leaf_hashes_per_s=%.0f leaf_hashes_per_cpu_s=%.0f "
           "loadavg=%.2f\n",
           size, leaf_rate, leaf_cpu, bench_loadavg());
    fflush(stdout);

    tl_skey key;
    if (bench_key(&key) != 0)
        return 1;
    tl_diag d = {{0}};
    if (tl_log_create(dir, NULL, &key, &d) != TL_OK) {
        fprintf(stderr, "create %s: %s\n", dir, d.msg);
        return 1;
    }
    tl_skey_wipe(&key);
    tl_log *l = NULL;
    if (tl_log_open(&l, dir, NULL, &d) != TL_OK) {
        fprintf(stderr, "open %s: %s\n", dir, d.msg);
        return 1;
    }

    uint64_t nbatches = (n + batch - 1) / batch;
    uint8_t *buf = malloc((size_t)batch * size);
    double *pub_lat = calloc(nbatches, sizeof *pub_lat);
    if (!buf || !pub_lat) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    double t_add = 0, t_pub = 0, t_gen_cpu = 0;
    double w0 = bench_now(), c0 = bench_cpu();
    uint64_t done = 0;
    for (uint64_t b = 0; b < nbatches; b++) {
        uint64_t cnt = n - done < batch ? n - done : batch;
        /* Generating the records is not part of the measurement. */
        double g0 = bench_now(), gc0 = bench_cpu();
        for (uint64_t i = 0; i < cnt; i++)
            bench_record(buf + i * size, size, done + i);
        double a0 = bench_now();
        w0 += a0 - g0;
        t_gen_cpu += bench_cpu() - gc0;
        for (uint64_t i = 0; i < cnt; i++) {
            if (tl_log_add(l, buf + i * size, size, NULL, &d) != TL_OK) {
                fprintf(stderr, "add %llu: %s\n", (unsigned long long)(done + i), d.msg);
                return 1;
            }
        }
        double p0 = bench_now();
        if (tl_log_publish(l, &d) != TL_OK) {
            fprintf(stderr, "publish at %llu: %s\n", (unsigned long long)(done + cnt), d.msg);
            return 1;
        }
        double p1 = bench_now();
        t_add += p0 - a0;
        t_pub += p1 - p0;
        pub_lat[b] = p1 - p0;
        done += cnt;
    }
    double wall = bench_now() - w0;
    double cpu = bench_cpu() - c0 - t_gen_cpu;
    if (tl_log_size(l) != n) {
        fprintf(stderr, "published size %llu, want %llu\n", (unsigned long long)tl_log_size(l),
                (unsigned long long)n);
        return 1;
    }
    qsort(pub_lat, nbatches, sizeof *pub_lat, cmp_double);
    double rate = (double)n / wall;
    printf("bench append_%zuB entries_per_s=%.0f ratio_to_leaf_hash=%.3f entries_per_cpu_s=%.0f "
           "cpu_ratio_to_leaf_hash=%.3f n=%llu batch=%llu batches=%llu wall_s=%.3f cpu_s=%.3f "
           "add_s=%.3f publish_s=%.3f add_entries_per_s=%.0f publish_ms_p50=%.2f "
           "publish_ms_max=%.2f loadavg=%.2f\n",
           size, rate, rate / leaf_rate, (double)n / cpu, (double)n / cpu / leaf_cpu,
           (unsigned long long)n, (unsigned long long)batch, (unsigned long long)nbatches, wall,
           cpu, t_add, t_pub, (double)n / t_add, pub_lat[nbatches / 2] * 1e3,
           pub_lat[nbatches - 1] * 1e3, bench_loadavg());
    size_t cplen = 0;
    const char *cp = tl_log_checkpoint(l, &cplen);
    const char *nl = memchr(cp, '\n', cplen);
    const char *nl2 = nl ? memchr(nl + 1, '\n', cplen - (size_t)(nl + 1 - cp)) : NULL;
    const char *nl3 = nl2 ? memchr(nl2 + 1, '\n', cplen - (size_t)(nl2 + 1 - cp)) : NULL;
    if (nl2 && nl3)
        fprintf(stderr, "root %.*s at size %llu\n", (int)(nl3 - nl2 - 1), nl2 + 1,
                (unsigned long long)n);
    tl_log_close(l);
    free(buf);
    free(pub_lat);

    if (floor_too) {
        char fdir[4096];
        int pn = snprintf(fdir, sizeof fdir, "%s.floor", dir);
        if (pn < 0 || (size_t)pn >= sizeof fdir)
            return 1;
        double fc0 = bench_cpu();
        double ft = io_floor(fdir, n, batch, size);
        double fcpu = bench_cpu() - fc0;
        if (ft < 0) {
            fprintf(stderr, "io floor in %s: %s\n", fdir, strerror(errno));
            return 1;
        }
        printf("bench io_floor_%zuB entries_per_s=%.0f append_share_of_floor=%.3f n=%llu "
               "batch=%llu wall_s=%.3f cpu_s=%.3f loadavg=%.2f\n",
               size, (double)n / ft, rate / ((double)n / ft), (unsigned long long)n,
               (unsigned long long)batch, ft, fcpu, bench_loadavg());
    }
    return 0;
}
