"""Template files cannot be swapped, replayed, copied or left readable by others; a symlinked store is refused."""

from __future__ import annotations

import json
import os
import shutil

import pytest

from core.cli import run_cli
from core.unlock.templates import (
    StoreIndexError,
    TemplateInsecure,
    TemplateMisplaced,
    TemplateNotFound,
    TemplateNotLive,
    TemplateOutdated,
    TemplateStore,
)
from tests.core.unlock.test_unlock_templates import make_template


@pytest.fixture
def store(tmp_path):
    store = TemplateStore(tmp_path / "store")
    store.save(make_template("Ann", seed=1))
    store.save(make_template("Bea", seed=2))
    return store


def swap(a, b):
    tmp = a.with_suffix(".swap")
    os.replace(a, tmp)
    os.replace(b, a)
    os.replace(tmp, b)


def test_swapped_files_are_both_refused_and_delete_removes_the_right_user(store):
    ann, bea = store.path_for("Ann"), store.path_for("Bea")
    bea_id = store.load("Bea").template_id
    swap(ann, bea)
    for name in ("Ann", "Bea"):
        with pytest.raises(TemplateMisplaced, match="belongs in"):
            store.load(name)
    good, bad = store.load_all()
    assert good == [] and len(bad) == 2
    store.delete("Bea")
    # Bea's template (lying under Ann's file name) is gone; Ann's is kept, still refused where it lies
    assert not ann.exists() and bea.exists()
    assert all(store._signed_template_id(p) != bea_id for p in store._files())
    with pytest.raises(TemplateNotFound):
        store.delete("Bea")
    os.replace(bea, ann)  # put Ann's file back where it belongs
    assert store.names() == ["Ann"]


def test_a_deleted_template_copied_back_is_refused(store, tmp_path):
    bea = store.path_for("Bea")
    kept = tmp_path / "kept.fstpl"
    shutil.copy2(bea, kept)
    store.delete("Bea")
    shutil.copy2(kept, bea)
    with pytest.raises(TemplateNotLive, match="copied back"):
        store.load("Bea")
    assert store.names() == ["Ann"]


def test_an_older_enrolment_kept_aside_is_refused(store, tmp_path):
    bea = store.path_for("Bea")
    old = tmp_path / "old.fstpl"
    shutil.copy2(bea, old)
    store.save(make_template("Bea", seed=7), overwrite=True)
    shutil.copy2(old, bea)
    with pytest.raises(TemplateNotLive):
        store.load("Bea")


def test_a_template_copied_under_another_name_is_refused(store):
    ann = store.path_for("Ann")
    for target in (store.root / "zed-0000000000.fstpl", store.path_for("Cat")):
        shutil.copy2(ann, target)
        errors = {e.path.name: e.error for e in store.entries() if e.error}
        assert isinstance(errors[target.name], TemplateMisplaced), errors
        target.unlink()
    assert store.names() == ["Ann", "Bea"]


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o660])
def test_group_or_world_readable_template_or_key_is_refused(store, mode):
    ann = store.path_for("Ann")
    ann.chmod(mode)
    with pytest.raises(TemplateInsecure, match="chmod 600"):
        store.load("Ann")
    ann.chmod(0o600)
    store.key_path.chmod(mode)
    with pytest.raises(TemplateInsecure, match="store key"):
        TemplateStore(store.root).load("Ann")


def test_a_symlinked_store_or_template_is_refused(store, tmp_path):
    link = tmp_path / "link"
    link.symlink_to(store.root, target_is_directory=True)
    with pytest.raises(TemplateInsecure, match="symlink"):
        TemplateStore(link)
    ann = store.path_for("Ann")
    real = tmp_path / "ann.real"
    os.replace(ann, real)
    ann.symlink_to(real)
    with pytest.raises(TemplateInsecure, match="symlink"):
        store.load("Ann")


def test_a_tampered_index_refuses_every_template(store):
    doc = json.loads(store.index_path.read_text())
    doc["payload"]["users"]["Eve"] = doc["payload"]["users"]["Ann"]
    store.index_path.write_text(json.dumps(doc))
    with pytest.raises(StoreIndexError, match="modified"):
        store.load("Ann")
    assert store.names() == []


def test_a_version_1_template_is_refused_and_delete_clears_it(store):
    ann = store.path_for("Ann")
    doc = json.loads(ann.read_text())
    doc["version"] = 1
    ann.write_text(json.dumps(doc))
    with pytest.raises(TemplateOutdated, match="enrol again"):
        store.load("Ann")
    store.delete("Ann")
    assert not ann.exists()
    store.save(make_template("Ann", seed=4))
    assert store.names() == ["Ann", "Bea"]


def test_cli_lists_swapped_files_as_refused_and_deletes_the_named_user(store, capsys):
    swap(store.path_for("Ann"), store.path_for("Bea"))
    assert run_cli(["unlock", "--list", "--json", "-", "--store", str(store.root)]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert listed["users"] == [] and all("belongs in" in r["reason"] for r in listed["refused"])
    assert run_cli(["unlock", "--delete", "Bea", "--store", str(store.root)]) == 0
    assert not store.path_for("Ann").exists()  # where Bea's template lay
    assert run_cli(["unlock", "--delete", "Bea", "--store", str(store.root)]) == 2
