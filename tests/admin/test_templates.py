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


def _text(received) -> str:  # type: ignore[no-untyped-def]
    return received.message.get_body(("plain",)).get_content()


def test_a_template_saved_in_the_console_is_what_campaigns_preview_test_and_send(
    tmp_path: Path, pg_url: str, committed_db: sessionmaker[Session], smtp_server
) -> None:
    """Preview, test-send and the sending pipeline all compose from the latest saved version
    (in every language), once per variant; a version saved mid-campaign takes over."""
    from newsletter.campaigns import service
    from newsletter.db import unit_of_work
    from newsletter.delivery import pipeline
    from tests.admin.factories import make_list, make_subscriber
    from tests.admin.test_campaigns import compose

    with unit_of_work(committed_db) as db:
        press = make_list(db, "press", "Press", "Presse")
        for i in range(4):
            make_subscriber(
                db, f"r{i}@example.org", language="fr" if i % 2 else "en", lists=[press]
            )
        press_id = press.id
    make_staff(committed_db, StaffRole.EDITOR)
    overrides = {"smtp_url": smtp_server.url, "send_batch_size": 2}
    settings = staff_settings(tmp_path, pg_url, **overrides)
    client = StaffClient(app_for(tmp_path, pg_url, **overrides))
    client.sign_in("editor@coalition.example.org")
    campaign_id = compose(client, press_id)
    sources = shipped(tmp_path, pg_url)

    def save(marker: str) -> None:
        edited = {
            "subject.txt": f"[{marker}] {{{{ variant.subject }}}}",
            "body.txt": sources["body.txt"].replace(
                "{{ variant.body_text }}", f"{marker} text. {{{{ variant.body_text }}}}"
            ),
            "body.html": sources["body.html"].replace(
                "{{ variant.body_html }}", f"<p>{marker} html.</p>{{{{ variant.body_html }}}}"
            ),
        }
        assert client.post("/admin/templates/newsletter", edited).status_code == 303

    before = client.get(f"/admin/campaigns/{campaign_id}/preview", params={"language": "fr"})
    assert "Console-v1" not in before.text  # nothing saved yet: the shipped files
    save("Console-v1")
    preview = client.get(f"/admin/campaigns/{campaign_id}/preview", params={"language": "fr"})
    assert "[Console-v1] Nos nouvelles de novembre" in preview.text
    assert "Console-v1 text." in preview.text
    frame = client.get(f"/admin/campaigns/{campaign_id}/preview.html", params={"language": "en"})
    assert "<p>Console-v1 html.</p>" in frame.text
    sent = client.post(
        f"/admin/campaigns/{campaign_id}/test",
        {"address": "desk@coalition.example.org", "language": "fr"},
    )
    assert sent.status_code == 303, sent.text
    (test_message,) = smtp_server.wait_for(1)
    assert str(test_message.message["Subject"]) == "[Console-v1] Nos nouvelles de novembre"

    with unit_of_work(committed_db) as db:
        batches = service.start_campaign(db, campaign_id, settings=settings)
    assert len(batches.ranges) == 2
    pipeline._COMPOSED.clear()
    pipeline.send_batch(committed_db, settings, campaign_id, *batches.ranges[0])
    first = smtp_server.wait_for(3)[1:]
    assert {str(m.message["Subject"])[:12] for m in first} == {"[Console-v1]"}
    assert all("Console-v1 text." in _text(m) for m in first)
    assert len(pipeline._COMPOSED) == 2  # one composition per language, not per recipient
    save("Console-v2")
    pipeline.send_batch(committed_db, settings, campaign_id, *batches.ranges[1])
    second = smtp_server.wait_for(5)[3:]
    assert {str(m.message["Subject"])[:12] for m in second} == {"[Console-v2]"}
    assert all("Console-v2 text." in _text(m) for m in second)
