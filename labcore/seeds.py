"""Readings over seeds: a mean with its spread, and whether a difference beats the noise.

One seed is not a lesson: on 600 validation images the seed-to-seed
standard deviation of a small network's accuracy is 1-2 points, as large as
the effects the labs teach. So every experiment can be repeated over seeds
(ordinary runs that differ in `seed` only), and the pages say what the
readings allow: "77.3 ± 2.1%" and "+2.1 ± 0.6 points: beyond noise" or
"+0.4 ± 1.2 points: within noise".

A difference is called beyond noise by a t-test at 95% (two-sided): the
difference of the means against its standard error, with the
t-distribution's critical value, which matters at 3 seeds (4.3 at 2
degrees of freedom, not 2). Readings keyed by seed are compared seed by
seed where at least two seeds match (a paired t-test): a lab's seed draws
the same data subset, initial weights and batch order for a step and its
control, so what they share cancels and the test sees the step's own
effect. Plain lists are independent samples (Welch's t-test). With one
reading on either side nothing can be said, and the words say so. Pure
Python.
"""

import dataclasses
import json
import math

__all__ = ["Difference", "Spread", "difference", "group_by_seed", "setting", "spread", "t_critical"]

# Two-sided 95% critical values of Student's t, by degrees of freedom.
_T_975 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262,
          10: 2.228, 12: 2.179, 15: 2.131, 20: 2.086, 30: 2.042, 60: 2.000}


def t_critical(df):
    """The two-sided 95% critical value of Student's t at `df` degrees of freedom.

    Between tabled values it takes the next lower tabled df (the larger,
    more cautious value); beyond 60, 1.96.

    Example:
    >>> t_critical(2), t_critical(11), t_critical(1000)
    (4.303, 2.228, 1.96)
    """
    if df < 1:
        raise ValueError(f"degrees of freedom must be at least 1; got {df}.")
    if df > 60:
        return 1.96
    return _T_975[max(key for key in _T_975 if key <= df)]


@dataclasses.dataclass(frozen=True)
class Spread:
    """Readings of one quantity over seeds.

    Args:
        mean: float.
        sd: float, the sample standard deviation (0.0 for one reading).
        n: int, how many readings.
        lo: float, the smallest reading.
        hi: float, the largest.
    """

    mean: float
    sd: float
    n: int
    lo: float
    hi: float

    def text(self, scale=100.0, unit="%", digits=1):
        """e.g. "77.3 ± 2.1%" over several seeds, "77.3% (one seed)" for one."""
        mean = f"{scale * self.mean:.{digits}f}"
        if self.n == 1:
            return f"{mean}{unit} (one seed)"
        return f"{mean} ± {scale * self.sd:.{digits}f}{unit}"


def spread(values):
    """The mean, sample standard deviation and range of some readings.

    Args:
        values: iterable of numbers (None is skipped: a run that did not
            report this quantity).

    Returns:
        Spread, or None when there is no reading.

    Example:
    >>> spread([0.75, 0.77, 0.79]).text()
    '77.0 ± 2.0%'
    """
    readings = [float(value) for value in values if value is not None]
    if not readings:
        return None
    n = len(readings)
    mean = sum(readings) / n
    sd = math.sqrt(sum((value - mean) ** 2 for value in readings) / (n - 1)) if n > 1 else 0.0
    return Spread(mean, sd, n, min(readings), max(readings))


@dataclasses.dataclass(frozen=True)
class Difference:
    """How far apart two sets of readings are, and whether that beats the noise.

    Args:
        delta: float, mean(b) - mean(a).
        se: float, the standard error of `delta` (0.0 when either side has
            one reading).
        beyond_noise: bool or None; None when either side has one reading.
        n: tuple (readings of a, readings of b).
        paired: bool, True when the readings were compared seed by seed.
    """

    delta: float
    se: float
    beyond_noise: bool | None
    n: tuple
    paired: bool = False

    @property
    def verdict(self):
        """"beyond noise", "within noise" or "one seed: cannot tell"."""
        if self.beyond_noise is None:
            return "one seed: cannot tell"
        return "beyond noise" if self.beyond_noise else "within noise"

    def text(self, scale=100.0, unit=" points", digits=1):
        """e.g. "+2.1 ± 0.6 points: beyond noise"."""
        delta = f"{scale * self.delta:+.{digits}f}"
        if self.beyond_noise is None:
            return f"{delta}{unit}: {self.verdict}"
        return f"{delta} ± {scale * self.se:.{digits}f}{unit}: {self.verdict}"


