"""The phone app's static assets: icons as the generator draws them, a manifest that installs, the
link of a notice mapped to the request it is about."""

from __future__ import annotations

import json
import struct
import zlib

import pytest

from civicgrid_notifications.domain.request_status import request_id_of_link, status_label
from civicgrid_notifications.entrypoints import icons


@pytest.mark.parametrize(("name", "spec"), sorted(icons.ICONS.items()))
def test_each_committed_icon_is_what_the_generator_draws(name: str, spec: tuple[int, bool]) -> None:
    size, maskable = spec
    committed = (icons.directory() / name).read_bytes()
    assert committed == icons.render(size, maskable), f"run python -m {icons.__name__}"
    width, height = struct.unpack("!II", committed[16:24])
    assert (width, height) == (size, size)


def test_the_manifest_names_the_app_and_its_any_and_maskable_icons() -> None:
    manifest = json.loads((icons.directory().parent / "manifest.webmanifest").read_text())
    assert manifest["short_name"] == "社区通知"
    assert manifest["display"] == "standalone"
    declared = {(i["src"], i["sizes"], i["purpose"]) for i in manifest["icons"]}
    assert declared == {
        ("icons/icon-192.png", "192x192", "any"),
        ("icons/icon-512.png", "512x512", "any"),
        ("icons/icon-maskable-512.png", "512x512", "maskable"),
    }
    for src, _sizes, _purpose in declared:
        assert (icons.directory().parent / src).exists()


def test_a_maskable_icon_fills_its_square_and_the_others_have_rounded_transparent_corners() -> None:
    def corner_alpha(data: bytes) -> int:
        raw = zlib.decompress(data[data.index(b"IDAT") + 4 :])
        return raw[1 + 3]  # first row, filter byte, then the first pixel's RGBA

    assert corner_alpha(icons.render(64, True)) == 255
    assert corner_alpha(icons.render(64, False)) == 0


def test_the_request_a_notice_links_to_is_read_from_its_link() -> None:
    assert request_id_of_link("http://127.0.0.1:8002/requests/rq-1a2b") == "rq-1a2b"
    assert request_id_of_link("https://civicgrid.example/requests/rq-1a2b/evaluation") == "rq-1a2b"
    assert request_id_of_link("https://civicgrid.example/notices/42") is None
    assert request_id_of_link(None) is None


def test_statuses_are_labelled_in_chinese_and_unknown_ones_are_shown_as_they_are() -> None:
    assert status_label("resolved") == "已办结"
    assert status_label("escalated") == "已升级督办"
    assert status_label("something_new") == "something_new"
