"""Browser figures of the visualiser page, in Debian's Chromium (Playwright).

For each scenario (8 channels of 64×64 by default) it loads the page on a real
uvicorn and reports:

- first paint: the ``first-contentful-paint`` entry (ms after navigation start);
- playback ready: the page's ``convlens:first-frame`` mark, when step 0 of the
  streamed trace is drawn and play can start (the stream goes on behind it);
- stream complete: the ``convlens:stream-end`` mark;
- frame time p50 / p95 / max during playback: intervals between
  ``requestAnimationFrame`` callbacks while the player runs (16.7 ms = 60 Hz; a
  few tenths above it is the display clock's jitter), and dropped frames
  (intervals over 25 ms);
- long tasks (> 50 ms, ``PerformanceObserver('longtask')``) during playback,
  and during loading for reference;
- the main thread's CPU time during playback (from a Chromium trace's thread
  time), per frame and as a share of the wall time, and its longest task: unlike
  the wall-clock figures, these do not grow when other jobs take the cores.

Playback starts as soon as the first frame is drawn, so it overlaps the stream
for the larger traces. Each scenario runs ``--runs`` times in a fresh page; the
table shows the median run (by p95 frame time).

Run: ``.venv/bin/python benchmarks/browser.py [--runs 3] [--seconds 4]``; prints a
markdown table. Needs /usr/bin/chromium (``make chromium``).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
BIG = "source=random&height=64&width=64&channels=8&kh=3&kw=3&padding=SAME&seed=7"


@dataclass(frozen=True)
class Scenario:
    name: str
    state: str  # the page's URL hash
    speed: int  # steps per second during the measured playback
    stage_step: int = 0  # where playback starts


DEPTHWISE_M1 = f"op=depthwise&{BIG}&multiplier=1&kernels=edge_x"
DEPTHWISE_M2 = f"op=depthwise&{BIG}&multiplier=2&kernels=edge_x,edge_y"
SCENARIOS = [
    Scenario("depthwise 8×64×64, M=1, 64 steps/s", DEPTHWISE_M1, 64),
    Scenario("depthwise 8×64×64, M=1, 4096 steps/s", DEPTHWISE_M1, 4096),
    Scenario("depthwise 8×64×64, M=2, 1024 steps/s", DEPTHWISE_M2, 1024),
    Scenario("separable 8×64×64, M=1, O=8, pointwise stage, 256 steps/s",
             f"op=separable&{BIG}&multiplier=1&out=8&kernels=edge_x", 256, stage_step=8 * 64 * 64),
    # A standard trace carries every input channel's window per step: 8×64×64 → 8 would
    # exceed the server's max_stream_bytes (a clear 413 on the page), so a 32×32 input.
    Scenario("standard 8×32×32 → 8, 1024 steps/s",
             f"op=standard&{BIG.replace('64', '32')}&out=8&kernels=edge_x", 1024),
]

# Installed before the page's own scripts: records long tasks and rAF intervals.
PROBE = """
window.__probe = { longtasks: [], frames: [], recording: false };
new PerformanceObserver(list => {
  for (const entry of list.getEntries()) {
    window.__probe.longtasks.push({ start: entry.startTime, duration: entry.duration,
                                    playing: window.__probe.recording });
  }
}).observe({ type: 'longtask', buffered: true });
window.__probe.record = () => {
  window.__probe.recording = true;
  let last = null;
  const tick = now => {
    if (last !== null) window.__probe.frames.push(now - last);
    last = now;
    if (window.__probe.recording) requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
};
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server() -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "app.main:app", "--port", str(port),
         "--log-level", "warning"],
        cwd=ROOT, env=env,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url + "/", timeout=2).read()
            return process, url
        except OSError:
            time.sleep(0.1)
    process.terminate()
    raise RuntimeError("uvicorn did not start")


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def main_thread_cpu(trace: bytes) -> dict:
    """CPU time of the page's main thread while playing, from a Chromium trace.

    Wall-clock figures (frame intervals, long tasks) include time the renderer
    waited for a core; ``tdur`` (thread time) does not, so these show what the
    page itself costs whatever else runs on the machine.
    """
    events = json.loads(trace)["traceEvents"]
    mains = {(e["pid"], e["tid"]) for e in events
             if e.get("ph") == "M" and e.get("name") == "thread_name"
             and e.get("args", {}).get("name") == "CrRendererMain"}
    tasks: dict[tuple[int, int], list[dict]] = {}
    for event in events:
        key = (event.get("pid"), event.get("tid"))
        if event.get("name") == "RunTask" and event.get("ph") == "X" and key in mains:
            tasks.setdefault(key, []).append(event)
    if not tasks:
        return {"busy_ms": 0.0, "window_ms": 0.0, "longest_ms": 0.0}
    page_tasks = max(tasks.values(), key=len)  # the page's renderer, not about:blank's
    start = min(task["ts"] for task in page_tasks)
    end = max(task["ts"] + task["dur"] for task in page_tasks)
    cpu = [task.get("tdur", task["dur"]) / 1000 for task in page_tasks]
    return {"busy_ms": sum(cpu), "window_ms": (end - start) / 1000, "longest_ms": max(cpu)}


