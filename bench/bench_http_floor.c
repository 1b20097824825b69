/* bench_http_floor.c - the floor under `POST /add?wait=0`: what libmicrohttpd itself costs on
 * this machine, configured as `treatylog serve` configures it, with no log behind it.
 *
 *   bench_http_floor --mode direct|suspend|fsync [--port P] [--threads N] [--turbo]
 *                    [--dir DIR] [--seconds S] [--answer-bytes B]
 *
 * Modes, each a layer of what the real server does per submission:
 *   direct   read the body, answer 200 with a 300-byte body at once (HTTP only); a GET is
 *            answered so too, with --answer-bytes 8192 the size of a full tile;
 *   suspend  suspend the connection; a committer thread resumes every waiting connection in
 *            one group as soon as it wakes (the hand-off and MHD's suspend/resume);
 *   fsync    as suspend, and the committer first writes the group's bodies to DIR/floor.journal
 *            and fdatasyncs it (a durable group commit, preallocated file, no parsing).
 * Drive it with `SIZE=256 wrk -t1 -c64 -d5s -s bench/serve_post.lua http://127.0.0.1:P`, or
 * for GETs `SIZE=10000000 KIND=tile wrk -t2 -c64 -d5s -s bench/serve_get.lua ...`.
 * It stops after --seconds (default 12) or on SIGINT/SIGTERM and prints
 *     bench http_floor mode=.. requests=N cpu_s=.. us_per_request=.. groups=.. turbo=0|1
 * where the CPU is the whole process's (user + system) from the first request to the last.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "bench_util.h"

enum mode { MODE_DIRECT, MODE_SUSPEND, MODE_FSYNC };
enum { PREALLOC = 64 << 20 };

typedef struct req req;
struct req {
    struct MHD_Connection *conn;
    char body[512];
    size_t len;
    bool queued, answered;
    req *next;
};

typedef struct {
    enum mode mode;
    int fd;
    off_t off, allocated; /* the file is extended PREALLOC at a time, each extension synced */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    req *head;
    bool stop;
    uint64_t requests, groups;
    double cpu0;
    bool started;
    char *answer;
    size_t answer_len;
} floor_srv;

/* Appends n bytes at the end of the file, extending it (zeros, synced) first where needed, as
 * the real journal does: the group commit is then one fdatasync into allocated blocks. */
static void append(floor_srv *f, const char *buf, size_t n)
{
    if (f->off + (off_t)n > f->allocated) {
        if (posix_fallocate(f->fd, f->allocated, PREALLOC) != 0 || fsync(f->fd) != 0)
            perror("bench_http_floor: extend");
        f->allocated += PREALLOC;
    }
    if (pwrite(f->fd, buf, n, f->off) != (ssize_t)n)
        perror("bench_http_floor: pwrite");
    f->off += (off_t)n;
}

static void *committer(void *arg)
{
    floor_srv *f = arg;
    char *buf = malloc(1 << 20);
    if (!buf)
        return NULL;
    for (;;) {
        pthread_mutex_lock(&f->mu);
        while (!f->head && !f->stop)
            pthread_cond_wait(&f->cv, &f->mu);
        if (f->stop && !f->head) {
            pthread_mutex_unlock(&f->mu);
            break;
        }
        req *list = f->head;
        f->head = NULL;
        f->groups++;
        pthread_mutex_unlock(&f->mu);
        if (f->mode == MODE_FSYNC) {
            size_t n = 0;
            for (req *r = list; r; r = r->next) {
                if (n + r->len > (1u << 20)) {
                    append(f, buf, n);
                    n = 0;
                }
                memcpy(buf + n, r->body, r->len);
                n += r->len;
            }
            if (n)
                append(f, buf, n);
            if (fdatasync(f->fd) != 0)
                perror("fdatasync");
        }
        pthread_mutex_lock(&f->mu);
        for (req *r = list, *next; r; r = next) {
            next = r->next;
            r->answered = true;
            MHD_resume_connection(r->conn);
        }
        pthread_mutex_unlock(&f->mu);
    }
    free(buf);
    return NULL;
}

static enum MHD_Result answer(floor_srv *f, struct MHD_Connection *c)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(f->answer_len, f->answer, MHD_RESPMEM_PERSISTENT);
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
    enum MHD_Result ret = MHD_queue_response(c, 200, resp);
    MHD_destroy_response(resp);
    return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
    (void)url, (void)version;
    floor_srv *f = cls;
    req *r = *con_cls;
    if (!r) {
        r = calloc(1, sizeof *r);
        if (!r)
            return MHD_NO;
        r->conn = c;
        *con_cls = r;
        return MHD_YES;
    }
    if (strcmp(method, "POST") != 0)
        return answer(f, c);
    if (*upload_size) {
        size_t n = *upload_size;
        if (r->len + n > sizeof r->body)
            n = sizeof r->body - r->len;
        memcpy(r->body + r->len, upload, n);
        r->len += n;
        *upload_size = 0;
        return MHD_YES;
    }
    if (f->mode == MODE_DIRECT || r->answered)
        return answer(f, c);
    if (!r->queued) {
        r->queued = true;
        pthread_mutex_lock(&f->mu);
        MHD_suspend_connection(c);
        r->next = f->head;
        f->head = r;
        pthread_cond_signal(&f->cv);
        pthread_mutex_unlock(&f->mu);
    }
    return MHD_YES;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode code)
{
    (void)c, (void)code;
    floor_srv *f = cls;
    free(*con_cls);
    *con_cls = NULL;
    pthread_mutex_lock(&f->mu);
    if (!f->started) {
        f->started = true;
        f->cpu0 = bench_cpu();
    }
    f->requests++;
    pthread_mutex_unlock(&f->mu);
}

