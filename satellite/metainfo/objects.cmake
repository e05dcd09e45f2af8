# Object features of metainfo (multipart uploads, server-side copy/move, metadata updates, piece
# retries, per-project rate limit, revocation cache): sources added to sat_lib, and their tests.
target_sources(sat_lib PRIVATE
    ${CMAKE_CURRENT_SOURCE_DIR}/db/multipart.c ${CMAKE_CURRENT_SOURCE_DIR}/db/copy.c
    ${CMAKE_CURRENT_SOURCE_DIR}/db/revcache.c
    ${CMAKE_CURRENT_SOURCE_DIR}/metainfo/ratelimit.c ${CMAKE_CURRENT_SOURCE_DIR}/metainfo/multipart.c
    ${CMAKE_CURRENT_SOURCE_DIR}/metainfo/copy.c ${CMAKE_CURRENT_SOURCE_DIR}/metainfo/retry.c)

set(SAT_OBJX_TEST ${CMAKE_SOURCE_DIR}/tests/unit/test_sat_metainfo_objects.c)
if(EXISTS ${SAT_OBJX_TEST})
    ts_unit_test(test_sat_metainfo_objects SOURCES ${SAT_OBJX_TEST}
                 ${CMAKE_SOURCE_DIR}/tests/unit/test_sat_keys.c
                 ${CMAKE_SOURCE_DIR}/tests/unit/sat_test_harness.c DEPS sat_lib)
    target_include_directories(test_sat_metainfo_objects PRIVATE ${CMAKE_SOURCE_DIR}/tests/unit)
endif()
