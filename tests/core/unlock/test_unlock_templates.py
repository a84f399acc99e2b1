"""Template store: signed files, 0600/0700, tampered / foreign / corrupt refused, list / rename / delete."""

from __future__ import annotations

import json
import stat

import numpy as np
import pytest

from core.unlock.templates import (
    InvalidUserName,
    ModelInfo,
    StoreKeyError,
    TemplateCorrupt,
    TemplateExists,
    TemplateForeign,
    TemplateModelMismatch,
    TemplateNotFound,
    TemplateStore,
    TemplateTampered,
    UserTemplate,
)

MODEL = ModelInfo("faceapi_face_recognition@0123456789abcdef", "0123456789abcdef" * 4)


def make_template(
    name: str = "Ann", n: int = 5, seed: int = 0, images: list[bytes] | None = None
) -> UserTemplate:
    rng = np.random.default_rng(seed)
    return UserTemplate(
        name=name, embeddings=rng.normal(size=(n, 128)), model=MODEL, dream=True, images=images or []
    )


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_round_trip_permissions_and_no_images_by_default(tmp_path):
    store = TemplateStore(tmp_path / "store")
    assert mode(store.root) == 0o700
    template = make_template()
    path = store.save(template)
    assert mode(path) == 0o600 and mode(store.key_path) == 0o600
    loaded = store.load("Ann")
    assert loaded.name == "Ann" and loaded.frames == 5 and loaded.dream and loaded.model == MODEL
    np.testing.assert_array_equal(loaded.embeddings, template.embeddings)
    np.testing.assert_allclose(np.linalg.norm(loaded.embeddings, axis=1), 1.0, atol=1e-6)
    np.testing.assert_allclose(loaded.mean, template.mean)
    assert abs(loaded.created - template.created) < 1e-6
    doc = json.loads(path.read_text())
    assert doc["payload"]["images"] == [] and len(doc["hmac"]) == 64
    # opted-in crops are kept (and signed)
    store.save(make_template("Bo", images=[b"\x89PNG fake"]))
    assert store.load("Bo").images == [b"\x89PNG fake"]
    # rewriting keeps 0600
    store.save(make_template(seed=3), overwrite=True)
    assert mode(path) == 0o600


def test_tampered_template_is_refused_with_a_message(tmp_path):
    store = TemplateStore(tmp_path)
    path = store.save(make_template())
    doc = json.loads(path.read_text())
    doc["payload"]["dream"] = False  # any change to the payload
    path.write_text(json.dumps(doc))
    with pytest.raises(TemplateTampered, match="modified after it was saved"):
        store.load("Ann")
    # an embedding swapped by a forger who rewrote the mean as well
    store.save(make_template(), overwrite=True)
    doc = json.loads(path.read_text())
    other_doc = json.loads(store.save(make_template("Eve", seed=9)).read_text())
    doc["payload"]["embeddings"], doc["payload"]["mean"] = (
        other_doc["payload"]["embeddings"],
        other_doc["payload"]["mean"],
    )
    path.write_text(json.dumps(doc))
    with pytest.raises(TemplateTampered):
        store.load("Ann")
    # the listing keeps going and reports the refusal
    entries = store.entries()
    assert sorted(e.summary.name for e in entries if e.summary) == ["Eve"]
    assert [type(e.error) for e in entries if e.error] == [TemplateTampered]
    good, bad = store.load_all()
    assert [t.name for t in good] == ["Eve"] and isinstance(bad[0], TemplateTampered)


def test_foreign_and_corrupt_files_are_refused(tmp_path):
    mine, theirs = TemplateStore(tmp_path / "mine"), TemplateStore(tmp_path / "theirs")
    mine.save(make_template("Ann"))
    foreign = theirs.save(make_template("Zed"))
    copied = mine.root / foreign.name
    copied.write_bytes(foreign.read_bytes())
    copied.chmod(0o600)  # a lax mode is refused first (see test_unlock_store_integrity)
    with pytest.raises(TemplateForeign, match="not written by this store"):
        mine.load("Zed")
    (mine.root / "junk.fstpl").write_bytes(b"\x00\x01 not json")
    truncated = mine.root / "cut.fstpl"
    truncated.write_text(mine.path_for("Ann").read_text()[:100])
    for path in (mine.root / "junk.fstpl", truncated):
        path.chmod(0o600)
    errors = {e.path.name: type(e.error) for e in mine.entries() if e.error}
    assert errors == {
        copied.name: TemplateForeign,
        "junk.fstpl": TemplateCorrupt,
        "cut.fstpl": TemplateCorrupt,
    }
    assert mine.names() == ["Ann"]
    for e in mine.entries():
        if e.error:
            assert "Traceback" not in str(e.error) and str(e.error).endswith(".")


def test_model_mismatch_is_reported(tmp_path):
    store = TemplateStore(tmp_path)
    store.save(make_template())
    other = ModelInfo("faceapi_face_recognition@ffffffffffffffff", "f" * 64)
    good, bad = store.load_all(other)
    assert good == [] and isinstance(bad[0], TemplateModelMismatch) and "enrol 'Ann' again" in str(bad[0])
    assert [t.name for t in store.load_all(MODEL)[0]] == ["Ann"]


def test_list_rename_delete_and_names(tmp_path):
    store = TemplateStore(tmp_path)
    store.save(make_template("Ann"))
    store.save(make_template("bob", seed=1))
    with pytest.raises(TemplateExists):
        store.save(make_template("Ann"))
    assert [s.name for s in store.list_users()] == ["Ann", "bob"]
    store.rename("bob", "Bob Smith")
    assert store.names() == ["Ann", "Bob Smith"] and not store.exists("bob")
    assert store.load("Bob Smith").frames == 5
    with pytest.raises(TemplateExists):
        store.rename("Ann", "Bob Smith")
    store.delete("Ann")
    assert store.names() == ["Bob Smith"]
    with pytest.raises(TemplateNotFound):
        store.delete("Ann")
    with pytest.raises(TemplateNotFound, match="No enrolled user named 'nobody'"):
        store.load("nobody")
    for bad in ("", "   ", "x" * 65, "a\nb"):
        with pytest.raises(InvalidUserName):
            store.save(make_template(bad))
    # names that slug alike stay apart
    store.save(make_template("ann"))
    store.save(make_template("ANN", seed=2))
    assert store.path_for("ann") != store.path_for("ANN")
    assert set(store.names()) == {"ann", "ANN", "Bob Smith"}


def test_missing_key_with_templates_is_an_error(tmp_path):
    store = TemplateStore(tmp_path)
    store.save(make_template())
    store.key_path.unlink()
    fresh = TemplateStore(tmp_path)
    with pytest.raises(StoreKeyError, match="missing"):
        fresh.load("Ann")
    with pytest.raises(StoreKeyError):
        fresh.save(make_template("New"))
    assert isinstance(fresh.entries()[0].error, StoreKeyError)


def test_template_needs_finite_embeddings():
    with pytest.raises(ValueError):
        make_template(n=0)
    with pytest.raises(ValueError):
        UserTemplate("x", np.full((2, 128), np.nan), MODEL, False)
