#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "base/base.h"
#include "base/log.h"

static const char *const level_names[] = {"DEBUG", "INFO", "WARN", "ERROR"};
/* -1 until the first use reads TS_LOG_LEVEL; atomic because every thread logs. */
static _Atomic int level_current = -1;

static enum ts_log_level level_from_env(void)
{
    const char *s = getenv("TS_LOG_LEVEL");
    if (s == NULL) {
        return TS_LOG_INFO;
    }
    for (unsigned i = 0; i < TS_ARRAY_LEN(level_names); i++) {
        if (strcasecmp(s, level_names[i]) == 0) {
            return (enum ts_log_level)i;
        }
    }
    return TS_LOG_INFO;
}

void ts_log_set_level(enum ts_log_level level)
{
    atomic_store_explicit(&level_current, (int)level, memory_order_relaxed);
}

enum ts_log_level ts_log_get_level(void)
{
    int level = atomic_load_explicit(&level_current, memory_order_relaxed);
    if (level < 0) {
        /* Two threads may both read the environment; they store the same value. */
        level = (int)level_from_env();
        atomic_store_explicit(&level_current, level, memory_order_relaxed);
    }
    return (enum ts_log_level)level;
}

void ts_log(enum ts_log_level level, const char *component, const char *fmt, ...)
{
    if (level < ts_log_get_level()) {
        return;
    }
    char line[TS_LOG_LINE_MAX];
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    int n = snprintf(line, sizeof line, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %-5s %s ",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                     tm.tm_sec, ts.tv_nsec / 1000000, level_names[level], component);
    if (n < 0) {
        return;
    }
    size_t used = (size_t)n < sizeof line ? (size_t)n : sizeof line - 1;
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + used, sizeof line - used, fmt, ap);
    va_end(ap);
    if (m > 0) {
        used += (size_t)m;
    }
    /* Keep room for the newline; a cut line ends in "..." so the reader knows. */
    if (used >= sizeof line - 1) {
        used = sizeof line - 5;
        memcpy(line + used, "...", 3);
        used += 3;
    }
    line[used++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, used);
    (void)w;
}
