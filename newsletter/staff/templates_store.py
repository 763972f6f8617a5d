"""Staff-edited email templates: validated in the sandbox before they are saved, versioned.

Every save is a new version (nothing is overwritten, so any earlier version can be restored
by saving it again). Before saving, each part is compiled and rendered in the same bounded
sandbox the sending engine uses, with a sample campaign, post and reader: a syntax error, an
unknown variable, a runaway loop or a reach for Python internals (``__class__``,
``__subclasses__``, ...) is refused with the part, the line and the message.
"""

from __future__ import annotations

import traceback
from dataclasses import dataclass

from jinja2 import TemplateError, TemplateSyntaxError
from jinja2.sandbox import SecurityError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from newsletter import clock
from newsletter.campaigns.models import Campaign, CampaignKind, CampaignPost, CampaignVariant
from newsletter.config import Settings
from newsletter.content.models import Post, PostKind, PostTranslation
from newsletter.i18n import using_language
from newsletter.rendering.branding import look_from_session
from newsletter.rendering.compose import _context
from newsletter.rendering.mime import PLACEHOLDERS
from newsletter.rendering.sandbox import (
    RenderLimitExceeded,
    build_staff_environment,
    render_bounded,
)
from newsletter.rendering.sanitiser import remote_references
from newsletter.rendering.template_source import PARTS, latest_version
from newsletter.staff import audit
from newsletter.staff.models import EmailTemplateVersion

MAX_SOURCE = 200_000


@dataclass(frozen=True)
class TemplateProblem:
    part: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.part}, line {self.line}" if self.line else self.part
        return f"{where}: {self.message}"


class TemplateRefused(ValueError):
    def __init__(self, problems: list[TemplateProblem]) -> None:
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems


def current(db: Session, name: str) -> EmailTemplateVersion | None:
    """The version campaigns are composed from (see `newsletter.rendering.template_source`)."""
    return latest_version(db, name)


def versions(db: Session, name: str) -> list[EmailTemplateVersion]:
    return list(
        db.scalars(
            select(EmailTemplateVersion)
            .where(EmailTemplateVersion.name == name)
            .order_by(EmailTemplateVersion.version.desc())
        )
    )


def shipped_source(settings: Settings, name: str, part: str) -> str:
    path = settings.templates_dir / "email" / name / part
    return path.read_text(encoding="utf-8") if path.is_file() else ""


def _sample_campaign(settings: Settings, name: str) -> Campaign:
    post = Post(kind=PostKind.PRESS_RELEASE, public_id="sample", published_at=clock.now())
    post.translations = [
        PostTranslation(
            language=lang,
            title="Sample title",
            summary="A short summary.",
            body_markdown="Some *text*.",
            body_html="<p>Some <em>text</em>.</p>",
        )
        for lang in settings.languages
    ]
    return Campaign(
        kind=CampaignKind.NEWSLETTER,
        name="Sample",
        template_name=name,
        public_id="sample",
        posts=[CampaignPost(post=post, position=0)],
        variants=[
            CampaignVariant(
                language=lang,
                subject="Sample subject",
                preheader="Preheader",
                body_markdown="Hello **everyone**.",
            )
            for lang in settings.languages
        ],
    )


def _line_of(exc: BaseException, template_name: str) -> int | None:
    if isinstance(exc, TemplateSyntaxError):
        return exc.lineno
    lines = [
        f.lineno
        for f in traceback.extract_tb(exc.__traceback__)
        if f.filename in (template_name, "<template>")
    ]
    return lines[-1] if lines else None


