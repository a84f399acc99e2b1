"""The store's signed index of live templates: is a signed template file one the store still lists?

The index maps each enrolled user to the random id of their current template
and its file name. A file whose signature verifies is still refused unless the
index lists its (user, template id) under that very file name: this is what
stops a deleted template copied back (its id is no longer listed), an older
enrolment kept aside (replaced id), a file copied or renamed to another user's
name, and two users' files swapped (file name and index entry disagree).
"""

from __future__ import annotations

from core.unlock.template_data import TemplateMisplaced, TemplateNotLive


def check_live(
    index: dict[str, dict[str, str]], file_name: str, expected_file: str | None, user: str, template_id: str
) -> None:
    """Raise unless ``index[user]`` is ``template_id`` in ``file_name`` (= the user's own file name)."""
    entry = index.get(user)
    if entry is not None and entry.get("template_id") == template_id:
        if entry.get("file") == file_name == expected_file:
            return
        listed = entry.get("file")
        raise TemplateMisplaced(
            f"{file_name} holds the template of {user!r}, which belongs in {listed}: refused "
            f"(renamed, swapped or copied). Delete {file_name}; {user!r} still unlocks from {listed} if it is intact."
        )
    if template_id and any(e.get("template_id") == template_id for e in index.values()):
        raise TemplateMisplaced(
            f"{file_name} holds a template whose user and id do not match the store's index "
            "(files were renamed or swapped): refused. Delete the user and enrol again."
        )
    raise TemplateNotLive(
        f"The template of {user!r} ({file_name}) is not one of this store's enrolled users "
        "(deleted, replaced by a newer enrolment, or copied back): refused. Delete it, or enrol again."
    )
