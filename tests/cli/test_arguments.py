"""Every bad argument gets a clear message and its documented exit code.

Runs that stop before downloading call boss-cutout's main() in this process (run_in_process); those that
download (every block failing, retried errors) run it as a subprocess (run_cli)."""
import pytest

from devboss import procs

from .common import reset_faults, run_cli, run_in_process, set_faults

CORTEX = "bossdb://demo/cortex/em"
GOOD = {"-x": "0:64", "-y": "0:64", "-z": "100:104"}


def _run(devboss, tmp_path, resource=CORTEX, token=None, run=run_in_process, **changes):
    ranges = {**GOOD, **{f"-{k}": v for k, v in changes.items() if k in "xyzt"}}
    args = [resource, "--out", tmp_path / "out", "--quiet"]
    for key, value in ranges.items():
        args += [key, value]
    for key, value in changes.items():
        if key not in "xyzt":
            args += [f"--{key.replace('_', '-')}", value]
    return run(devboss, *args, token=token)


@pytest.mark.parametrize("value", ["0:abc", "0.5:10", "10", "1:2:3", ":10"])
def test_it_refuses_a_range_that_is_not_two_integers(devboss, tmp_path, value):
    code, _, err = _run(devboss, tmp_path, x=value)
    assert code == 2
    assert f"-x must be START:STOP with two whole numbers (half-open), got '{value}'" in err


def test_it_refuses_a_reversed_range(devboss, tmp_path):
    code, _, err = _run(devboss, tmp_path, y="64:0")
    assert code == 2 and "-y 64:0: start must be less than stop" in err


def test_it_refuses_an_empty_range(devboss, tmp_path):
    code, _, err = _run(devboss, tmp_path, z="100:100")
    assert code == 2 and "start must be less than stop" in err


def test_it_refuses_a_box_outside_the_frame(devboss, tmp_path):
    code, _, err = _run(devboss, tmp_path, z="0:104")  # the cortex frame starts at z=100
    assert code == 2
    assert "-z 0:104 is outside the frame: at resolution 0 z must lie within 100:228" in err


def test_it_checks_the_box_against_the_frame_at_that_resolution(devboss, tmp_path):
    code, _, err = _run(devboss, tmp_path, res=2, x="0:1024")  # level 2 is 512 wide
    assert code == 2 and "at resolution 2 x must lie within 0:512" in err


def test_it_refuses_a_resolution_the_experiment_lacks(devboss, tmp_path):
    code, _, err = _run(devboss, tmp_path, res=4)
    assert code == 2 and "--res 4: demo/cortex has resolutions 0..3" in err


def test_it_refuses_a_time_range_beyond_the_experiment(devboss, tmp_path):
    code, _, err = _run(devboss, tmp_path, t="0:2")
    assert code == 2 and "has time samples 0:1" in err


def test_it_refuses_a_malformed_resource(devboss, tmp_path):
    code, _, err = _run(devboss, tmp_path, resource="demo/cortex/em")
    assert code == 2 and "bossdb://collection/experiment/channel" in err


@pytest.mark.parametrize("option,value", [("workers", "0"), ("format", "zarr"), ("res", "one")])
def test_it_refuses_bad_options(devboss, tmp_path, option, value):
    code, _, err = _run(devboss, tmp_path, **{option: value})
    assert code == 2 and option in err


def test_missing_ranges_are_usage_errors(devboss, tmp_path):
    code, _, err = run_in_process(devboss, CORTEX, "-x", "0:10", "--out", tmp_path)
    assert code == 2 and "required" in err


@pytest.mark.parametrize("resource", ["bossdb://nope/cortex/em", "bossdb://demo/nope/em", "bossdb://demo/cortex/nope"])
def test_an_unknown_resource_exits_3(devboss, tmp_path, resource):
    code, _, err = _run(devboss, tmp_path, resource=resource)
    assert code == 3 and "BOSS has no such resource" in err


def test_a_missing_token_file_exits_4(devboss, tmp_path):
    code, _, err = _run(devboss, tmp_path, token_file=tmp_path / "nope")
    assert code == 4 and "cannot read the token file" in err


def test_an_empty_token_file_exits_4(devboss, tmp_path):
    (tmp_path / "token").write_text("\n")
    code, _, err = _run(devboss, tmp_path, token_file=tmp_path / "token")
    assert code == 4 and "is empty" in err


def test_a_rejected_token_exits_4(devboss, tmp_path):
    code, _, err = _run(devboss, tmp_path, token="not-a-real-token")
    assert code == 4 and "BOSS refused the token" in err and "Invalid token" in err
    assert "not-a-real-token" not in err


def test_private_data_without_a_token_exits_4(devboss, tmp_path):
    code, _, err = _run(devboss, tmp_path, resource="bossdb://alice_lab/private_exp/em", z="0:4")
    assert code == 4 and "Missing read permissions" in err


def test_another_users_token_exits_4(devboss, tmp_path):
    code, _, err = _run(devboss, tmp_path, resource="bossdb://alice_lab/private_exp/em", z="0:4",
                        token=devboss.token("bob"))
    assert code == 4


def test_an_unreachable_boss_exits_5(devboss, tmp_path):
    url = f"http://127.0.0.1:{procs.free_port()}"
    code, _, err = _run(devboss, tmp_path, boss_url=url, retries="1")
    assert code == 5 and "cannot reach BOSS" in err and "after 2 tries" in err


def test_a_boss_failing_every_block_exits_5(devboss, tmp_path):
    set_faults(devboss, error_rate=1.0)
    try:
        code, _, err = _run(devboss, tmp_path, retries="2", run=run_cli)
    finally:
        reset_faults(devboss)
    assert code == 5 and "after 3 tries" in err and "simulated server error" in err
    assert not list((tmp_path / "out").glob("em_z*.tif"))


def test_occasional_server_errors_are_retried(devboss, tmp_path):
    set_faults(devboss, error_rate=0.3)
    try:
        code, _, err = _run(devboss, tmp_path, retries="8", block_mb="1", x="0:1100", run=run_cli)
    finally:
        reset_faults(devboss)
    assert code == 0, err


def test_it_refuses_a_folder_with_files_it_did_not_write(devboss, tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "em_z00101.tif").write_bytes(b"mine")
    code, _, err = _run(devboss, tmp_path)
    assert code == 6 and "already holds em_z00101.tif" in err
    assert (tmp_path / "out" / "em_z00101.tif").read_bytes() == b"mine"


def test_it_refuses_an_output_folder_it_cannot_create(devboss, tmp_path):
    (tmp_path / "file").write_text("")
    code, _, err = run_in_process(devboss, CORTEX, "-x", "0:64", "-y", "0:64", "-z", "100:104", "--out",
                                  tmp_path / "file" / "out", "--quiet")
    assert code == 6 and "cannot use the folder" in err


def test_help_documents_the_exit_codes(devboss):
    code, out, _ = run_in_process(devboss, "--help")
    assert code == 0
    for line in ("Exit codes:", "3    unknown resource", "4    token missing or rejected",
                 "5    BOSS unreachable", "130  interrupted"):
        assert line in out
