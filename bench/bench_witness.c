/* bench_witness.c - add-checkpoint throughput of `treatylog witness serve` on loopback: the
 * real binary, real durability (every 200 is a record made durable by group commit before
 * the answer), many logs growing together, as a public witness sees them.
 *
 *   bench_witness TREATYLOG [--origins N] [--steps S] [--step-leaves L] [--connections C]
 *                 [--dir DIR]
 *
 * Before timing: one log key, N origins "bench.example/log-<i>" configured in a config file,
 * a tree of `record <i>` leaves, and for every origin S signed checkpoints of sizes L, 2L, ...,
 * SL with the consistency proof from the previous size (old 0 for the first). The witness
 * runs with its state in DIR (default: a fresh directory under $BENCH_TMP or /work/bench-tmp:
 * it must be a real disk, the group commit measures fdatasync; removed afterwards unless
 * BENCH_KEEP is set). C client threads, each with one
 * keep-alive connection, own N/C origins each and send every origin's checkpoints in order,
 * step by step, so every request is a 200 that advances a state. Timed: all N*S requests.
 *
 * Result (one line):
 *   bench witness_add_checkpoint requests=... seconds=... per_s=... p50_ms=... p99_ms=...
 *         origins=... connections=... commits=... batches=... server_cpu_us_per_req=...
 *         client_cpu_us_per_req=... cpus=... cpu_bound_per_s=... load=...
 * cpu_bound_per_s = cpus / (server + client CPU per request): the rate if witness and client
 * had every core to themselves, for a machine shared with other work (see load).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <ftw.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_util.h"
#include "treatylog/checkpoint.h"
#include "treatylog/merkle.h"
#include "treatylog/note.h"

#define W_SEED 0x02

typedef struct tree {
    uint8_t (*leaf)[TL_HASH_LEN];
    uint64_t n;
} tree;

/* Hash source over the leaf hashes: MTH of a perfect subtree, recursively. */
static tl_err subtree(void *ctx, unsigned height, uint64_t index, uint8_t out[TL_HASH_LEN])
{
    const tree *t = ctx;
    if (height == 0) {
        if (index >= t->n)
            return TL_ERR_RANGE;
        memcpy(out, t->leaf[index], TL_HASH_LEN);
        return TL_OK;
    }
    uint8_t l[TL_HASH_LEN], r[TL_HASH_LEN];
    tl_err e = subtree(ctx, height - 1, 2 * index, l);
    if (e == TL_OK)
        e = subtree(ctx, height - 1, 2 * index + 1, r);
    if (e == TL_OK)
        tl_node_hash(out, l, r);
    return e;
}

typedef struct body {
    char *p;
    size_t len;
} body;

typedef struct client {
    int id;
    unsigned port;
    size_t norigins, steps, conns;
    const body *bodies; /* [origin * steps + step] */
    double *lat_ms;     /* one per request this client sends */
    size_t nlat;
    uint64_t ok, other;
    unsigned first_bad;
    char first_bad_body[256];
} client;

static int dial(unsigned port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static bool send_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        p += w;
        n -= (size_t)w;
    }
    return true;
}

/* Reads one HTTP/1.1 response (Content-Length framed); returns the status, 0 on error. The
 * body goes to out (truncated to cap-1, NUL-terminated). */
static unsigned read_response(int fd, char *buf, size_t cap, size_t *have, char *out, size_t ocap)
{
    char *hdr_end = NULL;
    for (;;) {
        hdr_end = *have >= 4 ? memmem(buf, *have, "\r\n\r\n", 4) : NULL;
        if (hdr_end)
            break;
        if (*have == cap)
            return 0;
        ssize_t r = recv(fd, buf + *have, cap - *have, 0);
        if (r <= 0)
            return 0;
        *have += (size_t)r;
    }
    unsigned status = 0;
    if (*have < 12 || sscanf(buf, "HTTP/1.1 %3u", &status) != 1)
        return 0;
    size_t clen = 0;
    for (char *p = buf; p < hdr_end; p++) {
        if ((p == buf || p[-1] == '\n') && strncasecmp(p, "content-length:", 15) == 0) {
            clen = (size_t)strtoull(p + 15, NULL, 10);
            break;
        }
    }
    size_t hlen = (size_t)(hdr_end - buf) + 4;
    if (hlen + clen > cap)
        return 0;
    while (*have < hlen + clen) {
        ssize_t r = recv(fd, buf + *have, cap - *have, 0);
        if (r <= 0)
            return 0;
        *have += (size_t)r;
    }
    size_t n = clen < ocap - 1 ? clen : ocap - 1;
    memcpy(out, buf + hlen, n);
    out[n] = '\0';
    memmove(buf, buf + hlen + clen, *have - hlen - clen);
    *have -= hlen + clen;
    return status;
}

