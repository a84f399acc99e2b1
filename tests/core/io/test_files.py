from __future__ import annotations

from core.io.files import expand_inputs, list_images, natural_key


def test_natural_sort_and_filtering(tmp_path):
    for name in ["img10.jpg", "img2.jpg", "IMG1.png", "notes.txt", ".hidden.jpg"]:
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.jpg").write_bytes(b"x")
    assert [p.name for p in list_images(tmp_path)] == ["IMG1.png", "img2.jpg", "img10.jpg"]
    assert [p.name for p in list_images(tmp_path, recursive=True)][-1] == "a.jpg"
    assert natural_key("a2") < natural_key("a10")


def test_expand_inputs_keeps_files_and_dedupes(tmp_path):
    (tmp_path / "a.jpg").write_bytes(b"x")
    (tmp_path / "b.jpg").write_bytes(b"x")
    result = expand_inputs([tmp_path / "b.jpg", tmp_path])
    assert [p.name for p in result] == ["b.jpg", "a.jpg"]


def test_fifty_thousand_empty_files_are_listed_without_opening_them(tmp_path):
    # Speed is measured by bench/browse.py; here: all listed, in natural order, none opened (they are empty).
    for i in range(50_000):
        (tmp_path / f"frame_{i}.jpg").touch()
    paths = list_images(tmp_path)
    assert len(paths) == 50_000
    assert [p.name for p in paths[:3]] == ["frame_0.jpg", "frame_1.jpg", "frame_2.jpg"]
    assert paths[-1].name == "frame_49999.jpg"
