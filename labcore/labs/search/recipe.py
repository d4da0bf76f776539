"""The Guided search lab's recipe: check a space, measure it, and turn a choice into a trial.

`space_problems` names the dimension at fault for every space that cannot run:
a wrong mode, a value out of its range, a range upside down, or members
that cannot be built (too wide, over the parameter budget). It checks the
space's corners, not every member: the parameter count and every width
grow with each macro dimension, so the smallest and the largest member of
each block type bound the rest. `size` counts
the members, `param_range` gives the parameters they span, `member_spec`
builds one member, and `run_config` the `train` run that fits it. A trial
is an ordinary run of the "search" kind, checked by `problems` like every
run. Pure Python: the page calls all of it on every edit.
"""

import itertools

from labcore import data, records, trainconfig
from labcore import spec as spec_lib
from labcore.errors import describe
from labcore.labs.search.config import DIMENSIONS, MODES, Config, Space
from labcore.spec import GroupSpec, HyperSpec, LearnerSpec, ModelSpec, StemSpec, TaskSpec

__all__ = ["corners", "member_spec", "param_range", "problems", "run_config", "size", "space_problems"]

# Dimensions along which a member's parameter count only grows.
_SIZE_DIMENSIONS = ("n_groups", "n_filters", "growth", "n_blocks", "stem_filters")


def member_spec(choice, input_shape=(28, 28, 1), n_classes=10):
    """The model of one member of a space.

    Args:
        choice: dict, a value for every macro and micro dimension (and
            "l2" and "noise"; training dimensions are not part of the model).
        input_shape: tuple, the images' (height, width, channels).
        n_classes: int.

    Returns:
        ModelSpec: a 3x3 stem, then `n_groups` groups of `n_blocks` blocks,
        the i-th group `n_filters * growth**i` wide (rounded).
    """
    widths = [max(1, round(choice["n_filters"] * choice["growth"] ** index)) for index in range(choice["n_groups"])]
    return ModelSpec(
        input_shape=tuple(input_shape),
        stem=StemSpec(n_filters=choice["stem_filters"]),
        learner=LearnerSpec(block=choice["block"], groups=tuple(GroupSpec(width, choice["n_blocks"]) for width in widths)),
        task=TaskSpec(n_classes=n_classes, noise=choice["noise"] or None),
        # Short searches: batch norm at Keras's 0.99 would judge every trial on lagging statistics.
        hyper=HyperSpec(l2=choice["l2"], bn_momentum=0.9),
        name="search_member",
    )


def _extremes(name, dimension):
    """The values of a dimension that bound its members: its ends when ordered, else every value."""
    values = dimension.values
    if DIMENSIONS[name].ordered:
        return (min(values), max(values))
    return tuple(values)


def corners(space):
    """The members at the space's corners: the smallest and largest of each block type.

    Args:
        space: Space, valid in its dimensions (see `problems`).

    Returns:
        list of (label, choice dict): "smallest" and "largest" (every size
        dimension at its low or high end), for each block type and each
        end of L2 and noise.
    """
    found = []
    for block, l2, noise in itertools.product(*(_extremes(name, getattr(space, name))
                                              for name in ("block", "l2", "noise"))):
        ends = {name: _extremes(name, getattr(space, name)) for name in _SIZE_DIMENSIONS}
        base = {"block": block, "l2": l2, "noise": noise}
        found += [("smallest", {**base, **{name: values[0] for name, values in ends.items()}}),
                  ("largest", {**base, **{name: values[-1] for name, values in ends.items()}})]
    return found


def _dimension_problems(name, dimension):
    info, path = DIMENSIONS[name], f"space.{name}"
    if dimension.mode not in MODES:
        return [describe(f"{path}.mode", f"one of {MODES}", dimension.mode)]
    wanted = {"fixed": "exactly one value", "range": "two values, low and high", "list": "one or more values"}
    count_fits = {"fixed": len(dimension.values) == 1, "range": len(dimension.values) == 2,
                  "list": len(dimension.values) >= 1}[dimension.mode]
    if not count_fits:
        return [describe(f"{path}.values", f"{wanted[dimension.mode]} for a {dimension.mode!r} dimension",
                         list(dimension.values))]
    if dimension.mode == "range" and not info.ordered:
        return [describe(f"{path}.mode", f"'fixed' or 'list' ({info.title} has no order)", "range")]
    found = [message for value in dimension.values for message in info.value.problems(path, value)]
    if found:
        return found
    if dimension.mode == "range" and dimension.values[0] > dimension.values[1]:
        found.append(describe(f"{path}.values", "a low bound no higher than the high one", list(dimension.values)))
    if dimension.log and (dimension.mode != "range" or min(dimension.values) <= 0):
        found.append(describe(f"{path}.log", "False unless the dimension is a range of positive numbers", True))
    return found


