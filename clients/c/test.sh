#!/usr/bin/env bash
# The C client's checks (run from the repository root: bash clients/c/test.sh). Builds the header and the
# churn example with -std=c11 -Wall -Wextra -Werror (and the header's declarations from C++17), then builds
# and runs every clients/c/tests/*.c under ThreadSanitizer and under AddressSanitizer + UBSan, and churn
# (no server) under both. Build outputs go to clients/c/build/. Exits non-zero on the first failure.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
build="$here/build"
mkdir -p "$build"
CC="${CC:-gcc}"
CXX="${CXX:-g++}"
strict=(-std=c11 -Wall -Wextra -Werror -pthread)
# The wire bytes every client's tests share (tests/check.h golden_hex).
golden=(-DALLOCWATCH_GOLDEN_FRAMES="\"$here/../../test/protocol/golden-frames.txt\"")

echo "== build: allocwatch.h (C11) and churn"
"$CC" "${strict[@]}" -O2 "$here/examples/churn.c" -o "$build/churn"
printf '#define ALLOCWATCH_IMPLEMENTATION\n#include "allocwatch.h"\n' > "$build/impl.c"
"$CC" "${strict[@]}" -I"$here" -c "$build/impl.c" -o "$build/impl.o"
if command -v "$CXX" > /dev/null; then
  echo "== build: allocwatch.h declarations from C++17, linked with the C implementation"
  printf '#include "allocwatch.h"\nint main() { return allocwatch_strerror(ALLOCWATCH_OK)[0] == 65 ? 0 : 1; }\n' > "$build/decl.cpp"
  "$CXX" -std=c++17 -Wall -Wextra -Werror -pthread -I"$here" "$build/decl.cpp" "$build/impl.o" -o "$build/decl"
  "$build/decl"
fi

declare -A flags=(
  [tsan]="-fsanitize=thread -O1 -g"
  [asan]="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer -O1 -g"
)
for sanitizer in tsan asan; do
  for test in "$here"/tests/*.c; do
    name="$(basename "$test" .c)"
    echo "== $sanitizer: $name"
    # shellcheck disable=SC2086
    "$CC" "${strict[@]}" "${golden[@]}" ${flags[$sanitizer]} "$test" -o "$build/$name-$sanitizer"
    TSAN_OPTIONS="halt_on_error=1" ASAN_OPTIONS="detect_leaks=1" timeout 120 "$build/$name-$sanitizer"
  done
  echo "== $sanitizer: churn without a server"
  # shellcheck disable=SC2086
  "$CC" "${strict[@]}" ${flags[$sanitizer]} "$here/examples/churn.c" -o "$build/churn-$sanitizer"
  TSAN_OPTIONS="halt_on_error=1" timeout 120 "$build/churn-$sanitizer" --socket "$build/no-server.sock" \
    --threads 8 --ops 200000 --devices 2 --hold-ms 0 > /dev/null
done
echo "clients/c: all checks passed"
