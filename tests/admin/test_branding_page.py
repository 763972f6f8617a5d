"""The mail branding page over real HTTP: admins only, validation refused in the page's
language, a saved logo and address reach the next mail at once, audited."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from newsletter.db import unit_of_work
from newsletter.rendering.branding import MailBranding, forget_cached_looks
from newsletter.staff.models import AuditLogEntry, StaffRole
from newsletter.subscribers.models import SubscriberStatus
from newsletter.subscribers.notifications import build_journey_email
from tests.admin.factories import make_subscriber
from tests.admin.helpers import StaffClient, app_for, make_staff, staff_settings

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def signed_in(tmp_path: Path, pg_url: str, factory: sessionmaker[Session], role: StaffRole):  # type: ignore[no-untyped-def]
    make_staff(factory, role)
    client = StaffClient(app_for(tmp_path, pg_url))
    assert client.sign_in(f"{role.value}@coalition.example.org").status_code == 303
    return client


FIELDS = {
    "name_en": "Clean Rivers Coalition",
    "name_fr": "Coalition Rivières propres",
    "primary_colour": "#7A1F3D",
    "link_colour": "#114488",
    "postal_address": "12 rue du Quai\n1000 Bruxelles",
}


def test_admins_save_the_branding_and_the_next_mail_carries_it_inside(
    tmp_path: Path, pg_url: str, committed_db: sessionmaker[Session]
) -> None:
    forget_cached_looks()
    editor = signed_in(tmp_path, pg_url, committed_db, StaffRole.EDITOR)
    assert editor.get("/admin/branding").status_code == 403
    client = signed_in(tmp_path, pg_url, committed_db, StaffRole.ADMIN)
    page = client.get("/admin/branding")
    assert page.status_code == 200 and "Allow remote images in campaigns" in page.text
    assert 'name="allow_remote_images" value="true" >' in page.text  # unticked by default

    bad = client.post("/admin/branding", {**FIELDS, "primary_colour": "red;x:url(//t)"})
    assert bad.status_code == 400 and "#rrggbb" in bad.text
    svg = client.post(
        "/admin/branding", FIELDS, files={"logo": ("logo.svg", b"<svg/>", "image/svg+xml")}
    )
    assert svg.status_code == 400 and "PNG, JPEG or GIF" in svg.text
    french = client.post(
        "/admin/branding",
        {**FIELDS, "link_colour": "blue"},
        headers={"Accept-Language": "fr"},
    )
    assert "Les couleurs s’écrivent" in french.text

    saved = client.post("/admin/branding", FIELDS, files={"logo": ("logo.png", PNG, "image/png")})
    assert saved.headers["location"] == "/admin/branding?notice=saved"
    assert 'id="current-logo"' in client.get("/admin/branding").text

    settings = staff_settings(tmp_path, pg_url)
    with unit_of_work(committed_db) as db:
        row = db.scalar(select(MailBranding))
        assert row is not None and row.logo == PNG and row.primary_colour == "#7a1f3d"
        assert row.allow_remote_images is False
        subscriber = make_subscriber(
            db, "amina@example.org", language="fr", status=SubscriberStatus.PENDING
        )
        mail = build_journey_email(settings, subscriber, "confirm").message
        entry = db.scalar(select(AuditLogEntry).where(AuditLogEntry.action == "branding.save"))
        assert entry is not None and entry.detail["logo"] == "replaced"
    assert b"data:image/png;base64," in mail and b"Coalition Rivi" in mail
    assert b"1000 Bruxelles" in mail

    client.post("/admin/branding", {**FIELDS, "remove_logo": "true", "allow_remote_images": "true"})
    with unit_of_work(committed_db) as db:
        row = db.scalar(select(MailBranding))
        assert row is not None and row.logo is None and row.allow_remote_images is True


def test_a_template_that_loads_remote_content_is_refused_at_save_time(
    tmp_path: Path, pg_url: str, committed_db: sessionmaker[Session]
) -> None:
    from tests.admin.test_templates import shipped

    client = signed_in(tmp_path, pg_url, committed_db, StaffRole.ADMIN)
    sources = shipped(tmp_path, pg_url)
    image = '<img src="https://tracker.example/p.gif" alt="">'
    sheet = '<link rel="stylesheet" href="https://cdn.example/s.css">'
    for hostile in (image, sheet):
        html = sources["body.html"].replace("{% block content %}", "{% block content %}" + hostile)
        refused = client.post("/admin/templates/newsletter", sources | {"body.html": html})
        assert refused.status_code == 400 and "loads remote content" in refused.text
    client.post("/admin/branding", {**FIELDS, "allow_remote_images": "true"})
    with_image = sources["body.html"].replace("{% block content %}", "{% block content %}" + image)
    assert (
        client.post("/admin/templates/newsletter", sources | {"body.html": with_image}).status_code
        == 303
    )
    with_sheet = with_image.replace(image, image + sheet)
    assert (
        client.post("/admin/templates/newsletter", sources | {"body.html": with_sheet}).status_code
        == 400
    )
