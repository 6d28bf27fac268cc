#!/usr/bin/env python3
"""lossyfs: a FUSE file system that loses what was not synced when it dies,
as a power cut does (the power-loss campaign's disk; LazyFS's idea, in a
page of Python on Debian's python3-fusepy).

It mirrors a backing folder. A file's writes stay in this process's memory,
page by page, until an fsync or fdatasync of that file (or a write through
a descriptor opened O_SYNC or O_DSYNC) writes them to the backing file and
syncs it there; truncation waits the same way. Reads see the written
pages. Kill the process (SIGKILL) and everything not yet synced is gone:
the backing folder holds what a disk would after a power cut that kept each
sync's promise and lost everything else. It never keeps a subset of the
unsynced writes (a real disk may, in any order): the order of writes
between two syncs is not tested here. Directory changes (create,
rename, link, unlink, mkdir) reach the backing folder at once: a cut never
loses them here, which is kinder than a real file system before the
directory is synced; the campaign says so.

Usage: lossyfs.py BACKING MOUNTPOINT (runs in the foreground until killed;
the mount point needs `umount -l` after a kill). As root, or with
/etc/fuse.conf's user_allow_other for other users' processes.
"""

import errno
import os
import sys
import threading

from fusepy import FUSE, FuseOSError, Operations, fuse_get_context

PAGE = 4096


class Pending:
    """One file's (by backing inode) writes not yet synced."""

    def __init__(self, size):
        self.pages = {}  # page number -> bytearray(PAGE)
        self.size = size  # the file's size as its writers see it
        self.base_size = size  # the backing file's


