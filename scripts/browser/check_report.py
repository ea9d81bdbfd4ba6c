#!/usr/bin/env python3
"""Opens a `locus report` page in headless Chromium and checks what a reader would see.

Usage: check_report.py REPORT_HTML [--screenshot PNG]

Checks: the page loads; it has at least one figure; every inline <svg> figure renders with a
non-empty bounding box and every <img> (if any) finished loading with a non-zero natural size;
the browser console logged no error (SEVERE) while the page loaded. Prints one line per figure
and a summary; exits 1 on any failure.

Needs Debian's `chromium` and `chromium-driver` and PyPI's `selenium` (scripts/ensure-browser.sh).
"""
import argparse
import pathlib
import sys

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("report")
    parser.add_argument("--screenshot")
    args = parser.parse_args()
    page = pathlib.Path(args.report).resolve()
    if not page.is_file():
        print(f"check_report: {page}: no such file", file=sys.stderr)
        return 1

    options = Options()
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--window-size=1280,2000"):
        options.add_argument(flag)
    options.binary_location = "/usr/bin/chromium"
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    failures = []
    try:
        driver.get(page.as_uri())
        state = driver.execute_script("return document.readyState")
        if state != "complete":
            failures.append(f"document.readyState is {state!r}")
        figures = driver.execute_script(
            """
            const out = [];
            // Top-level inline SVG figures only (an <svg> inside another is part of its figure).
            for (const svg of document.querySelectorAll('svg')) {
              if (svg.parentElement.closest('svg')) continue;
              const box = svg.getBBox();
              const title = svg.querySelector('title, text');
              out.push({kind: 'svg', width: box.width, height: box.height,
                        children: svg.childElementCount,
                        label: title ? title.textContent.slice(0, 60) : ''});
            }
            for (const img of document.querySelectorAll('img')) {
              out.push({kind: 'img', width: img.naturalWidth, height: img.naturalHeight,
                        complete: img.complete, children: 1, label: img.getAttribute('src')});
            }
            return out;
            """)
        if not figures:
            failures.append("the page has no figure")
        for index, figure in enumerate(figures):
            ok = figure["width"] > 0 and figure["height"] > 0 and figure["children"] > 0
            if figure["kind"] == "img":
                ok = ok and figure["complete"]
            print(f"figure {index}: {figure['kind']} {figure['width']:.0f}×{figure['height']:.0f} "
                  f"{'ok' if ok else 'EMPTY'}  {figure['label']!r}")
            if not ok:
                failures.append(f"figure {index} ({figure['label']!r}) did not render")
        for entry in driver.get_log("browser"):
            print(f"console {entry['level']}: {entry['message']}")
            if entry["level"] == "SEVERE":
                failures.append(f"console error: {entry['message']}")
        if args.screenshot:
            height = driver.execute_script("return document.body.scrollHeight")
            driver.set_window_size(1280, max(800, min(int(height) + 40, 6000)))
            driver.save_screenshot(args.screenshot)
            print(f"screenshot: {args.screenshot}")
    finally:
        driver.quit()
    for failure in failures:
        print(f"check_report: {page}: {failure}", file=sys.stderr)
    print(f"check_report: {len(figures)} figures, {len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
