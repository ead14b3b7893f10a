"""Web Push fan-out: a broadcast's pushes to ``--subscriptions`` browsers through the real channel
(VAPID ES256 JWT + RFC 8291 aes128gcm with a fresh ECDH key per push) against a local receiver.

    ./civicgrid bench notifications_push [--subscriptions 100000] [--concurrency 64] [--browsers 500]

No servers: the receiver is an in-process uvicorn ASGI app on 127.0.0.1 (its own thread and event
loop) that counts pushes, answers 201 like a push service, and decrypts a sample of them with the
browser's private key (every ``--verify-every``-th) and checks the VAPID header's JWT signature, so
what is counted is what a browser would read. Pushes go through ``WebPushChannel.send`` exactly as
the delivery worker calls it (policy check, VAPID header, encryption, POST), ``--concurrency`` at a
time over one httpx client. ``--browsers`` distinct browser key pairs are cycled over the
subscriptions (each push still does its own ECDH and encryption, so the cost per push is the same).

Prints JSON: pushes/s, and in the same run raw HTTP POSTs/s of a body of the same size to the same
receiver with the same concurrency (the ratio is pushes/s over raw POSTs/s), the CPU cost per push of
its parts (encryption, VAPID signature) measured on their own, and the load average.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import socket
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any

import http_ece
import httpx
import uvicorn
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.hashes import SHA256
from py_vapid import Vapid02

from bench.notifications_raw import load
from civicgrid_notifications.adapters.channels.webpush import WebPushChannel, b64url_decode, encrypt
from civicgrid_notifications.domain.push_endpoints import PushEndpointPolicy
from civicgrid_notifications.service_layer.delivery import DeliveryError, Outbound

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


class Receiver:
    """A push service stand-in: counts POSTs; decrypts every ``verify_every``-th push with the browser's
    key (``/push/<browser index>/<n>``) and verifies the VAPID JWT of it."""

    def __init__(self, browsers: list[tuple[ec.EllipticCurvePrivateKey, bytes]], verify_every: int) -> None:
        self.browsers = browsers
        self.verify_every = verify_every
        self.count = 0
        self.bytes = 0
        self.verified = 0
        self.failures: list[str] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        self.count += 1
        self.bytes += len(body)
        path = scope["path"].split("/")
        if path[1] == "push" and self.count % self.verify_every == 0:
            self._verify(int(path[2]), body, dict(scope["headers"]))
        await send({"type": "http.response.start", "status": 201, "headers": [(b"content-length", b"0")]})
        await send({"type": "http.response.body", "body": b""})

    def _verify(self, browser: int, body: bytes, headers: dict[bytes, bytes]) -> None:
        key, auth = self.browsers[browser]
        try:
            plain = json.loads(http_ece.decrypt(body, private_key=key, auth_secret=auth, version="aes128gcm"))
            assert plain["title"] == "暴雨红色预警"
            fields = dict(
                part.strip().split("=", 1) for part in headers[b"authorization"].decode()[6:].split(",")
            )
            public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), b64url_decode(fields["k"]))
            head, claims, signature = fields["t"].split(".")
            raw = b64url_decode(signature)
            der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
            public.verify(der, f"{head}.{claims}".encode(), ec.ECDSA(SHA256()))
            self.verified += 1
        except Exception as error:
            self.failures.append(f"{type(error).__name__}: {error}"[:200])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve_in_thread(app: Receiver, port: int) -> uvicorn.Server:
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host="127.0.0.1",
            port=port,
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_keep_alive=120,
            backlog=4096,
        )
    )
    threading.Thread(target=server.run, daemon=True).start()
    for _ in range(300):
        if server.started:
            return server
        time.sleep(0.05)
    raise RuntimeError("the receiver did not start")


async def flat_out(count: int, concurrency: int, one: Callable[[int], Awaitable[None]]) -> float:
    """Seconds to run ``one(i)`` for i in range(count), ``concurrency`` at a time."""
    next_index = 0

    async def worker() -> None:
        nonlocal next_index
        while next_index < count:
            i, next_index = next_index, next_index + 1
            await one(i)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - started


def cpu_us(n: int, work: Callable[[], object]) -> float:
    started = time.process_time()
    for _ in range(n):
        work()
    return round((time.process_time() - started) / n * 1e6, 1)


async def main(args: argparse.Namespace) -> dict[str, Any]:
    browsers = [
        (ec.generate_private_key(ec.SECP256R1()), f"auth{i:012d}".encode()[:16]) for i in range(args.browsers)
    ]
    receiver = Receiver(browsers, args.verify_every)
    port = free_port()
    server = serve_in_thread(receiver, port)
    public = [
        b64url(
            k.public_key().public_bytes(
                serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
            )
        )
        for k, _ in browsers
    ]
    subscriptions: list[dict[str, Any]] = [
        {
            "endpoint": f"http://127.0.0.1:{port}/push/{i % args.browsers}/{i}",
            "keys": {"p256dh": public[i % args.browsers], "auth": b64url(browsers[i % args.browsers][1])},
        }
        for i in range(args.subscriptions)
    ]
    vapid = Vapid02()
    vapid.generate_keys()
    limits = httpx.Limits(max_connections=args.concurrency, max_keepalive_connections=args.concurrency)
    outbound = Outbound(
        ("b-bench",), "member", "notice", "critical", "暴雨红色预警", "今晚有特大暴雨，请勿外出。", None
    )
    result: dict[str, Any] = {"subscriptions": args.subscriptions, "concurrency": args.concurrency}
    try:
        async with httpx.AsyncClient(timeout=httpx.Timeout(30), limits=limits) as client:
            channel = WebPushChannel(
                client,
                vapid,
                "mailto:bench@civicgrid.example",
                policy=PushEndpointPolicy(allow_local_receiver=True),
            )
            sample = encrypt(b"x" * 160, subscriptions[0]["keys"]["p256dh"], subscriptions[0]["keys"]["auth"])
            raw_body = b"\0" * len(sample)
            raw_url = f"http://127.0.0.1:{port}/raw"

            async def raw(_i: int) -> None:
                try:
                    response = await client.post(
                        raw_url, content=raw_body, headers={"Content-Encoding": "aes128gcm", "TTL": "86400"}
                    )
                except httpx.HTTPError as error:
                    errors.append(type(error).__name__)
                    return
                response.raise_for_status()

            errors: list[str] = []

            async def push(i: int) -> None:
                try:
                    await channel.send(outbound, subscriptions[i])
                except DeliveryError as error:  # a dropped connection: the worker would retry it
                    errors.append(str(error))

            await flat_out(200, args.concurrency, raw)  # connections opened, code paths warm
            raw_n = max(1000, args.subscriptions // 5)
            load_raw = load()
            raw_s = await flat_out(raw_n, args.concurrency, raw)
            receiver.count = 0
            load_push = load()
            push_s = await flat_out(args.subscriptions, args.concurrency, push)
            pushed = receiver.count
            load_end = load()
            raw_again_s = await flat_out(raw_n, args.concurrency, raw)  # the load moves: raw after too
        raw_rate = raw_n / ((raw_s + raw_again_s) / 2)
        push_rate = pushed / push_s
        key = subscriptions[0]["keys"]
        result.update(
            {
                "pushes_received": pushed,
                "seconds": round(push_s, 1),
                "pushes_per_s": round(push_rate),
                "raw_http_posts": raw_n,
                "raw_http_posts_per_s": round(raw_rate),
                "raw_http_posts_per_s_before_after": [round(raw_n / raw_s), round(raw_n / raw_again_s)],
                "ratio_pushes_to_raw_posts": round(push_rate / raw_rate, 3),
                "payload_bytes_encrypted": len(sample),
                "verified_by_receiver": receiver.verified,
                "send_errors": len(errors),
                "verification_failures": receiver.failures[:3],
                "cpu_us_per_push_parts": {
                    "aes128gcm_encrypt_with_fresh_ecdh": cpu_us(
                        300, lambda: encrypt(b"x" * 160, key["p256dh"], key["auth"])
                    ),
                    "vapid_es256_jwt": cpu_us(
                        300,
                        lambda: vapid.sign(
                            {
                                "aud": f"http://127.0.0.1:{port}",
                                "exp": int(time.time()) + 3600,
                                "sub": "mailto:bench@civicgrid.example",
                            }
                        ),
                    ),
                },
                "time_for_100000_at_this_rate_s": round(100_000 / push_rate, 1),
                "load": {"raw_start": load_raw, "push_start": load_push, "push_end": load_end},
            }
        )
    finally:
        server.should_exit = True
    return result


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--subscriptions", type=int, default=100_000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--browsers", type=int, default=500, help="distinct browser key pairs, cycled")
    parser.add_argument("--verify-every", type=int, default=1000, help="decrypt and verify every n-th push")
    return parser.parse_args()


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(parse())), ensure_ascii=False, indent=2))
