"""`make docs-check`: open every page of the built site in headless Chromium and fail on what a reader would see.

    python -m docsite.check [SITE] [--screens out/docs-screens] [--install]

The site folder (default `site`, written by `make docs`) is served on 127.0.0.1 only, on a free port. Debian's
`chromium` opens each page (driven over the DevTools protocol with `websocket-client`; `--install` installs the
browser with apt-get when it is missing). A page fails when, after the scripts ran and KaTeX typeset it,

- raw math is left: `\\(`, `\\)`, `\\[` or `$$` in the visible text outside code, or a formula KaTeX rejected;
- an image is broken (not loaded, or zero width);
- an internal link points to a missing page or to an anchor the target page does not have;
- the console shows an error (script errors, failed loads);
- the page asked for anything not on 127.0.0.1 (a CDN, a web font): the browser resolves every other host to
  nothing, and the request is reported.

One PNG screenshot per page goes to `--screens` (the top of the page, at most `--max-height` pixels).
Exit status 0 when every page passes, 1 otherwise (each problem is printed), 2 when the check cannot run.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import functools
import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

# Runs in the page once it has loaded: what a reader would see that is wrong.
PAGE_PROBE = r"""
(async () => {
  await document.fonts.ready;
  await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
  const skip = "pre, code, script, style, .katex, textarea";
  const raw = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const el = n.parentElement;
    if (!el || el.closest(skip) || el.closest("[hidden]")) continue;
    const t = n.textContent;
    for (const pat of ["\\(", "\\)", "\\[", "\\]", "$$"]) {
      const i = t.indexOf(pat);
      if (i >= 0) raw.push(t.slice(Math.max(0, i - 30), i + 40).replace(/\s+/g, " "));
    }
  }
  const untypeset = [...document.querySelectorAll(".arithmatex")]
    .filter(e => !e.querySelector(".katex")).map(e => e.textContent.slice(0, 80));
  const katexErrors = [...document.querySelectorAll(".katex-error, .math-error")]
    .map(e => e.textContent.slice(0, 80));
  const images = [...document.images].filter(i => !i.complete || i.naturalWidth === 0)
    .map(i => i.getAttribute("src"));
  const links = [...document.querySelectorAll("a[href]")].map(a => a.href);
  const formulas = document.querySelectorAll(".katex").length;
  return JSON.stringify({raw, untypeset, katexErrors, images, links, formulas,
                         title: document.title, height: document.documentElement.scrollHeight});
})()
"""

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--hide-scrollbars",
    "--mute-audio",
    # Every host but the loopback address resolves to nothing: a page that needs another host shows it.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]


@dataclass
class PageResult:
    url: str
    problems: list[str] = field(default_factory=list)
    formulas: int = 0
    screenshot: Path | None = None


class CheckError(RuntimeError):
    """The check could not run (no browser, no site): exit status 2."""


# --- the browser --------------------------------------------------------------------------------------------


def find_chromium(install: bool) -> str:
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    if not install:
        raise CheckError("chromium is not installed: run `apt-get install chromium` or pass --install")
    print("docs-check: installing Debian's chromium with apt-get ...", flush=True)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "update", "-qq"], check=False, env=env)
    done = subprocess.run(["apt-get", "install", "-y", "-qq", "chromium"], check=False, env=env)
    path = shutil.which("chromium")
    if done.returncode != 0 or path is None:
        raise CheckError("could not install chromium with apt-get (needs root and the Debian archive)")
    return path


class Browser:
    """Headless Chromium with one page, driven over the DevTools protocol (one websocket, flat sessions)."""

    def __init__(self, executable: str, *, width: int = 1280, height: int = 900, timeout: float = 60.0) -> None:
        import websocket  # websocket-client, pinned in requirements.lock (docs extra)

        self.timeout = timeout
        self.profile = tempfile.mkdtemp(prefix="docs-check-chromium-")
        self.proc = subprocess.Popen(
            [
                executable,
                *CHROMIUM_FLAGS,
                f"--user-data-dir={self.profile}",
                "--remote-debugging-address=127.0.0.1",
                "--remote-debugging-port=0",
                f"--window-size={width},{height}",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        port_file = Path(self.profile) / "DevToolsActivePort"
        deadline = time.monotonic() + timeout
        while not (port_file.is_file() and len(port_file.read_text().split()) >= 2):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.close()
                raise CheckError("chromium did not start (no DevToolsActivePort)")
            time.sleep(0.1)
        port, path = port_file.read_text().split()[:2]
        self.ws = websocket.create_connection(f"ws://127.0.0.1:{port}{path}", timeout=timeout, suppress_origin=True)
        self._id = 0
        self.events: list[dict] = []
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.call(f"{domain}.enable", session=True)
        self.call("Emulation.setDeviceMetricsOverride", session=True, width=width, height=height,
                  deviceScaleFactor=1, mobile=False)  # fmt: skip

    def call(self, method: str, *, session: bool = False, **params) -> dict:
        self._id += 1
        msg = {"id": self._id, "method": method, "params": params}
        if session:
            msg["sessionId"] = self.session
        self.ws.send(json.dumps(msg))
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            reply = json.loads(self.ws.recv())
            if reply.get("id") == self._id:
                if "error" in reply:
                    raise CheckError(f"{method}: {reply['error'].get('message')}")
                return reply.get("result", {})
            if "method" in reply:
                self.events.append(reply)
        raise CheckError(f"{method}: no answer within {self.timeout} s")

    def wait_for(self, method: str) -> dict:
        deadline = time.monotonic() + self.timeout
        for i, ev in enumerate(self.events):
            if ev["method"] == method:
                return self.events.pop(i)
        while time.monotonic() < deadline:
            ev = json.loads(self.ws.recv())
            if "method" in ev:
                if ev["method"] == method:
                    return ev
                self.events.append(ev)
        raise CheckError(f"no {method} within {self.timeout} s")

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.ws.close()
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        shutil.rmtree(self.profile, ignore_errors=True)


# --- the server ---------------------------------------------------------------------------------------------


@contextlib.contextmanager
def serve(site: Path):
    """Serve `site` on 127.0.0.1 (a free port) in a thread; yields the base URL and the list of 404s seen."""
    missing: list[str] = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args) -> None:  # quiet
            pass

        def send_error(self, code, message=None, explain=None):
            if code == 404:
                missing.append(self.path)
            super().send_error(code, message, explain)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(site)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", missing
    finally:
        server.shutdown()
        server.server_close()


# --- the checks ---------------------------------------------------------------------------------------------

_ID = re.compile(r"""\sid=["']([^"']+)["']""")


def pages_of(site: Path) -> list[str]:
    """Every HTML page of the site, as paths relative to it."""
    return sorted(p.relative_to(site).as_posix() for p in site.rglob("*.html"))


def _target_file(site: Path, path: str) -> Path | None:
    f = site / urllib.parse.unquote(path).lstrip("/")
    if f.is_dir():
        f = f / "index.html"
    return f if f.is_file() else None


def check_links(site: Path, base: str, links: list[str], ids_cache: dict[Path, set[str]]) -> list[str]:
    """Internal links (same origin) that point to no file, or to an anchor missing from the target page."""
    bad = []
    for link in sorted(set(links)):
        if not link.startswith(base):
            continue  # another host: a link, not a load
        parsed = urllib.parse.urlsplit(link)
        target = _target_file(site, parsed.path)
        if target is None:
            bad.append(f"broken link: {link[len(base) - 1 :]}")
            continue
        if parsed.fragment and target.suffix == ".html":
            if target not in ids_cache:
                ids_cache[target] = set(_ID.findall(target.read_text(errors="replace")))
            if urllib.parse.unquote(parsed.fragment) not in ids_cache[target]:
                bad.append(f"broken anchor: {link[len(base) - 1 :]}")
    return bad


def check_page(browser: Browser, site: Path, base: str, page: str, screens: Path | None, max_height: int,
               ids_cache: dict) -> PageResult:  # fmt: skip
    url = base + page
    result = PageResult(url=url)
    browser.events.clear()
    browser.call("Page.navigate", session=True, url=url)
    browser.wait_for("Page.loadEventFired")
    probe = browser.call("Runtime.evaluate", session=True, expression=PAGE_PROBE, awaitPromise=True,
                         returnByValue=True)  # fmt: skip
    if "exceptionDetails" in probe:
        result.problems.append(f"probe failed: {probe['exceptionDetails'].get('text')}")
        return result
    found = json.loads(probe["result"]["value"])
    result.formulas = found["formulas"]
    result.problems += [f"raw math left: …{s}…" for s in found["raw"]]
    result.problems += [f"formula not typeset: {s}" for s in found["untypeset"]]
    result.problems += [f"KaTeX error: {s}" for s in found["katexErrors"]]
    result.problems += [f"broken image: {s}" for s in found["images"]]
    result.problems += check_links(site, base, found["links"], ids_cache)
    for ev in browser.events:
        p = ev.get("params", {})
        if ev["method"] == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
            text = " ".join(str(a.get("value", a.get("description", ""))) for a in p.get("args", []))
            result.problems.append(f"console error: {text[:200]}")
        elif ev["method"] == "Runtime.exceptionThrown":
            d = p.get("exceptionDetails", {})
            result.problems.append(f"uncaught exception: {d.get('exception', {}).get('description', d.get('text'))}")
        elif ev["method"] == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
            e = p["entry"]
            result.problems.append(f"console error: {e.get('text', '')[:200]} {e.get('url', '')}".rstrip())
        elif ev["method"] == "Network.requestWillBeSent":
            req = p.get("request", {}).get("url", "")
            host = urllib.parse.urlsplit(req).hostname
            if req.startswith(("http:", "https:", "ws:", "wss:")) and host != "127.0.0.1":
                result.problems.append(f"request to another host: {req}")
    if screens is not None:
        height = max(1, min(int(found["height"]), max_height))
        shot = browser.call("Page.captureScreenshot", session=True, format="png", captureBeyondViewport=True,
                            clip={"x": 0, "y": 0, "width": 1280, "height": height, "scale": 1})  # fmt: skip
        name = page.removesuffix(".html").removesuffix("index").rstrip("/").replace("/", "__") or "index"
        result.screenshot = screens / f"{name}.png"
        result.screenshot.write_bytes(base64.b64decode(shot["data"]))
    return result


def run_check(site: Path, screens: Path | None, *, install: bool = False, max_height: int = 2400,
              pages: list[str] | None = None) -> list[PageResult]:  # fmt: skip
    """Check every page (or `pages`) of `site`; returns one result per page."""
    if not (site / "index.html").is_file():
        raise CheckError(f"{site} holds no built site (no index.html): run `make docs` first")
    if screens is not None:
        screens.mkdir(parents=True, exist_ok=True)
        for old in screens.glob("*.png"):
            old.unlink()
    executable = find_chromium(install)
    results = []
    with serve(site) as (base, missing):
        browser = Browser(executable)
        try:
            ids_cache: dict = {}
            for page in pages or pages_of(site):
                before = len(missing)
                res = check_page(browser, site, base, page, screens, max_height, ids_cache)
                res.problems += [f"not found (404): {m}" for m in missing[before:]]
                results.append(res)
        finally:
            browser.close()
    return results


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m docsite.check", description=__doc__.split("\n\n")[0])
    p.add_argument("site", nargs="?", type=Path, default=Path("site"), help="the built site (default: site)")
    p.add_argument("--screens", type=Path, default=Path("out/docs-screens"), help="folder for one PNG per page")
    p.add_argument("--install", action="store_true", help="apt-get install chromium if it is missing")
    p.add_argument("--max-height", type=int, default=2400, help="screenshot height limit in pixels")
    args = p.parse_args(argv)
    try:
        results = run_check(args.site, args.screens, install=args.install, max_height=args.max_height)
    except CheckError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    failed = [r for r in results if r.problems]
    for r in failed:
        print(f"FAIL {r.url}")
        for problem in r.problems:
            print(f"  - {problem}")
    formulas = sum(r.formulas for r in results)
    print(
        f"docs-check: {len(results)} pages, {formulas} formulas typeset, {len(failed)} with problems; "
        f"screenshots in {args.screens}"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
