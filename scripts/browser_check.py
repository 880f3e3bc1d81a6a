#!/usr/bin/env python3
"""Checks l0repro's HTML in a real headless Chromium (Debian's `chromium`), driven over the Chrome
DevTools Protocol with nothing but the standard library.

  browser_check.py phone PAGE...       each page (a file or an http URL) at 390 px wide: the page's
                                       scroll width must equal the viewport's (nothing scrolls sideways)
  browser_check.py serve URL           a running `l0repro serve` at URL (http://127.0.0.1:PORT/) whose
                                       report `reproduction` has a stale figure fig-flops: the index
                                       reloads at most once in 10 s after a finished rerun; in the report
                                       page the figure shows its rerun control and state, a click on
                                       rerun reruns it, the page reloads and the figure reads fresh
  --screenshots DIR                    also save what the browser showed (desktop 1280 px and phone 390 px)

Exit status 0 when every check passes; each failure is one line on stderr.
"""
import base64
import json
import os
import pathlib
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request


class WebSocket:
    """A minimal RFC 6455 client: text frames out (masked), frames in, pings answered."""

    def __init__(self, url):
        parts = urllib.parse.urlparse(url)
        self.sock = socket.create_connection((parts.hostname, parts.port), timeout=60)
        key = base64.b64encode(os.urandom(16)).decode()
        request = (f"GET {parts.path} HTTP/1.1\r\nHost: {parts.hostname}:{parts.port}\r\nUpgrade: websocket\r\n"
                   f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n")
        self.sock.sendall(request.encode())
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise RuntimeError("the DevTools socket closed during the handshake")
            answer += chunk
        head, self.buffer = answer.split(b"\r\n\r\n", 1)
        if b" 101 " not in head.split(b"\r\n")[0]:
            raise RuntimeError(f"DevTools refused the WebSocket: {head.splitlines()[0]!r}")

    def _read(self, n):
        while len(self.buffer) < n:
            chunk = self.sock.recv(1 << 16)
            if not chunk:
                raise RuntimeError("the DevTools socket closed")
            self.buffer += chunk
        out, self.buffer = self.buffer[:n], self.buffer[n:]
        return out

    def send(self, text, opcode=0x1):
        payload = text.encode() if isinstance(text, str) else text
        header = bytes([0x80 | opcode])
        n = len(payload)
        if n < 126:
            header += bytes([0x80 | n])
        elif n < 1 << 16:
            header += bytes([0x80 | 126]) + struct.pack("!H", n)
        else:
            header += bytes([0x80 | 127]) + struct.pack("!Q", n)
        mask = os.urandom(4)
        self.sock.sendall(header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))

    def receive(self):
        message = b""
        while True:
            first, second = self._read(2)
            opcode, n = first & 0x0F, second & 0x7F
            if n == 126:
                n = struct.unpack("!H", self._read(2))[0]
            elif n == 127:
                n = struct.unpack("!Q", self._read(8))[0]
            payload = self._read(n)
            if opcode == 0x9:
                self.send(payload, opcode=0xA)
                continue
            if opcode == 0x8:
                raise RuntimeError("DevTools closed the connection")
            message += payload
            if first & 0x80:
                return message.decode()


