"""Helpful commands as training data for the command ranker: which answers give a label (a
suggested command run and succeeded, else positive feedback on the first suggestion), where the
labels go (<home>/learned/requests.yml, read after the repository's requests by training and the
Assistant alike), and a retrain with only command labels trains on them and answers with them."""

from __future__ import annotations

import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path

from netcopilot.history.records import CommandEvent, save_events
from netcopilot.knowledge import load_knowledge, load_labelled_requests
from netcopilot.nlu.data import read_lines
from netcopilot.recommend.requests import LabelledRequest, load_requests
from netcopilot.retrain import (
    LEARNED_REQUESTS_HEADER,
    collect_commands,
    fold_commands,
    learned_requests_path,
)
from netcopilot.settings import Settings
from netcopilot.store.db import Store

REPO = Path(__file__).resolve().parents[1]
UTILITIES = {"ping", "mtr", "traceroute", "dig", "nslookup"}
INTENTS = {"latency", "dns"}
LATENCY = [("ping-count", "ping"), ("mtr-report", "mtr"), ("traceroute", "traceroute")]
DNS = [("dig-mx", "dig"), ("nslookup", "nslookup")]


def _answer(store: Store, user: str, question: str, intent: str, commands: list[tuple[str, str]],
            clarify: bool = False) -> tuple[int, int]:
    """(answer id, user id) of an answer as the assistant stores it, suggesting `commands` for 10.0.0.9."""
    uid = store.user(user).id
    conv = store.conversation(uid, "cli")
    payload = {"intent": {"name": intent, "confidence": 0.9}, "clarify": "which one?" if clarify else None,
               "entities": [], "model_versions": {"models": "v1"},
               "commands": [{"id": i, "utility": u, "command": f"{u} 10.0.0.9", "score": 0.5 - n / 10, "risk": "safe",
                             "filled": {"host": "10.0.0.9"}} for n, (i, u) in enumerate(commands)]}
    return store.record_exchange(conv.id, question, payload, "reply", 1.0), uid


def _ran(store: Store, login: str, command: str, exit_status: int) -> None:
    """`login` ran `command` a minute after asking: inside the answer's run window."""
    when = datetime.now(timezone.utc) + timedelta(minutes=1)
    save_events(store, [CommandEvent(command, user=login, started_at=when, exit_status=exit_status)])


def test_a_successful_run_beats_feedback_and_feedback_labels_the_first_command(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 's.db'}")  # one person per case: a run counts for the asker's answers
    answer, alice = _answer(store, "cli:alice", "latency to 10.0.0.9 is awful since lunch", "latency", LATENCY)
    _ran(store, "alice", "sudo traceroute -n 10.0.0.9", 0)  # the third suggestion, and it worked
    store.add_feedback(answer, alice, "good", 1.0)  # on its own this would label `ping`, the first suggestion
    answer, bob = _answer(store, "cli:bob", "dig finds no MX record for corp.example", "dns", DNS)
    store.add_feedback(answer, bob, "reaction", 0.8)
    for text, kind, value in (("why is 10.0.0.9 so slow", "good", 1.0), ("Why is 10.0.0.9  so SLOW", "bad", -1.0)):
        answer, carol = _answer(store, "cli:carol", text, "latency", LATENCY)
        store.add_feedback(answer, carol, kind, value)
    answer, dan = _answer(store, "cli:dan", "something about 10.0.0.9", "latency", LATENCY, clarify=True)
    store.add_feedback(answer, dan, "good", 1.0)  # a clarifying question did not answer
    _answer(store, "cli:erin", "ping 10.0.0.9 drops packets", "latency", LATENCY)
    _ran(store, "erin", "ping 10.0.0.9", 1)  # run, but it failed
    answer, frank = _answer(store, "cli:frank", "mtr to 10.0.0.9 shows loss at hop 3", "dns", LATENCY)
    _ran(store, "frank", "mtr 10.0.0.9", 0)
    store.add_feedback(answer, frank, "correction", -0.5, source="latency")

    def labels(utilities: set[str], since: datetime | None = None) -> dict[str, tuple]:
        return {r.query: (r.utilities, r.intent, r.source) for r in collect_commands(store, utilities, INTENTS, since)}

    assert labels(UTILITIES) == {
        "latency to 10.0.0.9 is awful since lunch": (("traceroute",), "latency", "run"),
        "dig finds no MX record for corp.example": (("dig",), "dns", "feedback"),
        "mtr to 10.0.0.9 shows loss at hop 3": (("mtr",), "latency", "run"),  # the corrected intent
    }  # "why is 10.0.0.9 so slow": the bad rating of the same question cancels the good one
    without_traceroute = labels(UTILITIES - {"traceroute"})  # a tool the catalog lacks: the feedback label stands
    assert without_traceroute["latency to 10.0.0.9 is awful since lunch"] == (("ping",), "latency", "feedback")
    assert labels(UTILITIES, since=datetime.now(timezone.utc) + timedelta(hours=1)) == {}
    store.close()


