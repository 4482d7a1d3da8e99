/* The physical floor: the smallest supervisor that can exist. It starts N `sleep 8888888`,
 * restarts any that dies at once (fork+exec, no checks, no logs, no control), and on SIGTERM
 * kills them all and exits. bench/supervisors.py measures it beside the real peers, so the
 * table shows how close each one comes to what the machine allows. Built static by run.sh. */
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;
static char *argv_sleep[] = {"sleep", "8888888", 0};

static pid_t start(void) {
    pid_t p = fork();
    if (p == 0) {
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, 0);
        execve("/usr/bin/sleep", argv_sleep, environ);
        execve("/bin/sleep", argv_sleep, environ);
        _exit(127);
    }
    return p;
}

int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 100;
    pid_t *kids = calloc(n, sizeof *kids);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    sigaddset(&set, SIGTERM);
    sigprocmask(SIG_BLOCK, &set, 0);
    for (int i = 0; i < n; i++) kids[i] = start();
    int stopping = 0, alive = n;
    while (!stopping || alive > 0) {
        int sig;
        sigwait(&set, &sig);
        if (sig == SIGTERM && !stopping) {
            stopping = 1;
            for (int i = 0; i < n; i++) kill(kids[i], SIGTERM);
        }
        pid_t p;
        while ((p = waitpid(-1, 0, WNOHANG)) > 0) {
            for (int i = 0; i < n; i++) {
                if (kids[i] != p) continue;
                if (stopping) { kids[i] = 0; alive--; }
                else kids[i] = start();
            }
        }
    }
    return 0;
}
