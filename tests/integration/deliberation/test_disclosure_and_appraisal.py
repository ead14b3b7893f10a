"""Public disclosure readable without sign-in (page, JSON, QR code in SVG and PNG), with no personal data;
democratic appraisal of committee members by representatives, results published and disclosed."""

from __future__ import annotations

import io

import pytest
import segno

from tests.integration.deliberation.conftest import Running, deliberation_events

pytestmark = pytest.mark.integration


def qr(url: str, kind: str, scale: int) -> bytes:
    out = io.BytesIO()
    segno.make(url, error="m").save(out, kind=kind, scale=scale, border=2)
    return out.getvalue()


async def test_a_disclosed_finance_item_is_public_with_a_qr_code_and_no_personal_data(
    service: Running, community: str
) -> None:
    compound = f"{community}-C01"
    body = {
        "place_code": compound,
        "kind": "finance",
        "title": "2026年维修资金使用 <公示>",
        "body": "屋面防水",
        "figures": [{"label": "支出", "amount": "12000.50", "unit": "CNY"}],
    }
    published = await service.client.post(
        "/disclosures", json=body, headers={**service.coordinator(), "Idempotency-Key": "d-1"}
    )
    assert published.status_code == 201, published.text
    item_id = published.json()["item_id"]

    listed = await service.client.get(f"/public/disclosures/{compound}")
    assert listed.status_code == 200
    [item] = [i for i in listed.json() if i["item_id"] == item_id]
    assert item["figures"] == [{"label": "支出", "amount": "12000.50", "unit": "CNY"}]
    assert "published_by" not in item
    assert "test-coordinator" not in listed.text
    assert any(
        i["item_id"] == item_id for i in (await service.client.get(f"/public/disclosures/{community}")).json()
    )

    page = await service.client.get(f"/public/disclosures/{compound}/page")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "2026年维修资金使用 &lt;公示&gt;" in page.text
    assert "<公示>" not in page.text

    url = f"http://deliberation.test/public/disclosures/{compound}/page"
    svg = await service.client.get(f"/public/disclosures/{compound}/qr.svg")
    assert svg.headers["content-type"] == "image/svg+xml"
    assert svg.content == qr(url, "svg", 4)
    png = await service.client.get(f"/public/disclosures/{compound}/qr.png")
    assert png.headers["content-type"] == "image/png"
    assert png.content == qr(url, "png", 8)
    assert png.content != qr(f"http://deliberation.test/public/disclosures/{community}/page", "png", 8)

    published_events = await deliberation_events(
        service, lambda h, d: d.get("item_id") == item_id, expected=1
    )
    assert [t for t, _ in published_events] == ["cn.civicgrid.deliberation.disclosure.published.v1"]


async def test_disclosure_text_with_a_phone_number_is_refused_naming_the_field(
    service: Running, community: str
) -> None:
    body = {"place_code": community, "kind": "decision", "title": "联系人", "body": "电话 13812345678"}
    answer = await service.client.post("/disclosures", json=body, headers=service.coordinator())
    assert answer.status_code == 422
    assert [p["field"] for p in answer.json()["problems"]] == ["body.body"]


async def test_only_a_coordinator_publishes_and_a_bad_place_is_a_problem(
    service: Running, community: str
) -> None:
    body = {"place_code": community, "kind": "decision", "title": "t"}
    assert (
        await service.client.post("/disclosures", json=body, headers=service.member("p1"))
    ).status_code == 403
    assert (await service.client.post("/disclosures", json=body)).status_code == 401
    assert (await service.client.get("/public/disclosures/not-a-place")).status_code == 422


async def test_representatives_appraise_the_committee_and_the_results_are_published(
    service: Running, community: str
) -> None:
    tag = community[-3:]
    await service.seed_posts(
        community,
        [
            ("residents_committee", community, f"rc-{tag}", f"m1-{tag}"),
            ("residents_committee", community, f"rc-{tag}", f"m2-{tag}"),
        ],
    )
    reps = [f"r{i}-{tag}" for i in range(3)]
    for i, rep in enumerate(reps):
        await service.seed_households(community, f"{community}-C0{i + 1}", [(80.0, [f"x{i}-{tag}"])], rep)
    staff = service.coordinator()
    opened = await service.client.post(
        "/appraisals", json={"community_code": community, "title": "2026年度民主评议"}, headers=staff
    )
    assert opened.status_code == 201, opened.text
    appraisal = opened.json()
    assert appraisal["subjects"] == [f"m1-{tag}", f"m2-{tag}"]
    assert appraisal["appraisers"] == 3
    aid = appraisal["appraisal_id"]
    grades = [
        ("satisfied", "dissatisfied"),
        ("basically_satisfied", "dissatisfied"),
        ("satisfied", "satisfied"),
    ]
    for rep, (g1, g2) in zip(reps, grades, strict=True):
        answer = await service.client.post(
            f"/appraisals/{aid}/grades",
            json={"grades": {f"m1-{tag}": g1, f"m2-{tag}": g2}},
            headers=service.member(rep),
        )
        assert answer.status_code == 200, answer.text
    outsider = await service.client.post(
        f"/appraisals/{aid}/grades",
        json={"grades": {f"m1-{tag}": "satisfied"}},
        headers=service.member("nobody"),
    )
    assert outsider.status_code == 403

    results = (await service.client.post(f"/appraisals/{aid}/publish", headers=staff)).json()["results"]
    by_person = {r["person_id"]: (r["satisfaction_rate"], r["verdict"]) for r in results}
    assert by_person == {f"m1-{tag}": (1, "competent"), f"m2-{tag}": (0.3333, "incompetent")}

    facts = await deliberation_events(service, lambda h, d: d.get("appraisal_id") == aid, expected=1)
    assert [t for t, _ in facts] == ["cn.civicgrid.deliberation.appraisal.published.v1"]
    public = await service.client.get(f"/public/disclosures/{community}")
    [item] = [i for i in public.json() if i["source_id"] == aid]
    assert {f["label"]: f["amount"] for f in item["figures"]}["judged incompetent"] == "1"
    assert f"m2-{tag}" not in public.text
