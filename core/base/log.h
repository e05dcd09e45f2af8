/*
 * Logging: one line per event on stderr, "time level component message key=value ...".
 * Lines are formatted into a fixed stack buffer (TS_LOG_LINE_MAX) and written with one write(2),
 * so lines from several threads never interleave. The level is set once at start (or from the
 * TS_LOG_LEVEL environment variable: debug, info, warn, error).
 */
#ifndef TS_BASE_LOG_H
#define TS_BASE_LOG_H

enum ts_log_level { TS_LOG_DEBUG, TS_LOG_INFO, TS_LOG_WARN, TS_LOG_ERROR };

void ts_log_set_level(enum ts_log_level level);
enum ts_log_level ts_log_get_level(void);

/* component names the subsystem ("node.piecestore"); fmt is the message with key=value pairs. */
void ts_log(enum ts_log_level level, const char *component, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define ts_log_debug(component, ...) ts_log(TS_LOG_DEBUG, component, __VA_ARGS__)
#define ts_log_info(component, ...) ts_log(TS_LOG_INFO, component, __VA_ARGS__)
#define ts_log_warn(component, ...) ts_log(TS_LOG_WARN, component, __VA_ARGS__)
#define ts_log_error(component, ...) ts_log(TS_LOG_ERROR, component, __VA_ARGS__)

#endif
