/* Progress on stderr: on a terminal a bar redrawn in place (at most 10 times a
 * second) with loss, accuracy, speed and time left; otherwise nothing until the
 * epoch's summary line, which the caller prints. */
#include "train.h"

#include <time.h>

double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void progress_start(progress *p, int epoch, int epochs, size_t total)
{
    p->epoch = epoch;
    p->epochs = epochs;
    p->total = total;
    p->done = 0;
    p->t_epoch = now_seconds();
    p->t_last_draw = 0;
}

static void fmt_time(char *buf, size_t n, double s)
{
    if (s < 60) snprintf(buf, n, "%.0fs", s);
    else if (s < 3600) snprintf(buf, n, "%dm%02ds", (int)s / 60, (int)s % 60);
    else snprintf(buf, n, "%dh%02dm", (int)s / 3600, (int)s / 60 % 60);
}

void progress_update(progress *p, size_t done, double loss, double acc)
{
    p->done = done;
    if (!p->bar || p->quiet) return;
    double t = now_seconds();
    if (done < p->total && t - p->t_last_draw < 0.1) return;
    p->t_last_draw = t;
    double el = t - p->t_epoch, rate = el > 0 ? (double)done / el : 0;
    double frac = p->total ? (double)done / (double)p->total : 1;
    enum { W = 24 };
    char bar[W + 1];
    int fill = (int)(frac * W);
    for (int i = 0; i < W; i++) bar[i] = i < fill ? '=' : (i == fill ? '>' : ' ');
    bar[W] = '\0';
    char eta[16];
    fmt_time(eta, sizeof eta, rate > 0 ? (double)(p->total - done) / rate : 0);
    char accs[24] = "";
    if (acc >= 0) snprintf(accs, sizeof accs, "  acc %5.1f%%", 100 * acc);
    fprintf(stderr, "\r\033[Kepoch %d/%d [%s] %3.0f%%  loss %.4f%s  %6.0f %s/s  ETA %s",
            p->epoch, p->epochs, bar, 100 * frac, loss, accs, rate,
            p->unit ? p->unit : "samples", eta);
    fflush(stderr);
}

void progress_end(progress *p)
{
    if (p->bar && !p->quiet) {
        fputs("\r\033[K", stderr);
        fflush(stderr);
    }
}
