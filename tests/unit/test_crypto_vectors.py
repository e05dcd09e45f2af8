#!/usr/bin/env python3
"""Independent reference for the known-answer vectors in test_crypto.c.

Written from reference/storj-v3.md §3.2 and §3.4 with Python's hmac/hashlib and the
`cryptography` package, sharing no code with core/crypto. Run it to reprint the vectors:
    python3 tests/unit/test_crypto_vectors.py [--fuzz-seeds tests/fuzz/corpus/fuzz_path_decrypt]
"""
import hashlib
import hmac
import os
import subprocess
import sys

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

PLAIN_BLOCK = 7408


def derive(key, msg):
    return hmac.new(key, msg, hashlib.sha512).digest()[:32]


def escape(b):
    if not b:
        return b"\x01"
    out = bytearray(b"\x02")
    table = {0x2E: b"\x2e\x01", 0x2F: b"\x2e\x02", 0xFE: b"\xfe\x01", 0xFF: b"\xfe\x02",
             0x00: b"\x01\x01", 0x01: b"\x01\x02"}
    for c in b:
        out += table.get(c, bytes([c]))
    return bytes(out)


def encrypt_path(start_key, path):
    k = start_key
    parts = []
    for comp in path.split(b"/") if path else []:
        child = derive(k, b"path:" + comp)
        nonce = hmac.new(child, b"nonce", hashlib.sha512).digest()[:12]
        parts.append(escape(nonce + AESGCM(k).encrypt(nonce, comp, None)))
        k = child
    return b"/".join(parts), k


def pad(data, block):
    pad_len = block - (len(data) + 4) % block + 4 if (len(data) + 4) % block else 4
    return data + bytes(pad_len - 4) + pad_len.to_bytes(4, "big")


def encrypt_segment(key, part, index, plain):
    start = (part << 32) | (index + 1)
    padded = pad(plain, PLAIN_BLOCK)
    out = b""
    for j in range(len(padded) // PLAIN_BLOCK):
        nonce = (start + j).to_bytes(24, "little")[:12]
        out += AESGCM(key).encrypt(nonce, padded[j * PLAIN_BLOCK:(j + 1) * PLAIN_BLOCK], None)
    return out


def main():
    root = bytes(range(32))
    bucket_key = derive(root, b"path:photos")
    enc, last = encrypt_path(bucket_key, b"a/b.jpg")
    print("bucket_key", bucket_key.hex())
    print("enc(a/b.jpg)", enc.hex())
    print("last_key", last.hex())
    print("content_key", derive(last, b"content").hex())
    seg = encrypt_segment(root, 0, 0, b"hello world")
    print("segment(hello world) len", len(seg), "sha256", hashlib.sha256(seg).hexdigest())
    seg = encrypt_segment(root, 2, 5, bytes(i % 251 for i in range(7405)))
    print("segment(7405, part 2 index 5) len", len(seg), "sha256", hashlib.sha256(seg).hexdigest())

    # Root key from a passphrase (reference §3.6 with libsodium's 16-byte salt, one lane),
    # computed by the reference argon2 CLI (Debian package argon2).
    pw, salt = b"correct horse battery staple", bytes(range(16))
    argon_salt = hmac.new(hmac.new(pw, salt, hashlib.sha256).digest(), b"", hashlib.sha256)
    argon_salt = argon_salt.digest()[:16]
    print("argon2 salt", argon_salt.hex())
    cli = subprocess.run(["argon2", argon_salt, "-id", "-t", "1", "-m", "16", "-p", "1", "-l", "32",
                          "-r"], input=pw, capture_output=True, check=True)
    print("root key", cli.stdout.decode().strip())

    if len(sys.argv) == 3 and sys.argv[1] == "--fuzz-seeds":
        write_fuzz_seeds(sys.argv[2])


def write_fuzz_seeds(directory):
    """Seeds for fuzz_path_decrypt: byte 0 picks cipher (bit 0) and key (all bytes = byte0 >> 1)."""
    zero = bytes(32)
    seeds = {
        "aesgcm_two_components": b"\x00" + encrypt_path(zero, b"a/b.jpg")[0],
        "aesgcm_escapes": b"\x00" + encrypt_path(zero, b"\x00\x01./\xfe\xff/")[0],
        "aesgcm_empty_components": b"\x00" + encrypt_path(zero, b"//")[0],
        "null_plain_path": b"\x01" + b"photos/2024/x.jpg",
        "bad_escape": b"\x00\x02\x2e\x03",
    }
    for name, data in seeds.items():
        with open(os.path.join(directory, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
