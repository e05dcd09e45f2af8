# Garbage collection and graceful exit (docs/gc.md), compiled into sat_lib, and their tests.
# Included at the end of satellite/CMakeLists.txt.
# satellite/admin (operator commands over nodes and exits) rides along.
target_sources(sat_lib PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/gc/gc.c
                               ${CMAKE_CURRENT_SOURCE_DIR}/gexit/gexit.c
                               ${CMAKE_CURRENT_SOURCE_DIR}/admin/admin.c)
target_link_libraries(sat_lib PUBLIC ts_bloom)

set(SAT_GC_UNIT ${CMAKE_SOURCE_DIR}/tests/unit)
if(EXISTS ${SAT_GC_UNIT}/test_sat_gc.c)
    ts_unit_test(test_sat_gc SOURCES ${SAT_GC_UNIT}/test_sat_gc.c DEPS sat_lib)
endif()
if(EXISTS ${SAT_GC_UNIT}/test_sat_config.c)
    ts_unit_test(test_sat_config SOURCES ${SAT_GC_UNIT}/test_sat_config.c DEPS sat_lib)
endif()
