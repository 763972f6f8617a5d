"""Staff-edited templates: validated in the sending sandbox on save (line and message for a
broken one, refusal for a reach into Python internals), saved as numbered versions."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from newsletter.staff import templates_store as store
from newsletter.staff.models import EmailTemplateVersion, StaffRole
from tests.admin.helpers import StaffClient, app_for, make_staff, staff_settings


def shipped(tmp_path: Path, pg_url: str) -> dict[str, str]:
    settings = staff_settings(tmp_path, pg_url)
    return {part: store.shipped_source(settings, "newsletter", part) for part in store.PARTS}


def test_the_shipped_template_validates_and_a_broken_one_names_part_and_line(
    tmp_path: Path, pg_url: str
) -> None:
    settings = staff_settings(tmp_path, pg_url)
    sources = shipped(tmp_path, pg_url)
    assert store.validate(settings, "newsletter", sources) == []
    broken = sources | {"body.txt": "line one\nline two\n{% for x in posts %}\nno end\n"}
    (problem,) = store.validate(settings, "newsletter", broken)
    assert problem.part == "body.txt" and problem.line == 4
    assert "endfor" in problem.message
    unknown = sources | {"subject.txt": "{{ nothing_like_this }}"}
    (problem,) = store.validate(settings, "newsletter", unknown)
    assert problem.part == "subject.txt" and "nothing_like_this" in problem.message


def test_a_template_reaching_for_python_internals_is_refused(tmp_path: Path, pg_url: str) -> None:
    settings = staff_settings(tmp_path, pg_url)
    sources = shipped(tmp_path, pg_url)
    for attack in (
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ campaign.__init__.__globals__ }}",
        "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
        "{% for i in range(10**9) %}{% endfor %}",
    ):
        problems = store.validate(settings, "newsletter", sources | {"body.html": attack})
        assert problems, attack
        assert problems[0].part == "body.html"


def test_saving_in_the_console_refuses_broken_templates_and_versions_good_ones(
    tmp_path: Path, pg_url: str, committed_db: sessionmaker[Session]
) -> None:
    make_staff(committed_db, StaffRole.EDITOR)
    client = StaffClient(app_for(tmp_path, pg_url))
    client.sign_in("editor@coalition.example.org")
    sources = shipped(tmp_path, pg_url)
    assert client.get("/admin/templates/newsletter").status_code == 200
    refused = client.post(
        "/admin/templates/newsletter", sources | {"body.html": "<p>\n{{ x.__class__ }}</p>"}
    )
    assert refused.status_code == 400
    assert "Python internals" in refused.text and "line 2" in refused.text
    edited = sources | {"subject.txt": "{{ variant.subject }} · {{ org.name }}"}
    assert client.post("/admin/templates/newsletter", edited | {"note": "org"}).status_code == 303
    assert client.post("/admin/templates/newsletter", sources).status_code == 303
    with committed_db() as db:
        versions = db.scalars(select(EmailTemplateVersion.version)).all()
        assert sorted(versions) == [1, 2]
    first = client.get("/admin/templates/newsletter", params={"version": 1})
    assert "{{ variant.subject }} · {{ org.name }}" in first.text
    assert client.get("/admin/templates/nonexistent").status_code == 404
