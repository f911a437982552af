"""Memory of a process that runs cutouts (a worker's pool child, boss-cutout): glibc's malloc tuned so
that the process's size follows what it holds rather than its high-water marks."""


def lean_malloc():
    """Measured with bench.cutout_bench (worker peak ~245 -> ~224 MB for OME-TIFF, ~270 -> ~233 MB for
    OME-Zarr, at no cost in speed):
    - at most 2 malloc arenas (glibc's M_ARENA_MAX; its default is 8 per CPU): the fetch threads then
      share arenas instead of each keeping its own high-water mark of freed HTTP bodies;
    - allocations of 2 MiB and more always mapped and unmapped (M_MMAP_THRESHOLD): glibc otherwise raises
      the threshold to the largest block freed, after which the HTTP bodies and the OME-Zarr level-1
      arrays of several threads are carved from the arenas, which keep their freed memory. Not lower: at
      1 MiB the 1 MiB OME-Zarr chunk copies and blosc zstd's work space were mapped afresh for every chunk,
      and a zstd job took 9.3 s instead of 6.2 s for 1 GB.
    Does nothing where the C library has no mallopt (not glibc)."""
    try:
        import ctypes

        libc = ctypes.CDLL(None)
        libc.mallopt(-8, 2)  # M_ARENA_MAX
        libc.mallopt(-3, 2 * 1024 * 1024)  # M_MMAP_THRESHOLD (setting it also stops glibc from moving it)
    except (OSError, AttributeError):
        pass
