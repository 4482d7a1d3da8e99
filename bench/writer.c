/* The log benchmark's writer: N numbered lines of exactly 100 bytes, written in 1 MB
 * writes as fast as the pipe (or file) takes them, then it sleeps until killed (so a
 * supervisor that restarts exited programs does not write them twice).
 *
 *   writer N START_FILE [ID]
 *
 * Line i is "%012llu" i, then " ID ", then 'x' up to 99 bytes, then '\n'. The wall-clock
 * start time (ns) is written to START_FILE before the first line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <errno.h>

#define LINE 100
#define CHUNK (1 << 20)

int main(int argc, char **argv) {
    if (argc < 3) { fprintf(stderr, "usage: writer N START_FILE [ID]\n"); return 64; }
    unsigned long long n = strtoull(argv[1], 0, 10);
    const char *id = argc > 3 ? argv[3] : "w";
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    FILE *f = fopen(argv[2], "w");
    if (!f) return 1;
    fprintf(f, "%lld\n", (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec);
    fclose(f);
    static char buf[CHUNK + LINE];
    size_t used = 0;
    for (unsigned long long i = 1; i <= n; i++) {
        char *l = buf + used;
        int k = snprintf(l, LINE, "%012llu %s ", i, id);
        memset(l + k, 'x', LINE - 1 - k);
        l[LINE - 1] = '\n';
        used += LINE;
        if (used + LINE > CHUNK || i == n) {
            size_t off = 0;
            while (off < used) {
                ssize_t w = write(1, buf + off, used - off);
                if (w < 0) { if (errno == EINTR) continue; return 2; }
                off += (size_t)w;
            }
            used = 0;
        }
    }
    for (;;) pause();
}
