"""The load bench's WebSocket client: the protocol a page keeps, and which run answered which request.

Frames are built here as Streamlit's server builds them (ForwardMsg with
metadata.run), so no server runs.
"""

import pytest
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

from bench.load_sessions import ProtocolSession, delivered_runs, fragment_round_trips

MAIN, PAGE = "main-hash", "runs-hash"
DONE, FRAGMENT_DONE = ForwardMsg.FINISHED_SUCCESSFULLY, ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY
EARLY = ForwardMsg.FINISHED_EARLY_FOR_RERUN


def frame(build, run_id=None, fragments=()):
    message = ForwardMsg()
    build(message)
    if run_id is not None:
        message.metadata.run.script_run_id = run_id
        message.metadata.run.fragment_ids.extend(fragments)
    return message.SerializeToString()


def new_session(run_id, fragments=(), page=MAIN):
    def build(message):
        message.new_session.main_script_hash = MAIN
        message.new_session.page_script_hash = page
        message.new_session.config.max_cached_message_age = 2
    return frame(build, run_id, fragments)


def finished(run_id, status, fragments=()):
    return frame(lambda message: setattr(message, "script_finished", status), run_id, fragments)


def auto_rerun(fragment_id, interval):
    def build(message):
        message.auto_rerun.fragment_id, message.auto_rerun.interval = fragment_id, interval
    return frame(build)


def big_element(content_hash, fragment_id=""):
    def build(message):
        message.hash, message.metadata.cacheable = content_hash, True
        message.delta.fragment_id = fragment_id
        message.delta.new_element.markdown.body = "x"
    return frame(build)


def request(data):
    return BackMsg.FromString(data).rerun_script


def loaded_session():
    """A session on /runs whose first run has set the page, the query string and two fragment timers."""
    session = ProtocolSession("runs", "owner=guest", "http://127.0.0.1:1/runs")
    session.rerun(10.0)
    session.receive(10.1, new_session("r1"))
    session.receive(10.2, frame(lambda m: setattr(m.page_info_changed, "query_string", "owner=signed")))
    session.receive(10.2, frame(lambda m: setattr(m.navigation, "page_script_hash", PAGE)))
    session.receive(10.3, auto_rerun("live", 1.0))
    session.receive(10.3, auto_rerun("queue", 2.0))
    session.receive(10.5, finished("r1", DONE))
    return session


def test_the_first_request_names_the_page_by_path_and_later_ones_by_the_hash_the_server_sent():
    session = ProtocolSession("runs", "owner=guest", "http://127.0.0.1:1/runs")
    first = request(session.rerun(10.0))
    assert (first.page_name, first.page_script_hash, first.query_string) == ("runs", "", "owner=guest")
    assert (first.fragment_id, first.is_auto_rerun) == ("", False)
    assert first.HasField("widget_states")  # present and empty, as a browser that has no widget values yet

    session.receive(10.1, new_session("r1"))
    session.receive(10.2, frame(lambda m: setattr(m.page_info_changed, "query_string", "owner=signed")))
    session.receive(10.2, frame(lambda m: setattr(m.navigation, "page_script_hash", PAGE)))
    assert session.loaded_at is None
    session.receive(10.5, finished("r1", DONE))
    assert session.loaded_at == 10.5

    later = request(session.rerun(11.3, "live"))
    assert (later.page_name, later.page_script_hash, later.query_string) == ("", PAGE, "owner=signed")
    assert (later.fragment_id, later.is_auto_rerun) == ("live", True)


def test_a_page_the_server_does_not_know_is_a_problem_and_the_main_page_runs():
    session = ProtocolSession("nope", "", "http://127.0.0.1:1/nope")
    session.rerun(1.0)
    session.receive(1.1, new_session("r1"))
    session.receive(1.1, frame(lambda m: setattr(m.page_not_found, "page_name", "nope")))
    assert session.problems == ["page not found: 'nope'"]
    assert session.page_script_hash == MAIN


def test_timers_fire_every_interval_from_their_announcement_without_catching_up():
    session = loaded_session()
    assert session.next_due() == pytest.approx(11.3)
    assert session.due(11.29) == []
    assert session.due(11.3) == ["live"]
    assert session.due(12.3) == ["live", "queue"]
    # Three seconds late (a busy loop): one request each, then a fresh interval.
    assert session.due(15.4) == ["live", "queue"]
    assert session.timers["live"][1] == pytest.approx(16.4)


def test_a_whole_page_run_announces_the_timers_afresh_and_stop_auto_rerun_ends_one():
    session = loaded_session()
    session.receive(11.5, auto_rerun("live", 1.0))  # the same interval: the timer keeps its phase
    assert session.timers["live"][1] == pytest.approx(11.3)
    session.receive(11.6, frame(lambda m: m.stop_auto_rerun.fragment_ids.append("queue")))
    assert set(session.timers) == {"live"}
    session.receive(12.0, new_session("r2", fragments=["live"], page=PAGE))  # a fragment run keeps them
    assert set(session.timers) == {"live"}
    session.receive(13.0, new_session("r3"))
    assert session.timers == {}


