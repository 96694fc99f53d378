import json

import pytest

from audit.digests import export_digest
from audit.models import AuditSeal
from audit.verification import verify_audit_log
from tests.audit.factories import phi_access


@pytest.fixture(autouse=True)
def digest_dir(settings, tmp_path):
    settings.AUDIT_DIGEST_DIR = tmp_path / "digests"
    return settings.AUDIT_DIGEST_DIR


def test_digest_pins_the_sealed_chain_head_with_a_signature(db):
    phi_access()
    phi_access()

    path = export_digest()

    body = json.loads(path.read_text())
    head = AuditSeal.objects.get(position=2)
    assert (body["position"], body["hash"]) == (2, head.hash)
    assert len(body["signature"]) == 64
    assert "pat-123" not in path.read_text()


def test_exporting_again_without_new_records_writes_no_new_file(db, digest_dir):
    phi_access()
    export_digest()
    export_digest()

    assert len(list(digest_dir.glob("audit-digest-*.json"))) == 1


def test_no_digest_before_the_first_record(db):
    assert export_digest() is None


def test_a_digest_edited_by_hand_is_reported(db):
    phi_access()
    path = export_digest()
    body = json.loads(path.read_text())
    body["hash"] = "0" * 64
    path.write_text(json.dumps(body))

    problem = verify_audit_log().problem

    assert problem.kind == "digest"
    assert path.name in problem.detail
