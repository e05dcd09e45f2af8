/*
 * The storage node's order bookkeeping (reference §7.6):
 *  - node_serials: the in-memory replay table of used serial numbers, bounded in bytes. An entry
 *    lives until its order expires. When the table is full, expired entries are dropped first,
 *    then the quarter that expires soonest (a replay of such an old serial is still refused by the
 *    satellite at settlement, so the node only risks serving bytes twice, never being paid twice).
 *  - node_orders_store: append-only files orders/unsent/<sat b32>-<hour>.v1, one per satellite and
 *    hour of order creation, holding (limit, highest order) entries for settlement. Each entry is
 *    "TSO1" | u32 BE length | first 4 bytes of SHA-256(payload) | payload (SettlementEntry), written
 *    with one write(2); a torn tail after a crash is detected and ignored by the reader.
 *    Settlement (node_settle.h) lists the windows, reads them, and moves each settled one to
 *    orders/archive/<sat b32>-<hour>.<accepted|rejected>.<archived at>.v1, kept
 *    TS_NODE_ORDERS_ARCHIVE_KEEP_S and then deleted.
 * Both are thread-safe.
 */
#ifndef NODE_ORDERS_H
#define NODE_ORDERS_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "orders/orders.h"

struct node_serials;

TS_WARN_UNUSED ts_err node_serials_new(size_t bytes_max, struct node_serials **out);
void node_serials_free(struct node_serials *s);
/* Records serial (valid until expiration_s). TS_ERR_REPLAYED when it is already recorded. */
TS_WARN_UNUSED ts_err node_serials_add(struct node_serials *s,
                                       const uint8_t serial[TS_SERIAL_SIZE], int64_t expiration_s,
                                       int64_t now_s);
size_t node_serials_count(struct node_serials *s);

struct node_orders_store;

/* Opens (creating) storage_dir/orders/unsent. */
TS_WARN_UNUSED ts_err node_orders_store_open(const char *storage_dir,
                                             struct node_orders_store **out);
void node_orders_store_free(struct node_orders_store *st);
/* Appends (limit, order) to the file of limit's satellite and creation hour. */
TS_WARN_UNUSED ts_err node_orders_store_add(struct node_orders_store *st,
                                            const struct ts_order_limit *limit,
                                            const struct ts_order *order);

/* Calls fn for each intact entry of the file for (sat, hour_s); stops at a torn or corrupted
 * entry (returning TS_ERR_CHECKSUM after calling fn for the ones before it). fn returning an
 * error stops the walk with that error. TS_ERR_NOT_FOUND when there is no such file. */
typedef ts_err (*node_orders_entry_fn)(const struct ts_order_limit *limit,
                                       const struct ts_order *order, void *ctx);
TS_WARN_UNUSED ts_err node_orders_store_read(struct node_orders_store *st,
                                             const struct ts_node_id *sat, int64_t hour_s,
                                             node_orders_entry_fn fn, void *ctx);

/* One unsent settlement file: a satellite and the hour (Unix seconds, multiple of 3600). */
struct node_orders_window {
    struct ts_node_id satellite;
    int64_t hour_s;
};

/* Lists unsent windows into out (at most max, in no particular order; *count of them). Files
 * whose names do not parse are skipped. TS_ERR_IO when the directory cannot be read. */
TS_WARN_UNUSED ts_err node_orders_store_windows(struct node_orders_store *st,
                                                struct node_orders_window *out, size_t max,
                                                size_t *count);

/* Moves the unsent file of (sat, hour_s) to the archive, named with status ("accepted",
 * "rejected") and now_s. Done under the append lock, so an entry appended later starts a new
 * unsent file instead of landing in the archived one. TS_ERR_NOT_FOUND when there is no file. */
TS_WARN_UNUSED ts_err node_orders_store_archive(struct node_orders_store *st,
                                                const struct ts_node_id *sat, int64_t hour_s,
                                                const char *status, int64_t now_s);

/* Deletes archived files archived before cutoff_s; *removed gets how many. */
TS_WARN_UNUSED ts_err node_orders_store_cleanup(struct node_orders_store *st, int64_t cutoff_s,
                                                int *removed);

#endif
