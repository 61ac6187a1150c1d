#!/usr/bin/env python3
"""An independent safetensors reader (json + struct only) used to cross-check rebench's writer.

Usage: safetensors_check.py FILE
Validates the official rules and prints, per tensor in offset order,
"NAME DTYPE [d0, d1] BEGIN CHECKSUM" (checksum = polynomial hash of the bytes, as the C++ test
computes it), then "__metadata__ k=v" lines sorted by key. Exits 1 with a message on a bad file.
"""
import json
import struct
import sys

SIZES = {"BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1, "I16": 2, "U16": 2, "F16": 2,
         "BF16": 2, "I32": 4, "U32": 4, "F32": 4, "F64": 8, "I64": 8, "U64": 8}


def fail(message):
    print("invalid: " + message)
    sys.exit(1)


def no_duplicates(pairs):
    keys = [k for k, _ in pairs]
    if len(keys) != len(set(keys)):
        fail("duplicate keys")
    return dict(pairs)


def main():
    with open(sys.argv[1], "rb") as f:
        data = f.read()
    if len(data) < 8:
        fail("shorter than 8 bytes")
    (n,) = struct.unpack("<Q", data[:8])
    if n > 100_000_000 or 8 + n > len(data):
        fail("bad header length")
    if n % 8 != 0:
        fail("header not padded to a multiple of 8")
    header = json.loads(data[8:8 + n].decode("utf-8"), object_pairs_hook=no_duplicates)
    buffer = data[8 + n:]
    metadata = header.pop("__metadata__", {})
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
        fail("metadata values must be strings")
    entries = []
    for name, info in header.items():
        if set(info) != {"dtype", "shape", "data_offsets"} or info["dtype"] not in SIZES:
            fail("bad tensor entry " + name)
        begin, end = info["data_offsets"]
        count = 1
        for d in info["shape"]:
            if not isinstance(d, int) or d < 0:
                fail("bad dimension")
            count *= d
        if end - begin != count * SIZES[info["dtype"]]:
            fail("offsets of %s do not match its shape" % name)
        if begin % SIZES[info["dtype"]] != 0:
            fail("%s is not aligned" % name)
        entries.append((begin, end, name, info))
    entries.sort()
    position = 0
    for begin, end, name, info in entries:
        if begin != position:
            fail("hole or overlap at " + name)
        position = end
    if position != len(buffer):
        fail("tensors do not cover the buffer")
    out = []
    for begin, end, name, info in entries:
        checksum = 0
        for byte in buffer[begin:end]:
            checksum = (checksum * 31 + byte) % 1000003
        shape = "[" + ", ".join(str(d) for d in info["shape"]) + "]"
        out.append("%s %s %s %d %d" % (name, info["dtype"], shape, begin, checksum))
    for key in sorted(metadata):
        out.append("__metadata__ %s=%s" % (key, metadata[key]))
    sys.stdout.buffer.write(("\n".join(out) + "\n").encode("utf-8"))


if __name__ == "__main__":
    main()