int main(int argc, char **argv)
{
    floor_srv f = {.fd = -1};
    unsigned port = 18440, threads = 2, seconds = 12, answer_bytes = 300;
    bool turbo = false;
    const char *dir = "/tmp", *mode = "direct";
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--turbo") == 0) {
            turbo = true;
            continue;
        }
        if (!v) {
            fprintf(stderr, "bench_http_floor: %s needs a value\n", a);
            return 2;
        }
        i++;
        if (strcmp(a, "--mode") == 0)
            mode = v;
        else if (strcmp(a, "--port") == 0)
            port = (unsigned)strtoul(v, NULL, 10);
        else if (strcmp(a, "--threads") == 0)
            threads = (unsigned)strtoul(v, NULL, 10);
        else if (strcmp(a, "--seconds") == 0)
            seconds = (unsigned)strtoul(v, NULL, 10);
        else if (strcmp(a, "--answer-bytes") == 0)
            answer_bytes = (unsigned)strtoul(v, NULL, 10);
        else if (strcmp(a, "--dir") == 0)
            dir = v;
        else {
            fprintf(stderr, "bench_http_floor: unknown option %s\n", a);
            return 2;
        }
    }
    if (strcmp(mode, "direct") == 0)
        f.mode = MODE_DIRECT;
    else if (strcmp(mode, "suspend") == 0)
        f.mode = MODE_SUSPEND;
    else if (strcmp(mode, "fsync") == 0)
        f.mode = MODE_FSYNC;
    else {
        fprintf(stderr, "bench_http_floor: --mode is direct, suspend or fsync, not %s\n", mode);
        return 2;
    }
    if (port == 0 || port > 65535 || threads == 0 || threads > 64 || seconds == 0 ||
        answer_bytes == 0 || answer_bytes > (1u << 20)) {
        fprintf(stderr, "bench_http_floor: bad --port, --threads, --seconds or --answer-bytes\n");
        return 2;
    }
    f.answer_len = answer_bytes;
    f.answer = malloc(answer_bytes);
    if (!f.answer)
        return 1;
    memset(f.answer, 'r', answer_bytes);
    f.answer[answer_bytes - 1] = '\n';
    pthread_mutex_init(&f.mu, NULL);
    pthread_cond_init(&f.cv, NULL);
    char path[4096];
    if (f.mode == MODE_FSYNC) {
        snprintf(path, sizeof path, "%s/floor.journal", dir);
        f.fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
        /* Preallocated and synced, as the real journal: a group commit is one fdatasync. */
        if (f.fd < 0 || posix_fallocate(f.fd, 0, PREALLOC) != 0 || fsync(f.fd) != 0) {
            fprintf(stderr, "bench_http_floor: %s: %s\n", path, strerror(errno));
            return 1;
        }
        f.allocated = PREALLOC;
    }
    pthread_t th;
    if (f.mode != MODE_DIRECT && pthread_create(&th, NULL, committer, &f) != 0) {
        fprintf(stderr, "bench_http_floor: cannot start the committer thread\n");
        return 1;
    }
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL); /* MHD's threads inherit the mask */
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME |
                     MHD_USE_ERROR_LOG | (turbo ? MHD_USE_TURBO : 0);
    struct MHD_Daemon *mhd = MHD_start_daemon(
        flags, (uint16_t)port, NULL, NULL, on_request, &f, MHD_OPTION_THREAD_POOL_SIZE, threads,
        MHD_OPTION_CONNECTION_LIMIT, 4096u, MHD_OPTION_NOTIFY_COMPLETED, on_completed, &f,
        MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024u, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)16384,
        MHD_OPTION_END);
    if (!mhd) {
        fprintf(stderr, "bench_http_floor: cannot listen on port %u\n", port);
        return 1;
    }
    struct timespec ts = {.tv_sec = seconds};
    int sig = sigtimedwait(&set, NULL, &ts);
    (void)sig;
    pthread_mutex_lock(&f.mu);
    uint64_t n = f.requests;
    double cpu = f.started ? bench_cpu() - f.cpu0 : 0;
    pthread_mutex_unlock(&f.mu);
    MHD_stop_daemon(mhd);
    if (f.mode != MODE_DIRECT) {
        pthread_mutex_lock(&f.mu);
        f.stop = true;
        pthread_cond_signal(&f.cv);
        pthread_mutex_unlock(&f.mu);
        pthread_join(th, NULL);
    }
    if (f.fd >= 0) {
        close(f.fd);
        unlink(path);
    }
    printf("bench http_floor mode=%s turbo=%d threads=%u answer_bytes=%u requests=%llu "
           "cpu_s=%.3f us_per_request=%.1f groups=%llu load=%.2f\n",
           mode, turbo ? 1 : 0, threads, answer_bytes, (unsigned long long)n, cpu,
           n ? cpu * 1e6 / (double)n : 0, (unsigned long long)f.groups, bench_loadavg());
    free(f.answer);
    return 0;
}
