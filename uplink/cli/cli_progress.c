/* The cp progress bar (see cli_progress.h). */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/base.h"
#include "cli/cli_progress.h"

#define BAR_WIDTH 24

void cli_bytes_format(uint64_t bytes, char *out, size_t out_size)
{
    static const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
    double v = (double)bytes;
    size_t u = 0;
    while (v >= 1024.0 && u + 1 < TS_ARRAY_LEN(units)) {
        v /= 1024.0;
        u++;
    }
    if (u == 0) {
        snprintf(out, out_size, "%llu B", (unsigned long long)bytes);
    } else {
        snprintf(out, out_size, "%.1f %s", v, units[u]);
    }
}

static void eta_format(uint64_t seconds, char *out, size_t out_size)
{
    if (seconds >= 100 * 3600) {
        snprintf(out, out_size, ">99h");
    } else if (seconds >= 3600) {
        snprintf(out, out_size, "%llu:%02llu:%02llu", (unsigned long long)(seconds / 3600),
                 (unsigned long long)(seconds / 60 % 60), (unsigned long long)(seconds % 60));
    } else {
        snprintf(out, out_size, "%llu:%02llu", (unsigned long long)(seconds / 60),
                 (unsigned long long)(seconds % 60));
    }
}

void cli_progress_format(char *out, size_t out_size, uint64_t done, uint64_t total,
                         bool total_known, int64_t elapsed_ms, bool finished, const char *note)
{
    char d[32], t[32], r[32], eta[32] = "--:--";
    double rate = elapsed_ms > 0 ? (double)done * 1000.0 / (double)elapsed_ms : 0.0;
    cli_bytes_format(done, d, sizeof d);
    cli_bytes_format((uint64_t)rate, r, sizeof r);
    if (!total_known) {
        snprintf(out, out_size, "%s  %s/s%s%s", d, r, note ? "  " : "", note ? note : "");
        return;
    }
    if (done > total) {
        total = done;
    }
    cli_bytes_format(total, t, sizeof t);
    unsigned pct = total > 0 ? (unsigned)(done * 100 / total) : 100;
    if (!finished && pct > 99) {
        pct = 99; /* the last bytes are not the end (an upload still commits) */
    }
    char bar[BAR_WIDTH + 1];
    size_t fill = (size_t)pct * BAR_WIDTH / 100;
    memset(bar, '#', fill);
    memset(bar + fill, '.', BAR_WIDTH - fill);
    bar[BAR_WIDTH] = 0;
    if (rate >= 1.0) {
        eta_format((uint64_t)((double)(total - done) / rate), eta, sizeof eta);
    }
    if (note != NULL) {
        snprintf(out, out_size, "%3u%% [%s] %s / %s  %s/s  %s", pct, bar, d, t, r, note);
    } else {
        snprintf(out, out_size, "%3u%% [%s] %s / %s  %s/s  ETA %s", pct, bar, d, t, r, eta);
    }
}

static void draw(struct cli_progress *p, int64_t now_ms, bool finished)
{
    char line[160];
    cli_progress_format(line, sizeof line, p->done, p->total, p->total_known, now_ms - p->start_ms,
                        finished, p->note);
    /* \r and "clear to end of line" keep one line even when the text gets shorter. */
    fprintf(stderr, "\r%.40s %s\033[K", p->label, line);
    fflush(stderr);
    p->last_draw_ms = now_ms;
}

void cli_progress_start(struct cli_progress *p, const char *label, uint64_t total, bool total_known,
                        bool force_off)
{
    memset(p, 0, sizeof(*p));
    p->enabled = !force_off && isatty(STDERR_FILENO);
    p->label = label;
    p->total = total;
    p->total_known = total_known;
    p->start_ms = ts_monotonic_ms();
    if (p->enabled) {
        draw(p, p->start_ms, false);
    }
}

void cli_progress_add(struct cli_progress *p, uint64_t bytes)
{
    p->done += bytes;
    if (!p->enabled) {
        return;
    }
    int64_t now = ts_monotonic_ms();
    if (now - p->last_draw_ms >= CLI_PROGRESS_REDRAW_MS) {
        draw(p, now, false);
    }
}

void cli_progress_note(struct cli_progress *p, const char *note)
{
    p->note = note;
    if (p->enabled) {
        draw(p, ts_monotonic_ms(), false);
    }
}

void cli_progress_finish(struct cli_progress *p, bool ok)
{
    if (!p->enabled) {
        return;
    }
    p->note = ok ? NULL : "failed";
    draw(p, ts_monotonic_ms(), ok);
    fprintf(stderr, "\n");
    p->enabled = false;
}
