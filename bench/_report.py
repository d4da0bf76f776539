"""What every benchmark shares: the machine, the load, statistics, the report.

`report()` is the one function that writes results: it prints a markdown
table and appends a section to `docs/PERFORMANCE.md` holding the title, the
machine (CPU model, cores, RAM, GPU if any via `labcore.device`), the date
(UTC), the exact command, the Python / Keras / backend versions, the load
average at the start and the end, the table and notes.

Nothing here imports Keras (versions come from package metadata), so a
benchmark that must stay Keras-free (the UI one) can use it.
"""

import argparse
import datetime
import importlib.metadata
import os
import platform
import shlex
import statistics
import sys
import time
from pathlib import Path

__all__ = [
    "DEFAULT_OUT",
    "add_common_arguments",
    "begin",
    "command_line",
    "load_average",
    "machine",
    "markdown_table",
    "median",
    "parser",
    "report",
    "software",
    "stat",
    "wait_for_quiet",
]

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO_ROOT / "docs" / "PERFORMANCE.md"
# Environment variables that change what a benchmark measures: they go into
# the recorded command.
_RELEVANT_ENV = ("KERAS_BACKEND", "LABCORE_DATA_DIR", "CUDA_VISIBLE_DEVICES", "XLA_PYTHON_CLIENT_PREALLOCATE")


def load_average():
    """The 1, 5 and 15 minute load averages, from /proc/loadavg.

    Returns:
        tuple of three floats (zeros where /proc is missing).
    """
    try:
        return tuple(float(v) for v in Path("/proc/loadavg").read_text().split()[:3])
    except (OSError, ValueError):
        return (0.0, 0.0, 0.0)


def _load_text(load):
    return " / ".join(f"{value:.2f}" for value in load)


def wait_for_quiet(max_wait_s, threshold=0.5, poll_s=15.0):
    """Wait until the 1-minute load is below `threshold`, at most `max_wait_s`.

    Other people's trainings on a shared 2-core machine make absolute
    timings meaningless; this waits for a quiet moment and says whether it
    came.

    Args:
        max_wait_s: float, 0 to not wait at all.
        threshold: float, the 1-minute load that counts as quiet.
        poll_s: float, seconds between two looks.

    Returns:
        (load, waited_s, quiet): the load when it stopped waiting, how long
        it waited, and whether the load was under the threshold.
    """
    started = time.monotonic()
    while True:
        load = load_average()
        waited = time.monotonic() - started
        if load[0] < threshold:
            return load, waited, True
        if waited >= max_wait_s:
            if max_wait_s > 0:
                print(f"machine still busy after {waited:.0f} s (load {_load_text(load)}); measuring anyway",
                      flush=True)
            return load, waited, False
        print(f"waiting for a quiet machine: load {_load_text(load)} (>= {threshold}), "
              f"{waited:.0f} s of {max_wait_s:.0f} s", flush=True)
        time.sleep(min(poll_s, max(1.0, max_wait_s - waited)))


def median(values):
    """Median of the values that are not None (None when there are none)."""
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def stat(values, fmt="{:.0f}"):
    """"median (min-max, n=3)" of the values, each formatted with `fmt`."""
    values = [v for v in values if v is not None]
    if not values:
        return "n/a"
    if len(values) == 1:
        return fmt.format(values[0])
    return (f"{fmt.format(statistics.median(values))} "
            f"({fmt.format(min(values))}–{fmt.format(max(values))}, n={len(values)})")


def _meminfo_gib():
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 1024 ** 2
    except (OSError, ValueError, IndexError):
        pass
    return None


def machine(probe=True):
    """The machine, in words: CPU model, cores, RAM, and the GPU if any.

    Args:
        probe: bool, ask `labcore.device.probe` (a subprocess; with an
            NVIDIA GPU it imports the backend, a few seconds) for the GPU.

    Returns:
        str, e.g. "Intel Xeon Processor · 2 cores · 23.4 GiB RAM · no GPU".
    """
    from labcore import device

    parts = [device._cpu_name(), f"{device._cores()} cores"]
    ram = _meminfo_gib()
    if ram:
        parts.append(f"{ram:.1f} GiB RAM")
    if probe:
        probed = device.probe()
        if probed.get("device") == "GPU":
            parts.append(f"GPU: {probed['name']} (seen by {probed['backend']})")
        else:
            parts.append("no GPU used" + (f" ({probed['note']})" if probed.get("note") else ""))
    return " · ".join(parts)


def _version(*names):
    for name in names:
        try:
            return f"{name} {importlib.metadata.version(name)}"
        except importlib.metadata.PackageNotFoundError:
            continue
    return None