def validate(
    settings: Settings, name: str, sources: dict[str, str], *, allow_remote_images: bool = False
) -> list[TemplateProblem]:
    """Compile and render every part with sample data in the sending sandbox.

    The rendered HTML must not load anything from elsewhere (the sanitiser's ``mail`` policy
    would remove it from every message anyway): staff learn it at save time, not from a
    message that looks broken. Remote images pass only when an admin allows them.
    """
    keys = {f"email/{name}/{part}": sources.get(part, "") for part in PARTS}
    # The sending engine's environment, uncached: refused drafts must not stay in memory.
    environment = build_staff_environment(settings.templates_dir, tuple(keys.items()))
    campaign = _sample_campaign(settings, name)
    problems = []
    for language in settings.languages:
        variant = next(v for v in campaign.variants if v.language == language)
        sentinels = {key: f"sample-{key}" for key in PLACEHOLDERS}
        context = _context(settings, campaign, variant, None, sentinels)
        for part in PARTS:
            template_name = f"email/{name}/{part}"
            if len(keys[template_name]) > MAX_SOURCE:
                problems.append(TemplateProblem(part, None, "the template is too long"))
                continue
            try:
                with using_language(language):
                    rendered = render_bounded(
                        environment.get_template(template_name), context, max_seconds=1.0
                    )
                if part == "body.html":
                    problems += _remote_problems(rendered, allow_remote_images)
            except SecurityError as exc:
                problems.append(
                    TemplateProblem(
                        part,
                        _line_of(exc, template_name),
                        "reaches for Python internals: not allowed",
                    )
                )
            except (TemplateError, RenderLimitExceeded) as exc:
                message = getattr(exc, "message", None) or str(exc)
                problems.append(TemplateProblem(part, _line_of(exc, template_name), message))
            except Exception as exc:  # a sample-data mistake in the template (1/0, bad call)
                problems.append(
                    TemplateProblem(
                        part, _line_of(exc, template_name), f"{type(exc).__name__}: {exc}"
                    )
                )
        if problems:
            break
    return problems


def _remote_problems(rendered: str, allow_remote_images: bool) -> list[TemplateProblem]:
    found = remote_references(rendered)
    if allow_remote_images:
        found = [item for item in found if not item.startswith("<img src=http")]
    if not found:
        return []
    shown = ", ".join(found[:5])
    return [
        TemplateProblem(
            "body.html",
            None,
            f"loads remote content ({shown}): a mail client would fetch it and tell that site "
            "who opened the mail; carry images inside the message (the branding's logo) or "
            "ask an admin to allow remote images",
        )
    ]


def _in_use(db: Session, settings: Settings, name: str) -> dict[str, str]:
    """The sources campaigns are composed from now: the latest version, else the shipped files."""
    latest = current(db, name)
    if latest is None:
        return {part: shipped_source(settings, name, part) for part in PARTS}
    return {
        "subject.txt": latest.subject,
        "body.txt": latest.body_text,
        "body.html": latest.body_html,
    }


def save_version(
    db: Session,
    settings: Settings,
    actor: audit.Actor,
    name: str,
    sources: dict[str, str],
    note: str = "",
) -> EmailTemplateVersion | None:
    """A new version of ``name`` (None when ``sources`` are those campaigns use already)."""
    allow = look_from_session(db, settings).allow_remote_images
    problems = validate(settings, name, sources, allow_remote_images=allow)
    if problems:
        raise TemplateRefused(problems)
    if _in_use(db, settings, name) == {part: sources.get(part, "") for part in PARTS}:
        return None  # saved unchanged: no new version, nothing in the audit log
    latest = (
        db.scalar(
            select(func.max(EmailTemplateVersion.version)).where(EmailTemplateVersion.name == name)
        )
        or 0
    )
    version = EmailTemplateVersion(
        name=name,
        version=latest + 1,
        subject=sources.get("subject.txt", ""),
        body_text=sources.get("body.txt", ""),
        body_html=sources.get("body.html", ""),
        note=" ".join(note.split())[:300],
        created_by_id=actor.staff_user_id,
    )
    db.add(version)
    db.flush()
    audit.record(
        db,
        actor,
        "template.save",
        object_type="template",
        object_id=version.id,
        detail={"name": name, "version": version.version},
    )
    return version
