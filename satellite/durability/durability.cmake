# Durability sources (segment loop, audits, reputation, repair, loss model; docs/durability.md),
# compiled into sat_lib, and their tests. Included at the end of satellite/CMakeLists.txt.
set(SAT_DUR_DIR ${CMAKE_CURRENT_SOURCE_DIR})
target_sources(sat_lib PRIVATE
    ${SAT_DUR_DIR}/segmentloop/segmentloop.c
    ${SAT_DUR_DIR}/reputation/reputation.c
    ${SAT_DUR_DIR}/audit/piece_client.c ${SAT_DUR_DIR}/audit/fanout.c
    ${SAT_DUR_DIR}/audit/collector.c ${SAT_DUR_DIR}/audit/verifier.c
    ${SAT_DUR_DIR}/audit/reverify.c
    ${SAT_DUR_DIR}/repair/checker.c ${SAT_DUR_DIR}/repair/queue.c
    ${SAT_DUR_DIR}/repair/repairer.c
    ${SAT_DUR_DIR}/durability/model.c ${SAT_DUR_DIR}/durability/config.c
    ${SAT_DUR_DIR}/durability/service.c ${SAT_DUR_DIR}/durability/status.c
    ${SAT_DUR_DIR}/durability/cli.c)
target_link_libraries(sat_lib PUBLIC ts_ec m)

set(SAT_DUR_UNIT ${CMAKE_SOURCE_DIR}/tests/unit)
if(EXISTS ${SAT_DUR_UNIT}/test_sat_reputation.c)
    ts_unit_test(test_sat_reputation SOURCES ${SAT_DUR_UNIT}/test_sat_reputation.c
                 ${SAT_DUR_UNIT}/test_db_fixture.c DEPS sat_lib)
    ts_test_use_postgres(unit.test_sat_reputation)
endif()
if(EXISTS ${SAT_DUR_UNIT}/test_sat_repair.c)
    ts_unit_test(test_sat_repair SOURCES ${SAT_DUR_UNIT}/test_sat_repair.c
                 ${SAT_DUR_UNIT}/test_db_fixture.c DEPS sat_lib)
    ts_test_use_postgres(unit.test_sat_repair)
endif()
if(EXISTS ${SAT_DUR_UNIT}/test_sat_audit.c)
    ts_unit_test(test_sat_audit SOURCES ${SAT_DUR_UNIT}/test_sat_audit.c DEPS sat_lib)
endif()

# Integration: a real satellite and real nodes (tests/integration/durability/).
set(SAT_DUR_INT ${CMAKE_SOURCE_DIR}/tests/integration/durability)
if(EXISTS ${SAT_DUR_INT}/test_durability.c AND TARGET tessera-node)
    add_executable(test_durability ${SAT_DUR_INT}/test_durability.c ${SAT_DUR_INT}/dur_harness.c)
    target_compile_options(test_durability PRIVATE ${TS_WARNINGS} -Wno-missing-prototypes)
    target_link_libraries(test_durability PRIVATE sat_lib tessera PkgConfig::CMOCKA)
    add_dependencies(test_durability tessera-node tessera-satellite)
    add_test(NAME integration.durability
             COMMAND test_durability $<TARGET_FILE:tessera-satellite> $<TARGET_FILE:tessera-node>)
    set_tests_properties(integration.durability PROPERTIES TIMEOUT 300 LABELS integration)
endif()

# Benchmark: repair throughput and audit cost (bench/repair/).
if(EXISTS ${CMAKE_SOURCE_DIR}/bench/repair/bench_repair.c AND TARGET tessera-node)
    ts_bench(bench_repair SOURCES ${CMAKE_SOURCE_DIR}/bench/repair/bench_repair.c
             ${SAT_DUR_INT}/dur_harness.c DEPS sat_lib tessera)
    target_include_directories(bench_repair PRIVATE ${SAT_DUR_INT})
    add_dependencies(bench_repair tessera-node tessera-satellite)
endif()
