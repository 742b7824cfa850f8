// RUNNEL_CHECK: an always-on invariant for states that would corrupt data if
// execution went on. Prints the condition, location and message, then aborts.
#pragma once

#include <cstdio>
#include <cstdlib>

#define RUNNEL_CHECK(cond, ...)                                                     \
  do {                                                                              \
    if (__builtin_expect(!(cond), 0)) {                                             \
      std::fprintf(stderr, "runnel: check failed: %s at %s:%d: ", #cond, __FILE__, \
                   __LINE__);                                                       \
      std::fprintf(stderr, __VA_ARGS__);                                            \
      std::fputc('\n', stderr);                                                     \
      std::abort();                                                                 \
    }                                                                               \
  } while (0)
