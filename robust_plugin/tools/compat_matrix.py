"""``make compat``: the plugin on several freqtrade releases, one virtualenv per release.

For each release:

1. a virtualenv with that freqtrade (``.venv-compat/freqtrade-<release>``, kept for the next run;
   the development venv itself when it already has that release), ccxt as in ``constraints/dev.txt``;
2. ``pip install --dry-run --report`` of the plugin into it must install neither freqtrade nor ccxt;
3. the plugin is installed for real (editable, with its test extra), and freqtrade's and ccxt's
   versions must be the same afterwards;
4. the compatibility tests run under it: the compatibility checks, the sample data, the backtest
   integration tests and the live closing and settlement tests against the venue.

Everything comes from the package index or pip's cache (and ``PIP_FIND_LINKS``/``PIP_INDEX_URL``
when set); the tests generate their own data and talk to the venue on loopback.

``python -m robust_plugin.tools.compat_matrix [--versions 2026.4 2026.9 | --all] [--dev-venv-tested]``
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from robust_plugin.adapter.compat import parse_version, supported_range

ROOT = Path(__file__).resolve().parents[2]


def releases() -> tuple[str, ...]:
    """Every supported release, month by month (``2026.4`` .. ``2026.9``)."""
    (year, month), newest = parse_version(supported_range()[0]), parse_version(supported_range()[1])
    found = []
    while (year, month) <= newest:
        found.append(f"{year}.{month}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return tuple(found)


RELEASES = releases()
ENDS = (RELEASES[0], RELEASES[-1])
PROTECTED = ("freqtrade", "ccxt")
CONSTRAINTS = ROOT / "constraints" / "dev.txt"
TESTS = (
    "tests/test_compat.py",
    "tests/test_sampledata.py",
    "tests/integration/test_backtest_aged.py",
    "tests/integration/test_live_closing.py",
    "tests/integration/test_live_settlement.py",
)
# ``--quick`` (what CI runs beside make test): every internal check, the backtests, and one live test
# per freqtrade path the plugin takes (close, lost response, chunks, stop-order recovery, settlement,
# restart); the full set is the default.
_LIVE = "tests/integration/test_live_"
QUICK = (
    "tests/test_compat.py",
    "tests/integration/test_backtest_aged.py",
    _LIVE + "closing.py::test_close_succeeds_on_the_first_attempt",
    _LIVE + "closing.py::test_lost_response_after_execution_closes_once_at_the_right_price",
    _LIVE + "closing.py::test_position_above_market_lot_size_is_closed_in_chunks",
    _LIVE + "closing.py::test_position_gone_while_a_stop_order_is_open_sends_no_order_and_asks_for_reload",
    _LIVE + "settlement.py::test_a_long_visibility_lag_is_verified_late_never_rolled_back",
    _LIVE + "settlement.py::test_a_bot_killed_between_fill_and_verification_resumes_the_job_after_restart",
)


@dataclass
class Outcome:
    release: str
    venv: Path
    before: dict[str, str] = field(default_factory=dict)
    after: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    tests: str = "not run"
    seconds: float = 0.0


def _normal(name: str) -> str:
    return name.lower().replace("_", "-")


def changes_to(report: dict, names: tuple[str, ...] = PROTECTED) -> list[str]:
    """What a ``pip install --report`` would install of ``names`` ("ccxt 4.5.91"), empty when nothing."""
    wanted = {_normal(n) for n in names}
    return [
        f"{item['metadata']['name']} {item['metadata']['version']}"
        for item in report.get("install", [])
        if _normal(item["metadata"]["name"]) in wanted
    ]


def release_spec(release: str) -> str:
    """``freqtrade==2026.5.*``: the release and its patch releases (2026.5.1), newest first."""
    return f"freqtrade=={release}.*"


def _run(command: list[str], quiet: bool = True, **kwargs) -> subprocess.CompletedProcess:
    print("  $ " + " ".join(str(part) for part in command), flush=True)
    started = time.monotonic()
    result = subprocess.run(command, text=True, capture_output=quiet, **kwargs)
    print(f"    ({time.monotonic() - started:.0f} s)", flush=True)
    return result


def _check(result: subprocess.CompletedProcess, what: str) -> None:
    if result.returncode != 0:
        raise RuntimeError(
            f"{what} failed ({result.returncode}):\n{(result.stdout or '')[-3000:]}{result.stderr or ''}"
        )


def installed(python: Path) -> dict[str, str]:
    """Versions of freqtrade and ccxt in the environment of ``python`` (missing ones left out)."""
    code = (
        "import importlib.metadata as m, json\n"
        "found = {}\n"
        f"for name in {list(PROTECTED)!r}:\n"
        "    try: found[name] = m.version(name)\n"
        "    except m.PackageNotFoundError: pass\n"
        "print(json.dumps(found))"
    )
    result = subprocess.run([str(python), "-c", code], text=True, capture_output=True)
    _check(result, "reading installed versions")
    return json.loads(result.stdout)


def _pin(name: str) -> str | None:
    for line in CONSTRAINTS.read_text().splitlines():
        if line.split("==")[0].strip().lower() == name:
            return line.strip()
    return None


def ensure_venv(release: str, venv: Path, python: str) -> None:
    """A virtualenv at ``venv`` with freqtrade ``release`` (kept when it already has it)."""
    bin_python = venv / "bin" / "python"
    if bin_python.exists() and installed(bin_python).get("freqtrade", "").startswith(release):
        print(f"  reusing {venv}", flush=True)
        return
    _check(_run([python, "-m", "venv", "--clear", str(venv)]), "creating the virtualenv")
    ccxt = _pin("ccxt")
    _check(
        _run([str(bin_python), "-m", "pip", "install", "--quiet", release_spec(release), *([ccxt] if ccxt else [])]),
        f"installing freqtrade {release}",
    )


def dry_run(python: Path) -> list[str]:
    """What installing the plugin would install of freqtrade and ccxt (nothing is installed)."""
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        command = [str(python), "-m", "pip", "install", "--quiet", "--dry-run", "--report", str(report)]
        _check(_run([*command, "-e", f"{ROOT}[test]"]), "pip install --dry-run")
        return changes_to(json.loads(report.read_text()))


def run_release(
    release: str, venv: Path, python: str, *, dev: bool, run_tests: bool, tests: tuple[str, ...]
) -> Outcome:
    """One release. ``dev``: ``venv`` is the development venv, where ``make install`` installed the
    plugin already: only the dry run checks it."""
    started = time.monotonic()
    outcome = Outcome(release, venv)
    bin_python = venv / "bin" / "python"
    try:
        if not dev:
            ensure_venv(release, venv, python)
        outcome.before = installed(bin_python)
        replaced = dry_run(bin_python)
        if replaced:
            outcome.problems.append("installing the plugin would install " + ", ".join(replaced))
        elif not dev:
            _check(_run([str(bin_python), "-m", "pip", "install", "--quiet", "-e", f"{ROOT}[test]"]), "pip install")
        outcome.after = installed(bin_python)
        if outcome.after != outcome.before:
            outcome.problems.append(f"installing the plugin changed {outcome.before} to {outcome.after}")
        if run_tests and not outcome.problems:
            env = dict(os.environ, PYTHONPATH=str(ROOT))
            result = _run(
                [str(bin_python), "-m", "pytest", "-p", "no:cacheprovider", *tests], quiet=False, cwd=ROOT, env=env
            )
            outcome.tests = "passed" if result.returncode == 0 else f"failed (exit {result.returncode})"
            if result.returncode != 0:
                outcome.problems.append(f"tests {outcome.tests}")
        elif not run_tests:
            outcome.tests = "skipped (make test ran them)"
    except RuntimeError as error:
        outcome.problems.append(str(error))
    outcome.seconds = time.monotonic() - started
    return outcome


def summary(outcomes: list[Outcome]) -> str:
    lines = ["", "release  freqtrade / ccxt             plugin install          tests                    time"]
    for o in outcomes:
        versions = f"{o.after.get('freqtrade', '?')} / {o.after.get('ccxt', '?')}"
        install = "left both untouched" if not any("install" in p for p in o.problems) else "CHANGED THEM"
        lines.append(f"{o.release:<8} {versions:<28} {install:<23} {o.tests:<24} {o.seconds:5.0f} s")
    for o in outcomes:
        lines += [f"{o.release}: {problem}" for problem in o.problems]
    failed = sum(1 for o in outcomes if o.problems)
    lines.append(f"compat: {len(outcomes) - failed} passed, {failed} failed")  # releases
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m robust_plugin.tools.compat_matrix", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--versions", nargs="+", default=list(ENDS), help="freqtrade releases (default: both ends)")
    parser.add_argument("--all", action="store_true", help=f"every supported release ({RELEASES[0]} to {RELEASES[-1]})")
    parser.add_argument("--python", default=sys.executable, help="interpreter for new virtualenvs")
    parser.add_argument("--venvs", type=Path, default=ROOT / ".venv-compat", help="where the virtualenvs are kept")
    parser.add_argument("--dev-venv", type=Path, default=ROOT / ".venv", help="the development virtualenv")
    parser.add_argument(
        "--dev-venv-tested",
        action="store_true",
        help="the development venv's tests ran already: only check its install",
    )
    parser.add_argument("--tests", nargs="+", default=list(TESTS), help="test paths to run under each release")
    parser.add_argument(
        "--quick", action="store_true", help="the quick subset: internals, backtests, one live test per path"
    )
    parser.add_argument(
        "--prepare-only", action="store_true", help="only create the virtualenvs (CI does it while make test runs)"
    )
    args = parser.parse_args(argv)
    dev_python = args.dev_venv / "bin" / "python"
    dev_release = installed(dev_python).get("freqtrade", "") if dev_python.exists() else ""
    outcomes = []
    for release in RELEASES if args.all else args.versions:
        is_dev = dev_release == release or dev_release.startswith(release + ".")
        venv = args.dev_venv if is_dev else args.venvs / f"freqtrade-{release}"
        print(f"== freqtrade {release}: {venv}", flush=True)
        if args.prepare_only:
            if not is_dev:
                ensure_venv(release, venv, args.python)
            continue
        run_tests = not (is_dev and args.dev_venv_tested)
        outcome = run_release(
            release,
            venv,
            args.python,
            dev=is_dev,
            run_tests=run_tests,
            tests=QUICK if args.quick else tuple(args.tests),
        )
        outcomes.append(outcome)
    if args.prepare_only:
        return 0
    print(summary(outcomes))
    return 1 if any(o.problems for o in outcomes) else 0


if __name__ == "__main__":
    sys.exit(main())