def run_once(browser, base_url: str, scenario: Scenario, seconds: float) -> dict:
    context = browser.new_context(viewport={"width": 1920, "height": 1080})
    page = context.new_page()
    page.on("console", lambda message: message.type == "error" and print(
        f"console error: {message.text}", file=sys.stderr))
    page.on("pageerror", lambda error: print(f"page error: {error}", file=sys.stderr))
    page.add_init_script(PROBE)
    hash_ = f"{scenario.state}&speed={scenario.speed}&step={scenario.stage_step}"
    page.goto(f"{base_url}/#{hash_}")
    page.wait_for_function(
        "() => performance.getEntriesByName('convlens:first-frame').length > 0", timeout=60_000
    )
    browser.start_tracing(
        page=page, categories=["devtools.timeline", "disabled-by-default-devtools.timeline"])
    page.evaluate("window.__probe.record()")
    page.click("#play")
    page.wait_for_timeout(int(seconds * 1000))
    cpu = main_thread_cpu(browser.stop_tracing())
    result = page.evaluate("""() => {
      window.__probe.recording = false;
      const paint = performance.getEntriesByName('first-contentful-paint')[0];
      const ready = performance.getEntriesByName('convlens:first-frame')[0];
      const end = performance.getEntriesByName('convlens:stream-end')[0];
      return {
        first_paint: paint ? paint.startTime : null,
        ready: ready.startTime,
        stream_end: end ? end.startTime : null,
        frames: window.__probe.frames,
        longtasks: window.__probe.longtasks,
        counter: document.querySelector('#step-counter').textContent,
      };
    }""")
    if result["stream_end"] is None:
        page.wait_for_function(
            "() => performance.getEntriesByName('convlens:stream-end').length > 0", timeout=120_000
        )
        result["stream_end"] = page.evaluate(
            "performance.getEntriesByName('convlens:stream-end')[0].startTime"
        )
    context.close()
    frames = result["frames"][1:]  # the first interval includes the click
    playing = [task for task in result["longtasks"] if task["playing"]]
    loading = [task for task in result["longtasks"] if not task["playing"]]
    return {
        "first_paint": result["first_paint"],
        "ready": result["ready"],
        "stream_end": result["stream_end"],
        "p50": percentile(frames, 0.50),
        "p95": percentile(frames, 0.95),
        "max": max(frames) if frames else float("nan"),
        # A frame that took longer than one and a half display intervals was dropped.
        "dropped": sum(1 for interval in frames if interval > 25.0),
        "frames": len(frames),
        "long_playing": len(playing),
        "long_playing_max": max((task["duration"] for task in playing), default=0.0),
        "long_loading": len(loading),
        "long_loading_max": max((task["duration"] for task in loading), default=0.0),
        "counter": result["counter"],
        "cpu_per_frame": cpu["busy_ms"] / max(1, len(frames)),
        "cpu_share": cpu["busy_ms"] / cpu["window_ms"] if cpu["window_ms"] else float("nan"),
        "cpu_longest": cpu["longest_ms"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=4.0, help="playback measured per run")
    parser.add_argument("--only", default="", help="run scenarios whose name contains this")
    arguments = parser.parse_args()
    from playwright.sync_api import sync_playwright

    load_before = os.getloadavg()[0]
    process, base_url = start_server()
    rows = []
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            for scenario in SCENARIOS:
                if arguments.only and arguments.only not in scenario.name:
                    continue
                runs = [run_once(browser, base_url, scenario, arguments.seconds)
                        for _ in range(arguments.runs)]
                runs.sort(key=lambda run: run["p95"])
                rows.append((scenario, runs[len(runs) // 2], runs))
                print(f"done: {scenario.name}", file=sys.stderr)
            browser.close()
    finally:
        process.terminate()
        process.wait(10)

    load_after = os.getloadavg()[0]
    print(f"Load average (1 min) {load_before:.1f} before, {load_after:.1f} after: on a shared "
          "machine the frame figures move with it.\n")
    print(f"Chromium headless, 1920×1080, {os.cpu_count()} cores shared; median of "
          f"{arguments.runs} runs by p95 frame time; {arguments.seconds:g} s of playback "
          "per run.\n")
    print("| scenario | first paint | playback ready | stream complete | frame p50 / p95 / max "
          "| dropped frames | long tasks in playback | long tasks while loading "
          "| main-thread CPU per frame (share) | longest task, CPU |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for scenario, run, _ in rows:
        print(
            f"| {scenario.name} | {run['first_paint']:.0f} ms | {run['ready']:.0f} ms "
            f"| {run['stream_end']:.0f} ms "
            f"| {run['p50']:.1f} / {run['p95']:.1f} / {run['max']:.1f} ms "
            f"| {run['dropped']} of {run['frames']} "
            f"| {run['long_playing']} (max {run['long_playing_max']:.0f} ms) "
            f"| {run['long_loading']} (max {run['long_loading_max']:.0f} ms) "
            f"| {run['cpu_per_frame']:.1f} ms ({100 * run['cpu_share']:.0f} %) "
            f"| {run['cpu_longest']:.0f} ms |"
        )
    print()
    print("All runs (p95 frame ms, long tasks in playback): " + "; ".join(
        f"{scenario.name}: " + ", ".join(f"{run['p95']:.1f}/{run['long_playing']}" for run in runs)
        for scenario, _, runs in rows
    ))
    print(f"Median of p95 over scenarios: {statistics.median(r[1]['p95'] for r in rows):.1f} ms")


if __name__ == "__main__":
    main()
