# Build helpers shared by every folder: warning set, sanitizers, and the functions that declare a
# module library, a unit test, an integration test, a fuzz target and a benchmark.

set(TS_WARNINGS
    -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wvla -Wformat=2
    -Wno-unused-parameter)
if(TS_WERROR)
    # format-truncation is a heuristic whose verdict changes with the optimization level; our
    # snprintf calls check their return value, so it stays a visible warning, not a build failure.
    list(APPEND TS_WARNINGS -Werror -Wno-error=format-truncation)
endif()

if(NOT TS_SANITIZE STREQUAL "")
    # Sanitized builds keep some optimization so the suite's heavier tests stay quick.
    add_compile_options(-O1 -g)
endif()
if(TS_SANITIZE STREQUAL "address")
    add_compile_options(-fsanitize=address,undefined -fno-sanitize-recover=undefined
                        -fno-omit-frame-pointer)
    add_link_options(-fsanitize=address,undefined)
elseif(TS_SANITIZE STREQUAL "thread")
    add_compile_options(-fsanitize=thread -fno-omit-frame-pointer)
    add_link_options(-fsanitize=thread)
elseif(NOT TS_SANITIZE STREQUAL "")
    message(FATAL_ERROR "TS_SANITIZE must be empty, address or thread, not '${TS_SANITIZE}'")
endif()
if(TS_FUZZ)
    # Instrument every library for coverage, not only the harnesses, so libFuzzer sees the parsers.
    add_compile_options(-fsanitize=fuzzer-no-link)
endif()
if(CMAKE_BUILD_TYPE STREQUAL "Release")
    add_compile_options(-O2 -g)
endif()
add_compile_definitions(_GNU_SOURCE)

set(TS_CORE_DIR ${CMAKE_SOURCE_DIR}/core)

# ts_module(NAME SOURCES a.c b.c DEPS lib...): a static library for one module. Its include root is
# core/ (so code writes #include "ec/ec.h") plus the generated protobuf headers.
function(ts_module name)
    cmake_parse_arguments(M "" "" "SOURCES;DEPS" ${ARGN})
    add_library(${name} STATIC ${M_SOURCES})
    target_compile_options(${name} PRIVATE ${TS_WARNINGS})
    target_include_directories(${name} PUBLIC ${TS_CORE_DIR} ${CMAKE_SOURCE_DIR}/include)
    target_link_libraries(${name} PUBLIC ${M_DEPS})
endfunction()

# ts_unit_test(NAME SOURCES test.c DEPS lib...): a cmocka executable registered with ctest.
function(ts_unit_test name)
    cmake_parse_arguments(T "" "TIMEOUT" "SOURCES;DEPS" ${ARGN})
    add_executable(${name} ${T_SOURCES})
    target_compile_options(${name} PRIVATE ${TS_WARNINGS} -Wno-missing-prototypes)
    target_link_libraries(${name} PRIVATE ${T_DEPS} PkgConfig::CMOCKA)
    add_test(NAME unit.${name} COMMAND ${name})
    if(NOT T_TIMEOUT)
        set(T_TIMEOUT 300)
    endif()
    set_tests_properties(unit.${name} PROPERTIES TIMEOUT ${T_TIMEOUT} LABELS unit
        ENVIRONMENT "TS_SOURCE_DIR=${CMAKE_SOURCE_DIR};TS_BUILD_DIR=${CMAKE_BINARY_DIR}")
endfunction()

# ts_fuzz_target(NAME SOURCES fuzz.c DEPS lib...): a libFuzzer target, built only with TS_FUZZ=ON.
# Without it, the same file is linked into a replay driver so its corpus still runs as a test.
function(ts_fuzz_target name)
    cmake_parse_arguments(F "" "" "SOURCES;DEPS" ${ARGN})
    if(TS_FUZZ)
        add_executable(${name} ${F_SOURCES})
        target_compile_options(${name} PRIVATE -fsanitize=fuzzer ${TS_WARNINGS}
                               -Wno-missing-prototypes)
        target_link_options(${name} PRIVATE -fsanitize=fuzzer)
        target_link_libraries(${name} PRIVATE ${F_DEPS})
        add_dependencies(fuzz_all ${name})
    else()
        add_executable(${name}_replay ${F_SOURCES} ${CMAKE_SOURCE_DIR}/tests/fuzz/replay_main.c)
        target_compile_options(${name}_replay PRIVATE ${TS_WARNINGS} -Wno-missing-prototypes)
        target_link_libraries(${name}_replay PRIVATE ${F_DEPS})
        add_test(NAME fuzz_replay.${name} COMMAND ${name}_replay
                 ${CMAKE_SOURCE_DIR}/tests/fuzz/corpus/${name})
        set_tests_properties(fuzz_replay.${name} PROPERTIES TIMEOUT 120 LABELS fuzz)
    endif()
endfunction()

# ts_bench(NAME SOURCES b.c DEPS lib...): a benchmark program (not a test; run with make bench).
function(ts_bench name)
    cmake_parse_arguments(B "" "" "SOURCES;DEPS" ${ARGN})
    add_executable(${name} ${B_SOURCES})
    target_compile_options(${name} PRIVATE ${TS_WARNINGS} -Wno-missing-prototypes)
    target_link_libraries(${name} PRIVATE ${B_DEPS})
endfunction()
