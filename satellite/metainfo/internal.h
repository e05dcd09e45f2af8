/* Helpers shared by the metainfo files (not an API). */
#ifndef SAT_METAINFO_INTERNAL_H
#define SAT_METAINFO_INTERNAL_H

#include <string.h>

#include "satellite/apikeys/apikeys.h"
#include "satellite/db/satdb.h"
#include "satellite/metainfo/metainfo.h"
#include "satellite/metainfo/redundancy.h"

#define PB_BYTES(d, l) ((ProtobufCBinaryData){.len = (l), .data = (uint8_t *)(d)})

/* Authorises header's API key for (op, bucket, path). */
TS_WARN_UNUSED ts_err sat_mi_auth(struct sat_metainfo *m,
                                  const Tessera__Metainfo__RequestHeader *header, enum sat_op op,
                                  ProtobufCBinaryData bucket, ProtobufCBinaryData path,
                                  struct sat_auth *auth);

/* Bucket names: 3..63 bytes of [a-z0-9.-], starting and ending with a letter or digit. */
TS_WARN_UNUSED ts_err sat_mi_check_bucket_name(ProtobufCBinaryData name);
/* Encrypted keys: 1..TS_ENCRYPTED_KEY_MAX bytes. */
TS_WARN_UNUSED ts_err sat_mi_check_key(ProtobufCBinaryData key);

/* Converters into arena-allocated protobufs (NULL when the arena is exhausted). */
Tessera__Metainfo__RedundancyScheme *sat_mi_redundancy_pb(struct sat_arena *a,
                                                          const struct sat_redundancy *r);
Tessera__Metainfo__Object *sat_mi_object_pb(struct sat_arena *a, const struct sat_object *o);
Tessera__Metainfo__Bucket *sat_mi_bucket_pb(struct sat_arena *a, const struct sat_bucket *b);

/* Signed IDs: msg packed, MAC'd with m->id_key and wrapped in a SignedBlob (arena bytes). */
TS_WARN_UNUSED ts_err sat_mi_id_sign(struct sat_metainfo *m, const ProtobufCMessage *msg,
                                     struct sat_arena *a, ProtobufCBinaryData *out);
/* Checks the MAC and unpacks into *out (free with protobuf_c_message_free_unpacked).
 * TS_ERR_AUTH_FAILED for a forged or altered blob, TS_ERR_MALFORMED otherwise. */
TS_WARN_UNUSED ts_err sat_mi_id_verify(struct sat_metainfo *m, ProtobufCBinaryData blob,
                                       const ProtobufCMessageDescriptor *desc,
                                       ProtobufCMessage **out);
/* Verifies a signed StreamID and authorises it for op on its bucket and key (the project of the
 * key must be the stream's). *out freed by the caller as above. */
TS_WARN_UNUSED ts_err sat_mi_stream_open(struct sat_metainfo *m,
                                         const Tessera__Metainfo__RequestHeader *header,
                                         ProtobufCBinaryData blob,
                                         Tessera__Metainfo__StreamID **out, struct sat_auth *auth);

/* memcpy that accepts protobuf-c's NULL data for empty fields. */
static inline void sat_mi_copy(void *dst, ProtobufCBinaryData b)
{
    if (b.len > 0) {
        memcpy(dst, b.data, b.len);
    }
}

/* Segment rows: the fields every segment shares (position, key, nonce, times), and storing one
 * after checking, in the same transaction, that its stream is still a pending object. */
TS_WARN_UNUSED ts_err sat_mi_segment_common(const Tessera__Metainfo__StreamID *sid,
                                            const Tessera__Metainfo__SegmentPosition *pos,
                                            ProtobufCBinaryData key_nonce, ProtobufCBinaryData key,
                                            struct sat_segment *seg);
TS_WARN_UNUSED ts_err sat_mi_segment_store(struct sat_metainfo *m,
                                           const Tessera__Metainfo__StreamID *sid,
                                           struct sat_segment *seg);

/* encryption column <-> proto. */
int64_t sat_mi_encryption_pack(const Tessera__Metainfo__EncryptionParameters *e);
Tessera__Metainfo__EncryptionParameters *sat_mi_encryption_pb(struct sat_arena *a, int64_t packed);

/* Signs the StreamID of object o (its upload ID) into out (arena bytes). */
TS_WARN_UNUSED ts_err sat_mi_stream_id_sign(struct sat_metainfo *m, const struct sat_object *o,
                                            int64_t placement, struct sat_arena *a,
                                            ProtobufCBinaryData *out);

/* Multipart CommitObject, in its transaction: checks the listed parts (strictly increasing, each
 * complete, each but the last at least part_size_min bytes) and deletes the segments of every
 * part not listed. TS_ERR_INVALID_ARGUMENT for a bad list, TS_ERR_NOT_FOUND for a missing or
 * incomplete part, TS_ERR_TOO_SMALL... see multipart.c. */
TS_WARN_UNUSED ts_err sat_mi_parts_assemble(struct ts_db_conn *c,
                                            const uint8_t stream_id[SAT_ID_SIZE],
                                            const uint32_t *parts, size_t count,
                                            int64_t part_size_min);

/* Bucket and key checks plus authorisation of op (read.c). */
TS_WARN_UNUSED ts_err sat_mi_auth_object(struct sat_metainfo *m,
                                         const Tessera__Metainfo__RequestHeader *h, enum sat_op op,
                                         ProtobufCBinaryData bucket, ProtobufCBinaryData key,
                                         struct sat_auth *auth);

#endif
