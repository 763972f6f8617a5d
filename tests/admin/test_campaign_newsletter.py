"""A newsletter reads as the editor wrote it: no greeting added before the editor's own, event
times in the reader's zone and language, a "read it online" link per post and the "view in
your browser" link; staff preview it as a subscriber they find by address."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from newsletter.campaigns.models import Campaign, CampaignKind, CampaignPost, CampaignVariant
from newsletter.content import service as content
from newsletter.content.models import PostKind
from newsletter.db import unit_of_work
from newsletter.staff.models import StaffRole
from tests.admin.factories import make_list, make_subscriber
from tests.admin.helpers import StaffClient, app_for, make_staff


def _newsletter(factory: sessionmaker[Session]) -> tuple[int, int, str]:
    with unit_of_work(factory) as db:
        members = make_list(db, "members", "Members", "Membres")
        reader = make_subscriber(db, "amina@example.org", name="Amina", language="fr",
                                 lists=[members])  # fmt: skip
        reader.timezone = "Africa/Nairobi"
        post = content.create_post(
            db,
            kind=PostKind.EVENT,
            translations=[
                content.TranslationInput("fr", "Webinaire sur l'eau", "Une heure et demie.")
            ],
            languages=["en", "fr"],
            event=content.EventInput(dt.datetime(2099, 12, 17, 11, 0), "America/New_York", 90),
        )
        content.publish_post(post, now=dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
        campaign = Campaign(
            kind=CampaignKind.NEWSLETTER, name="Décembre", template_name="newsletter",
            lists=[members], posts=[CampaignPost(post_id=post.id, position=0)],
            variants=[CampaignVariant(language="fr", subject="Nos nouvelles",
                                      body_markdown="Chers amis,\n\nVoici nos nouvelles.")],
        )  # fmt: skip
        db.add(campaign)
        db.flush()
        return campaign.id, reader.id, post.public_id


def test_a_newsletter_previewed_as_a_subscriber_found_by_address(
    tmp_path: Path, pg_url: str, committed_db: sessionmaker[Session]
) -> None:
    campaign_id, reader_id, post_public_id = _newsletter(committed_db)
    make_staff(committed_db, StaffRole.EDITOR)
    client = StaffClient(app_for(tmp_path, pg_url))
    client.sign_in("editor@coalition.example.org")
    page = client.get(
        f"/admin/campaigns/{campaign_id}/preview?language=fr&address=Amina@Example.org"
    )
    assert page.status_code == 200
    assert 'id="previewed-as"' in page.text
    assert f"subscriber_id={reader_id}" in page.text  # the frame asks by id, not by address
    text = page.text.split('id="preview-text">', 1)[1].split("</pre>", 1)[0]
    before_editor = text.split("Chers amis,", 1)[0]
    assert "Amina" not in before_editor and "Bonjour" not in before_editor  # no hidden greeting
    # 11:00 in New York is 19:00 in Nairobi: the reader's zone, worded in French
    assert "19:00–20:30 (heure de Nairobi)" in text and "America/New_York" not in text
    assert f"Lire en ligne\u00a0: http://127.0.0.1:8000/archive/posts/{post_public_id}" in text
    assert (
        "Afficher ce courriel dans votre navigateur\u00a0: http://127.0.0.1:8000/archive/campaigns/"
        in text
    )
    frame = client.get(
        f"/admin/campaigns/{campaign_id}/preview.html?language=fr&subscriber_id={reader_id}"
    )
    assert "Amina" not in frame.text.split("Chers amis", 1)[0]
    assert 'class="read-online"' in frame.text
    unknown = client.get(
        f"/admin/campaigns/{campaign_id}/preview?language=fr&address=nobody@example.org"
    )
    assert unknown.status_code == 200 and 'id="unknown-address"' in unknown.text
