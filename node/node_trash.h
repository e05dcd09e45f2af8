/*
 * Trash of the storage node (reference §8.8, docs/gc.md). Pieces deleted by a satellite or found
 * to be garbage by a Retain bloom filter are not removed at once: they move to
 * trash/<sat b32>/<YYYY-MM-DD>/<2>/<50>.sj1 (node_blob_trash), stay there for the keep period
 * (7 days by default) and are then deleted a whole day directory at a time. Until then a satellite
 * may call RestoreTrash (after restoring its database from a backup) and get every one of its
 * trashed pieces back into blobs/. Both walks keep the used-space totals (struct node_space) in
 * step with what they move or delete. Callers serialize walks of one satellite (node_retain does).
 */
#ifndef NODE_TRASH_H
#define NODE_TRASH_H

#include <stdint.h>

#include "base/base.h"
#include "node.h"

/* Trash is kept this long after the end of the day a piece was trashed (reference: 7 days). */
#define NODE_TRASH_KEEP_S_DEFAULT (7 * 24 * 3600)

struct node_trash_stats {
    int64_t pieces; /* piece files moved (restore) or deleted (expire) */
    int64_t bytes;  /* their file bytes */
};

/* Moves every trashed piece of sat back into blobs/ (a piece that is already in blobs/ keeps that
 * copy and the trash copy is deleted). Empty trash directories are removed. TS_ERR_IO when a
 * directory cannot be read or a rename fails (the walk stops; what moved stays moved). */
TS_WARN_UNUSED ts_err node_trash_restore(struct node *n, const uint8_t sat_id[32],
                                         struct node_trash_stats *out);

/* Deletes the trash day directories of every satellite whose day ended at least keep_s before
 * now_s (a day directory is named by the UTC date the pieces were trashed on). Directories whose
 * name is not a date are left alone (logged). */
TS_WARN_UNUSED ts_err node_trash_expire(struct node *n, int64_t now_s, int64_t keep_s,
                                        struct node_trash_stats *out);

/* Counts trashed piece files of sat (all days). */
TS_WARN_UNUSED ts_err node_trash_count(struct node *n, const uint8_t sat_id[32],
                                       struct node_trash_stats *out);

#endif
