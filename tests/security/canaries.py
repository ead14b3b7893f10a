"""Canary personal data: a phone number and an ID-card number unique to the run, fed everywhere.

Every hit of either, in clear, in a service log or in a topic record (value, key or header) is a leak.
Dead-letter copies are held to the same rule: they keep personal data masked (decided here: a dead
letter is read by operators and redriven, and neither needs a clear number).
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from pathlib import Path

from civicgrid_contracts.values import mask_phone

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"


def id_card_number(rng: random.Random) -> str:
    """A valid-checksum 18-digit resident ID number (GB 11643) of a fictitious person."""
    body = (
        f"42010{rng.randint(0, 9)}{rng.randint(1950, 2005)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
    )
    body += f"{rng.randint(0, 999):03d}"
    return body + _CHECK[sum(int(d) * w for d, w in zip(body, _WEIGHTS, strict=True)) % 11]


@dataclass(frozen=True)
class Canaries:
    phone: str
    id_number: str

    @classmethod
    def new(cls) -> Canaries:
        rng = random.Random()
        return cls(f"139{rng.randint(0, 99_999_999):08d}", id_card_number(rng))

    @property
    def masked_phone(self) -> str:
        return mask_phone(self.phone)

    def texts(self) -> list[str]:
        """Values that carry one canary each, from plain text to identifier-shaped."""
        return [
            f"请联系{self.phone}",
            f"身份证{self.id_number}",
            f"x-{self.phone}",
            f"x-{self.id_number}",
            self.phone,
            self.id_number,
            f"https://example.org/c/{self.phone}",
        ]

    def hits(self, text: str) -> list[str]:
        found = []
        if self.phone in text:
            found.append("phone")
        if re.search(
            re.escape(self.id_number[:-1]) + "[" + self.id_number[-1] + self.id_number[-1].lower() + "]", text
        ):
            found.append("ID number")
        return found


@dataclass
class Leak:
    where: str
    what: list[str]
    excerpt: str


@dataclass
class Scan:
    leaks: list[Leak] = field(default_factory=list)
    scanned: int = 0

    def report(self) -> str:
        return "\n".join(
            f"  {leak.where}: {', '.join(leak.what)} in clear: …{leak.excerpt}…" for leak in self.leaks
        )


def excerpt(text: str, canaries: Canaries) -> str:
    for needle in (canaries.phone, canaries.id_number[:-1]):
        at = text.find(needle)
        if at >= 0:
            return text[max(0, at - 80) : at + 40].replace("\n", " ")
    return text[:120]


def scan_logs(paths: list[Path], canaries: Canaries) -> Scan:
    scan = Scan()
    for path in paths:
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), start=1):
            scan.scanned += 1
            what = canaries.hits(line)
            if what:
                scan.leaks.append(Leak(f"{path.name}:{number}", what, excerpt(line, canaries)))
    return scan
