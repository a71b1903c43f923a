import pytest

from conftest import write_fasta
from motifscan.data.datasets import load_sequences
from motifscan.errors import InputError
from motifscan.codes import decode
from motifscan.io.intervals import Interval, centre, check_chromosomes, parse_region_name, read_intervals


def test_bed_and_narrowpeak(tmp_path):
    path = tmp_path / "p.narrowPeak"
    path.write_text(
        "track name=x\n# comment\n"
        "chr1\t100\t300\tpeak1\t0\t.\t5\t1\t1\t50\r\n"
        "chr1\t400\t500\tpeak2\t0\t.\t5\t1\t1\t-1\n"
        "chr2\t10\t20\n"
    )
    ivs = read_intervals(path)
    assert ivs[0] == Interval("chr1", 100, 300, "peak1", 150)
    assert ivs[1].summit is None and ivs[1].centre == 450
    assert ivs[2].name == "" and ivs[2].centre == 15


@pytest.mark.parametrize(
    "line, needle",
    [("chr1\t10\n", "at least 3"), ("chr1\tx\t20\n", "not an integer"), ("chr1\t-5\t20\n", "negative"),
     ("chr1\t50\t20\n", "before start"), ("chr1\t0\t100\tp\t0\t.\t1\t1\t1\t150\n", "summit")],
)
def test_bad_lines_name_the_line(tmp_path, line, needle):
    path = tmp_path / "bad.bed"
    path.write_text("chr1\t0\t10\n" + line)
    with pytest.raises(InputError, match=needle) as err:
        read_intervals(path)
    assert "bad.bed:line 2" in str(err.value)


def test_centre_drops_windows_off_the_end():
    assert centre(Interval("c", 0, 10), 20, 100) is None
    assert centre(Interval("c", 90, 100), 20, 100) is None
    assert centre(Interval("c", 40, 60), 20, 100) == (40, 60)
    assert centre(Interval("c", 0, 100, summit=30), 10, 100) == (25, 35)


def test_chr_prefix_hint():
    with pytest.raises(InputError, match="'chr' prefix: add it"):
        check_chromosomes([Interval("1", 0, 10)], {"chr1": 100}, "a.bed", "g.fa")
    with pytest.raises(InputError, match="without the 'chr' prefix"):
        check_chromosomes([Interval("chr1", 0, 10)], {"1": 100}, "a.bed", "g.fa")


def test_region_names():
    assert parse_region_name("chr1:100-300") == ("chr1", 100, 300)
    assert parse_region_name("chr1:1,000-2,000(+)") == ("chr1", 1000, 2000)
    assert parse_region_name("peak7") is None


def test_load_bed_with_genome_counts_dropped(tmp_path, caplog):
    seq = "ACGT" * 50
    genome = write_fasta(tmp_path / "g.fa", ["chr1"], [seq])
    bed = tmp_path / "p.bed"
    bed.write_text("chr1\t50\t70\nchr1\t0\t4\nchr1\t190\t200\n")
    with caplog.at_level("INFO", logger="motifscan"):
        s = load_sequences(bed, genome=genome, length=20)
    assert len(s) == 1 and decode(s.codes[0]) == seq[50:70]
    assert "dropped 2 of 3" in caplog.text
    assert s.chroms == ["chr1"]
