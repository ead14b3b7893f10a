"""Headless Chromium (Debian's package) driven over the DevTools protocol, with no extra downloads.

``ensure_chromium()`` finds or installs ``/usr/bin/chromium``; ``Chromium`` starts it with a fresh
profile and speaks CDP over a minimal WebSocket client (RFC 6455 client frames), so tests need no
browser-automation package.

``ensure_axe()`` installs axe-core (the npm package, with the ordinary npm client and its configured
registry) into a cache directory outside the repository (``.local/cache/axe``); ``Page.axe()`` injects
its ``axe.min.js`` over CDP and returns the violations. ``Page.set_offline()`` cuts the page and its
service workers off the network (CDP network emulation on each target).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import os
import re
import shutil
import struct
import subprocess
import tempfile
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

CHROMIUM = "/usr/bin/chromium"
FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--remote-debugging-port=0",
    "--remote-allow-origins=*",
    "--window-size=412,860",
)


AXE_VERSION = "4.14.1"
AXE_DIR = Path(
    os.environ.get("CIVICGRID_AXE_DIR") or Path(__file__).resolve().parents[2] / ".local/cache/axe"
)


class BrowserUnavailable(RuntimeError):
    pass


def ensure_axe() -> Path:
    """The path of axe-core's ``axe.min.js``, installing the package with npm into ``AXE_DIR`` if needed."""
    script = AXE_DIR / "node_modules" / "axe-core" / "axe.min.js"
    if script.exists():
        return script
    npm = shutil.which("npm")
    if npm is None:
        raise BrowserUnavailable("npm is missing: it installs axe-core for the accessibility checks")
    AXE_DIR.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [npm, "install", "--prefix", str(AXE_DIR), f"axe-core@{AXE_VERSION}", "--no-audit", "--no-fund"],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0 or not script.exists():
        tail = (result.stderr or result.stdout)[-800:]
        raise BrowserUnavailable(f"npm install axe-core failed (exit {result.returncode}): {tail}")
    return script


def ensure_chromium() -> str:
    """The path of Debian's chromium, installing it with apt-get (as root) when it is missing."""
    if Path(CHROMIUM).exists():
        return CHROMIUM
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise BrowserUnavailable(
            f"{CHROMIUM} is missing; install it with `sudo apt-get install -y chromium` (Debian's package)"
        )
    result = subprocess.run(
        ["apt-get", "install", "-y", "--no-install-recommends", "chromium"],
        capture_output=True,
        text=True,
        env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
        check=False,
    )
    if result.returncode != 0 or not Path(CHROMIUM).exists():
        tail = (result.stderr or result.stdout)[-800:]
        raise BrowserUnavailable(f"apt-get install chromium failed (exit {result.returncode}): {tail}")
    return CHROMIUM


