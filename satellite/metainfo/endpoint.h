/*
 * Registers the Metainfo service's methods ("/tessera.metainfo.Metainfo/<Method>") on an RPC
 * server. Every method is unary; see proto/metainfo.proto and docs/satellite.md.
 */
#ifndef SAT_METAINFO_ENDPOINT_H
#define SAT_METAINFO_ENDPOINT_H

#include "base/base.h"
#include "rpc/rpc.h"
#include "satellite/metainfo/metainfo.h"

#define SAT_METAINFO_METHOD(name) "/tessera.metainfo.Metainfo/" name

/* m is borrowed and must outlive the server. */
TS_WARN_UNUSED ts_err sat_metainfo_register(struct ts_rpc_server *srv, struct sat_metainfo *m);

#endif
