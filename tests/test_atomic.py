import os
import stat

import pytest

from motifscan.atomic import atomic_open, atomic_path, check_output_path
from motifscan.errors import UsageError


def test_success_renames_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "out.bed"
    with atomic_open(target) as fh:
        fh.write("chr1\t0\t1\n")
        assert not target.exists()
    assert target.read_text() == "chr1\t0\t1\n"
    assert os.listdir(tmp_path) == ["out.bed"]


def test_outputs_get_the_usual_permissions(tmp_path):
    target = tmp_path / "out.txt"
    with atomic_open(target) as fh:
        fh.write("x")
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~umask


@pytest.mark.parametrize("exc", [RuntimeError, KeyboardInterrupt, SystemExit])
def test_failure_leaves_nothing_and_keeps_an_older_file(tmp_path, exc):
    target = tmp_path / "model.h5"
    target.write_text("old")
    with pytest.raises(exc):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise exc()
    assert target.read_text() == "old"
    assert os.listdir(tmp_path) == ["model.h5"]


def test_missing_directory_is_a_usage_error_before_work(tmp_path):
    with pytest.raises(UsageError, match="does not exist"):
        check_output_path(tmp_path / "nope" / "x.tsv")
    with pytest.raises(UsageError, match="is a directory"):
        check_output_path(tmp_path)
