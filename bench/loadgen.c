/* The rolling-restart benchmark's load generator: open loop, a fixed rate, one new TCP
 * connection per request (HTTP/1.0 GET /), all on one epoll thread.
 *
 *   loadgen IP PORT RATE SECONDS START_NS RECORDS [TIMEOUT_MS]
 *
 * Request i is due at START_NS + i / RATE (CLOCK_MONOTONIC, ns) and is sent then whether or
 * not earlier ones have been answered; its latency runs from that due time, not from when it
 * was sent, so a stalled server cannot hide behind a stalled client (no coordinated
 * omission). A request ends as one of:
 *
 *   ok       a 2xx status line, then the server closed the connection
 *   refused  the connect was refused (nothing listening)
 *   reset    the connection was reset (or the write hit a closed one)
 *   closed   the server closed the connection without a whole status line
 *   timeout  no end within TIMEOUT_MS (default 10000) of its due time
 *   status   an answer other than 2xx
 *   error    anything else (the errno is counted in "errors")
 *
 * RECORDS gets one line per request: "due_offset_ns latency_ns kind send_lag_ns" (latency -1
 * if it did not end; the lag is how late it was sent). stdout gets a JSON summary: counts by kind, p50/p99/max latency of the ok
 * requests, and how late the sends were against their schedule (the generator's own lag). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

enum { PENDING, OK, REFUSED, RESET, CLOSED, TIMEOUT, STATUS, ERROR, KINDS };
static const char *KIND[KINDS] = {"pending", "ok", "refused", "reset", "closed", "timeout", "status", "error"};
enum { CONNECTING, READING };

struct req {
    int64_t due, sent, done;
    int fd;
    uint8_t kind, state, got;
    char head[13];
};

static const char REQUEST[] = "GET / HTTP/1.0\r\nHost: loadgen\r\n\r\n";
static struct req *reqs;
static int ep;
static int64_t outstanding;
static int errnos[256];

static int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void finish(struct req *r, int kind, int err) {
    if (r->kind != PENDING) return;
    r->kind = (uint8_t)kind;
    r->done = now_ns();
    if (kind == ERROR) errnos[err & 255]++;
    if (r->fd >= 0) {
        close(r->fd); /* also removes it from the epoll set */
        r->fd = -1;
    }
    outstanding--;
}

static int kind_of(int err) {
    switch (err) {
    case ECONNREFUSED: return REFUSED;
    case ECONNRESET: case EPIPE: case ECONNABORTED: return RESET;
    case ETIMEDOUT: return TIMEOUT;
    default: return ERROR;
    }
}

static void send_request(struct req *r, uint64_t id) {
    ssize_t w = send(r->fd, REQUEST, sizeof REQUEST - 1, MSG_NOSIGNAL);
    if (w != (ssize_t)(sizeof REQUEST - 1)) {
        finish(r, w < 0 ? kind_of(errno) : ERROR, w < 0 ? errno : EMSGSIZE);
        return;
    }
    r->state = READING;
    struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.u64 = id};
    if (epoll_ctl(ep, EPOLL_CTL_MOD, r->fd, &ev) < 0) finish(r, ERROR, errno);
}

static void launch(struct req *r, uint64_t id, const struct sockaddr_in *to) {
    outstanding++;
    r->sent = now_ns();
    r->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (r->fd < 0) { finish(r, ERROR, errno); return; }
    int one = 1;
    setsockopt(r->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    int rc = connect(r->fd, (const struct sockaddr *)to, sizeof *to);
    if (rc < 0 && errno != EINPROGRESS) { finish(r, kind_of(errno), errno); return; }
    r->state = CONNECTING;
    struct epoll_event ev = {.events = EPOLLOUT, .data.u64 = id};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, r->fd, &ev) < 0) { finish(r, ERROR, errno); return; }
    if (rc == 0) send_request(r, id);
}

static void on_event(struct req *r, uint64_t id, uint32_t events) {
    if (r->kind != PENDING) return;
    if (r->state == CONNECTING) {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(r->fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err) { finish(r, kind_of(err), err); return; }
        if (events & (EPOLLOUT | EPOLLIN)) send_request(r, id);
        return;
    }
    char buf[16384];
    for (;;) {
        ssize_t n = read(r->fd, buf, sizeof buf);
        if (n > 0) {
            size_t take = (size_t)n < sizeof r->head - 1 - r->got ? (size_t)n : sizeof r->head - 1 - r->got;
            memcpy(r->head + r->got, buf, take);
            r->got += (uint8_t)take;
            continue;
        }
        if (n == 0) {
            /* "HTTP/1.x NNN" */
            if (r->got < 12 || strncmp(r->head, "HTTP/1.", 7) != 0) finish(r, CLOSED, 0);
            else finish(r, r->head[9] == '2' ? OK : STATUS, 0);
            return;
        }
        if (errno == EINTR) continue;
        if (errno == EAGAIN) return;
        finish(r, kind_of(errno), errno);
        return;
    }
}

static int cmp64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static double pct(const int64_t *v, size_t n, double q) {
    if (!n) return -1;
    size_t i = (size_t)(q * (double)n + 0.999999);
    if (i < 1) i = 1;
    if (i > n) i = n;
    return (double)v[i - 1] / 1e6;
}

