#!/usr/bin/env bash
# Builds the C++ client (wrapper, tt-metal adapter over the stand-in, churn driver) with warnings as
# errors and runs its unit tests under ThreadSanitizer and under AddressSanitizer+UBSan. The adapter is
# C++20 (as tt-metal: std::span in track_function_start); the wrapper alone must stay C++17.
# Run from anywhere (CI runs it from the repository root); outputs go to clients/cpp/build/.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
build="$here/build"
mkdir -p "$build"
CXX="${CXX:-g++}"
CC="${CC:-gcc}"
cxxflags=(-std=c++20 -Wall -Wextra -Werror -pthread -I "$here/tt_metal/standin")
cflags=(-std=c11 -Wall -Wextra -Werror -pthread)
adapter=("$here/tt_metal/allocwatch_processor.cpp" "$here/tt_metal/standin/standin.cpp")

# The wrapper on its own, as a C++17 program includes it.
printf '#include "%s/allocwatch.hpp"\nint main() { return 0; }\n' "$here" |
  "$CXX" -std=c++17 -Wall -Wextra -Werror -pedantic -fsyntax-only -x c++ -

# The C implementation compiled once as C (what every C++ program here links).
"$CC" "${cflags[@]}" -O2 -c "$here/allocwatch_impl.c" -o "$build/allocwatch_impl.o"

# The churn driver needs the real C implementation; the header holds it once clients/c is complete.
if nm "$build/allocwatch_impl.o" | grep -q ' T allocwatch_open$'; then
  "$CXX" "${cxxflags[@]}" -O2 "$here/examples/tt_metal_churn.cpp" "${adapter[@]}" "$build/allocwatch_impl.o" \
    -o "$build/tt_metal_churn"
  echo "built $build/tt_metal_churn"
else
  echo "clients/c/allocwatch.h has no implementation yet: tt_metal_churn not built" >&2
  [[ "${ALLOCWATCH_REQUIRE_C_IMPLEMENTATION:-0}" == 1 ]] && exit 1
  "$CXX" "${cxxflags[@]}" -fsyntax-only "$here/examples/tt_metal_churn.cpp"
fi

run_sanitized() {
  local name="$1"
  shift
  "$CC" "${cflags[@]}" -g -O1 "$@" -c "$here/test/recording_client.c" -o "$build/recording_client.$name.o"
  "$CXX" "${cxxflags[@]}" -g -O1 "$@" "$here/test/adapter_test.cpp" "${adapter[@]}" \
    "$build/recording_client.$name.o" -o "$build/adapter_test.$name"
  echo "== adapter_test under $name"
  TSAN_OPTIONS="halt_on_error=1" ASAN_OPTIONS="detect_leaks=1:halt_on_error=1" \
    UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1" "$build/adapter_test.$name"
}

run_sanitized tsan -fsanitize=thread
run_sanitized asan -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
# Against an older tt-metal tree, whose track_function_start span holds std::any (the stand-in switches too).
run_sanitized any-arguments -DALLOCWATCH_TT_METAL_ANY_ARGUMENTS
echo "clients/cpp: all tests passed"