def difference(a, b):
    """Compare two sets of readings (e.g. a step's seeds against its control's).

    Args:
        a: the control's readings: an iterable of numbers, or a dict
            seed -> number. None readings are skipped.
        b: the treatment's, the same way.

    Returns:
        Difference, or None when either side has no reading. Given two
        dicts that share at least two seeds, it pairs them seed by seed
        (`paired` is True) and uses only the shared seeds; otherwise it
        compares all readings as independent samples (Welch).

    Example:
    >>> difference([0.75, 0.76, 0.77], [0.80, 0.81, 0.82]).text()
    '+5.0 ± 0.8 points: beyond noise'
    >>> difference([0.75, 0.79, 0.77], [0.76, 0.80, 0.78]).text()
    '+1.0 ± 1.6 points: within noise'
    >>> difference({0: 0.75, 1: 0.79, 2: 0.77}, {0: 0.76, 1: 0.80, 2: 0.78}).text()
    '+1.0 ± 0.0 points: beyond noise'
    """
    pairs = _pairs(a, b)
    if pairs is not None:
        return _paired(pairs)
    first, second = spread(_values(a)), spread(_values(b))
    if first is None or second is None:
        return None
    delta = second.mean - first.mean
    if first.n < 2 or second.n < 2:
        return Difference(delta, 0.0, None, (first.n, second.n))
    share_a, share_b = first.sd ** 2 / first.n, second.sd ** 2 / second.n
    se = math.sqrt(share_a + share_b)
    if se == 0.0:
        return Difference(delta, 0.0, delta != 0.0, (first.n, second.n))
    # Welch-Satterthwaite degrees of freedom.
    df = (share_a + share_b) ** 2 / (share_a ** 2 / (first.n - 1) + share_b ** 2 / (second.n - 1))
    return Difference(delta, se, abs(delta) > t_critical(max(1, math.floor(df))) * se, (first.n, second.n))


def _values(readings):
    return readings.values() if isinstance(readings, dict) else readings


def _pairs(a, b):
    """(control, treatment) readings of the seeds both dicts hold, or None when fewer than two."""
    if not (isinstance(a, dict) and isinstance(b, dict)):
        return None
    shared = [(float(a[seed]), float(b[seed])) for seed in a
              if seed in b and a[seed] is not None and b[seed] is not None]
    return shared if len(shared) >= 2 else None


def _paired(pairs):
    """The paired t-test on the per-seed differences treatment - control."""
    changes = spread(second - first for first, second in pairs)
    se = changes.sd / math.sqrt(changes.n)
    beyond = changes.mean != 0.0 if se == 0.0 else abs(changes.mean) > t_critical(changes.n - 1) * se
    return Difference(changes.mean, se, beyond, (changes.n, changes.n), paired=True)


def group_by_seed(configs, seed_key="seed"):
    """Group configs that differ only in their seed.

    Args:
        configs: iterable of (item, config dict) pairs, e.g. (run, run.config).
        seed_key: str, the seed's key; dotted for a nested one ("train.seed").

    Returns:
        list of lists of items, one list per distinct config-but-the-seed,
        in the order each was first seen.
    """
    groups = {}
    for item, config in configs:
        groups.setdefault(setting(config, seed_key), []).append(item)
    return list(groups.values())


def setting(config, seed_key="seed"):
    """What a run's config asks for, but its seed: equal for runs that differ only in the seed.

    Args:
        config: dict, a run's config.
        seed_key: str, the seed's key; dotted for a nested one ("train.seed").

    Returns:
        str, `config` as canonical JSON without the seed.
    """
    def strip(values, keys):
        if not isinstance(values, dict) or not keys:
            return values
        head, rest = keys[0], keys[1:]
        if not rest:
            return {key: value for key, value in values.items() if key != head}
        return {key: strip(value, rest) if key == head else value for key, value in values.items()}

    return json.dumps(strip(config, seed_key.split(".")), sort_keys=True)