class LossyFS(Operations):
    def __init__(self, backing):
        self.root = os.path.realpath(backing)
        self.mu = threading.RLock()
        self.pending = {}  # inode -> Pending
        self.handles = {}  # fh -> (backing fd, inode, sync writes)
        self.next_fh = 1

    # --- helpers ------------------------------------------------------------------

    def _full(self, path):
        return os.path.join(self.root, path.lstrip("/"))

    def _ino(self, fd):
        return os.fstat(fd).st_ino

    def _pend(self, fd, ino):
        p = self.pending.get(ino)
        if p is None:
            size = os.fstat(fd).st_size
            p = self.pending[ino] = Pending(size)
        return p

    def _base_page(self, fd, p, n):
        buf = bytearray(PAGE)
        if n * PAGE < p.base_size:
            data = os.pread(fd, PAGE, n * PAGE)
            buf[:len(data)] = data
        return buf

    def _flush(self, fd, ino, data_only=True):
        """Writes ino's pending pages to the backing file, then syncs it."""
        p = self.pending.pop(ino, None)
        if p is not None:
            if p.size < p.base_size:
                os.ftruncate(fd, p.size)
            for n in sorted(p.pages):
                if n * PAGE >= p.size:
                    continue
                end = min(PAGE, p.size - n * PAGE)
                os.pwrite(fd, bytes(p.pages[n][:end]), n * PAGE)
            if p.size > os.fstat(fd).st_size:
                os.ftruncate(fd, p.size)
        if data_only:
            os.fdatasync(fd)
        else:
            os.fsync(fd)

    def _size_of(self, st):
        p = self.pending.get(st.st_ino)
        return p.size if p is not None else st.st_size

    # --- attributes and directories ------------------------------------------------

    def getattr(self, path, fh=None):
        with self.mu:
            try:
                st = os.lstat(self._full(path))
            except OSError as e:
                raise FuseOSError(e.errno) from e
            out = {k: getattr(st, k) for k in ("st_mode", "st_nlink", "st_uid", "st_gid",
                                                "st_atime", "st_mtime", "st_ctime", "st_ino")}
            out["st_size"] = self._size_of(st)
            return out

    def access(self, path, amode):
        if not os.access(self._full(path), amode):
            raise FuseOSError(errno.EACCES)

    def readdir(self, path, fh):
        return [".", ".."] + os.listdir(self._full(path))

    def readlink(self, path):
        return os.readlink(self._full(path))

    def statfs(self, path):
        s = os.statvfs(self._full(path))
        return {k: getattr(s, k) for k in ("f_bavail", "f_bfree", "f_blocks", "f_bsize",
                                            "f_favail", "f_ffree", "f_files", "f_flag",
                                            "f_frsize", "f_namemax")}

    def chmod(self, path, mode):
        os.chmod(self._full(path), mode)

    def chown(self, path, uid, gid):
        os.lchown(self._full(path), uid, gid)

    def utimens(self, path, times=None):
        os.utime(self._full(path), times)

    def _own(self, full):
        """A new entry belongs to its creator, as on a real disk (lossyfs
        runs as root; PostgreSQL's server as `postgres`)."""
        if os.geteuid() == 0:
            uid, gid, _ = fuse_get_context()
            os.lchown(full, uid, gid)

    def mkdir(self, path, mode):
        os.mkdir(self._full(path), mode)
        self._own(self._full(path))

    def rmdir(self, path):
        os.rmdir(self._full(path))

    def mknod(self, path, mode, dev):
        os.mknod(self._full(path), mode, dev)
        self._own(self._full(path))

    def symlink(self, target, source):
        os.symlink(source, self._full(target))
        self._own(self._full(target))

    def link(self, target, source):
        os.link(self._full(source), self._full(target))

    def rename(self, old, new):
        with self.mu:
            try:
                st = os.lstat(self._full(new))
            except FileNotFoundError:
                st = None
            os.rename(self._full(old), self._full(new))
            if st is not None and st.st_nlink <= 1:
                # The file replaced is gone: its inode number may be reused.
                self.pending.pop(st.st_ino, None)

    def unlink(self, path):
        with self.mu:
            full = self._full(path)
            st = os.lstat(full)
            os.unlink(full)
            if st.st_nlink <= 1:
                self.pending.pop(st.st_ino, None)

    # --- files ------------------------------------------------------------------------

    def _handle(self, fd, flags):
        with self.mu:
            fh = self.next_fh
            self.next_fh += 1
            sync = bool(flags & (os.O_SYNC | os.O_DSYNC))
            self.handles[fh] = (fd, self._ino(fd), sync)
            return fh

    def open(self, path, flags):
        # Reads and writes go through this process; O_APPEND is resolved
        # by the kernel's offsets. The backing file is opened read-write
        # whatever the caller asked, so a sync can write it.
        fd = os.open(self._full(path), os.O_RDWR if os.access(self._full(path), os.W_OK)
                     else os.O_RDONLY)
        if flags & os.O_TRUNC:
            self.truncate(path, 0)
        return self._handle(fd, flags)

    def create(self, path, mode, fi=None):
        fd = os.open(self._full(path), os.O_RDWR | os.O_CREAT | os.O_EXCL, mode)
        self._own(self._full(path))
        return self._handle(fd, 0)

    def read(self, path, size, offset, fh):
        with self.mu:
            fd, ino, _ = self.handles[fh]
            p = self.pending.get(ino)
            if p is None:
                return os.pread(fd, size, offset)
            end = min(offset + size, p.size)
            out = bytearray()
            pos = offset
            while pos < end:
                n, off = divmod(pos, PAGE)
                take = min(PAGE - off, end - pos)
                page = p.pages.get(n)
                if page is None:
                    page = self._base_page(fd, p, n)
                out += page[off:off + take]
                pos += take
            return bytes(out)

    def write(self, path, data, offset, fh):
        with self.mu:
            fd, ino, sync = self.handles[fh]
            p = self._pend(fd, ino)
            pos, i = offset, 0
            while i < len(data):
                n, off = divmod(pos, PAGE)
                take = min(PAGE - off, len(data) - i)
                page = p.pages.get(n)
                if page is None:
                    page = p.pages[n] = self._base_page(fd, p, n)
                page[off:off + take] = data[i:i + take]
                pos += take
                i += take
            p.size = max(p.size, offset + len(data))
            if sync:
                # O_SYNC/O_DSYNC makes this write durable, not the others
                # pending on the file: straight to the backing file.
                os.pwrite(fd, data, offset)
                os.fdatasync(fd)
                p.base_size = max(p.base_size, offset + len(data))
            return len(data)

    def truncate(self, path, length, fh=None):
        with self.mu:
            fd = os.open(self._full(path), os.O_RDWR)
            try:
                ino = self._ino(fd)
                p = self._pend(fd, ino)
                if length < p.size:
                    for n in list(p.pages):
                        if n * PAGE >= length:
                            del p.pages[n]
                    n, off = divmod(length, PAGE)
                    if off:
                        page = p.pages.get(n)
                        if page is None:
                            page = p.pages[n] = self._base_page(fd, p, n)
                        page[off:] = bytes(PAGE - off)
                    # What lies past the new end reads as zeros if it grows
                    # again: the backing pages there are stale.
                    for m in range((length + PAGE - 1) // PAGE, (p.base_size + PAGE - 1) // PAGE):
                        p.pages.setdefault(m, bytearray(PAGE))
                p.size = length
            finally:
                os.close(fd)

    def fsync(self, path, datasync, fh):
        with self.mu:
            fd, ino, _ = self.handles[fh]
            self._flush(fd, ino, data_only=bool(datasync))

    def fsyncdir(self, path, datasync, fh):
        return 0

    def flush(self, path, fh):
        return 0  # close() promises nothing about durability

    def release(self, path, fh):
        with self.mu:
            fd, _, _ = self.handles.pop(fh)
            os.close(fd)


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__.split("\n\n")[-1])
    backing, mountpoint = sys.argv[1], sys.argv[2]
    FUSE(LossyFS(backing), mountpoint, foreground=True, nothreads=False, allow_other=True,
         default_permissions=True, attr_timeout=0, entry_timeout=0, use_ino=True)


if __name__ == "__main__":
    main()
