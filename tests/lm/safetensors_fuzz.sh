#!/usr/bin/env bash
# Coverage-guided fuzzing of the safetensors reader with clang's libFuzzer under ASan + UBSan.
# Opt-in (needs clang; `apt-get install clang` on Debian); CI runs the randomized GoogleTest
# SafetensorsFuzz.* instead. Usage: tests/lm/safetensors_fuzz.sh [SECONDS] (default 60).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
SECONDS_TO_RUN="${1:-60}"
WORK="${FUZZ_WORK_DIR:-$(mktemp -d /tmp/rebench-safetensors-fuzz.XXXXXX)}"
mkdir -p "$WORK/corpus"
clang++ -std=c++17 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
  -I"$ROOT/include" -I"$ROOT/src" "$ROOT/tests/lm/safetensors_fuzz_target.cpp" \
  "$ROOT/src/lm/safetensors.cpp" -o "$WORK/safetensors_fuzz"
# Seeds: small valid files (one per dtype family, with metadata and a zero-size tensor).
python3 - "$WORK/corpus" <<'PY'
import json, struct, sys
def write(path, tensors, metadata=None):
    header, offset, data = {}, 0, b""
    if metadata: header["__metadata__"] = metadata
    for name, dtype, shape, payload in tensors:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(payload)]}
        offset += len(payload); data += payload
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    open(path, "wb").write(struct.pack("<Q", len(text)) + text + data)
out = sys.argv[1]
write(out + "/f32", [("w", "F32", [2, 2], bytes(16))])
write(out + "/mixed", [("a", "F64", [1], bytes(8)), ("b", "BF16", [3], bytes(6)), ("c", "U8", [0], b"")], {"format": "pt"})
write(out + "/scalar", [("s", "I64", [], bytes(8))])
write(out + "/empty", [])
PY
cat > "$WORK/dict" <<'DICT'
"{"
"}"
"["
"]"
"\"dtype\""
"\"shape\""
"\"data_offsets\""
"\"__metadata__\""
"\"F32\""
"\"BF16\""
"\"F8_E4M3\""
"18446744073709551615"
"-1"
DICT
echo "fuzzing for ${SECONDS_TO_RUN}s in $WORK" >&2
"$WORK/safetensors_fuzz" -max_total_time="$SECONDS_TO_RUN" -max_len=4096 -timeout=10 \
  -dict="$WORK/dict" -print_final_stats=1 "$WORK/corpus"
