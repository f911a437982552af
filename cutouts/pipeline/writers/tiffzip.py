"""An uncompressed TIFF ZIP written in place: each channel's TIFF goes straight into the ZIP, as its member.

    <stem>.zip.part   [local header][channel 1's TIFF][local header][channel 2's TIFF]...[provenance.json]...
                      [central directory]

A ZIP member's bytes are the file's own, and a TIFF's offsets count from its first byte: a TIFF made on its
own is the same bytes wherever it lies. So each channel's TIFF is made where its member's bytes go
(`EmbeddedTiff`, a VolumeTiff whose first byte is at `base`, a 4 KiB boundary, for O_DIRECT: its header and
directories are those tifffile writes for it on its own), and the blocks are written into it as into any TIFF. Room for the local header is left before it; the header is written once the TIFF is
whole and its CRC-32 known. That CRC is made of the CRCs of the planes the blocks wrote (libdeflate, as each
block is written, or of a band's gathered rows for a box wider than its blocks, writers/bands.py), combined in
file order (ISA-L's crc32_combine); only what lies between them is read back: the TIFF's header and
directories, the blocks an earlier run of a resumed job wrote, and the rows of a band that was not gathered
(written one by one: too many to keep a CRC of each).

No TIFF is copied into the ZIP afterwards. bench.cutout_bench --format tiff-zip, 1 GB, medians of 5,
alternating with the version before in the same run (2026-12-07, sixth session):

    | the channels' TIFFs ...                                   | devboss on the same CPUs | on its own CPU |
    | copied in by zipfile.write (8 KiB pieces, zlib's CRC)     | 4.38 s (c/a 0.26)        | 4.73 s (0.37)  |
    | copied in by AppendZip.add_file (8 MiB, O_DIRECT)         | 3.37-3.59 s (0.34-0.35)  | 3.70-4.06 s    |
    | made in place, the CRC read back                          | 2.47 s (0.48)            | 2.69 s (0.60)  |
    | made in place, the CRC from the writes                    | 1.46 s (0.84)            | 2.21 s (0.77)  |

and the disk holds the result once, not twice.

The layout is the same in every run of a job (the spec fixes each TIFF's size), so a resumed job finds its
channels where it left them: an EmbeddedTiff with resume=True reopens the TIFF at its base when its header
is whole (VolumeTiff._existing_offset), and the blocks the earlier run finished stay done.
"""
import os
import threading
from functools import partial

from isal.isal_zlib import crc32_combine

from cutouts.pipeline.writers.base import DIRECT_ALIGN, WriterError, write_all
from cutouts.pipeline.writers.tiff import VolumeTiff, layout, put_layout
from cutouts.pipeline.writers.zipstream import HEADER, AppendZip, crc32, file_pieces, padded_header, stored_info

ZIP64_EXTRA = 20  # the zip64 extra field a member of 4 GiB or more takes in its local header


