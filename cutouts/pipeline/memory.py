"""Memory of a process that runs cutouts (a worker's pool child, boss-cutout): glibc's malloc tuned so
that the process's size follows what it holds rather than its high-water marks."""


MMAP_THRESHOLD = 2 * 1024 * 1024
TRIM_THRESHOLD = 4 * 1024 * 1024


def lean_malloc():
    """Measured with bench.cutout_bench (worker peak ~245 -> ~224 MB for OME-TIFF, ~270 -> ~233 MB for
    OME-Zarr, at no cost in speed):
    - at most 2 malloc arenas (glibc's M_ARENA_MAX; its default is 8 per CPU): the fetch threads then
      share arenas instead of each keeping its own high-water mark of freed HTTP bodies;
    - allocations of 2 MiB and more always mapped and unmapped (M_MMAP_THRESHOLD): glibc otherwise raises
      the threshold to the largest block freed, after which the HTTP bodies and the OME-Zarr level-1
      arrays of several threads are carved from the arenas, which keep their freed memory. Not lower: at
      1 MiB the 1 MiB OME-Zarr chunk copies and blosc zstd's work space were mapped afresh for every chunk,
      and a zstd job took 9.3 s instead of 6.2 s for 1 GB;
    - freed memory at the top of a heap kept up to 4 MiB (M_TRIM_THRESHOLD) before it goes back to the
      system. Fixing the mmap threshold also fixes glibc's trim threshold at its 128 KiB default, so the work
      space c-blosc's zstd makes and frees for each block, and every other buffer of 128 KiB to 2 MiB a
      thread allocates and frees in turn, was given back and faulted in again each time (2026-12-07, sixth
      session; one thread, bench.compression_bench's writers, 3 alternating runs): OME-Zarr zstd of the
      large EM 429 -> 484 MB/s (page faults 23,600 -> 1,600), of the uint16 fluo 376 -> 428; the worker's peak
      unchanged (OME-TIFF 236 against 238 MB, the fluo box in OME-Zarr zstd 248 and 248). Raising the mmap
      threshold to 2 MiB + 64 KiB as well (c-blosc's 2 MiB + 8 bytes of scratch per uint16 chunk) made zstd
      of the fluo no faster within the spread and the worker's peak 261 MB (OME-TIFF) and 304 MB (the fluo).
    Does nothing where the C library has no mallopt (not glibc)."""
    try:
        import ctypes

        libc = ctypes.CDLL(None)
        libc.mallopt(-8, 2)  # M_ARENA_MAX
        libc.mallopt(-3, MMAP_THRESHOLD)  # M_MMAP_THRESHOLD (setting it also stops glibc from moving it)
        libc.mallopt(-1, TRIM_THRESHOLD)  # M_TRIM_THRESHOLD
    except (OSError, AttributeError):
        pass
