# Strict warnings and hardening for our own targets only (third-party code is
# never built here). AUTHD_SANITIZE adds sanitizers to everything we build.

set(AUTHD_WARNINGS
  -Wall -Wextra -Werror -Wformat=2 -Wformat-security -Wstrict-prototypes
  -Wmissing-prototypes -Wvla -Wpointer-arith -Wimplicit-fallthrough -Wshadow)

set(AUTHD_AUTOINIT -ftrivial-auto-var-init=zero)
if(CMAKE_C_COMPILER_ID STREQUAL "Clang" AND CMAKE_C_COMPILER_VERSION VERSION_LESS 16)
  # clang 14 still hides this option behind a flag.
  list(APPEND AUTHD_AUTOINIT
       -enable-trivial-auto-var-init-zero-knowing-it-will-be-removed-from-clang)
endif()

if(AUTHD_SANITIZE)
  add_compile_options(-fsanitize=${AUTHD_SANITIZE} -fno-sanitize-recover=all
                      -fno-omit-frame-pointer)
  add_link_options(-fsanitize=${AUTHD_SANITIZE})
  set(AUTHD_HARDENING -fstack-protector-strong ${AUTHD_AUTOINIT})
else()
  set(AUTHD_HARDENING -D_FORTIFY_SOURCE=2 -fstack-protector-strong ${AUTHD_AUTOINIT})
endif()

# The defines every one of our targets shares: glibc's explicit_bzero and
# clock_gettime need _DEFAULT_SOURCE under -std=c11.
function(authd_strict target)
  target_compile_options(${target} PRIVATE ${AUTHD_WARNINGS} ${AUTHD_HARDENING})
  target_compile_definitions(${target} PRIVATE _DEFAULT_SOURCE _GNU_SOURCE)
  target_link_options(${target} PRIVATE -Wl,-z,relro,-z,now)
  if(AUTHD_TEST_HOOKS)
    target_compile_definitions(${target} PRIVATE AUTHD_TEST_HOOKS=1)
  endif()
endfunction()

# A cmocka unit test: tests/unit/<module>/test_<file>.c linked to one library.
function(authd_unit_test name source)
  add_executable(${name} ${source})
  authd_strict(${name})
  target_link_libraries(${name} PRIVATE ${ARGN} PkgConfig::CMOCKA)
  add_test(NAME ${name} COMMAND ${name})
endfunction()
