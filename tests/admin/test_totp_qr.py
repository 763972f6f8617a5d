"""The TOTP enrolment page shows a QR code of the otpauth:// URI of the key it offers: inline
SVG built with attributes only (the CSP forbids inline styles), whose modules are exactly
those of the QR code of that URI."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import quote

import segno
from sqlalchemy.orm import Session, sessionmaker

from newsletter.staff import totp
from newsletter.staff.models import StaffRole
from tests.admin.helpers import StaffClient, app_for, make_staff

EDITOR = "editor@coalition.example.org"


def dark_modules(svg: str) -> set[tuple[int, int]]:
    """The dark (x, y) modules drawn by a segno line path ("M4 4.5h7m1 0h1 ..."), scale 1."""
    (path,) = re.findall(r'<path stroke="#000" d="([^"]+)"', svg)
    x = y = 0.0
    cells: set[tuple[int, int]] = set()
    for command, numbers in re.findall(r"([Mmh])([-\d. ]+)", path):
        values = [float(n) for n in numbers.split()]
        if command == "M":
            x, y = values
        elif command == "m":
            x, y = x + values[0], y + values[1]
        else:
            cells.update((int(x) + i, int(y)) for i in range(int(values[0])))
            x += values[0]
    return cells


def test_the_enrolment_qr_code_encodes_the_offered_otpauth_uri(
    tmp_path: Path, pg_url: str, committed_db: sessionmaker[Session]
) -> None:
    make_staff(committed_db, StaffRole.EDITOR)
    app = app_for(tmp_path, pg_url, org_name="Coalition Newsletter")
    client = StaffClient(app)
    client.sign_in(EDITOR)
    page = client.get("/admin/account").text
    secret = re.search(r'<code id="totp-secret">([A-Z2-7]+)</code>', page).group(1)
    assert f'name="secret" value="{secret}"' in page  # the key the form will enable
    uri = totp.provisioning_uri(secret, EDITOR, "Coalition Newsletter")
    assert uri.startswith("otpauth://totp/") and f"secret={secret}" in uri
    assert quote(EDITOR) in uri
    svg = re.search(r'<figure id="totp-qr"[^>]*>(<svg .*?</svg>)</figure>', page, re.S).group(1)
    assert "style" not in svg and "<script" not in svg
    expected = segno.make(uri, error="m", micro=False)
    border = 4
    want = {
        (x + border, y + border)
        for y, row in enumerate(expected.matrix)
        for x, dark in enumerate(row)
        if dark
    }
    assert dark_modules(svg) == want
    other = client.get("/admin/account").text  # each visit offers a fresh key and code
    assert re.search(r'<code id="totp-secret">([A-Z2-7]+)</code>', other).group(1) != secret
