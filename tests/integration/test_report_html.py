"""``robust-plugin report`` on a real ``freqtrade backtesting`` result, rendered by headless Chromium:
the page works offline and the aged target staircase is visible in the screenshot."""

from __future__ import annotations

import json
import struct
import subprocess
import sys
import zlib
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from robust_plugin.report.html import PRICE_COLOUR, STAIRCASE_COLOUR
from robust_plugin.tools.backtest_env import EXAMPLE_CONFIG, ROOT, write_override
from tests.conftest import require_binary

pytestmark = pytest.mark.integration

AGED = {
    "max_age": "12h",
    "grace_period": "4h",
    "step_interval": "1h",
    "loss_step_pct": 0.5,
    "max_loss_pct": 3.0,
    "force_close_after": "48h",
}


def decode_png(path: Path) -> np.ndarray:
    """An 8-bit RGB(A), non-interlaced PNG (what Chromium writes) as a height x width x RGB array."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, header = 8, [], None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        body = data[pos + 8 : pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
    width, height, depth, colour, _, _, interlace = header
    assert depth == 8 and colour in (2, 6) and interlace == 0, header
    bpp = 3 if colour == 2 else 4
    stride = width * bpp
    raw = zlib.decompress(b"".join(idat))
    out = np.zeros((height, stride), dtype=np.int64)
    prior = np.zeros(stride, dtype=np.int64)
    for y in range(height):
        start = y * (stride + 1)
        kind = raw[start]
        line = np.frombuffer(raw, dtype=np.uint8, count=stride, offset=start + 1).astype(np.int64)
        if kind == 0:
            row = line
        elif kind == 1:  # Sub: a running sum per channel
            row = np.cumsum(line.reshape(width, bpp), axis=0).reshape(stride) % 256
        elif kind == 2:  # Up
            row = (line + prior) % 256
        else:  # Average (3) and Paeth (4) depend on the byte just decoded: byte by byte
            cur, up, filt = bytearray(stride), prior.tolist(), line.tolist()
            for i in range(stride):
                a = cur[i - bpp] if i >= bpp else 0
                b = up[i]
                if kind == 3:
                    cur[i] = (filt[i] + ((a + b) >> 1)) & 0xFF
                    continue
                c = up[i - bpp] if i >= bpp else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                cur[i] = (filt[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF
            row = np.frombuffer(bytes(cur), dtype=np.uint8).astype(np.int64)
        out[y] = row
        prior = row
    return out.reshape(height, width, bpp)[:, :, :3]


def external_scripts(page: str) -> list[str]:
    """The ``src`` of every script tag (a self-contained page has none)."""
    sources = []

    class Scripts(HTMLParser):
        def handle_starttag(self, tag, attrs):
            if tag == "script" and dict(attrs).get("src"):
                sources.append(dict(attrs)["src"])

    Scripts().feed(page)
    return sources


def pixels_of(image: np.ndarray, colour: str, tolerance: int = 10) -> int:
    rgb = np.array([int(colour[i : i + 2], 16) for i in (1, 3, 5)])
    return int((np.abs(image - rgb).max(axis=2) <= tolerance).sum())


def screenshot(chromium: str, page: Path, png: Path) -> np.ndarray:
    subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            f"--screenshot={png}",
            "--window-size=1400,2000",
            "--virtual-time-budget=10000",
            page.resolve().as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return decode_png(png)


def report(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "robust_plugin.report.cli", "report", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def backtest_result(tmp_path_factory, sample_venue, sample_datadir) -> Path:
    """A real ``freqtrade backtesting --export trades`` of the sample strategy, as the demo runs it."""
    tmp = tmp_path_factory.mktemp("report")
    override = write_override(tmp / "venue.json", sample_venue, {"robust_plugin": {"aged": AGED}})
    results = tmp / "backtest_results"
    results.mkdir()
    (tmp / "user_data").mkdir()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "freqtrade",
            "backtesting",
            "--config",
            str(EXAMPLE_CONFIG),
            "--config",
            str(override),
            "--userdir",
            str(tmp / "user_data"),
            "--datadir",
            str(sample_datadir),
            "--strategy-path",
            str(ROOT / "user_data" / "strategies"),
            "--strategy",
            "SampleAgedStrategy",
            "--export",
            "trades",
            "--cache",
            "none",
            "--backtest-directory",
            str(results),
            "--timerange",
            "20260810-",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return results


def test_report_on_a_backtest_renders_the_staircase_in_chromium(tmp_path, backtest_result, sample_datadir):
    chromium = require_binary("chromium-headless-shell", "chromium")
    page = tmp_path / "report.html"
    done = report("--backtest", str(backtest_result), "--datadir", str(sample_datadir), "--out", str(page))
    assert done.returncode == 0, done.stderr
    [zipped] = backtest_result.glob("*.zip")
    from freqtrade.data.btanalysis import load_backtest_stats

    trades = load_backtest_stats(zipped)["strategy"]["SampleAgedStrategy"]["trades"]
    aged = [t for t in trades if t["exit_reason"].startswith("aged_")]
    assert len(aged) >= 3, {t["exit_reason"] for t in trades}
    text = page.read_text()
    assert f"Aged trades ({len(aged)})" in text and f"{len(aged)} aged" in done.stdout
    assert external_scripts(text) == [], "plotly.js must be inline (the page works offline)"
    assert text.count('class="plotly-graph-div"') == len(aged)  # a chart per aged trade

    image = screenshot(chromium, page, tmp_path / "report.png")
    assert image.shape == (2000, 1400, 3)
    assert len(np.unique(image.reshape(-1, 3), axis=0)) > 100, "a blank or trivial page"
    assert pixels_of(image, PRICE_COLOUR) > 500, "no price line drawn"
    assert pixels_of(image, STAIRCASE_COLOUR) > 500, "the target staircase is not visible"

    # Control: the same trades with the aged policy off have no staircase, so the colour is absent.
    off = tmp_path / "aged-off.json"
    off.write_text(json.dumps({"robust_plugin": {"aged": {"enabled": False}}}))
    control = tmp_path / "control.html"
    assert (
        report(
            "--backtest",
            str(backtest_result),
            "--datadir",
            str(sample_datadir),
            "--config",
            str(off),
            "--out",
            str(control),
        ).returncode
        == 0
    )
    control_image = screenshot(chromium, control, tmp_path / "control.png")
    assert pixels_of(control_image, PRICE_COLOUR) > 500
    assert pixels_of(control_image, STAIRCASE_COLOUR) == 0


def test_report_arguments_and_missing_inputs_get_one_clear_line(tmp_path, backtest_result):
    cases = [
        (["--backtest", str(tmp_path / "nope"), "--out", str(tmp_path / "r.html")], "backtest result not found"),
        (["--backtest", str(tmp_path), "--out", str(tmp_path / "r.html")], "no backtest result in"),
        (["--backtest", str(backtest_result), "--out", str(tmp_path / "r.txt")], "--out must name an .html file"),
        (
            [
                "--backtest",
                str(backtest_result),
                "--datadir",
                str(tmp_path / "nodata"),
                "--out",
                str(tmp_path / "r.html"),
            ],
            "--datadir not found",
        ),
        (
            ["--backtest", str(backtest_result), "--strategy", "Nope", "--out", str(tmp_path / "r.html")],
            "--strategy Nope",
        ),
        (["--db", str(tmp_path / "missing.sqlite"), "--out", str(tmp_path / "r.html")], "freqtrade database not found"),
        (
            ["--backtest", str(backtest_result), "--db", "x.sqlite", "--out", str(tmp_path / "r.html")],
            "not allowed with",
        ),
    ]
    for args, message in cases:
        done = report(*args)
        assert done.returncode == 2, (args, done.stdout, done.stderr)
        assert message in done.stderr and "Traceback" not in done.stderr, (args, done.stderr)
    assert not (tmp_path / "r.html").exists()
