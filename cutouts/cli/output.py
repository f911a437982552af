"""What boss-cutout prints (sizes, the dry run) and the checks of its output folder."""
from cutouts.cli.errors import EXIT_OUTPUT, CliError
from cutouts.cli.manifest import differences
from cutouts.pipeline.provenance import SIDECAR


def human(n):
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{n} B"
        n /= 1000


def folder_check(identity, files, folder, manifest):
    """Refuse a folder holding another request's download, or our file names without our manifest."""
    if manifest.load():
        if manifest.request != identity:
            raise CliError(EXIT_OUTPUT, f"{folder} holds a download with other arguments "
                                        f"({differences(identity, manifest.request)}). Rerun with the same "
                                        "arguments to resume it, or choose another --out folder.")
        return
    clashes = [f for f in files + [SIDECAR] if (folder / f).exists()]
    if clashes:
        raise CliError(EXIT_OUTPUT, f"{folder} already holds {clashes[0]} (and {len(clashes) - 1} more) not written "
                                    "by this command: remove them or choose another --out folder.")


def _file_list(files, out, indent):
    for name in (files if len(files) <= 6 else files[:3] + ["..."] + files[-2:]):
        print(f"{indent}{name}", file=out)


def dry_run(run, metas, plans, folder, out):
    print(f"box: x {run.x[0]}:{run.x[1]}, y {run.y[0]}:{run.y[1]}, z {run.z[0]}:{run.z[1]}"
          + (f", t {run.t[0]}:{run.t[1]}" if run.t else "") + f" at resolution {run.resolution}", file=out)
    single = len(run.channels) == 1
    indent = "" if single else "  "
    for channel, meta, plan in zip(run.channels, metas, plans):
        files = plan.files()
        shape = plan.box.shape_zyx
        if not single:
            print(f"channel {channel}:", file=out)
        print(f"{indent}size: {human(plan.nbytes)} ({plan.nbytes} bytes, {meta.datatype}, "
              f"{shape[2]} x {shape[1]} x {shape[0]} voxels)", file=out)
        print(f"{indent}blocks: {len(plan.blocks)}", file=out)
        print(f"{indent}files: {len(files)}" + (f" in {folder}" if single else ""), file=out)
        _file_list(files, out, indent + "  ")
    if single:
        print(f"  {SIDECAR}", file=out)
        return
    nbytes = sum(p.nbytes for p in plans)
    print(f"total: {human(nbytes)} ({nbytes} bytes), {len(run.channels)} channels, "
          f"{sum(len(p.blocks) for p in plans)} blocks, {sum(len(p.files()) for p in plans)} files + {SIDECAR} "
          f"in {folder}", file=out)
