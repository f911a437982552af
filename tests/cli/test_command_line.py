"""command_line() gives the exact shell command for a box, with the token as a placeholder."""
import shlex

import numpy as np

from cutouts.cli import command_line

from .common import read_stack, run_cli


def test_it_builds_the_command_with_a_token_file_placeholder():
    cmd = command_line("https://api.bossdb.io", "kasthuri", "em", "images", 0, (0, 20000), (0, 20000), (0, 500))
    assert cmd == ("boss-cutout bossdb://kasthuri/em/images --res 0 -x 0:20000 -y 0:20000 -z 0:500 "
                   "--boss-url https://api.bossdb.io --out kasthuri_em_images_r0_x0-20000_y0-20000_z0-500 "
                   "--token-file ~/.boss-token")


def test_it_can_read_the_token_from_the_environment_instead():
    cmd = command_line("https://api.bossdb.io/", "c", "e", "ch", 2, (1, 2), (3, 4), (5, 6), t=(0, 3), token="env")
    assert cmd.startswith("BOSS_TOKEN=... boss-cutout bossdb://c/e/ch --res 2 -x 1:2 -y 3:4 -z 5:6 -t 0:3 ")
    assert "--boss-url https://api.bossdb.io " in cmd and "--token-file" not in cmd


def test_it_names_several_channels_in_one_command():
    cmd = command_line("https://api.bossdb.io", "demo", "cortex", ["em", "fluo"], 0, (0, 64), (0, 64), (100, 104))
    assert cmd.startswith("boss-cutout bossdb://demo/cortex/em,fluo --res 0 -x 0:64 -y 0:64 -z 100:104 ")
    assert "--out demo_cortex_em+fluo_r0_x0-64_y0-64_z100-104 " in cmd


def test_it_quotes_what_the_shell_would_split():
    cmd = command_line("http://host/boss path", "c", "e", "ch", 0, (0, 1), (0, 1), (0, 1))
    assert "--boss-url 'http://host/boss path'" in cmd


def test_the_command_runs_as_given(devboss, tmp_path):
    (tmp_path / ".boss-token").write_text(devboss.token("alice"))
    cmd = command_line(devboss.url, "alice_lab", "private_exp", "em", 0, (0, 100), (0, 50), (0, 3))
    argv = shlex.split(cmd.replace("~/.boss-token", str(tmp_path / ".boss-token")))
    assert argv[0] == "boss-cutout"
    out = tmp_path / argv[argv.index("--out") + 1]
    argv[argv.index("--out") + 1] = str(out)
    code, _, err = run_cli(devboss, *argv[1:], "--quiet")
    assert code == 0, err
    stack, _ = read_stack(out, "em")
    assert stack.shape == (3, 50, 100) and np.any(stack)


def test_it_is_installed_as_a_console_script():
    import subprocess
    import sys
    from pathlib import Path

    script = Path(sys.executable).parent / "boss-cutout"
    proc = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and "usage: boss-cutout" in proc.stdout


def test_the_forms_format_and_compression_carry_over_where_boss_cutout_has_them():
    box = ((0, 64), (0, 64), (0, 16))
    cmd = command_line("https://api.bossdb.io", "c", "e", "em", 0, *box, fmt="ome-tiff", compression="zstd")
    assert cmd.split("--token-file")[0].endswith("--format ome-tiff --compression zstd ")
    assert "--format tiff-stack --compression deflate" in command_line(
        "https://api.bossdb.io", "c", "e", "em", 0, *box, fmt="tiff-zip", compression="deflate")
    # OME-Zarr (no boss-cutout format yet) and lz4 (no TIFF codec): boss-cutout's own defaults, nothing added
    for fmt, compression in [("ome-zarr", "lz4"), ("ome-tiff", "lz4"), ("ome-tiff", "none"), (None, "zstd")]:
        cmd = command_line("https://api.bossdb.io", "c", "e", "em", 0, *box, fmt=fmt, compression=compression)
        assert "--compression" not in cmd
        assert ("--format ome-tiff" in cmd) == (fmt == "ome-tiff")
