/*
 * The repair queue (a DB table, reference §8.5-8.6) and the other durability tables the checker
 * and the repairer write: lost segments, counters, the health histogram. Entries are keyed by
 * (stream_id, position); popping takes the segment with the fewest healthy pieces (then the
 * oldest) that no worker attempted within retry_s, and stamps it, so several workers (or
 * satellites) never take the same one at once.
 */
#ifndef SAT_REPAIR_QUEUE_H
#define SAT_REPAIR_QUEUE_H

#include <stdbool.h>
#include <stdint.h>

#include "base/base.h"
#include "db/db.h"
#include "satellite/db/satdb.h"

struct sat_repair_job {
    uint8_t stream_id[SAT_ID_SIZE];
    int64_t position;
    int64_t healthy; /* when queued */
    int64_t attempts;
};

/* Inserts or refreshes (healthy, updated_at = now) an entry. */
TS_WARN_UNUSED ts_err sat_repair_queue_put(struct ts_db_conn *c, const uint8_t *stream_id,
                                           int64_t position, int64_t healthy, int64_t now_s);
/* Takes the next job (see above) into *job; *found false when none is due. */
TS_WARN_UNUSED ts_err sat_repair_queue_pop(struct ts_db *db, int64_t now_s, int64_t retry_s,
                                           struct sat_repair_job *job, bool *found);
/* Removes an entry (repaired, or no longer needs it). */
TS_WARN_UNUSED ts_err sat_repair_queue_delete(struct ts_db *db, const uint8_t *stream_id,
                                              int64_t position);
/* Removes entries not refreshed since before (a complete checker pass started at before). */
TS_WARN_UNUSED ts_err sat_repair_queue_clean(struct ts_db *db, int64_t before, int64_t *removed);
TS_WARN_UNUSED ts_err sat_repair_queue_length(struct ts_db *db, int64_t *length);

/* Records a lost segment (idempotent). */
TS_WARN_UNUSED ts_err sat_lost_segment_put(struct ts_db_conn *c, const uint8_t *stream_id,
                                           int64_t position, int64_t retrievable, int64_t required,
                                           int64_t now_s);

/* Adds delta to a named counter ("audit.success", "repair.segments", ...). */
TS_WARN_UNUSED ts_err sat_counter_add(struct ts_db *db, const char *name, int64_t delta);
TS_WARN_UNUSED ts_err sat_counter_add_conn(struct ts_db_conn *c, const char *name, int64_t delta);
TS_WARN_UNUSED ts_err sat_counter_get(struct ts_db *db, const char *name, int64_t *value);

/* Replaces the stored histogram with counts[0..len) (segments by healthy piece count). */
TS_WARN_UNUSED ts_err sat_health_histogram_store(struct ts_db *db, const int64_t *counts,
                                                 size_t len, int64_t pass);

#endif