class Browser:
    """Headless Chromium with one page, commanded over DevTools; events are kept in order."""

    def __init__(self):
        executable = shutil.which("chromium") or shutil.which("chromium-browser")
        if not executable:
            raise SystemExit("browser_check: chromium is not installed (apt-get install chromium, or scripts/setup.sh)")
        self.profile = tempfile.mkdtemp(prefix="l0repro-chromium-")
        self.process = subprocess.Popen(
            [executable, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--no-default-browser-check",
             "--disable-extensions", "--hide-scrollbars", "--remote-debugging-port=0", f"--user-data-dir={self.profile}",
             "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        port = None
        deadline = time.time() + 60
        while port is None and time.time() < deadline:
            line = self.process.stderr.readline()
            if not line and self.process.poll() is not None:
                raise RuntimeError("chromium exited before DevTools started")
            if "DevTools listening on ws://" in line:
                port = int(line.split("ws://", 1)[1].split("/", 1)[0].rsplit(":", 1)[1])
        if port is None:
            raise RuntimeError("chromium did not start DevTools within 60 s")
        pages = []
        while not pages and time.time() < deadline:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list") as r:
                pages = [t for t in json.load(r) if t.get("type") == "page"]
            time.sleep(0.1)
        self.socket = WebSocket(pages[0]["webSocketDebuggerUrl"])
        self.next_id = 0
        self.events = []
        self.command("Page.enable")
        self.command("Runtime.enable")

    def command(self, method, **params):
        self.next_id += 1
        self.socket.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.socket.receive())
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error'].get('message')}")
                return message.get("result", {})
            if "method" in message:
                self.events.append((time.time(), message["method"], message.get("params", {})))

    def evaluate(self, expression):
        result = self.command("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"script failed: {result['exceptionDetails'].get('text')} in {expression[:80]}")
        return result["result"].get("value")

    def pump(self, seconds):
        """Collects events for `seconds` (a harmless command each 0.25 s reads the socket)."""
        end = time.time() + seconds
        while time.time() < end:
            self.evaluate("1")
            time.sleep(0.25)

    def loads(self, since):
        return [e for e in self.events if e[1] == "Page.loadEventFired" and e[0] >= since]

    def navigate(self, url, wait=True):
        started = time.time()
        self.command("Page.navigate", url=url)
        if wait:
            deadline = started + 30
            while not self.loads(started) and time.time() < deadline:
                self.pump(0.25)
            if not self.loads(started):
                raise RuntimeError(f"{url} did not load within 30 s")
        return started

    def viewport(self, width, height, mobile):
        self.command("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1, mobile=mobile)

    def screenshot(self, path):
        data = self.command("Page.captureScreenshot", format="png", captureBeyondViewport=False)["data"]
        pathlib.Path(path).write_bytes(base64.b64decode(data))

    def wait_for(self, expression, seconds, what):
        deadline = time.time() + seconds
        while time.time() < deadline:
            value = self.evaluate(expression)
            if value:
                return value
            self.pump(0.25)
        raise RuntimeError(f"timed out after {seconds:.0f} s waiting for {what}")

    def close(self):
        self.process.kill()
        self.process.wait()
        shutil.rmtree(self.profile, ignore_errors=True)


def as_url(page):
    return page if page.startswith(("http://", "https://", "file://")) else pathlib.Path(page).resolve().as_uri()


def check_phone(browser, pages, screenshots):
    failures = []
    browser.viewport(390, 844, True)
    for page in pages:
        browser.navigate(as_url(page))
        widths = browser.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        if widths[0] != widths[1]:
            wide = browser.evaluate(
                "[...document.querySelectorAll('body *')].filter(e=>e.getBoundingClientRect().right>window.innerWidth+1)"
                ".filter(e=>!e.closest('.table')).slice(0,3).map(e=>e.tagName+'.'+e.className).join(', ')")
            failures.append(f"{page}: at 390 px the page is {widths[0]} px wide (scrolls sideways; widest: {wide})")
        if screenshots:
            name = pathlib.Path(urllib.parse.urlparse(as_url(page)).path).parent.name or "page"
            browser.screenshot(os.path.join(screenshots, f"{name}-phone.png"))
    return failures


def check_serve(browser, base, screenshots):
    failures = []
    base = base.rstrip("/")
    browser.viewport(1280, 900, False)
    # 1. The index, after a finished rerun, settles: at most one reload in 10 s.
    started = browser.navigate(base + "/")
    browser.pump(10)
    reloads = len(browser.loads(started)) - 1
    if reloads > 1:
        failures.append(f"the index reloaded {reloads} times in 10 s after a finished rerun")
    if screenshots:
        browser.screenshot(os.path.join(screenshots, "serve-index.png"))
    # 2. The report page shows a rerun control under fig-flops with its state.
    browser.navigate(base + "/reports/reproduction/")
    state = browser.wait_for(
        "(()=>{const s=document.querySelector('#fig-flops .rerun .state');return s&&s.textContent})()", 20,
        "the rerun control under fig-flops")
    if not state.startswith("stale"):
        failures.append(f"fig-flops should be stale before its rerun, the page says '{state}'")
    order = browser.evaluate("[...document.querySelectorAll('.rerun')].map(e=>e.dataset.figure).join(' ')")
    figures = browser.evaluate("[...document.querySelectorAll('figure[id]:not(.tablefig)')].map(e=>e.id).join(' ')")
    if order != figures:
        failures.append(f"rerun controls '{order}' are not the report's figures in order '{figures}'")
    if screenshots:
        browser.evaluate("document.getElementById('fig-flops').scrollIntoView()")
        browser.screenshot(os.path.join(screenshots, "serve-report.png"))
    # 3. A click reruns it; the page reloads itself once the files change, and then reads fresh.
    browser.evaluate("window.__beforeRerun = true")
    clicked = time.time()
    browser.evaluate("document.querySelector('#fig-flops .rerun button').click()")
    browser.wait_for("!window.__beforeRerun", 120, "the page to reload after the rerun")
    browser.wait_for("document.readyState==='complete'", 20, "the reloaded page")
    state = browser.wait_for(
        "(()=>{const s=document.querySelector('#fig-flops .rerun .state');return s&&s.textContent})()", 20,
        "the rerun control after the reload")
    if state != "fresh":
        failures.append(f"after its rerun fig-flops reads '{state}', not fresh")
    svg = browser.evaluate("!!document.querySelector('#fig-flops svg')")
    if not svg:
        failures.append("after the rerun fig-flops has no image")
    browser.pump(3)
    reloads = len(browser.loads(clicked))
    if reloads != 1:
        failures.append(f"the report page loaded {reloads} times after one rerun (expected 1)")
    return failures


def main(argv):
    screenshots = None
    if "--screenshots" in argv:
        i = argv.index("--screenshots")
        screenshots = argv[i + 1]
        os.makedirs(screenshots, exist_ok=True)
        del argv[i:i + 2]
    if len(argv) < 2 or argv[0] not in ("phone", "serve"):
        print(__doc__, file=sys.stderr)
        return 2
    browser = Browser()
    try:
        failures = check_phone(browser, argv[1:], screenshots) if argv[0] == "phone" else check_serve(browser, argv[1], screenshots)
    except RuntimeError as error:
        failures = [str(error)]
    finally:
        browser.close()
    for failure in failures:
        print("browser_check: " + failure, file=sys.stderr)
    if not failures:
        print(f"browser_check {argv[0]}: all checks passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
