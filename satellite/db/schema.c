/* The satellite's schema as versioned migrations (core/db applies them in order at start). Only
 * append new versions; never edit an applied one. SQL is the subset SQLite and PostgreSQL share:
 * BIGINT, BYTEA, TEXT, DOUBLE PRECISION, composite primary keys, partial-free indexes. */
#include "base/base.h"
#include "satellite/db/satdb.h"
#include "satellite/durability/schema.h"

static const char SCHEMA_V1[] =
    "CREATE TABLE projects ("
    "  id BYTEA PRIMARY KEY,"
    "  name TEXT NOT NULL,"
    "  salt BYTEA NOT NULL,"
    "  created_at BIGINT NOT NULL);"
    "CREATE TABLE api_keys ("
    "  id BYTEA PRIMARY KEY,"
    "  head BYTEA NOT NULL UNIQUE,"
    "  secret BYTEA NOT NULL,"
    "  project_id BYTEA NOT NULL REFERENCES projects(id),"
    "  name TEXT NOT NULL,"
    "  created_at BIGINT NOT NULL);"
    "CREATE INDEX api_keys_project ON api_keys (project_id);"
    "CREATE TABLE revocations ("
    "  tail BYTEA PRIMARY KEY,"
    "  api_key_id BYTEA NOT NULL,"
    "  created_at BIGINT NOT NULL);"
    "CREATE TABLE buckets ("
    "  project_id BYTEA NOT NULL REFERENCES projects(id),"
    "  name BYTEA NOT NULL,"
    "  created_at BIGINT NOT NULL,"
    "  placement BIGINT NOT NULL,"
    "  PRIMARY KEY (project_id, name));"
    "CREATE TABLE objects ("
    "  project_id BYTEA NOT NULL,"
    "  bucket_name BYTEA NOT NULL,"
    "  object_key BYTEA NOT NULL,"
    "  version BIGINT NOT NULL,"
    "  stream_id BYTEA NOT NULL UNIQUE,"
    "  status BIGINT NOT NULL,"
    "  created_at BIGINT NOT NULL,"
    "  expires_at BIGINT NOT NULL,"
    "  zombie_deadline BIGINT NOT NULL,"
    "  segment_count BIGINT NOT NULL,"
    "  total_plain_size BIGINT NOT NULL,"
    "  total_encrypted_size BIGINT NOT NULL,"
    "  encrypted_metadata BYTEA NOT NULL,"
    "  encrypted_metadata_key BYTEA NOT NULL,"
    "  encrypted_metadata_nonce BYTEA NOT NULL,"
    "  encryption BIGINT NOT NULL,"
    "  redundancy BIGINT NOT NULL,"
    "  PRIMARY KEY (project_id, bucket_name, object_key, version));"
    "CREATE INDEX objects_status_zombie ON objects (status, zombie_deadline);"
    "CREATE INDEX objects_expires ON objects (expires_at);"
    "CREATE TABLE segments ("
    "  stream_id BYTEA NOT NULL,"
    "  position BIGINT NOT NULL,"
    "  root_piece_id BYTEA NOT NULL,"
    "  encrypted_key_nonce BYTEA NOT NULL,"
    "  encrypted_key BYTEA NOT NULL,"
    "  encrypted_size BIGINT NOT NULL,"
    "  plain_offset BIGINT NOT NULL,"
    "  plain_size BIGINT NOT NULL,"
    "  redundancy BIGINT NOT NULL,"
    "  inline_data BYTEA,"
    "  remote_alias_pieces BYTEA,"
    "  created_at BIGINT NOT NULL,"
    "  expires_at BIGINT NOT NULL,"
    "  PRIMARY KEY (stream_id, position));"
    "CREATE TABLE node_aliases ("
    "  node_id BYTEA PRIMARY KEY,"
    "  alias BIGINT NOT NULL UNIQUE);"
    "CREATE TABLE nodes ("
    "  id BYTEA PRIMARY KEY,"
    "  address TEXT NOT NULL,"
    "  last_net TEXT NOT NULL,"
    "  public_key BYTEA NOT NULL,"
    "  free_disk BIGINT NOT NULL,"
    "  version TEXT NOT NULL,"
    "  wallet TEXT NOT NULL,"
    "  email TEXT NOT NULL,"
    "  last_contact_success BIGINT NOT NULL,"
    "  last_contact_failure BIGINT NOT NULL,"
    "  vetted_at BIGINT NOT NULL,"
    "  disqualified_at BIGINT NOT NULL,"
    "  exit_initiated_at BIGINT NOT NULL,"
    "  exit_finished_at BIGINT NOT NULL,"
    "  audit_alpha DOUBLE PRECISION NOT NULL,"
    "  audit_beta DOUBLE PRECISION NOT NULL,"
    "  created_at BIGINT NOT NULL);"
    "CREATE INDEX nodes_contact ON nodes (last_contact_success);"
    "CREATE TABLE serials ("
    "  serial BYTEA PRIMARY KEY,"
    "  project_id BYTEA NOT NULL,"
    "  bucket_name BYTEA NOT NULL,"
    "  expires_at BIGINT NOT NULL);"
    "CREATE INDEX serials_expires ON serials (expires_at);"
    "CREATE TABLE node_windows ("
    "  node_id BYTEA NOT NULL,"
    "  window_start BIGINT NOT NULL,"
    "  total BIGINT NOT NULL,"
    "  items BIGINT NOT NULL,"
    "  settled_at BIGINT NOT NULL,"
    "  PRIMARY KEY (node_id, window_start));"
    "CREATE TABLE node_bandwidth ("
    "  node_id BYTEA NOT NULL,"
    "  window_start BIGINT NOT NULL,"
    "  action BIGINT NOT NULL,"
    "  amount BIGINT NOT NULL,"
    "  PRIMARY KEY (node_id, window_start, action));"
    "CREATE TABLE bucket_bandwidth ("
    "  project_id BYTEA NOT NULL,"
    "  bucket_name BYTEA NOT NULL,"
    "  interval_start BIGINT NOT NULL,"
    "  action BIGINT NOT NULL,"
    "  allocated BIGINT NOT NULL,"
    "  settled BIGINT NOT NULL,"
    "  PRIMARY KEY (project_id, bucket_name, interval_start, action));";

/* Multipart uploads: pending objects flagged multipart are listable (ListPendingObjects), and the
 * last segment of each part carries the part's encrypted ETag. */
static const char SCHEMA_V3_MULTIPART[] =
    "ALTER TABLE objects ADD COLUMN multipart BIGINT NOT NULL DEFAULT 0;"
    "ALTER TABLE segments ADD COLUMN encrypted_etag BYTEA;"
    "CREATE INDEX objects_pending ON objects (project_id, bucket_name, status, object_key);";

static const struct ts_db_migration MIGRATIONS[] = {
    {1, "initial satellite schema", SCHEMA_V1, NULL},
    {2, "durability: loop cursor, reputation, audits, repair queue", SAT_DURABILITY_SCHEMA_V2,
     NULL},
    {3, "multipart uploads and part etags", SCHEMA_V3_MULTIPART, NULL},
};

ts_err sat_db_migrate(struct ts_db *db)
{
    return ts_db_migrate(db, MIGRATIONS, TS_ARRAY_LEN(MIGRATIONS), "satellite");
}

int64_t sat_db_schema_latest(void)
{
    return MIGRATIONS[TS_ARRAY_LEN(MIGRATIONS) - 1].version;
}
