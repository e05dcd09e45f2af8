#!/usr/bin/python3
"""zfec_oracle.py K N SHARE_SIZE IN OUT: the independent oracle for tests/unit/test_ec.c.

IN holds whole stripes of K*SHARE_SIZE bytes. The script regroups them into K blocks (block i =
share i of every stripe, i.e. data piece i), encodes them with zfec (Debian python3-zfec), and
writes the N resulting blocks (pieces 0..N-1) one after the other to OUT. zfec returns the input
blocks unchanged as blocks 0..K-1, so piece i < K is data block i, as in Tessera's layout.
"""
import sys

import zfec


def main():
    k, n, size = (int(a) for a in sys.argv[1:4])
    with open(sys.argv[4], "rb") as f:
        data = f.read()
    stripe = k * size
    if len(data) % stripe:
        sys.exit("input is not a whole number of stripes")
    stripes = len(data) // stripe
    blocks = [b"".join(data[s * stripe + i * size:s * stripe + (i + 1) * size]
                       for s in range(stripes)) for i in range(k)]
    pieces = zfec.Encoder(k, n).encode(blocks)
    if len(pieces) != n or any(pieces[i] != blocks[i] for i in range(k)):
        sys.exit("zfec did not return the systematic layout")
    with open(sys.argv[5], "wb") as f:
        for p in pieces:
            f.write(p)


if __name__ == "__main__":
    main()
