"""Development tokens: ``python -m civicgrid_runtime.auth mint --role coordinator --region 420106002``."""

from __future__ import annotations

import argparse
import os
from datetime import timedelta
from pathlib import Path

from civicgrid_runtime.auth.principal import Role
from civicgrid_runtime.auth.tokens import TokenIssuer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="civicgrid-token", description="Mint a development JWT.")
    sub = parser.add_subparsers(dest="command", required=True)
    mint = sub.add_parser("mint", help="print a signed bearer token")
    mint.add_argument("--role", action="append", required=True, choices=[r.value for r in Role])
    mint.add_argument("--subject", default=None, help="who the token is for (default: derived)")
    mint.add_argument("--region", help="region code a coordinator is scoped to (2/4/6/9/12 digits)")
    mint.add_argument("--person-id", help="the person a member token belongs to")
    mint.add_argument("--hours", type=float, default=12.0)
    mint.add_argument("--keys-dir", default=os.environ.get("CIVICGRID_KEYS_DIR", ".local/keys"))
    args = parser.parse_args(argv)
    roles = [Role(r) for r in args.role]
    subject = args.subject or args.person_id or f"{roles[0].value}-{args.region or 'all'}"
    issuer = TokenIssuer(
        Path(args.keys_dir),
        issuer=os.environ.get("CIVICGRID_JWT_ISSUER", "civicgrid-dev"),
        audience=os.environ.get("CIVICGRID_JWT_AUDIENCE", "civicgrid"),
    )
    try:
        token = issuer.mint(
            subject, roles, region=args.region, person_id=args.person_id, ttl=timedelta(hours=args.hours)
        )
    except ValueError as error:
        parser.error(str(error))
    print(token)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
