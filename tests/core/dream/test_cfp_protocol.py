"""CFP protocol files: image lists, pair files, folds, errors naming file and line."""

from __future__ import annotations

import numpy as np
import pytest

from core.cfp.protocol import (
    CfpError,
    CfpProtocol,
    fold_identities,
    identity_of,
    is_profile_key,
    parse_folds,
    read_image_list,
    read_pairs,
)


def _root(tmp_path):
    proto = tmp_path / "Protocol"
    (proto / "Split" / "FP" / "01").mkdir(parents=True)
    (proto / "Split" / "FF" / "01").mkdir(parents=True)
    (proto / "Split" / "FF" / "03").mkdir(parents=True)
    frontal = [f"Data/Images/{i:03d}/frontal/{k:02d}.jpg" for i in (1, 2) for k in (1, 2)]
    profile = [f"Data/Images/{i:03d}/profile/{k:02d}.jpg" for i in (1, 2) for k in (1,)]
    (proto / "image_list_F.txt").write_text("".join(f"{n} {k}\n" for n, k in enumerate(frontal, 1)))
    (proto / "Pair_list_P.txt").write_text("".join(f"{n} {k}\n" for n, k in enumerate(profile, 1)))
    (proto / "Split" / "FP" / "01" / "same.txt").write_text("1,1\n4,2\n")
    (proto / "Split" / "FP" / "01" / "diff.txt").write_text("1,2\n")
    (proto / "Split" / "FF" / "01" / "same.txt").write_text("1,2\n")
    (proto / "Split" / "FF" / "01" / "diff.txt").write_text("2, 3\n\n")
    (tmp_path / frontal[0]).parent.mkdir(parents=True)
    (tmp_path / frontal[0]).write_bytes(b"x")
    return tmp_path


def test_open_and_read_folds(tmp_path):
    cfp = CfpProtocol.open(_root(tmp_path))
    assert len(cfp.frontal) == 4 and len(cfp.profile) == 2  # upstream's Pair_list_P name is read too
    assert cfp.folds("FP") == [1] and cfp.folds("ff") == [1, 3]
    fp = cfp.fold("FP", 1)
    assert fp.protocol == "FP" and len(fp) == 3
    assert fp.keys_a[1] == "Data/Images/002/frontal/02.jpg"
    assert fp.keys_b[1] == "Data/Images/002/profile/01.jpg"  # FP: the second index is a profile
    assert fp.labels.tolist() == [1, 1, 0]
    ff = cfp.fold("FF", 1)
    assert ff.keys_b == ("Data/Images/001/frontal/02.jpg", "Data/Images/002/frontal/01.jpg")
    assert cfp.existing_keys() == ["Data/Images/001/frontal/01.jpg"]


def test_errors_name_the_file_and_line(tmp_path):
    root = _root(tmp_path)
    bad = root / "Protocol" / "Split" / "FP" / "01" / "diff.txt"
    bad.write_text("1,2\n1;2\n")
    with pytest.raises(CfpError, match=r"diff.txt:2"):
        CfpProtocol.open(root).fold("FP", 1)
    bad.write_text("9,1\n")
    with pytest.raises(CfpError, match="outside the image lists"):
        CfpProtocol.open(root).fold("FP", 1)
    with pytest.raises(CfpError, match="FF or FP"):
        CfpProtocol.open(root).folds("PP")
    lst = root / "Protocol" / "image_list_F.txt"
    lst.write_text("1 a.jpg\n3 b.jpg\n")
    with pytest.raises(CfpError, match=r"image_list_F.txt:2: index 3 out of order"):
        read_image_list(lst)
    with pytest.raises(CfpError, match="no Protocol"):
        CfpProtocol.open(tmp_path / "nowhere")


def test_read_pairs_shape(tmp_path):
    p = tmp_path / "same.txt"
    p.write_text("5,1\n8,4\n")
    assert read_pairs(p).tolist() == [[5, 1], [8, 4]]
    p.write_text("")
    assert read_pairs(p).shape == (0, 2)


def test_helpers():
    assert identity_of("Data/Images/017/profile/02.jpg") == 17 and is_profile_key(
        "Data/Images/017/profile/02.jpg"
    )
    assert not is_profile_key("Data/Images/017/frontal/02.jpg")
    assert parse_folds("1-3,5") == [1, 2, 3, 5] and parse_folds("9") == [9]
    for bad in ("", "a", "0-2"):
        with pytest.raises(CfpError):
            parse_folds(bad)
    assert list(fold_identities(2)) == list(np.arange(51, 101))