class WebSocket:
    """Just enough of RFC 6455 for CDP: masked text frames out, (fragmented) text frames in."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader, self._writer = reader, writer

    @classmethod
    async def connect(cls, url: str) -> WebSocket:
        parts = urlsplit(url)
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port, limit=64 * 1024 * 1024)
        key = base64.b64encode(os.urandom(16)).decode()
        writer.write(
            (
                f"GET {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        status = await reader.readuntil(b"\r\n\r\n")
        if b" 101 " not in status.split(b"\r\n", 1)[0]:
            raise BrowserUnavailable(f"DevTools refused the WebSocket: {status[:200]!r}")
        return cls(reader, writer)

    async def send(self, text: str) -> None:
        payload = text.encode()
        header = bytearray([0x81])
        if len(payload) < 126:
            header.append(0x80 | len(payload))
        elif len(payload) < 65536:
            header += bytes([0x80 | 126]) + struct.pack("!H", len(payload))
        else:
            header += bytes([0x80 | 127]) + struct.pack("!Q", len(payload))
        mask = os.urandom(4)
        header += mask
        self._writer.write(bytes(header) + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))
        await self._writer.drain()

    async def receive(self) -> str:
        message = bytearray()
        while True:
            first, second = await self._reader.readexactly(2)
            length = second & 0x7F
            if length == 126:
                (length,) = struct.unpack("!H", await self._reader.readexactly(2))
            elif length == 127:
                (length,) = struct.unpack("!Q", await self._reader.readexactly(8))
            data = await self._reader.readexactly(length)
            opcode = first & 0x0F
            if opcode == 0x8:
                raise ConnectionError("DevTools closed the WebSocket")
            if opcode in (0x9, 0xA):
                continue
            message += data
            if first & 0x80:
                return message.decode()

    async def close(self) -> None:
        self._writer.close()
        with contextlib.suppress(Exception):
            await self._writer.wait_closed()


class Page:
    def __init__(self, browser: Chromium, session_id: str) -> None:
        self._browser, self.session_id = browser, session_id

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        return await self._browser.call(method, session_id=self.session_id, **params)

    async def evaluate(self, expression: str) -> Any:
        """Evaluate JavaScript in the page (promises awaited) and return the JSON value."""
        result = await self.call(
            "Runtime.evaluate", expression=expression, awaitPromise=True, returnByValue=True
        )
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            thrown = details.get("exception", {}).get("description") or details.get("text")
            raise RuntimeError(f"page script failed: {thrown}")
        return result["result"].get("value")

    async def wait_for(self, expression: str, timeout: float = 20.0) -> Any:
        """Poll a JavaScript expression until it is truthy; returns its value."""
        deadline = asyncio.get_running_loop().time() + timeout
        last_error: Exception | None = None
        while True:
            try:
                value = await self.evaluate(expression)
            except RuntimeError as error:  # the page is still loading (no body yet, context replaced)
                last_error, value = error, None
            if value:
                return value
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"the page never satisfied: {expression} (last error: {last_error})")
            await asyncio.sleep(0.1)

    async def axe(
        self, tags: tuple[str, ...] = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice")
    ) -> list[dict[str, Any]]:
        """Run axe-core on the current document; returns the violations (id, impact, help, nodes)."""
        if not await self.evaluate("typeof window.axe === 'object'"):
            source = await asyncio.to_thread(ensure_axe().read_text)
            await self.call("Runtime.evaluate", expression=source, returnByValue=True)
        options = json.dumps(
            {"runOnly": {"type": "tag", "values": list(tags)}, "resultTypes": ["violations"]}
        )
        found: list[dict[str, Any]] = await self.evaluate(
            f"axe.run(document, {options}).then(r => r.violations.map(v => ({{id: v.id, impact: v.impact, "
            "help: v.help, nodes: v.nodes.map(n => n.target.join(' ') + ' :: ' + "
            "(n.failureSummary || '').slice(0, 200)).slice(0, 8)})))"
        )
        return found

    async def set_offline(self, offline: bool) -> None:
        """Cut this page, and every service worker the browser runs, off the network (or reconnect)."""
        conditions = {"offline": offline, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1}
        await self.call("Network.enable")
        await self.call("Network.emulateNetworkConditions", **conditions)
        for session in await self._browser.service_worker_sessions():
            await self._browser.call("Network.enable", session_id=session)
            await self._browser.call("Network.emulateNetworkConditions", session_id=session, **conditions)

    async def reload(self) -> None:
        await self.call("Page.reload", ignoreCache=False)

    async def screenshot(self, path: Path) -> None:
        shot = await self.call("Page.captureScreenshot", format="png")
        await asyncio.to_thread(path.write_bytes, base64.b64decode(shot["data"]))


class Chromium:
    """``async with Chromium() as browser: page = await browser.open(url)``."""

    def __init__(self) -> None:
        self._process: asyncio.subprocess.Process | None = None
        self._profile: tempfile.TemporaryDirectory[str] | None = None
        self._ws: WebSocket | None = None
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._reader_task: asyncio.Task[None] | None = None
        self._workers: dict[str, str] = {}

    async def __aenter__(self) -> Chromium:
        binary = ensure_chromium()
        self._profile = tempfile.TemporaryDirectory(prefix="civicgrid-chromium-")
        self._process = await asyncio.create_subprocess_exec(
            binary,
            *FLAGS,
            f"--user-data-dir={self._profile.name}",
            "about:blank",
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        url = await asyncio.wait_for(self._devtools_url(), timeout=30)
        self._ws = await WebSocket.connect(url)
        self._reader_task = asyncio.create_task(self._read())
        return self

    async def _devtools_url(self) -> str:
        assert self._process is not None
        assert self._process.stderr is not None
        while line := await self._process.stderr.readline():
            found = re.search(rb"DevTools listening on (ws://\S+)", line)
            if found:
                return found.group(1).decode()
        raise BrowserUnavailable("chromium exited before DevTools was listening")

    async def _read(self) -> None:
        assert self._ws is not None
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            while True:
                message = json.loads(await self._ws.receive())
                future = self._pending.pop(message.get("id", -1), None)
                if future is not None and not future.done():
                    future.set_result(message)

    async def call(self, method: str, session_id: str | None = None, **params: Any) -> dict[str, Any]:
        assert self._ws is not None
        call_id = next(self._ids)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[call_id] = future
        request: dict[str, Any] = {"id": call_id, "method": method, "params": params}
        if session_id:
            request["sessionId"] = session_id
        await self._ws.send(json.dumps(request))
        reply = await asyncio.wait_for(future, timeout=30)
        if "error" in reply:
            raise RuntimeError(f"{method} failed: {reply['error']}")
        result: dict[str, Any] = reply.get("result", {})
        return result

    async def service_worker_sessions(self) -> list[str]:
        """CDP sessions on the browser's service workers (attached once, reused)."""
        targets = (await self.call("Target.getTargets"))["targetInfos"]
        for info in targets:
            if info["type"] == "service_worker" and info["targetId"] not in self._workers:
                attached = await self.call("Target.attachToTarget", targetId=info["targetId"], flatten=True)
                self._workers[info["targetId"]] = attached["sessionId"]
        live = {info["targetId"] for info in targets}
        return [session for target, session in self._workers.items() if target in live]

    async def open(self, url: str) -> Page:
        target = await self.call("Target.createTarget", url="about:blank")
        attached = await self.call("Target.attachToTarget", targetId=target["targetId"], flatten=True)
        page = Page(self, attached["sessionId"])
        await page.call("Page.enable")
        await page.call("Page.navigate", url=url)
        return page

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._ws is not None:
            with contextlib.suppress(Exception):
                await self.call("Browser.close")
            await self._ws.close()
        if self._reader_task is not None:
            self._reader_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader_task
        if self._process is not None:
            with contextlib.suppress(ProcessLookupError):
                self._process.kill()
            await self._process.wait()
        if self._profile is not None:
            self._profile.cleanup()
