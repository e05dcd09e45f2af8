/*
 * A one-line progress bar for cp on stderr, drawn only when stderr is a terminal: bytes done (and
 * the total when known), the rate since the start and the estimated time left. Redrawn at most
 * every CLI_PROGRESS_REDRAW_MS, so it costs nothing next to the transfer. 100% is shown only once
 * the operation finished (an upload's last bytes are not the end: the commit follows, shown as a
 * note such as "committing").
 */
#ifndef TS_CLI_PROGRESS_H
#define TS_CLI_PROGRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CLI_PROGRESS_REDRAW_MS 200

struct cli_progress {
    bool enabled;
    const char *label; /* borrowed, e.g. the object key */
    uint64_t total;    /* bytes; meaningful when total_known */
    bool total_known;
    uint64_t done;
    int64_t start_ms, last_draw_ms; /* monotonic */
    const char *note;               /* shown instead of the ETA ("committing"), or NULL */
};

/* Starts a bar; enabled only when stderr is a tty and force_off is false. */
void cli_progress_start(struct cli_progress *p, const char *label, uint64_t total, bool total_known,
                        bool force_off);
void cli_progress_add(struct cli_progress *p, uint64_t bytes);
/* Shows note (static text, e.g. "committing") instead of the ETA and redraws now. */
void cli_progress_note(struct cli_progress *p, const char *note);
/* Draws the final state (100% when ok, the state reached and "failed" otherwise) and ends the
 * line (no-op when disabled). */
void cli_progress_finish(struct cli_progress *p, bool ok);

/* The bar's text: "  45% [#########...........] 12.3 MiB / 27.0 MiB  5.1 MiB/s  ETA 0:03"
 * (without total: "12.3 MiB  5.1 MiB/s"). Unless finished the percentage stops at 99. A note
 * replaces "ETA ..." (without total it is appended). */
void cli_progress_format(char *out, size_t out_size, uint64_t done, uint64_t total,
                         bool total_known, int64_t elapsed_ms, bool finished, const char *note);

/* "1.5 KiB", "12.3 MiB", "532 B" into out. */
void cli_bytes_format(uint64_t bytes, char *out, size_t out_size);

#endif
