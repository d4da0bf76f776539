"""StageReporter: a stage's progress fills its slice of the run's bar; epochs can continue."""

from labcore.reporting import StageReporter


class Recorder:
    def __init__(self):
        self.calls = []

    def progress(self, fraction, text=""):
        self.calls.append(("progress", round(fraction, 6), text))

    def epoch(self, series, epoch, metrics):
        self.calls.append(("epoch", series, epoch))

    def artifact(self, name, value):
        return f"/stored/{name}"

    def result(self, values):
        self.calls.append(("result", values))

    def cancelled(self):
        return True


def test_progress_fills_the_stage_slice_and_names_the_stage():
    run = Recorder()
    stage = StageReporter.share(run, "member 2/4", 1, 4)
    stage.progress(0.0, "a")
    stage.progress(0.5, "b")
    stage.progress(1.0, "c")
    assert run.calls == [("progress", 0.25, "member 2/4 · a"), ("progress", 0.375, "member 2/4 · b"),
                         ("progress", 0.5, "member 2/4 · c")]


def test_epochs_continue_after_an_offset_and_run_the_hook():
    run, seen = Recorder(), []
    stage = StageReporter(run, "second tier", 0.5, 1.0, epoch_offset=12, after_epoch=seen.append)
    stage.epoch("train", 1, {"loss": 0.1})
    assert run.calls == [("epoch", "train", 13)]
    assert seen == [1]


def test_everything_else_goes_to_the_run_reporter():
    run = Recorder()
    stage = StageReporter(run, "x")
    assert stage.artifact("grid.png", b"") == "/stored/grid.png"
    assert stage.cancelled() is True
    stage.result({"a": 1})
    assert run.calls == [("result", {"a": 1})]
