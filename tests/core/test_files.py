from __future__ import annotations

import time

from core.files import expand_inputs, list_images, natural_key


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


def test_fifty_thousand_files_list_quickly(tmp_path):
    for i in range(50_000):
        (tmp_path / f"frame_{i:05d}.jpg").touch()
    start = time.perf_counter()
    paths = list_images(tmp_path)
    elapsed = time.perf_counter() - start
    assert len(paths) == 50_000
    assert elapsed < 1.0, f"listing 50,000 files took {elapsed:.2f} s"