def test_fold_writes_requests_the_loader_accepts_and_appends_only_new_ones(tmp_path: Path) -> None:
    settings = Settings.load(environ={}, home=tmp_path)
    knowledge = load_knowledge(settings.intents_dir, settings.knowledge_dir)
    repo_requests = load_labelled_requests(settings.knowledge_dir, knowledge)
    held_out_text = read_lines(next((REPO / "intents" / "test").glob("*.txt")))[0][1]
    first = LabelledRequest("latency to 10.0.0.9 is awful since lunch: help?", ("traceroute",), "latency", "run")
    batch = [first, LabelledRequest(held_out_text, ("ping",), "latency", "feedback"),
             LabelledRequest(repo_requests[0].query.upper(), ("dig",), "dns", "feedback")]
    assert fold_commands(settings, batch) == 1
    second = LabelledRequest("dig finds no MX record for 'corp.example'", ("dig",), "dns", "feedback")
    assert fold_commands(settings, [*batch, second]) == 1
    assert fold_commands(settings, [first, second]) == 0

    from netcopilot.retrain import accept_pending, pending_requests_path

    path = pending_requests_path(settings)  # folded labels wait for a promoted version
    assert not learned_requests_path(settings).exists()
    text = path.read_text(encoding="utf-8")
    assert text.startswith(LEARNED_REQUESTS_HEADER) and text.count("requests:") == 1
    utilities, intents = {s.utility for s in knowledge.catalog}, set(knowledge.intents)
    assert [(r.query, r.utilities, r.intent) for r in load_requests(path, utilities, intents)] == \
        [(first.query, first.utilities, first.intent), (second.query, second.utilities, second.intent)]

    assert accept_pending(settings) == 2 and not path.exists()
    training = load_labelled_requests(settings.knowledge_dir, knowledge, extra=[learned_requests_path(settings)])
    assert len(training) == len(repo_requests) + 2
    assert [r.query for r in training[-2:]] == [first.query, second.query]  # after the repository's, in file order
    assert fold_commands(settings, [first]) == 0  # accepted ones are not folded again


def test_a_retrain_with_only_command_labels_trains_on_them(assistant, models_dir: Path, tmp_path: Path) -> None:
    from netcopilot import artifacts
    from netcopilot.core.types import Request
    from netcopilot.frontends.models_cli import retrain_summary
    from netcopilot.recommend.lexical import LexicalIndex
    from netcopilot.retrain import retrain

    question = "high latency to 10.0.0.9 from the lab since this morning"
    answer = assistant.answer(Request(question, user="cli:dana"))
    second = next(c for c in answer.commands if c["utility"] != answer.commands[0]["utility"])  # the label is the run's
    _ran(assistant.store, "dana", second["command"], 0)

    models = tmp_path / "models"  # retraining registers a version: work on a copy of the session's models
    shutil.copytree(models_dir, models)
    settings = Settings.load(**{**assistant.settings.values, "models_dir": models})
    from netcopilot.core.assistant import Assistant
    from netcopilot.retrain import pending_requests_path

    repo = load_labelled_requests(settings.knowledge_dir, assistant.knowledge)
    # fewer epochs: what is trained on is tested. A gate that asks for +1.0 rejects the candidate:
    rejected = retrain(settings, assistant.store, spacy_epochs=2, tolerance=-1.0)
    assert (rejected.collected, rejected.added) == (0, 0)  # no feedback: no new intent phrasings
    assert (rejected.commands_collected, rejected.commands_added, rejected.commands_total) == (1, 1, 1)
    assert rejected.train is not None and not rejected.promoted
    assert retrain_summary(rejected)[1] == "command labels: 1 new from helpful commands (1 collected, 1 learned in all)"
    (learned,) = load_requests(pending_requests_path(settings))  # waiting: a rejected candidate's labels are not served
    assert (learned.query, learned.utilities, learned.intent) == (question, (second["utility"],), answer.intent)
    assert not learned_requests_path(settings).exists()
    assert Assistant.load(settings, store=assistant.store).ranker.lexical.n_rows == len(repo)

    report = retrain(settings, assistant.store, spacy_epochs=2, tolerance=1.0, force=True)  # this gate passes it
    assert report.promoted and not pending_requests_path(settings).exists()
    assert [r.query for r in load_requests(learned_requests_path(settings))] == [question]
    before = LexicalIndex.load(artifacts.current_dir(models_dir) / "lexical.npz")
    after = LexicalIndex.load(report.train.bundle / "lexical.npz")  # the ranker's neighbours: its labelled requests
    assert before.n_rows == len(repo) and after.n_rows == len(repo) + 1
    assert after.similarities(question).max() > 0.99 > before.similarities(question).max()
    assert retrain(settings, assistant.store).train is None  # nothing new the second time

    served = Assistant.load(settings, store=assistant.store)  # answering uses the learned requests as neighbours too
    assert served.ranker.lexical.n_rows == len(repo) + 1 and served.ranker.lexical.fingerprint == after.fingerprint


def test_a_broken_learned_file_is_left_out_with_a_warning_not_an_error(tmp_path: Path, caplog) -> None:  # noqa: ANN001
    settings = Settings.load(environ={}, home=tmp_path)
    knowledge = load_knowledge(settings.intents_dir, settings.knowledge_dir)
    repo = load_labelled_requests(settings.knowledge_dir, knowledge)
    path = learned_requests_path(settings)
    path.parent.mkdir(parents=True)
    path.write_text("requests:\n- query: is the vpn concentrator up\n  utilities: [ping]\n  intent: connectivity\n"
                    "- query: an intent removed since\n  utilities: [ping]\n  intent: removed_intent\n")
    loaded = load_labelled_requests(settings.knowledge_dir, knowledge, extra=[path])
    assert len(loaded) == len(repo) + 1 and loaded[-1].query == "is the vpn concentrator up"
    assert "unknown intent 'removed_intent'" in caplog.text
    for broken in (b"requests:\n", b"\xff\xfe not text", b"requests: [unclosed"):
        path.write_bytes(broken)
        assert len(load_labelled_requests(settings.knowledge_dir, knowledge, extra=[path])) == len(repo)
