#!/usr/bin/env bash
# Builds the Kafka test broker (librdkafka's mock cluster with
# librdkafka-mock-transactions.patch applied, plus mock-broker.c) and prints
# the path of the binary as the last line of stdout.
#
# The binary is cached in <repo>/.cache/mock-broker/<key>/mock-broker, where
# <key> hashes the librdkafka version, the patch, the C program and this
# script: when it exists, nothing is built. Concurrent callers are safe: the
# build runs under a lock (flock, when available) in a private temporary
# directory and the binary is moved into place with an atomic rename.
#
# Environment:
#   LIBRDKAFKA_SRC     librdkafka source tree (default: the one shipped in
#                      node_modules/@confluentinc/kafka-javascript/deps)
#   MOCK_BROKER_CACHE  cache directory (default: <repo>/.cache/mock-broker)
#   MOCK_BROKER_JOBS   make -j (default 2)
#   CC                 C compiler (default cc)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
src="${LIBRDKAFKA_SRC:-$root/node_modules/@confluentinc/kafka-javascript/deps/librdkafka}"
cache="${MOCK_BROKER_CACHE:-$root/.cache/mock-broker}"
jobs="${MOCK_BROKER_JOBS:-2}"
cc="${CC:-cc}"
patch_file="$here/librdkafka-mock-transactions.patch"
program="$here/mock-broker.c"

if [[ ! -f "$src/src/rdkafka.h" || ! -x "$src/configure" ]]; then
  echo "build-mock-broker: librdkafka source not found in $src" >&2
  echo "  (is @confluentinc/kafka-javascript installed? set LIBRDKAFKA_SRC to override)" >&2
  exit 1
fi

# e.g. "#define RD_KAFKA_VERSION 0x020f01ff"
version="$(sed -n 's/^#define RD_KAFKA_VERSION  *\(0x[0-9a-fA-F]*\).*/\1/p' "$src/src/rdkafka.h")"
if [[ -z "$version" ]]; then
  echo "build-mock-broker: cannot read RD_KAFKA_VERSION from $src/src/rdkafka.h" >&2
  exit 1
fi

key="$( { echo "librdkafka $version"; cat "$patch_file" "$program" "${BASH_SOURCE[0]}"; } |
  sha256sum | cut -c1-16)"
out_dir="$cache/$key"
bin="$out_dir/mock-broker"

if [[ -x "$bin" ]]; then
  echo "$bin"
  exit 0
fi

mkdir -p "$cache"

# One builder at a time per key; the others wait here and then find the
# binary. The kernel drops the lock if the holder dies.
if command -v flock >/dev/null 2>&1; then
  exec 9>"$cache/$key.lock"
  if ! flock -n 9; then
    echo "build-mock-broker: waiting for another build of $key" >&2
    flock 9
  fi
  if [[ -x "$bin" ]]; then
    echo "$bin"
    exit 0
  fi
fi

work="$(mktemp -d "$cache/build.$key.XXXXXX")"
trap 'rm -rf "$work"' EXIT
log="$work/build.log"

fail() {
  echo "build-mock-broker: $1 (log: last lines below)" >&2
  tail -n 40 "$log" >&2 || true
  exit 1
}

start=$(date +%s)
echo "build-mock-broker: building $key (librdkafka $version) in $work" >&2

# Only what the build needs, without the objects the npm package's own build
# left in the tree.
tree="$work/librdkafka"
mkdir -p "$tree"
(cd "$src" && tar -cf - \
  --exclude='*.o' --exclude='*.d' --exclude='*.a' --exclude='*.so' --exclude='*.so.*' \
  --exclude='*.dylib' --exclude='*.lds' --exclude='*.pc' \
  configure configure.self mklove lds-gen.py src) | (cd "$tree" && tar -xf -)

(cd "$tree" && patch -p1 --batch --forward <"$patch_file") >>"$log" 2>&1 ||
  fail "patch does not apply to librdkafka $version"

# No TLS, SASL, compression libraries, HTTP or syslog: the test broker speaks
# plaintext only, and the mock stores record batches without decoding them.
# -O0 without debug symbols: compiling takes a third of the CPU time of -O2,
# and a test broker's speed doesn't matter.
(cd "$tree" && ./configure \
  --disable-ssl --disable-gssapi --disable-sasl --disable-zlib --disable-zstd \
  --disable-lz4-ext --disable-curl --disable-syslog \
  --disable-optimization --disable-debug-symbols) >>"$log" 2>&1 ||
  fail "configure failed"

# Just the static library: no shared library, no C++ library, no examples.
make -C "$tree/src" -j"$jobs" librdkafka.a >>"$log" 2>&1 || fail "librdkafka build failed"

libs="$(sed -n 's/^LIBS+=[[:space:]]*//p' "$tree/Makefile.config" | tr '\n' ' ')"
# shellcheck disable=SC2086 # $libs is a list of linker flags
"$cc" -O2 -Wall -o "$work/mock-broker" "$program" -I"$tree/src" "$tree/src/librdkafka.a" \
  ${libs:--lm -ldl -lpthread -lrt} >>"$log" 2>&1 || fail "linking mock-broker failed"

mkdir -p "$out_dir"
mv "$work/mock-broker" "$out_dir/mock-broker.tmp.$$"
mv -f "$out_dir/mock-broker.tmp.$$" "$bin"

echo "build-mock-broker: built $bin in $(($(date +%s) - start))s" >&2
echo "$bin"