static void *run_client(void *arg)
{
    client *c = arg;
    int fd = dial(c->port);
    if (fd < 0) {
        c->first_bad = 1;
        return NULL;
    }
    char buf[16384], resp[512], head[256];
    size_t have = 0;
    for (size_t s = 0; s < c->steps; s++) {
        for (size_t o = (size_t)c->id; o < c->norigins; o += c->conns) {
            const body *b = &c->bodies[o * c->steps + s];
            int hn = snprintf(head, sizeof head,
                              "POST /add-checkpoint HTTP/1.1\r\nHost: bench\r\n"
                              "Content-Type: text/plain; charset=utf-8\r\n"
                              "Content-Length: %zu\r\n\r\n",
                              b->len);
            double t0 = bench_now();
            unsigned st = 0;
            if (send_all(fd, head, (size_t)hn) && send_all(fd, b->p, b->len))
                st = read_response(fd, buf, sizeof buf, &have, resp, sizeof resp);
            c->lat_ms[c->nlat++] = (bench_now() - t0) * 1e3;
            if (st == 200) {
                c->ok++;
            } else {
                c->other++;
                if (!c->first_bad) {
                    c->first_bad = st ? st : 1;
                    snprintf(c->first_bad_body, sizeof c->first_bad_body, "%.200s", resp);
                }
                if (st == 0) {
                    close(fd);
                    return NULL;
                }
            }
        }
    }
    close(fd);
    return NULL;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Reads a Prometheus counter from GET /metrics. */
static double metric(unsigned port, const char *name)
{
    int fd = dial(port);
    if (fd < 0)
        return -1;
    const char req[] = "GET /metrics HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n";
    static char buf[65536];
    size_t n = 0;
    if (send_all(fd, req, sizeof req - 1)) {
        for (;;) {
            ssize_t r = recv(fd, buf + n, sizeof buf - 1 - n, 0);
            if (r <= 0)
                break;
            n += (size_t)r;
        }
    }
    close(fd);
    buf[n] = '\0';
    char key[128];
    snprintf(key, sizeof key, "\n%s ", name);
    const char *p = strstr(buf, key);
    return p ? strtod(p + strlen(key), NULL) : -1;
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* User + system seconds between two rusage samples. */
static double cpu_between(const struct rusage *a, const struct rusage *b)
{
    return (double)(b->ru_utime.tv_sec - a->ru_utime.tv_sec) +
           (double)(b->ru_stime.tv_sec - a->ru_stime.tv_sec) +
           (double)(b->ru_utime.tv_usec - a->ru_utime.tv_usec) * 1e-6 +
           (double)(b->ru_stime.tv_usec - a->ru_stime.tv_usec) * 1e-6;
}

static void usage(void)
{
    fprintf(stderr, "usage: bench_witness TREATYLOG [--origins N] [--steps S] "
                    "[--step-leaves L] [--connections C] [--dir DIR]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    if (argc < 2 || argv[1][0] == '-')
        usage();
    const char *bin = argv[1];
    size_t norigins = 1000, steps = 20, step_leaves = 16, conns = 64;
    const char *dir = NULL;
    bool keep = getenv("BENCH_KEEP") != NULL;
    for (int i = 2; i < argc; i++) {
        if (i + 1 >= argc)
            usage();
        if (strcmp(argv[i], "--origins") == 0)
            norigins = (size_t)bench_u64_arg("--origins", argv[++i], 1, 100000);
        else if (strcmp(argv[i], "--steps") == 0)
            steps = (size_t)bench_u64_arg("--steps", argv[++i], 1, 1000);
        else if (strcmp(argv[i], "--step-leaves") == 0)
            step_leaves = (size_t)bench_u64_arg("--step-leaves", argv[++i], 1, 100000);
        else if (strcmp(argv[i], "--connections") == 0)
            conns = (size_t)bench_u64_arg("--connections", argv[++i], 1, 1000);
        else if (strcmp(argv[i], "--dir") == 0)
            dir = argv[++i];
        else
            usage();
    }
    if (conns > norigins)
        conns = norigins;
    if (tl_init() != TL_OK)
        return 2;
    char dirbuf[512];
    if (!dir) {
        const char *base = getenv("BENCH_TMP") ? getenv("BENCH_TMP") : "/work/bench-tmp";
        mkdir(base, 0755);
        snprintf(dirbuf, sizeof dirbuf, "%s/witness-XXXXXX", base);
        if (!mkdtemp(dirbuf)) {
            perror(dirbuf);
            return 2;
        }
        dir = dirbuf;
    } else {
        keep = true; /* never delete a directory we were given */
    }

    /* Keys, config. */
    tl_skey lk, wk;
    uint8_t seed[TL_SEED_LEN];
    if (bench_key(&lk) != 0)
        return 2;
    memset(seed, W_SEED, sizeof seed);
    if (tl_skey_from_seed(&wk, "bench.example/witness", 21, TL_KEY_COSIG_V1, seed, NULL) != TL_OK)
        return 2;
    char path[700], vkey[TL_VKEY_TEXT_MAX], skey[TL_SKEY_TEXT_MAX];
    tl_vkey_format(vkey, &lk.vkey);
    tl_skey_format(skey, &wk);
    snprintf(path, sizeof path, "%s/witness.key", dir);
    FILE *f = fopen(path, "w");
    if (!f || fprintf(f, "%s\n", skey) < 0 || fclose(f) != 0) {
        perror(path);
        return 2;
    }
    char conf[700];
    snprintf(conf, sizeof conf, "%s/witness.conf", dir);
    f = fopen(conf, "w");
    if (!f)
        return 2;
    fprintf(f, "dir %s/state\nkey %s\nlisten 127.0.0.1:0\nmax-connections %zu\n", dir, path,
            conns + 16);
    /* The log key in a file, named by each log line: 10000 origins with the key text inline
     * would pass the 1 MiB limit of a config file. */
    char vkpath[700];
    snprintf(vkpath, sizeof vkpath, "%s/log.vkey", dir);
    FILE *vf = fopen(vkpath, "w");
    if (!vf || fprintf(vf, "%s\n", vkey) < 0 || fclose(vf) != 0)
        return 2;
    for (size_t o = 0; o < norigins; o++)
        fprintf(f, "log bench.example/log-%zu=%s\n", o, vkpath);
    if (fclose(f) != 0)
        return 2;

    /* The tree, roots and proofs (shared by every origin), then signed bodies. */
    fprintf(stderr, "bench_witness: signing %zu checkpoints...\n", norigins * steps);
    tree t = {.n = (uint64_t)(steps * step_leaves)};
    t.leaf = malloc((size_t)t.n * TL_HASH_LEN);
    uint8_t(*roots)[TL_HASH_LEN] = malloc((steps + 1) * TL_HASH_LEN);
    char **proofs = calloc(steps, sizeof *proofs);
    body *bodies = calloc(norigins * steps, sizeof *bodies);
    if (!t.leaf || !roots || !proofs || !bodies)
        return 2;
    for (uint64_t i = 0; i < t.n; i++) {
        char rec[32];
        int n = snprintf(rec, sizeof rec, "record %llu", (unsigned long long)i);
        tl_leaf_hash(t.leaf[i], rec, (size_t)n);
    }
    tl_frontier fr;
    tl_frontier_init(&fr);
    memcpy(roots[0], TL_EMPTY_ROOT, TL_HASH_LEN);
    for (size_t s = 1; s <= steps; s++) {
        while (fr.size < s * step_leaves) {
            if (tl_frontier_append(&fr, t.leaf[fr.size], NULL, NULL) != TL_OK)
                return 2;
        }
        tl_frontier_root(&fr, roots[s]);
    }
    for (size_t s = 0; s < steps; s++) {
        uint8_t p[TL_PROOF_MAX][TL_HASH_LEN];
        size_t np = 0;
        if (tl_merkle_consistency_proof(p, &np, s * step_leaves, (s + 1) * step_leaves, subtree,
                                        &t) != TL_OK)
            return 2;
        proofs[s] = malloc(np * 45 + 1);
        size_t o = 0;
        for (size_t k = 0; k < np; k++) {
            o += tl_b64_encode(proofs[s] + o, p[k], TL_HASH_LEN);
            proofs[s][o++] = '\n';
        }
        proofs[s][o] = '\0';
    }
    for (size_t o = 0; o < norigins; o++) {
        for (size_t s = 0; s < steps; s++) {
            char text[TL_CHECKPOINT_TEXT_MAX], root[48];
            tl_b64_encode(root, roots[s + 1], TL_HASH_LEN);
            int tn = snprintf(text, sizeof text, "bench.example/log-%zu\n%zu\n%s\n", o,
                              (s + 1) * step_leaves, root);
            char *note = NULL;
            size_t nlen = 0;
            if (tl_note_sign(&note, &nlen, text, (size_t)tn, &lk, NULL) != TL_OK)
                return 2;
            size_t cap = 32 + strlen(proofs[s]) + 1 + nlen;
            body *b = &bodies[o * steps + s];
            b->p = malloc(cap);
            int hn = snprintf(b->p, cap, "old %zu\n%s\n", s * step_leaves, proofs[s]);
            memcpy(b->p + hn, note, nlen);
            b->len = (size_t)hn + nlen;
            free(note);
        }
    }

    /* Start the witness; read its URL. */
    int pfd[2];
    if (pipe(pfd) != 0)
        return 2;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(pfd[1], 1);
        close(pfd[0]);
        execl(bin, bin, "witness", "serve", "--config", conf, (char *)NULL);
        perror(bin);
        _exit(127);
    }
    close(pfd[1]);
    char url[128] = {0};
    size_t un = 0;
    while (un < sizeof url - 1) {
        ssize_t r = read(pfd[0], url + un, 1);
        if (r <= 0 || url[un] == '\n')
            break;
        un++;
    }
    url[un] = '\0';
    const char *colon = strrchr(url, ':');
    unsigned port = colon ? (unsigned)strtoul(colon + 1, NULL, 10) : 0;
    if (!port) {
        fprintf(stderr, "bench_witness: the witness did not start\n");
        return 2;
    }
    fprintf(stderr, "bench_witness: witness at %s; %zu origins x %zu steps, %zu connections\n", url,
            norigins, steps, conns);

    client *cl = calloc(conns, sizeof *cl);
    pthread_t *th = calloc(conns, sizeof *th);
    if (!cl || !th)
        return 2;
    for (size_t i = 0; i < conns; i++) {
        cl[i] = (client){.id = (int)i,
                         .port = port,
                         .norigins = norigins,
                         .steps = steps,
                         .conns = conns,
                         .bodies = bodies};
        cl[i].lat_ms = malloc((norigins / conns + 1) * steps * sizeof(double));
    }
    struct rusage ru0, ru1, me0, me1;
    getrusage(RUSAGE_CHILDREN, &ru0);
    getrusage(RUSAGE_SELF, &me0);
    double load = bench_loadavg();
    double t0 = bench_now();
    for (size_t i = 0; i < conns; i++)
        pthread_create(&th[i], NULL, run_client, &cl[i]);
    for (size_t i = 0; i < conns; i++)
        pthread_join(th[i], NULL);
    double secs = bench_now() - t0;
    getrusage(RUSAGE_SELF, &me1);
    double commits = metric(port, "treatylog_witness_commits_total");
    double batches = metric(port, "treatylog_witness_commit_batches_total");
    kill(pid, SIGTERM);
    int status = 0;
    waitpid(pid, &status, 0);
    getrusage(RUSAGE_CHILDREN, &ru1);
    double server_cpu = cpu_between(&ru0, &ru1), client_cpu = cpu_between(&me0, &me1);

    uint64_t ok = 0, other = 0;
    size_t nl = 0;
    for (size_t i = 0; i < conns; i++) {
        ok += cl[i].ok;
        other += cl[i].other;
        nl += cl[i].nlat;
        if (cl[i].first_bad)
            fprintf(stderr, "bench_witness: client %zu: first non-200: %u %s\n", i, cl[i].first_bad,
                    cl[i].first_bad_body);
    }
    double *all = malloc((nl ? nl : 1) * sizeof *all);
    size_t k = 0;
    for (size_t i = 0; i < conns; i++) {
        memcpy(all + k, cl[i].lat_ms, cl[i].nlat * sizeof *all);
        k += cl[i].nlat;
    }
    qsort(all, nl, sizeof *all, cmp_double);
    double p50 = nl ? all[nl / 2] : 0, p99 = nl ? all[nl * 99 / 100] : 0;
    /* CPU per request, and the rate two cores would give if server and client had them to
     * themselves (the machine may be shared: compare with load). */
    double n_req = (double)(ok + other);
    double srv_us = n_req > 0 ? server_cpu / n_req * 1e6 : 0;
    double cli_us = n_req > 0 ? client_cpu / n_req * 1e6 : 0;
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    double cpu_bound = srv_us + cli_us > 0 ? (double)ncpu * 1e6 / (srv_us + cli_us) : 0;
    printf("bench witness_add_checkpoint requests=%llu ok=%llu other=%llu seconds=%.3f "
           "per_s=%.0f p50_ms=%.2f p99_ms=%.2f origins=%zu steps=%zu connections=%zu "
           "commits=%.0f batches=%.0f server_cpu_us_per_req=%.0f client_cpu_us_per_req=%.0f "
           "cpus=%ld cpu_bound_per_s=%.0f exit=%d load=%.2f\n",
           (unsigned long long)(ok + other), (unsigned long long)ok, (unsigned long long)other,
           secs, (double)ok / secs, p50, p99, norigins, steps, conns, commits, batches, srv_us,
           cli_us, ncpu, cpu_bound, WIFEXITED(status) ? WEXITSTATUS(status) : -1, load);
    if (!keep && nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS) != 0)
        fprintf(stderr, "bench_witness: could not remove %s\n", dir);
    return other == 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}
