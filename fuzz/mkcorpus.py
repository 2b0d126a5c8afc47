#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""mkcorpus.py: write the seed corpus of the fuzzers into corpus/<target>/.

Each seed is a small, real-looking input in the format the target's header
comment describes: replies as virtiofsd writes them (a GETATTR reply, an
error reply, a short READ, a READDIRPLUS listing with "." and "..", a
READDIR listing) and lock request sequences. Run from anywhere:

    python3 fuzz/mkcorpus.py

The output is deterministic; the files are committed (a few KB).
"""
import os
import shutil
import struct

HERE = os.path.dirname(os.path.abspath(__file__))

OH = 16                 # struct fuse_out_header
ATTR_OUT = 104          # struct fuse_attr_out
ENTRY_OUT = 128         # struct fuse_entry_out
S_IFDIR, S_IFREG, S_IFLNK = 0o040000, 0o100000, 0o120000
DT = {S_IFDIR: 4, S_IFREG: 8, S_IFLNK: 10}


def align8(n):
    return (n + 7) & ~7


# ------------------------------------------------------------ fuzz_reply
#   u8 flags, u32 oh.len, s32 oh.error, u64 oh.unique, u64 unique, u32 used,
#   u16 size of each argument (1 + (flags >> 4 & 3), at most 3),
#   u16 payload, payload bytes

def reply(flags, oh_len, error, oh_unique, unique, used, args, payload,
          data=b''):
    nargs = min(1 + ((flags >> 4) & 3), 3)
    assert len(args) == nargs
    out = struct.pack('<BIiQQI', flags, oh_len, error, oh_unique, unique,
                      used)
    out += b''.join(struct.pack('<H', a) for a in args)
    out += struct.pack('<H', payload) + data
    return out


def attr(ino, mode, size=0, nlink=1):
    # struct fuse_attr: ino size blocks atime mtime ctime, then
    # atimensec mtimensec ctimensec mode nlink uid gid rdev blksize flags
    return struct.pack('<QQQQQQIIIIIIIIII', ino, size, (size + 511) // 512,
                       1700000000, 1700000000, 1700000000, 0, 0, 0,
                       mode | 0o755, nlink, 1000, 1000, 0, 4096, 0)


def attr_out(ino, mode, size=0):
    return struct.pack('<QII', 1, 0, 0) + attr(ino, mode, size)


def reply_seeds():
    a = attr_out(42, S_IFREG, 12345)
    assert len(a) == ATTR_OUT
    u = 0x10a
    return {
        # GETATTR: header + fuse_attr_out, all consistent.
        'getattr-ok': reply(0, OH + ATTR_OUT, 0, u, u, OH + ATTR_OUT,
                            [ATTR_OUT], ATTR_OUT, a),
        # LOOKUP of a missing name: ENOENT, header only.
        'lookup-enoent': reply(0, OH, -2, u, u, OH, [ENTRY_OUT], 0),
        # READ of 4096 bytes answered with 100 (argvar, flags: len from
        # payload, used = len).
        'read-short': reply(0x0f, 0, 0, u, 0, 0, [4096], 100, b'x' * 100),
        # An answer to another request.
        'other-unique': reply(0, OH + ATTR_OUT, 0, u + 2, u, OH + ATTR_OUT,
                              [ATTR_OUT], ATTR_OUT),
        # A header that claims more than the device wrote.
        'len-over-used': reply(0, OH + ATTR_OUT, 0, u, u, OH + 8,
                               [ATTR_OUT], ATTR_OUT),
        # Two reply arguments (CREATE: entry_out + open_out).
        'create-two-args': reply(0x17, 0, 0, u, 0, 0, [ENTRY_OUT, 16],
                                 ENTRY_OUT + 16),
    }


# ------------------------------------------------------------ fuzz_dirplus
#   u8 control (bits 0-3: the callback fails at that entry), entries

def direntplus(nodeid, ino, mode, name, off):
    name = name.encode()
    entry = struct.pack('<QQQQII', nodeid, 0, 1, 1, 0, 0) + attr(ino, mode)
    assert len(entry) == ENTRY_OUT
    dirent = struct.pack('<QQII', ino, off, len(name), DT[mode]) + name
    rec = entry + dirent
    return rec + b'\0' * (align8(len(rec)) - len(rec))


def dirent(ino, mode, name, off):
    name = name.encode()
    rec = struct.pack('<QQII', ino, off, len(name), DT[mode]) + name
    return rec + b'\0' * (align8(len(rec)) - len(rec))


LISTING = [(1, 1, S_IFDIR, '.'), (0, 2, S_IFDIR, '..'),
           (7, 1001, S_IFREG, 'README'), (8, 1002, S_IFDIR, 'src'),
           (9, 1003, S_IFLNK, 'link-to-a-longer-name.txt')]


def dirplus_seeds():
    plus = b''.join(direntplus(n, i, m, name, k + 1)
                    for k, (n, i, m, name) in enumerate(LISTING))
    plain = b''.join(dirent(i, m, name, k + 1)
                     for k, (n, i, m, name) in enumerate(LISTING))
    long_name = direntplus(10, 1004, S_IFREG, 'n' * 255, 1)
    return {
        'readdirplus-5': b'\0' + plus,
        'readdirplus-5-cb-fails-3': b'\3' + plus,
        'readdirplus-name-255': b'\0' + long_name,
        'readdirplus-cut': b'\0' + plus[:-12],
        'readdir-5': b'\0' + plain,
    }


# ------------------------------------------------------------ fuzz_locks
#   opcode: bits 0-1 type (0 read, 1 write, 2 unlock, 3 invalid + 1 byte),
#   bits 2-6 kind, bit 7 fail the allocation; then the kind's operands.

RD, WR, UN = 0, 1, 2


def op(kind, typ, *operands, fail=False):
    return bytes([(fail << 7) | (kind << 2) | typ] + list(operands))


def small(typ, start, length, fail=False):     # [start, start + length]
    return op(0, typ, start, length, fail=fail)


def locks_seeds():
    return {
        # Merge, split by another type, back, then a hole.
        'split-merge': small(RD, 10, 9) + small(RD, 20, 9) +
        small(WR, 15, 9) + small(RD, 15, 9) + small(UN, 12, 0),
        # To OFFSET_MAX and to 2^64 - 1, holes at the top.
        'huge-ends': op(14, WR, 5) + op(16, RD, 40) +
        op(18, UN, 2) + op(19, WR, 0, 0) + op(20, UN, 8, 12),
        # A failed allocation, invalid requests, next-to-previous ones.
        'errors': small(RD, 1, 2, fail=True) + op(12, RD, 9, 3) +
        op(0, 3, 200, 1, 1) + small(WR, 30, 3) + op(24, WR, 2) +
        op(28, RD, 3) + op(30, UN),
        # Three bursts of 64 ranges of alternate types, then a write
        # lock over part of them and the small window.
        'bursts': b''.join(op(23, 3, 0, base, 63, 0)
                           for base in (4, 2, 0)) +
        op(20, WR, 3, 6) + small(UN, 0, 15),
        # Raw 64-bit bounds.
        'raw': op(21, RD) + struct.pack('<QQ', 1 << 40, (1 << 41) - 1) +
        op(22, WR) + struct.pack('<Q', (1 << 64) - 100) + b'\xff',
    }


def main():
    for target, seeds in (('fuzz_reply', reply_seeds()),
                          ('fuzz_dirplus', dirplus_seeds()),
                          ('fuzz_locks', locks_seeds())):
        d = os.path.join(HERE, 'corpus', target)
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        for name, data in sorted(seeds.items()):
            with open(os.path.join(d, name), 'wb') as f:
                f.write(data)
        print(f'{target}: {len(seeds)} seeds, '
              f'{sum(map(len, seeds.values()))} bytes')


if __name__ == '__main__':
    main()