def test_the_live_progress_text_is_kept_from_the_main_area_only():
    session = loaded_session()

    def progress(path, text):
        def build(message):
            message.metadata.delta_path.extend(path)
            message.delta.new_element.progress.text = text
        return frame(build)

    session.receive(11.4, progress([0, 5, 0], "epoch 3/3600"))
    session.receive(11.4, progress([1, 3, 0], "#1 load bench job"))  # the sidebar's queue
    assert session.progress == [(11.4, "epoch 3/3600")]


def test_cached_messages_are_announced_refreshed_by_references_and_dropped_when_unused():
    session = loaded_session()
    session.receive(11.4, big_element("chart", fragment_id="live"))
    session.receive(11.4, big_element("table"))
    assert sorted(request(session.rerun(12.3, "live")).cached_message_hashes) == ["chart", "table"]

    def fragment_run(run_id, at, reference=None):
        session.receive(at, new_session(run_id, ["live"], PAGE))
        if reference:
            session.receive(at, frame(lambda m: setattr(m, "ref_hash", reference)))
        session.receive(at + 0.1, finished(run_id, FRAGMENT_DONE, ["live"]))

    fragment_run("r2", 12.4, reference="chart")
    fragment_run("r3", 13.4)
    assert set(session.cache) == {"chart", "table"}  # the chart was last used two runs ago: age 2, kept
    fragment_run("r4", 14.4)
    # Age 3 > 2: the chart goes; the table is outside the fragment that ran, so it ages only with whole runs.
    assert set(session.cache) == {"table"}
    assert request(session.rerun(16.3, "live")).cached_message_hashes == ["table"]

    session.receive(16.4, frame(lambda m: setattr(m, "ref_hash", "chart")))
    assert session.problems == ["cached message chart missing"]


def test_a_run_cut_short_or_with_a_request_sent_since_it_started_does_not_age_the_cache():
    session = loaded_session()
    session.receive(11.4, big_element("chart", fragment_id="live"))
    for number in range(5):
        session.receive(12.0 + number, new_session(f"e{number}", ["live"], PAGE))
        session.receive(12.1 + number, finished(f"e{number}", EARLY, ["live"]))
        session.receive(12.2 + number, new_session(f"s{number}", ["live"], PAGE))
        session.rerun(12.3 + number, "live")
        session.receive(12.4 + number, finished(f"s{number}", FRAGMENT_DONE, ["live"]))
    assert set(session.cache) == {"chart"}


def test_a_request_is_answered_by_the_first_normal_run_after_it_that_ran_its_fragment():
    requests = [(1.00, "live"), (2.00, "queue"), (2.01, "live"), (3.00, "live"), (4.00, "live")]
    runs = [
        [1.05, 1.30, ("live",), FRAGMENT_DONE],
        # Started just after the live request was sent, for the queue's
        # earlier request: it does not answer the live one.
        [2.02, 2.10, ("queue",), FRAGMENT_DONE],
        [2.12, 2.40, ("live",), FRAGMENT_DONE],
        [3.05, 3.20, ("live",), EARLY],  # cut short: the request waits for the next run
        [3.25, 3.60, (), DONE],  # a whole-page run runs every fragment
        [4.10, None, ("live",), None],  # still going at the end
    ]
    answered, unanswered = fragment_round_trips(requests, runs)
    assert [(asked, round(seconds, 2)) for asked, seconds in answered] == [
        (1.00, 0.30), (2.00, 0.10), (2.01, 0.39), (3.00, 0.60)]
    assert unanswered == [4.00]


def test_requests_that_arrive_while_a_run_goes_are_merged_into_the_next_one():
    answered, unanswered = fragment_round_trips(
        [(1.0, "live"), (1.5, "live"), (1.6, "queue")],
        [[0.9, 1.8, ("live",), FRAGMENT_DONE], [1.9, 2.5, ("live", "queue"), FRAGMENT_DONE]])
    assert [(asked, round(seconds, 2)) for asked, seconds in answered] == [(1.0, 1.5), (1.5, 1.0), (1.6, 0.9)]
    assert unanswered == []


def test_a_fragment_run_relabelled_early_delivered_what_the_next_run_does_not_redraw():
    # The server relabels the unsent finish of a run that completed as
    # "early" when the next run starts, keeping the elements the next run
    # does not redraw (none before a whole-page run).
    runs = [
        [1.0, 1.2, ("queue",), EARLY], [1.2, 1.4, ("live",), FRAGMENT_DONE],
        [2.0, 2.2, ("queue", "live"), EARLY], [2.2, 2.5, ("live",), FRAGMENT_DONE],
        [3.0, 3.2, ("queue",), EARLY], [3.2, 3.3, ("queue",), FRAGMENT_DONE],
        [4.0, 4.2, ("live",), EARLY], [4.2, 4.9, (), DONE],
        [5.0, 5.2, ("live",), EARLY],  # the last run seen: no next run relabelled it
    ]
    assert delivered_runs(runs) == [
        (1.0, 1.2, ("queue",)), (1.2, 1.4, ("live",)),
        (2.0, 2.2, ("queue",)), (2.2, 2.5, ("live",)),
        (3.2, 3.3, ("queue",)),
        (4.2, 4.9, ())]
    answered, unanswered = fragment_round_trips([(0.9, "queue"), (2.9, "queue"), (3.9, "live")], runs)
    assert [(asked, round(seconds, 2)) for asked, seconds in answered] == [(0.9, 0.3), (2.9, 0.4), (3.9, 1.0)]
    assert unanswered == []