int main(int argc, char **argv) {
    if (argc < 7) {
        fprintf(stderr, "usage: loadgen IP PORT RATE SECONDS START_NS RECORDS [TIMEOUT_MS]\n");
        return 64;
    }
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[2]))};
    if (inet_pton(AF_INET, argv[1], &to.sin_addr) != 1) { fprintf(stderr, "bad IP %s\n", argv[1]); return 64; }
    double rate = atof(argv[3]), seconds = atof(argv[4]);
    int64_t start = strtoll(argv[5], 0, 10);
    int64_t timeout = (argc > 7 ? atoll(argv[7]) : 10000) * 1000000LL;
    size_t total = (size_t)(rate * seconds);
    if (rate <= 0 || total == 0) { fprintf(stderr, "nothing to send\n"); return 64; }

    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) { rl.rlim_cur = rl.rlim_max; setrlimit(RLIMIT_NOFILE, &rl); }

    reqs = calloc(total, sizeof *reqs);
    for (size_t i = 0; i < total; i++) {
        reqs[i].due = start + (int64_t)((double)i * 1e9 / rate);
        reqs[i].fd = -1;
    }
    ep = epoll_create1(EPOLL_CLOEXEC);
    int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    struct epoll_event tev = {.events = EPOLLIN, .data.u64 = UINT64_MAX};
    epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &tev);

    size_t next = 0, oldest = 0;
    struct epoll_event evs[512];
    int64_t armed = -1;
    while (next < total || outstanding > 0) {
        int64_t now = now_ns();
        while (next < total && reqs[next].due <= now) {
            launch(&reqs[next], next, &to);
            next++;
        }
        /* Time out the oldest requests first: due times only grow. */
        while (oldest < next) {
            struct req *r = &reqs[oldest];
            if (r->kind != PENDING) { oldest++; continue; }
            if (now - r->due < timeout) break;
            finish(r, TIMEOUT, 0);
            oldest++;
        }
        if (next >= total && outstanding == 0) break;
        if (next < total && reqs[next].due != armed) {
            armed = reqs[next].due;
            struct itimerspec it = {.it_value = {.tv_sec = armed / 1000000000LL, .tv_nsec = armed % 1000000000LL}};
            timerfd_settime(tfd, TFD_TIMER_ABSTIME, &it, 0);
        }
        int n = epoll_wait(ep, evs, 512, 50);
        for (int i = 0; i < n; i++) {
            uint64_t id = evs[i].data.u64;
            if (id == UINT64_MAX) {
                uint64_t expirations;
                (void)!read(tfd, &expirations, sizeof expirations);
                continue;
            }
            on_event(&reqs[id], id, evs[i].events);
        }
    }

    FILE *out = fopen(argv[6], "w");
    if (!out) { perror(argv[6]); return 1; }
    int counts[KINDS] = {0};
    int64_t *lat = malloc(total * sizeof *lat), *lag = malloc(total * sizeof *lag);
    size_t nok = 0;
    for (size_t i = 0; i < total; i++) {
        struct req *r = &reqs[i];
        counts[r->kind]++;
        int64_t l = r->kind == TIMEOUT || r->kind == PENDING ? -1 : r->done - r->due;
        if (r->kind == OK) lat[nok++] = l;
        lag[i] = r->sent - r->due;
        fprintf(out, "%lld %lld %s %lld\n", (long long)(r->due - start), (long long)l, KIND[r->kind],
                (long long)(r->sent - r->due));
    }
    fclose(out);
    qsort(lat, nok, sizeof *lat, cmp64);
    qsort(lag, total, sizeof *lag, cmp64);
    printf("{\"total\": %zu, \"rate\": %g, \"seconds\": %g", total, rate, seconds);
    for (int k = OK; k < KINDS; k++) printf(", \"%s\": %d", KIND[k], counts[k]);
    printf(", \"failed\": %zu", total - (size_t)counts[OK]);
    printf(", \"p50_ms\": %.3f, \"p99_ms\": %.3f, \"max_ms\": %.3f", pct(lat, nok, 0.5), pct(lat, nok, 0.99),
           nok ? (double)lat[nok - 1] / 1e6 : -1.0);
    printf(", \"send_lag_p99_ms\": %.3f, \"send_lag_max_ms\": %.3f", pct(lag, total, 0.99), (double)lag[total - 1] / 1e6);
    int policy = sched_getscheduler(0);
    printf(", \"sched\": \"%s\", \"nice\": %d", policy == SCHED_FIFO ? "SCHED_FIFO" : policy == SCHED_RR ? "SCHED_RR" : "SCHED_OTHER",
           getpriority(PRIO_PROCESS, 0));
    printf(", \"errors\": {");
    int first = 1;
    for (int e = 0; e < 256; e++)
        if (errnos[e]) { printf("%s\"%s\": %d", first ? "" : ", ", strerrorname_np(e) ? strerrorname_np(e) : "?", errnos[e]); first = 0; }
    printf("}}\n");
    return 0;
}
