"""Scaling with work: seconds per epoch vs dataset size and vs model width.

Trains with the app's own `labcore.training.fit` (a silent reporter) in
this process, so the numbers are the worker's minus the worker's start:

  data sweep:  the default spec on 1k, 2k, 4k, 8k images (`--sizes`)
  width sweep: the default spec with every filter count x1, x2, x4
               (`--widths`) on `--width-images` images

No validation split (val_fraction=0), so an epoch is training only;
steady state = the epochs after the first. Both wall seconds and the
process's CPU seconds per epoch are recorded; the ratios use CPU seconds,
which other people's load on a shared machine barely moves. Work per epoch
is images x multiply-accumulates per image (MACs, counted from the built
model's Conv2D and Dense layers); cost grows linearly where CPU seconds per
epoch / work stays flat. Every configuration runs once per repeat, in an order rotated each
repeat, and the median is reported.

Run from the repository root (8k images need full Fashion-MNIST: set
LABCORE_DATA_DIR, e.g. ../shared/datasets):
    LABCORE_DATA_DIR=../shared/datasets python -m bench.scaling --repeats 3
"""

import sys
import time

from bench import _report
from bench.training_overhead import widen
from labcore import data, spec as spec_lib
from labcore.trainconfig import TrainConfig

__all__ = ["macs_per_image", "main"]

MODULE = "bench.scaling"


class _Silent:
    """A reporter that keeps nothing but this process's CPU time at each epoch's end."""

    def __init__(self):
        self.cpu_at_epoch = []

    def progress(self, fraction, text=""):
        pass

    def epoch(self, series, epoch, metrics):
        self.cpu_at_epoch.append(time.process_time())

    def artifact(self, name, value):
        return name

    def result(self, values):
        pass

    def cancelled(self):
        return False


def macs_per_image(model):
    """Multiply-accumulates of one image's forward pass through Conv2D/Dense layers."""
    import keras

    total = 0
    for layer in model.layers:
        if isinstance(layer, (keras.layers.Conv2D, keras.layers.Conv2DTranspose)):
            height, width = layer.output.shape[1:3]
            kernel = layer.kernel.shape
            total += height * width * kernel[0] * kernel[1] * kernel[2] * kernel[3]
        elif isinstance(layer, keras.layers.Dense):
            total += layer.kernel.shape[0] * layer.kernel.shape[1]
    return int(total)


def measure(model_spec, dataset, n_images, epochs, batch_size):
    """One fit; (steady seconds per epoch, steady CPU seconds per epoch, params, MACs per image)."""
    from labcore import composable, training

    splits = data.load(dataset, subset=n_images, val_fraction=0.0, seed=0)
    config = TrainConfig(epochs=epochs, batch_size=batch_size, dataset=dataset, val_fraction=0.0)
    training.set_seed(0)
    model = composable.build_model(model_spec)
    reporter = _Silent()
    fitted = training.fit(model, (splits.x_train, splits.y_train, None, None), config, reporter)
    cpu = reporter.cpu_at_epoch
    cpu_per_epoch = (cpu[-1] - cpu[0]) / (len(cpu) - 1) if len(cpu) > 1 else None
    return fitted["seconds_per_epoch"], cpu_per_epoch, int(model.count_params()), macs_per_image(model)


def main(argv=None):
    """Parse arguments, sweep interleaved, report."""
    parser = _report.parser(__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=3, help="per fit; the first is not counted")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--sizes", type=int, nargs="*", default=[1000, 2000, 4000, 8000])
    parser.add_argument("--widths", type=float, nargs="*", default=[1, 2, 4])
    parser.add_argument("--width-images", type=int, default=2000)
    parser.add_argument("--dataset", default=None,
                        help="default: fashion_mnist when available, else the embedded subset")
    args = parser.parse_args(argv)

    dataset = args.dataset or ("fashion_mnist" if data.availability("fashion_mnist")[0] else data.DEFAULT_DATASET)
    available = data.DATASETS[dataset].n_train
    sizes = [n for n in args.sizes if n <= available]
    if len(sizes) < len(args.sizes):
        print(f"{dataset} has {available} training images: sizes above are left out", flush=True)
    base = spec_lib.default_spec()
    configs = [("data", n, 1.0) for n in sizes] + [("width", args.width_images, w) for w in args.widths]

    load_start = _report.begin(args)
    import keras  # noqa: F401  (imported before the first timing)

    seconds = {config: [] for config in configs}
    cpu_seconds = {config: [] for config in configs}
    facts = {}
    for repeat in range(args.repeats):
        shift = repeat % len(configs)
        for config in configs[shift:] + configs[:shift]:
            sweep, n_images, width = config
            started = time.monotonic()
            per_epoch, cpu_per_epoch, params, macs = measure(widen(base, width) if width != 1 else base, dataset, n_images,
                                              args.epochs, args.batch_size)
            seconds[config].append(per_epoch)
            cpu_seconds[config].append(cpu_per_epoch)
            facts[config] = (params, macs)
            print(f"repeat {repeat + 1}/{args.repeats} {sweep} n={n_images} width x{width:g}: "
                  f"{per_epoch:.2f} s/epoch, CPU {cpu_per_epoch:.2f} s/epoch "
                  f"({time.monotonic() - started:.1f} s in all)", flush=True)

    rows = []
    for sweep in ("data", "width"):
        chosen = [c for c in configs if c[0] == sweep]
        if not chosen:
            continue
        first = chosen[0]
        first_work = first[1] * facts[first][1]
        first_cpu = _report.median(cpu_seconds[first])
        for config in chosen:
            _, n_images, width = config
            params, macs = facts[config]
            per_epoch = _report.median(seconds[config])
            cpu = _report.median(cpu_seconds[config])
            work = n_images * macs / first_work
            rows.append([
                sweep, n_images, f"x{width:g}", f"{params:,}", f"{macs / 1e6:.2f}",
                _report.stat(seconds[config], "{:.2f}"), _report.stat(cpu_seconds[config], "{:.2f}"),
                f"{n_images / per_epoch:.0f}", f"{work:.2f}", f"{cpu / first_cpu:.2f}",
                f"{cpu / first_cpu / work:.2f}",
            ])
    notes = (
        f"{dataset}, batch {args.batch_size}, {args.epochs} epochs per fit (steady state: after the first), "
        "no validation; `labcore.training.fit` in one process. s/epoch is wall time; CPU s/epoch the process's "
        "CPU time (all threads) per steady epoch, which other people's load barely moves, so the ratios use "
        "it. *work x* = images x MACs per image, relative to the first row of its sweep; *CPU x* = CPU "
        "s/epoch relative to it; *CPU / work* = their ratio: 1.00 is perfectly linear, above 1 means each "
        "unit of work costs more (the bend), below 1 that fixed per-epoch or per-batch costs are being "
        "amortised."
    )
    _report.report("Scaling: seconds per epoch vs dataset size and model width",
                   ["sweep", "images", "width", "params", "MMACs/image", "s/epoch", "CPU s/epoch", "images/s",
                    "work x", "CPU x", "CPU / work"],
                   rows, module=MODULE, load_start=load_start, notes=notes, args=args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