class EmbeddedTiff(VolumeTiff):
    """A VolumeTiff made inside `container` (which exists), its first byte at `base`; `end` is where it ends
    once open. commit() makes it durable and leaves it in place (no rename); an error leaves the container to
    its owner."""

    def __init__(self, container, base, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.tmp_path = os.fspath(container)
        self.base = base
        self.end = None
        self._crcs = {}  # file offset -> (length, CRC-32) of the whole rows this run wrote: a block's plane, or
        self._crcs_lock = threading.Lock()  # a band's rows (writers/bands.py); _rows_written

    def _rows_written(self, at, rows):
        crc = crc32(rows)
        with self._crcs_lock:
            self._crcs[at] = (rows.nbytes, crc)

    def crc(self):
        """The CRC-32 of the TIFF's bytes (base..end): the CRCs of the rows this run wrote whole, combined, and
        what lies between them (header and directories, blocks an earlier run wrote, rows written one by one)
        read back."""
        pieces = sorted(self._crcs.items())
        crc, pos = 0, self.base
        for offset, (length, piece) in pieces + [(self.end, (0, 0))]:
            if offset < pos:  # pragma: no cover - planes of whole rows never overlap
                return region_crc(self.tmp_path, self.base, self.end)
            if offset > pos:
                crc = crc32_combine(crc, region_crc(self.tmp_path, pos, offset), offset - pos)
            crc = crc32_combine(crc, piece, length) if length else crc
            pos = offset + length
        return crc

    def _existing_offset(self, base=0):
        offset = super()._existing_offset(self.base)
        if offset is not None:
            self.end = self.base + _skeleton(self)[1]
        return offset

    def _make(self):
        """The TIFF made on its own in a scratch file (shape only, sparse), its header and directories copied
        to `base`: the same bytes, as its offsets count from its first byte."""
        known = _skeleton(self)
        self.end = self.base + known[1]
        fd = os.open(self.tmp_path, os.O_WRONLY)
        try:
            put_layout(fd, known, self.base)
        finally:
            os.close(fd)
        return self.base + known[0]

    def commit(self):
        try:
            if self._writeback is not None:
                self._writeback.join()
            os.fsync(self._fd)
            os.posix_fadvise(self._fd, self.base, self.end - self.base, os.POSIX_FADV_DONTNEED)
        except OSError as exc:
            raise WriterError(f"finishing the TIFF failed: {exc.strerror or exc}") from exc
        finally:
            self._close_fd()

    def _discard(self):
        self._close_fd()


def _skeleton(tiff):
    """(data offset, size, the bytes before the data, the bytes after it) of `tiff`'s file laid out on its own:
    made (shape only, sparse) in a scratch file beside the container."""
    scratch = f"{tiff.tmp_path}.{os.getpid()}.skeleton"
    try:
        return layout(scratch, tiff.shape, tiff.axes, tiff.dtype, tiff.flavour, tiff.calibration, tiff.channel_names)
    finally:
        if os.path.exists(scratch):
            os.unlink(scratch)


def header_room(offset, name):
    """Where a member `name` whose local header starts at `offset` begins its bytes: the next 4 KiB boundary
    with room for the header, a padding field and a zip64 field."""
    least = offset + HEADER.size + len(name.encode("utf-8")) + 4 + ZIP64_EXTRA
    return -(-least // DIRECT_ALIGN) * DIRECT_ALIGN


def region_crc(path, start, end):
    """The CRC-32 of bytes start..end of `path`."""
    crc = 0
    for _, view in file_pieces(path, start, end, direct=True):
        crc = crc32(view, crc)
    return crc


def local_header(name, offset, start, end, crc):
    """(ZipInfo, header bytes) of stored member `name` whose header is at `offset` and bytes at start..end:
    the header padded to fill offset..start exactly."""
    info = stored_info(name)
    info.header_offset, info.CRC = offset, crc
    info.file_size = info.compress_size = end - start
    return info, padded_header(info, start - offset)


def produce(job, name, members, tiff_for, extra_files):
    """Write the job's TIFF ZIP `name` in place in job.folder: `members` [(member name, channel)],
    `tiff_for(channel, path, volume)` the channel's TIFF writer made with `volume` (an EmbeddedTiff maker),
    `extra_files()` the members after the TIFFs ({name: text}), asked once the channels are in."""
    part = job.folder / (name + ".part")
    try:
        if not (job.resume and part.exists()):
            part.write_bytes(b"")
    except OSError as exc:
        raise WriterError(f"could not create the TIFF ZIP: {exc.strerror or exc}") from exc
    written, offset = [], 0
    try:
        for member, ch in members:
            base = header_room(offset, member)
            with tiff_for(ch, job.folder / member, partial(EmbeddedTiff, part, base)) as out:
                if not out.resumed:
                    job.forget([ch])
                job.fetch(job.tasks([ch]), job.into(out))
            written.append((member, offset, out))
            offset = out.end
        try:
            _finish(part, written, offset, extra_files())
            os.replace(part, job.folder / name)
        except OSError as exc:
            raise WriterError(f"finishing the TIFF ZIP failed: {exc.strerror or exc}") from exc
    except BaseException:
        if not job.resume:
            part.unlink(missing_ok=True)
        raise


def _finish(part, members, end, extra_files):
    """The channels' local headers (their CRCs now known), then the members after them and the directory."""
    infos = []
    fd = os.open(part, os.O_WRONLY)
    try:
        for member, at, tiff in members:
            info, header = local_header(member, at, tiff.base, tiff.end, tiff.crc())
            write_all(fd, [header], at)
            infos.append(info)
    finally:
        os.close(fd)
    out = AppendZip(part, members=infos, end=end)
    try:
        for member, text in extra_files.items():
            out.add(member, text)
        out.close()
    except BaseException:
        out.abandon()
        raise