def space_problems(space, input_shape=(28, 28, 1), n_classes=10, max_params=spec_lib.DEFAULT_MAX_PARAMS):
    """Everything that keeps a space from running, each naming its dimension.

    Args:
        space: dict, a `Space.to_dict()`.
        input_shape: tuple, the images' shape.
        n_classes: int.
        max_params: int, the parameter budget of one member.

    Returns:
        list of str; empty when every member can be built and trained.

    Example:
    >>> space_problems({**Space().to_dict(), "n_groups": {"mode": "range", "values": [3, 2]}})
    ['space.n_groups.values must be a low bound no higher than the high one; got [3, 2].']
    """
    parsed, found, _ = records.check(Space, space, {})
    if parsed is None:
        return found
    for name in DIMENSIONS:
        found += _dimension_problems(name, getattr(parsed, name))
    if found:
        return found
    # The first fault of the first corner that has one says what to narrow:
    # if even the smallest member fails, every size dimension must come down.
    blamed = {"smallest": "n_groups, n_filters, growth, n_blocks, stem_filters: even the smallest member",
              "largest": "n_groups, n_filters, growth, n_blocks, stem_filters: the largest member"}
    for label in blamed:
        for corner, choice in corners(parsed):
            faults = spec_lib.problems(member_spec(choice, input_shape, n_classes), max_params=max_params)
            if corner == label and faults:
                return [f"{blamed[label]} ({_choice_text(choice)}) cannot be built: {faults[0]}"]
    return found


def _choice_text(choice):
    return ", ".join(f"{name} {choice[name]:g}" if isinstance(choice[name], float) else f"{name} {choice[name]}"
                     for name in (*_SIZE_DIMENSIONS, "block"))


def size(space):
    """How many members a space holds, or None when a float range makes it continuous.

    Args:
        space: Space, valid.

    Returns:
        int or None.

    Example:
    >>> size(Space.from_dict({"learning_rate": {"mode": "fixed", "values": [1e-3]}}))
    24
    """
    total = 1
    for name, info in DIMENSIONS.items():
        dimension = getattr(space, name)
        if dimension.mode == "range":
            if info.value.kind == "float":
                return None
            total *= dimension.values[1] - dimension.values[0] + 1
        else:
            total *= len(dimension.values)
    return total


def param_range(space, input_shape=(28, 28, 1), n_classes=10):
    """The fewest and the most parameters of the space's members.

    Args:
        space: Space, valid (see `problems`).
        input_shape: tuple.
        n_classes: int.

    Returns:
        (int, int).
    """
    counts = [spec_lib.count_params(member_spec(choice, input_shape, n_classes)) for _, choice in corners(space)]
    return min(counts), max(counts)



def run_config(config):
    """What a trial trains: its member's model and the study's fidelity, as a `train` run.

    Args:
        config: Config.

    Returns:
        trainconfig.RunConfig; a trial that inherits its parent's weights
        trains only the epochs its parent did not.
    """
    info = data.DATASETS[config.dataset]
    member = config.member.to_dict()
    return trainconfig.RunConfig(
        spec=member_spec(member, info.image_shape, info.n_classes),
        train=trainconfig.TrainConfig(
            epochs=config.epochs - (config.inherited_epochs if config.inherit else 0),
            batch_size=member["batch_size"], learning_rate=member["learning_rate"],
            seed=config.seed, dataset=config.dataset, subset=config.subset, val_fraction=config.val_fraction,
            test_subset=config.test_subset,
        ),
    )


def _lineage_problems(config):
    """What is wrong with a trial's rung, parent, inheritance and mutation."""
    if config.rung not in (0, 1):
        return [describe("rung", "0 (the study's fidelity) or 1 (promoted)", config.rung)]
    if config.mutation and config.mutation not in DIMENSIONS:
        return [describe("mutation", f"one of {', '.join(DIMENSIONS)} (the dimension that moved), or ''",
                         config.mutation)]
    if config.rung == 1 and config.mutation:
        return ["mutation is for trials at the study's fidelity (rung 0); a promoted trial keeps its member."]
    if config.parent_run is None:
        if config.rung == 1 or config.mutation or config.inherit:
            return [describe("parent_run", "the id of the trial's parent run (promoted or mutated trials, "
                                           "and inherit, need one)", None)]
        return []
    if not isinstance(config.parent_run, int) or config.parent_run < 1:
        return [describe("parent_run", "the id of the rung-0 run the trial was promoted or mutated from",
                         config.parent_run)]
    if config.rung == 0 and not config.mutation:
        return ["parent_run at rung 0 is for a mutated trial: name the dimension that moved (mutation)."]
    if config.rung == 0 and config.inherited_epochs:
        return [describe("inherited_epochs", "0 for a mutated trial (it trains all its epochs)",
                         config.inherited_epochs)]
    if config.rung == 1 and config.inherit and not 1 <= config.inherited_epochs < config.epochs:
        return [describe("inherited_epochs", f"at least 1 and below epochs ({config.epochs}) when inheriting",
                         config.inherited_epochs)]
    return []


def problems(config):
    """The "search" kind's validator: a trial's member and fidelity, checked as the run they make.

    Args:
        config: dict, a `Config.to_dict()`.

    Returns:
        list of str.
    """
    parsed, found, _ = records.check(Config, config, {})
    if parsed is None:
        return found
    for name, info in DIMENSIONS.items():
        found += info.value.problems(f"member.{name}", getattr(parsed.member, name))
    if parsed.dataset not in data.DATASETS:
        found.append(describe("dataset", f"one of {', '.join(map(repr, data.DATASETS))}", parsed.dataset))
    found += _lineage_problems(parsed)
    if found:
        return found
    return trainconfig.problems_for_run(run_config(parsed).to_dict())
