"""The job store: atomic job files, events readable while written, cancel flags, stale jobs."""

from __future__ import annotations

import json
import multiprocessing
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from training import jobs as jobs_module
from training.jobs import FineTuneJob, JobFileError, JobStore, UnknownJobError


def _new_job(store: JobStore) -> FineTuneJob:
    return store.create(
        model="sport-engine",
        training_file="/data/train.jsonl",
        validation_file=None,
        hyperparameters={"n_epochs": 4, "batch_size": 16},
    )


def test_create_persists_a_job_that_reads_back(tmp_path: Path) -> None:
    store = JobStore(tmp_path)
    job = _new_job(store)
    assert job.id.startswith("ftjob-")
    assert job.status == "validating_files"
    again = JobStore(tmp_path).get(job.id)
    assert again == job
    assert json.loads((tmp_path / "jobs" / job.id / "job.json").read_text())["id"] == job.id


def test_status_changes_and_error_are_saved(tmp_path: Path) -> None:
    store = JobStore(tmp_path)
    job = _new_job(store)
    store.set_status(job, "running")
    assert store.get(job.id).status == "running"
    assert store.get(job.id).finished_at is None
    store.set_status(job, "failed", error="the file was empty")
    saved = store.get(job.id)
    assert saved.status == "failed"
    assert saved.error["message"] == "the file was empty"
    assert saved.finished_at is not None


def test_to_openai_has_the_api_shape(tmp_path: Path) -> None:
    job = _new_job(JobStore(tmp_path))
    api = job.to_openai()
    assert api["object"] == "fine_tuning.job"
    assert api["hyperparameters"] == {"n_epochs": 4, "batch_size": 16}
    assert "pid" not in api


def test_events_append_in_order_and_skip_a_partial_line(tmp_path: Path) -> None:
    store = JobStore(tmp_path)
    job = _new_job(store)
    store.add_event(job.id, "Fine-tune enqueued")
    store.add_event(job.id, "Step 1/2", data={"step": 1}, type="metrics")
    with (tmp_path / "jobs" / job.id / "events.jsonl").open("a") as handle:
        handle.write('{"created_at": 1, "level": "in')  # a writer caught mid-line
    events = store.events(job.id)
    assert [e.message for e in events] == ["Fine-tune enqueued", "Step 1/2"]
    assert events[1].data == {"step": 1} and events[1].type == "metrics"
    assert [e.message for e in store.events(job.id, after=1)] == ["Step 1/2"]
    assert events[0].to_openai()["object"] == "fine_tuning.job.event"


def test_a_status_change_is_saved_with_its_event(tmp_path: Path) -> None:
    store = JobStore(tmp_path)
    job = _new_job(store)
    event = store.change_status(job, "queued")
    assert store.get(job.id).status == "queued"
    assert (event.kind, event.status, event.job_id) == ("status", "queued", job.id)
    assert store.events(job.id) == [event]
    failed = store.change_status(job, "failed", reason="the file was empty")
    assert failed.message == "Fine-tune failed: the file was empty" and failed.level == "error"
    assert store.get(job.id).error["message"] == "the file was empty"


def test_events_written_without_a_job_id_read_back_with_their_folders(tmp_path: Path) -> None:
    store = JobStore(tmp_path)
    job = _new_job(store)
    line = {"created_at": 1, "level": "info", "message": "Fine-tune enqueued", "data": None,
            "type": "message", "id": "ftevent-old"}  # fmt: skip
    (tmp_path / "jobs" / job.id / "events.jsonl").write_text(json.dumps(line) + "\n")
    [event] = store.events(job.id)
    assert (event.job_id, event.message, event.kind) == (job.id, "Fine-tune enqueued", "message")
    assert "job_id" not in event.to_openai()


def test_list_is_newest_first(tmp_path: Path) -> None:
    store = JobStore(tmp_path)
    first = _new_job(store)
    first.created_at -= 10
    store.save(first)
    second = _new_job(store)
    assert [j.id for j in store.list()] == [second.id, first.id]


@pytest.mark.parametrize(
    ("content", "says"),
    [("{bad", "not valid JSON"), ("[1]", "does not hold"), ('{"id": 3}', "does not hold")],
)
def test_a_job_file_that_is_no_job_is_named_and_left_out_of_the_list(
    tmp_path: Path, content: str, says: str
) -> None:
    store = JobStore(tmp_path)
    good, bad = _new_job(store), _new_job(store)
    (tmp_path / "jobs" / bad.id / "job.json").write_text(content)
    with pytest.raises(JobFileError, match=says) as raised:
        store.get(bad.id)
    assert bad.id in str(raised.value)
    assert [job.id for job in store.list()] == [good.id]


def test_unknown_and_malformed_ids_are_clear(tmp_path: Path) -> None:
    store = JobStore(tmp_path)
    with pytest.raises(UnknownJobError, match="ftjob-nope"):
        store.get("ftjob-nope")
    with pytest.raises(UnknownJobError):
        store.get("../../etc")


def test_cancel_of_a_running_job_sets_the_flag_only(tmp_path: Path) -> None:
    store = JobStore(tmp_path)
    job = _new_job(store)
    store.set_status(job, "running")
    assert not store.cancel_requested(job.id)
    store.request_cancel(job.id)
    assert store.cancel_requested(job.id)
    assert store.get(job.id).status == "running"  # its runner (this process) stops it