def backend_name():
    """The Keras backend the workers use: $KERAS_BACKEND, else keras.json, else tensorflow."""
    if os.environ.get("KERAS_BACKEND"):
        return os.environ["KERAS_BACKEND"]
    config = Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")) / "keras.json"
    try:
        import json

        return json.loads(config.read_text()).get("backend", "tensorflow")
    except (OSError, ValueError):
        return "tensorflow"


def software():
    """Python, Keras and backend versions, read without importing them."""
    backend = backend_name()
    packages = {
        "tensorflow": ("tensorflow", "tensorflow-cpu", "tf-nightly"),
        "jax": ("jax",),
        "torch": ("torch",),
    }.get(backend, (backend,))
    found = [f"Python {platform.python_version()}", _version("keras") or "keras ?",
             f"backend {backend}"]
    backend_version = _version(*packages)
    if backend_version:
        found.append(backend_version)
    if backend == "jax":
        found += [v for v in (_version("jaxlib"), _version("jax-cuda13-plugin", "jax-cuda12-plugin")) if v]
    return ", ".join(found)


def command_line(module):
    """The command that reproduces this run: relevant env vars, python -m module, its arguments."""
    env = [f"{name}={shlex.quote(os.environ[name])}" for name in _RELEVANT_ENV if os.environ.get(name)]
    return " ".join(env + ["python", "-m", module] + [shlex.quote(a) for a in sys.argv[1:]])


def markdown_table(headers, rows):
    """A markdown table; cells are str()-ed, None shows as a dash."""
    def cell(value):
        return "–" if value is None else str(value).replace("|", "\\|")

    lines = ["| " + " | ".join(cell(h) for h in headers) + " |",
             "| " + " | ".join("---" for _ in headers) + " |"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def add_common_arguments(parser):
    """--quiet-wait, --load-threshold, --out and --no-write, shared by every bench."""
    parser.add_argument("--quiet-wait", type=float, default=0.0, metavar="S",
                        help="wait up to S seconds for a 1-minute load below --load-threshold first")
    parser.add_argument("--load-threshold", type=float, default=0.5)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help="the markdown file to append to (default docs/PERFORMANCE.md)")
    parser.add_argument("--no-write", action="store_true", help="print the table only")
    return parser


def begin(args):
    """Wait for a quiet machine as the arguments say; return the load at the start."""
    load, waited, quiet = wait_for_quiet(args.quiet_wait, args.load_threshold)
    if args.quiet_wait:
        print(f"start: load {_load_text(load)} after waiting {waited:.0f} s "
              f"({'quiet' if quiet else 'NOT quiet'})", flush=True)
    return load


def report(title, headers, rows, *, module, load_start, notes="", args=None, probe=True):
    """Print a result table and append it, with its context, to PERFORMANCE.md.

    Args:
        title: str, the section's heading.
        headers: list of str.
        rows: list of lists (cells are str()-ed).
        module: str, e.g. "bench.training_overhead", for the command line.
        load_start: tuple, `load_average()` when the measurement began.
        notes: str, markdown printed under the table (what was measured).
        args: argparse.Namespace with `out` and `no_write`, or None to write
            to the default file.
        probe: bool, probe for a GPU (see `machine`).

    Returns:
        str, the section's markdown.
    """
    load_end = load_average()
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    # The start only: by the end the benchmark's own processes are the load.
    # Per core, so that 5 on a 16-core machine is quiet and 1 on 2 cores is not.
    busy = (" (machine busy at the start: compare ratios, not absolute numbers)"
            if load_start[0] / (os.cpu_count() or 1) >= 0.25 else "")
    section = "\n".join([
        f"### {title}",
        "",
        f"- machine: {machine(probe)}",
        f"- date: {now}",
        f"- command: `{command_line(module)}`",
        f"- software: {software()}",
        f"- load average (1/5/15 min): start {_load_text(load_start)}, end {_load_text(load_end)}{busy}",
        "",
        markdown_table(headers, rows),
        "",
        *( [notes.strip(), ""] if notes else [] ),
    ])
    print("\n" + section, flush=True)
    if args is None or not getattr(args, "no_write", False):
        out = Path(getattr(args, "out", DEFAULT_OUT) or DEFAULT_OUT)
        out.parent.mkdir(parents=True, exist_ok=True)
        existing = out.read_text() if out.exists() else "# Performance\n"
        with open(out, "a", encoding="utf-8") as handle:
            handle.write(("" if existing.endswith("\n\n") else "\n" if existing.endswith("\n") else "\n\n")
                         + section + "\n")
        print(f"appended to {out}", flush=True)
    return section


def parser(description):
    """An ArgumentParser with the common arguments."""
    return add_common_arguments(argparse.ArgumentParser(description=description))
