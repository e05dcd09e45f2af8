/*
 * Tables of the durability subsystem (segment loop cursor, audits, reputation, repair queue,
 * lost segments, counters, health histogram), appended to the satellite's migrations in
 * satellite/db/schema.c. Append new versions only; never edit one that shipped.
 */
#ifndef SAT_DURABILITY_SCHEMA_H
#define SAT_DURABILITY_SCHEMA_H

#define SAT_DURABILITY_SCHEMA_V2                                                                   \
    "CREATE TABLE reputation ("                                                                    \
    "  node_id BYTEA PRIMARY KEY,"                                                                 \
    "  audit_alpha DOUBLE PRECISION NOT NULL,"                                                     \
    "  audit_beta DOUBLE PRECISION NOT NULL,"                                                      \
    "  unknown_alpha DOUBLE PRECISION NOT NULL,"                                                   \
    "  unknown_beta DOUBLE PRECISION NOT NULL,"                                                    \
    "  audits_total BIGINT NOT NULL,"                                                              \
    "  audits_success BIGINT NOT NULL,"                                                            \
    "  audits_failed BIGINT NOT NULL,"                                                             \
    "  audits_offline BIGINT NOT NULL,"                                                            \
    "  audits_unknown BIGINT NOT NULL,"                                                            \
    "  audits_contained BIGINT NOT NULL,"                                                          \
    "  online_score DOUBLE PRECISION NOT NULL,"                                                    \
    "  suspended_at BIGINT NOT NULL,"                                                              \
    "  last_audit_at BIGINT NOT NULL);"                                                            \
    "CREATE TABLE online_windows ("                                                                \
    "  node_id BYTEA NOT NULL,"                                                                    \
    "  window_start BIGINT NOT NULL,"                                                              \
    "  total BIGINT NOT NULL,"                                                                     \
    "  online BIGINT NOT NULL,"                                                                    \
    "  PRIMARY KEY (node_id, window_start));"                                                      \
    "CREATE TABLE reverify_queue ("                                                                \
    "  node_id BYTEA NOT NULL,"                                                                    \
    "  stream_id BYTEA NOT NULL,"                                                                  \
    "  position BIGINT NOT NULL,"                                                                  \
    "  piece_num BIGINT NOT NULL,"                                                                 \
    "  attempts BIGINT NOT NULL,"                                                                  \
    "  inserted_at BIGINT NOT NULL,"                                                               \
    "  last_attempt_at BIGINT NOT NULL,"                                                           \
    "  PRIMARY KEY (node_id, stream_id, position));"                                               \
    "CREATE TABLE repair_queue ("                                                                  \
    "  stream_id BYTEA NOT NULL,"                                                                  \
    "  position BIGINT NOT NULL,"                                                                  \
    "  healthy BIGINT NOT NULL,"                                                                   \
    "  inserted_at BIGINT NOT NULL,"                                                               \
    "  updated_at BIGINT NOT NULL,"                                                                \
    "  attempted_at BIGINT NOT NULL,"                                                              \
    "  attempts BIGINT NOT NULL,"                                                                  \
    "  PRIMARY KEY (stream_id, position));"                                                        \
    "CREATE INDEX repair_queue_health ON repair_queue (healthy, inserted_at);"                     \
    "CREATE TABLE lost_segments ("                                                                 \
    "  stream_id BYTEA NOT NULL,"                                                                  \
    "  position BIGINT NOT NULL,"                                                                  \
    "  retrievable BIGINT NOT NULL,"                                                               \
    "  required BIGINT NOT NULL,"                                                                  \
    "  detected_at BIGINT NOT NULL,"                                                               \
    "  PRIMARY KEY (stream_id, position));"                                                        \
    "CREATE TABLE loop_cursors ("                                                                  \
    "  name TEXT PRIMARY KEY,"                                                                     \
    "  stream_id BYTEA NOT NULL,"                                                                  \
    "  position BIGINT NOT NULL,"                                                                  \
    "  pass BIGINT NOT NULL,"                                                                      \
    "  pass_started_at BIGINT NOT NULL,"                                                           \
    "  updated_at BIGINT NOT NULL);"                                                               \
    "CREATE TABLE durability_counters ("                                                           \
    "  name TEXT PRIMARY KEY,"                                                                     \
    "  value BIGINT NOT NULL);"                                                                    \
    "CREATE TABLE segment_health ("                                                                \
    "  healthy BIGINT PRIMARY KEY,"                                                                \
    "  segments BIGINT NOT NULL,"                                                                  \
    "  pass BIGINT NOT NULL);"

#endif