def test_a_job_whose_process_died_is_marked_failed(tmp_path: Path) -> None:
    code = (
        "import sys; from pathlib import Path; from training.jobs import JobStore\n"
        "s = JobStore(Path(sys.argv[1]))\n"
        "j = s.create(model='m', training_file='t', validation_file=None, hyperparameters={})\n"
        "s.set_status(j, 'running'); print(j.id)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)],
        check=True,
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    job_id = out.stdout.strip()
    job = JobStore(tmp_path).get(job_id)
    assert job.status == "failed"
    assert job.error["code"] == "runner_died"
    assert "stopped before it finished" in job.error["message"]
    last = JobStore(tmp_path).events(job_id)[-1]
    assert last.level == "error"
    assert last.status == "failed" and last.data == {
        "status": "failed",
        "error": job.error["message"],
    }


def test_cancelling_a_dead_job_marks_it_cancelled(tmp_path: Path) -> None:
    store = JobStore(tmp_path)
    job = _new_job(store)
    job.pid = _dead_pid()
    store.save(job)
    # get() reaps it first: a job nobody runs is failed, and stays so
    assert store.request_cancel(job.id).status == "failed"


def test_a_silent_runner_on_another_host_is_stale_after_the_heartbeat_timeout(
    tmp_path: Path,
) -> None:
    store = JobStore(tmp_path)
    job = _new_job(store)
    job.host, job.pid = "some-other-replica", _dead_pid()
    store.set_status(job, "running")
    assert store.get(job.id).status == "running"  # another host: the pid says nothing
    job.heartbeat_at = time.time() - jobs_module.STALE_AFTER_S - 1
    store.save(job)
    assert store.get(job.id).status == "failed"


def test_a_queued_job_waits_while_its_owner_beats_and_fails_when_it_stops(tmp_path: Path) -> None:
    store = JobStore(tmp_path)
    job = _new_job(store)
    store.set_status(job, "queued")
    job.heartbeat_at = time.time() - jobs_module.STALE_AFTER_S - 1
    store.save(job)
    assert store.get(job.id).status == "queued"  # its process (this one) is alive
    job.host = "some-other-replica"
    store.save(job)
    store.touch_heartbeat(job.id)  # its owner there beats for the jobs it queued
    assert store.get(job.id).status == "queued"
    stale = time.time() - jobs_module.STALE_AFTER_S - 1
    os.utime(store.job_dir(job.id) / "heartbeat", (stale, stale))
    assert store.get(job.id).status == "failed"


def test_a_job_whose_pid_was_given_to_another_process_is_stale(tmp_path: Path) -> None:
    store = JobStore(tmp_path)
    job = _new_job(store)
    store.set_status(job, "running")
    job.pid, job.owner_token = os.getpid(), "a-process-before-a-restart"  # PID 1 after a crash
    store.save(job)
    assert store.get(job.id).status == "failed"
    other = _new_job(store)
    store.set_status(other, "running")
    other.pid = os.getppid()  # alive, but not beating for this job
    other.heartbeat_at = time.time() - jobs_module.LOCAL_STALE_AFTER_S - 1
    store.save(other)
    stale = time.time() - jobs_module.LOCAL_STALE_AFTER_S - 1
    store.touch_heartbeat(other.id)
    os.utime(store.job_dir(other.id) / "heartbeat", (stale, stale))
    assert store.get(other.id).status == "failed"
    assert store.request_cancel(other.id).status == "failed"  # ended: a cancel changes nothing


def test_job_json_is_never_seen_half_written(tmp_path: Path) -> None:
    store = JobStore(tmp_path)
    job = _new_job(store)
    stop = multiprocessing.get_context("spawn").Event()
    reader = multiprocessing.get_context("spawn").Process(
        target=_read_until, args=(str(tmp_path), job.id, stop)
    )
    reader.start()
    try:
        for i in range(300):
            job.trained_tokens = i
            job.hyperparameters["padding"] = "x" * (i * 37 % 5000)
            store.save(job)
    finally:
        stop.set()
        reader.join(30)
    assert reader.exitcode == 0


def _read_until(home: str, job_id: str, stop: object) -> None:
    store = JobStore(Path(home))
    while not stop.is_set():  # type: ignore[attr-defined]
        store.get(job_id)  # raises (exit code 1) on a torn file


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    assert process.pid != os.getpid()
    return process.pid


@pytest.mark.parametrize(("mask", "mode"), [(0o022, 0o644), (0o002, 0o664)])
def test_job_files_follow_the_umask(tmp_path: Path, mask: int, mode: int) -> None:
    """Replicas running as other users share SPORTBOT_HOME: job.json is not private."""
    old = os.umask(mask)
    try:
        store = JobStore(tmp_path)
        job = _new_job(store)
        path = tmp_path / "jobs" / job.id / "job.json"
        assert stat.S_IMODE(path.stat().st_mode) == mode
        store.set_status(job, "running")  # replaced, not rewritten in place
        assert stat.S_IMODE(path.stat().st_mode) == mode
    finally:
        os.umask(old)
    assert [p.name for p in path.parent.iterdir()] == ["job.json"]
