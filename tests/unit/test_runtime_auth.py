from datetime import timedelta

import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient

from civicgrid_runtime.auth import Principal, Role, TokenError, TokenIssuer, TokenVerifier
from civicgrid_runtime.auth.__main__ import main as token_cli
from civicgrid_runtime.auth.keys import read_public_key
from civicgrid_runtime.errors import PermissionDenied
from civicgrid_runtime.http import Authenticator


@pytest.fixture
def issuer(tmp_path):
    return TokenIssuer(tmp_path, issuer="civicgrid-dev", audience="civicgrid")


@pytest.fixture
def verifier(tmp_path, issuer):
    return TokenVerifier(read_public_key(tmp_path, create_if_missing=False), "civicgrid-dev", "civicgrid")


def test_a_minted_coordinator_token_verifies_with_its_region(issuer, verifier):
    principal = verifier.verify(issuer.mint("alice", [Role.COORDINATOR], region="420106002"))
    assert principal.roles == {Role.COORDINATOR}
    assert principal.region_code == "420106002000"
    assert principal.can_manage("420106002003")
    assert not principal.can_manage("420106003001")


def test_an_expired_token_is_refused(issuer, verifier):
    token = issuer.mint("bob", [Role.ADMIN], ttl=timedelta(seconds=-5))
    with pytest.raises(TokenError, match="expired"):
        verifier.verify(token)


def test_a_token_signed_by_another_key_is_refused(tmp_path, verifier):
    stranger = TokenIssuer(tmp_path / "other", issuer="civicgrid-dev", audience="civicgrid")
    with pytest.raises(TokenError):
        verifier.verify(stranger.mint("mallory", [Role.ADMIN]))


def test_a_member_token_without_a_person_is_refused(issuer, verifier):
    with pytest.raises(TokenError, match="person_id"):
        verifier.verify(issuer.mint("m", [Role.MEMBER]))


def test_a_member_may_read_only_their_own_data():
    member = Principal("p1", frozenset({Role.MEMBER}), person_id="p1")
    member.ensure_is_person_or_admin("p1")
    with pytest.raises(PermissionDenied):
        member.ensure_is_person_or_admin("p2")


def test_the_cli_prints_a_token_that_verifies(tmp_path, capsys, verifier):
    assert token_cli(["mint", "--role", "member", "--person-id", "p-7", "--keys-dir", str(tmp_path)]) == 0
    principal = verifier.verify(capsys.readouterr().out.strip())
    assert principal.person_id == "p-7"


def test_routes_answer_401_without_a_token_and_403_for_the_wrong_role(issuer, verifier):
    auth = Authenticator(verifier)
    app = FastAPI()

    @app.get("/admin-only")
    async def admin_only(principal: Principal = Depends(auth.require(Role.ADMIN))) -> dict[str, str]:
        return {"subject": principal.subject}

    client = TestClient(app)
    assert client.get("/admin-only").status_code == 401
    member = issuer.mint("m", [Role.MEMBER], person_id="p1")
    denied = client.get("/admin-only", headers={"Authorization": f"Bearer {member}"})
    assert denied.status_code == 403
    assert "admin" in denied.json()["detail"]
    admin = issuer.mint("root", [Role.ADMIN])
    assert client.get("/admin-only", headers={"Authorization": f"Bearer {admin}"}).json() == {
        "subject": "root"
    }
