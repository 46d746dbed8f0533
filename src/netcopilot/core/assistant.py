"""The Assistant: from a message to a structured answer.

    text ─ sanitize ─> spaCy pipeline (entities, textcat) ─┐
                       MiniLM embedding ───────────────────┼─> intent ensemble ─> follow-up context
                                                           │        │
                       command ranker <── slots ───────────┘        ├─> clarify if unsure
                       runbook + session search (FAISS) ────────────┘
                                   └─> Answer ─> store (question, answer, commands)
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from netcopilot import artifacts, audit, messages
from netcopilot.core.types import Answer, Match, Request
from netcopilot.embeddings import Encoder, VectorCache
from netcopilot.errors import InputError, ModelMismatchError
from netcopilot.feedback.signals import DEFAULT_REACTIONS, parse_reactions, reaction_value, reply_sentiment
from netcopilot.history.habits import habit_for
from netcopilot.knowledge import Knowledge, load_knowledge, load_labelled_requests
from netcopilot.monitoring.ab import assignment
from netcopilot.nlu.entities import Entity
from netcopilot.nlu.intents import IntentClassifier
from netcopilot.privacy.people import first_contact
from netcopilot.privacy.policy import notice as data_use_notice
from netcopilot.recommend import bandit as learned
from netcopilot.recommend.lexical import LexicalIndex, texts_fingerprint
from netcopilot.recommend.ranker import CommandRanker, Suggestion, build_ranker, detect_platform
from netcopilot.recommend.sequences import StepOrderModel, episodes_from_store
from netcopilot.recommend.slots import slot_values
from netcopilot.retrain import learned_requests_path
from netcopilot.retrieval.runbook_index import SessionIndex, build_runbook_index
from netcopilot.settings import Settings
from netcopilot.store.db import Store
from netcopilot.store.models import AuditRecord, User

MAX_CHARS = 2000
RUNBOOK_MIN_SIMILARITY = 0.40  # below this (after the intent boost) a runbook is shown but its causes/fixes are not used
SESSION_MIN_SIMILARITY = 0.50
INTENT_BOOST = 0.08  # added to a runbook's similarity when it is written for the predicted intent
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffd]")
_SHELL_SYNTAX = re.compile(r"(;|\|\||&&|\$\(|`|\|\s*\w|>\s*/|\brm\s+-rf\b)")
_FOLLOWUP = re.compile(
    r"^\s*(and|also|what about|how about|same (for|on|with)|now|then|ok(ay)?,? (and|now)|but|plus|"
    r"try|instead|what if|and if|or)\b",
    re.I,
)
HOST_LABELS = {"IPV4", "IPV6", "HOSTNAME", "URL"}
NEW_TOPIC_CONFIDENCE = 0.75  # a follow-up this confident about its own intent starts a new topic
LEARN_EVERY_S = 60.0  # how often answering also checks the store for runs whose window closed


def sanitize(text: str) -> tuple[str, list[str]]:
    """Printable text of at most MAX_CHARS characters, and notes about what was changed.
    Control characters become spaces, so entity offsets still point into the user's text."""
    notes: list[str] = []
    if _CONTROL.search(text):
        text = _CONTROL.sub(" ", text)
        notes.append(messages.BINARY)
    if len(text) > MAX_CHARS:
        text = text[:MAX_CHARS]
        notes.append(messages.TRIMMED.format(limit=MAX_CHARS))
    letters = [c for c in text if c.isalpha()]
    if len(letters) >= 4 and sum(c.isascii() for c in letters) / len(letters) < 0.5:
        notes.append(messages.NOT_ENGLISH)
    return text, notes


def _group(label: str) -> str:
    return "HOST" if label in HOST_LABELS else label


class Assistant:
    def __init__(self, settings: Settings, encoder: Encoder, intents: IntentClassifier, ranker: CommandRanker,
                 knowledge: Knowledge, runbook_index: Any, store: Store, versions: dict[str, str]):
        self.settings = settings
        self.encoder = encoder
        self.intents = intents
        self.ranker = ranker
        self.knowledge = knowledge
        self.runbook_index = runbook_index
        self.runbooks = {book.id: book for book in knowledge.runbooks}
        self.store = store
        self.versions = versions
        self.sessions = SessionIndex()
        for conv_id, text, vector in store.solved_sessions(encoder.version):
            self.sessions.add(conv_id, text, vector)
        self._users: dict[str, int] = {}
        self._lock = threading.RLock()
        self.reactions = parse_reactions(settings.reactions if settings.reactions is not None else DEFAULT_REACTIONS)
        self.bandit, self.step_order = self._load_learners()
        self._variants: dict[str, IntentClassifier] = {}  # A/B variants loaded so far, by version label
        self._learned_at = time.monotonic()

    @classmethod
    def load(cls, settings: Settings | None = None, store: Store | None = None) -> "Assistant":
        settings = settings or Settings.load()
        bundle = artifacts.current_dir(settings.models_dir)
        manifest = artifacts.read_manifest(bundle)
        encoder = Encoder(artifacts.encoder_dir(settings.models_dir), threads=settings.threads)
        if manifest["encoder"] != encoder.version:
            raise ModelMismatchError(
                f"models in {bundle} were trained with encoder {manifest['encoder']}, found {encoder.version}; "
                "run `netcopilot train`"
            )
        intents = IntentClassifier.load(bundle)
        knowledge = load_knowledge(settings.intents_dir, settings.knowledge_dir)
        cache = VectorCache.load(bundle / "vectors.npz")

        def embed(texts: list[str]) -> np.ndarray:
            return cache.vectors(encoder, texts)

        ranker = build_ranker(knowledge.catalog, embed)
        ranker.load_state(bundle / "ranker.json")
        requests = load_labelled_requests(settings.knowledge_dir, knowledge, extra=[learned_requests_path(settings)])
        texts = [r.query for r in requests]
        lexical = LexicalIndex.load(bundle / "lexical.npz") if (bundle / "lexical.npz").exists() else None
        if texts and (lexical is None or lexical.fingerprint != texts_fingerprint(texts)):
            lexical = LexicalIndex.build(texts)  # requests changed since training (about a second)
        ranker.set_neighbours(embed(texts), [r.utilities for r in requests], lexical if texts else None)
        runbook_index = build_runbook_index(knowledge.runbooks, embed)
        versions = {"models": manifest["version"], "encoder": encoder.version, "knowledge": knowledge.fingerprint()}
        store = store or Store(settings.database_url)
        return cls(settings, encoder, intents, ranker, knowledge, runbook_index, store, versions)

    # --- the one entry point ------------------------------------------------------------------

    def answer(self, request: Request) -> Answer:
        """Answer one message. Thread-safe: front ends may call it from worker threads.

        A person who opted out is answered but nothing of theirs is stored. An answer to a
        recorded request also gets an audit record (in the transaction that stores it, when it is
        stored), the user's shell habit ("after X you usually run Y") and, at their first
        contact, the data-use notice."""
        with self._lock:
            if not request.record:
                return self._answer(request)
            person = self._person(request.user)
            if person.opted_out_at is not None:
                request = replace(request, record=False)
            answer = self._answer(request)
            if answer.answer_id is None:  # reached the person without being stored (opted out, or empty)
                audit.save(self.store, self._audit_row(request, answer, None))
            if request.record and first_contact(self.store, person):
                answer.notice = data_use_notice(self.settings, self.store.pseudonymizer is not None)
            habit = habit_for(self.store, request.user) if request.channel == "cli" else None
            if habit is not None:
                answer.notes.append(habit.sentence())
            return answer

    @staticmethod
    def _audit_row(request: Request, answer: Answer, answer_id: int | None) -> AuditRecord:
        """What the audit trail keeps of an answer: the decision and why, not the question."""
        return audit.entry("answer", request.text, {
            "intent": answer.intent, "confidence": round(answer.confidence, 4), "answer_id": answer_id,
            "commands": [c["id"] for c in answer.commands], "clarify": answer.clarify is not None,
        }, model_version=str(answer.model_versions.get("models", "")), channel=request.channel, user=request.user,
            explanation={k: answer.explanation.get(k) for k in ("members", "weights", "bandit") if k in answer.explanation})

    def _answer(self, request: Request) -> Answer:
        started = time.perf_counter()
        text, notes = sanitize(request.text)
        if not text.strip():
            return Answer(query=request.text, intent="smalltalk", confidence=0.0, alternatives=[], entities=[],
                          commands=[], matches=[], clarify=messages.EMPTY, notes=notes,
                          model_versions=self.versions)
        intents, versions = self._variant(request.user)
        conv_id, context = self._conversation(request)
        reply_feedback = self._reply_feedback(request, conv_id, text) if context else None
        doc = intents.nlp(text)
        entities: list[Entity] = list(doc.user_data.get("net_entities", []))
        vector = self.encoder.encode_one(text)
        members = intents.member_probas([text], vector[None, :], docs=[doc])
        proba = intents.ensemble.combine(members)[0]

        followup = bool(context) and self._is_followup(text, entities, float(proba.max()))
        carried: list[Entity] = []
        rank_vector = vector
        rank_text = text
        if followup:
            previous = context.get("text", "")
            if context.get("clarify") or proba.max() < NEW_TOPIC_CONFIDENCE:
                combined = f"{previous} {text}"
                if context.get("clarify"):
                    cvec = self.encoder.encode_one(combined)
                    proba = intents.predict_proba([combined], cvec[None, :])[0]
                else:
                    prev = np.array([context.get("proba", {}).get(c, 0.0) for c in intents.classes])
                    proba = 0.35 * proba + 0.65 * prev if prev.sum() > 0 else proba
                rank_text = combined
                both = self.encoder.encode_one(previous) + vector
                rank_vector = both / max(float(np.linalg.norm(both)), 1e-9)
            present = {_group(e.label) for e in entities}
            carried = [Entity(**e) for e in context.get("entities", []) if _group(e["label"]) not in present]

        order = np.argsort(-proba)
        intent = intents.classes[order[0]]
        confidence = float(proba[order[0]])
        alternatives = [(intents.classes[i], float(proba[i])) for i in order[1:4]]
        intent_proba = {c: float(p) for c, p in zip(intents.classes, proba)}

        all_entities = entities + carried
        slots = slot_values(all_entities, rank_text)
        suggestions = self.ranker.rank(rank_text, rank_vector, intent_proba, all_entities,
                                       k=self.settings.top_k, slots=slots)
        suggestions, ordering = self._order(intent, all_entities, rank_text, suggestions)
        commands = [s.to_dict() for s in suggestions]
        self._note_moves(commands, ordering)

        matches, causes, fixes = self._recall(rank_vector, intent)
        clarify = None
        if confidence < self.settings.clarify_below:
            options = " or ".join(name.replace("_", " ") for name, _ in [(intent, confidence), *alternatives[:1]])
            clarify = messages.CLARIFY.format(options=options, question=self.knowledge.intents[intent].clarify)
        if _SHELL_SYNTAX.search(text):
            shown = ", ".join(sorted({m.group(0).strip() for m in _SHELL_SYNTAX.finditer(text)}))
            notes.append(messages.UNSAFE_TEXT.format(what=shown))

        reply = None
        history: list[dict[str, Any]] = []
        if intent == "smalltalk" and confidence >= self.settings.clarify_below:
            reply = messages.smalltalk_reply(text)
        elif intent == "history" and request.record:
            user_id = self.user_id(request.user)
            history = self.store.recent_questions(user_id, limit=10)
            if not history:
                reply = messages.history_empty()
        analysis = None
        if clarify is None and request.analyse:
            analysis = self._analyse(intent, text)

        answer = Answer(
            query=request.text if len(request.text) <= MAX_CHARS else text,
            intent=intent,
            confidence=confidence,
            alternatives=alternatives,
            entities=[e.to_dict() for e in entities],
            commands=commands,
            matches=matches,
            causes=causes,
            fixes=fixes,
            clarify=clarify,
            reply=reply,
            notes=notes,
            followup=followup,
            carried=[e.to_dict() for e in carried],
            history=history,
            explanation=self._explain(intents, members, suggestions, matches, ordering),
            feedback=reply_feedback,
            analysis=analysis,
            model_versions=versions,
            conversation_id=conv_id,
        )
        answer.latency_ms = (time.perf_counter() - started) * 1000
        if request.record and conv_id is not None:
            context = {
                "text": rank_text if followup else text,
                "intent": intent,
                "proba": {c: round(p, 5) for c, p in intent_proba.items() if p >= 0.005},
                "entities": [e.to_dict() for e in all_entities],
                "clarify": clarify is not None,
            }
            answer.answer_id = self.store.record_exchange(
                conv_id, text, answer.to_dict(explain=True), self._reply_text(answer), answer.latency_ms, context=context,
                audit_row=lambda answer_id: self._audit_row(request, answer, answer_id))
            answer.latency_ms = (time.perf_counter() - started) * 1000
        return answer

    def _analyse(self, intent: str, text: str) -> dict[str, Any] | None:
        """Questions about data the team has: metrics, captures and records, the topology."""
        plots = Path(self.settings.home) / "plots"
        if intent in ("anomaly", "capacity"):
            from netcopilot.analytics.chat import analyse

            return analyse(intent, text, self.settings.metrics, plots)
        if intent == "topology":
            from netcopilot.topology.chat import analyse as topology

            return topology(text, self.store, plots)
        if intent == "security":
            from netcopilot.threats.chat import analyse as threats

            return threats(text, Path(self.settings.home), Path(self.settings.models_dir))
        return None

    # --- feedback and solved sessions --------------------------------------------------------

    def feedback(self, answer_id: int, user: str, kind: str, value: float, text: str = "",
                 score: float | None = None, source: str = "") -> int | None:
        """Record a satisfaction signal (value -1..1) from `user` on an answer; None (nothing
        kept) when that person opted out."""
        with self._lock:
            if self._person(user).opted_out_at is not None:
                return None
            self._protect(text)
            feedback_id = self.store.add_feedback(answer_id, self.user_id(user), kind, value, text, score, source)
            self._learn()
            return feedback_id

    def note_reply(self, request: Request) -> dict[str, Any] | None:
        """Record the sentiment of a reply in a conversation as feedback, without answering it
        (a thread reply such as "thanks, that fixed it")."""
        with self._lock:
            if self._person(request.user).opted_out_at is not None:
                return None
            text, _ = sanitize(request.text)
            conv_id, context = self._conversation(request)
            return self._reply_feedback(request, conv_id, text) if context else None

    def reaction(self, answer_id: int, user: str, name: str) -> float | None:
        """Record an emoji reaction if the mapping knows it; returns its value."""
        value = reaction_value(name, self.reactions)
        if value is not None:
            self.feedback(answer_id, user, "reaction", value, source=name)
        return value

    def _protect(self, text: str) -> None:
        """Free text stored outside a question (feedback, replies) may name hosts the entity
        recognizer knows but the pseudonymizer's patterns cannot see (`web01`): tell it."""
        if text and self.store.pseudonymizer is not None:
            found = self.intents.nlp(text).user_data.get("net_entities", [])
            self.store.pseudonymizer.remember(e.text for e in found if e.label in HOST_LABELS)

    def _reply_feedback(self, request: Request, conv_id: int | None, text: str) -> dict[str, Any] | None:
        """A reply in a conversation that carries clear sentiment ("thanks, that fixed it",
        "no, still broken") is feedback on the previous answer, scored with VADER."""
        if conv_id is None:
            return None
        previous = self.store.latest_answer(conv_id)
        if previous is None:
            return None
        score = reply_sentiment(text)
        if abs(score) < self.settings.reply_sentiment_min:
            return None
        self._protect(text)
        self.store.add_feedback(previous, self.user_id(request.user), "reply", score, text, score, request.channel)
        self._learn()
        return {"answer_id": previous, "score": round(score, 4)}

    def mark_solved(self, conversation_id: int) -> None:
        """Remember a conversation as solved: it becomes recallable by similarity."""
        with self._lock:
            self._mark_solved(conversation_id)

    def _mark_solved(self, conversation_id: int) -> None:
        conv = self.store.get_conversation(conversation_id)
        if conv is None:
            raise InputError(f"conversation {conversation_id} does not exist")
        text = conv.title or ""
        vector = self.encoder.encode_one(text)
        self.store.mark_solved(conversation_id, text, vector, self.encoder.version)
        self.sessions.add(conversation_id, text, vector)
        if self.step_order is not None:
            self.step_order = StepOrderModel().fit(episodes_from_store(self.store))

    # --- parts ---------------------------------------------------------------------------------

    def _person(self, external_id: str) -> User:
        """The person's row, read on every call: one query gives their id and privacy flags, and an
        opt-out made elsewhere (`netcopilot privacy optout`, another replica) counts at once."""
        person = self.store.user(external_id)
        self._users[external_id] = person.id
        return person

    def user_id(self, external_id: str) -> int:
        if external_id not in self._users:
            self._users[external_id] = self.store.user(external_id).id
        return self._users[external_id]

    def _conversation(self, request: Request) -> tuple[int | None, dict[str, Any]]:
        if not request.record:
            return None, {}
        if request.conversation_id is not None:
            conv = self.store.get_conversation(request.conversation_id)
            if conv is None:
                raise InputError(f"conversation {request.conversation_id} does not exist")
            return conv.id, dict(conv.context or {})
        conv = self.store.conversation(self.user_id(request.user), request.channel, request.thread)
        return conv.id, dict(conv.context or {})

    @staticmethod
    def _is_followup(text: str, entities: list[Entity], confidence: float) -> bool:
        if _FOLLOWUP.match(text):
            return True
        words = len(text.split())
        return words <= 4 and bool(entities) and confidence < NEW_TOPIC_CONFIDENCE

    def _recall(self, vector: np.ndarray, intent: str) -> tuple[list[Match], list[str], list[str]]:
        k = self.settings.top_matches
        matches: list[Match] = []
        # Runbooks written for the question's intent get a small boost over look-alikes
        # ("443" also brings TLS runbooks close to a port question).
        hits = self.runbook_index.search(vector, k * 4)
        scored = sorted(
            ((hit.score + (INTENT_BOOST if intent in self.runbooks[hit.doc_id].intents else 0.0), hit) for hit in hits),
            key=lambda pair: -pair[0],
        )
        for relevance, hit in scored[:k]:
            book = self.runbooks[hit.doc_id]
            matches.append(Match("runbook", book.id, book.title, round(hit.score, 4),
                                 {"path": book.path, "matched": hit.passage, "intents": list(book.intents),
                                  "relevance": round(relevance, 4)}))
        for hit in self.sessions.search(vector, k):
            if hit.score >= SESSION_MIN_SIMILARITY:
                summary = self.store.conversation_summary(int(hit.doc_id)) or {}
                matches.append(Match("session", hit.doc_id, summary.get("title") or hit.passage,
                                     round(hit.score, 4), summary))
        causes: list[str] = []
        fixes: list[str] = []
        books = [m for m in matches if m.kind == "runbook" and m.detail["relevance"] >= RUNBOOK_MIN_SIMILARITY]
        if books:
            best = self.runbooks[books[0].id]
            causes, fixes = list(best.causes[:3]), list(best.fixes[:3])
        return matches, causes, fixes

    def _explain(self, intents: IntentClassifier, members: dict[str, np.ndarray], suggestions: list,
                 matches: list[Match], ordering: dict[str, Any] | None) -> dict[str, Any]:
        classes = intents.classes
        members_top = {}
        for name, p in members.items():
            row = p[0]
            top = np.argsort(-row)[:3]
            members_top[name] = [(classes[i], round(float(row[i]), 3)) for i in top]
        return {
            "members": members_top,
            "weights": intents.ensemble.weights,
            "temperature": round(intents.ensemble.temperature, 3),
            "commands": [{"id": s.spec.id, "features": {k: round(v, 3) for k, v in s.features.items()}} for s in suggestions],
            "matched_passages": [m.detail.get("matched") for m in matches if m.kind == "runbook"],
            **({"bandit": ordering} if ordering else {}),
        }

    # --- A/B tests of intent models (netcopilot ab) --------------------------------------------

    def _variant(self, user: str) -> tuple[IntentClassifier, dict[str, Any]]:
        """The intent model the running experiment assigns this user (by a hash of their id), and
        the model versions to record with the answer; production for everyone when none runs.
        A variant is `production`, `candidate` (the registry's alias) or a model version label."""
        ab = assignment(self.settings, user)
        if ab is None:
            return self.intents, self.versions
        label = self._variant_label(ab["variant"])
        if label is None or label == self.versions["models"]:
            return self.intents, {**self.versions, "ab": ab}
        if label not in self._variants:
            bundle = Path(self.settings.models_dir) / label
            manifest = artifacts.read_manifest(bundle)
            if manifest.get("encoder") != self.encoder.version:
                raise ModelMismatchError(f"A/B variant {label} was trained with another encoder; stop the experiment")
            self._variants[label] = IntentClassifier.load(bundle)
        return self._variants[label], {**self.versions, "models": label, "ab": ab}

    def _variant_label(self, variant: str) -> str | None:
        if variant == "production":
            return self.versions["models"]
        if (Path(self.settings.models_dir) / variant / "manifest.json").exists():
            return variant
        if variant == "candidate":
            from netcopilot.registry import Registry

            try:
                return Registry(Path(self.settings.models_dir)).get("intent", "candidate").label
            except InputError:
                return None
        return None

    # --- learned ordering: recommend/bandit.py and recommend/sequences.py ------------------------

    def _load_learners(self) -> tuple[learned.ThompsonBandit | None, StepOrderModel | None]:
        """The feedback bandit (cached under home, brought up to date with the store) and the
        step order learned from solved sessions; neither when the `bandit` setting is off."""
        if self.settings.bandit != "on":
            return None, None
        bandit = learned.load_or_rebuild(Path(self.settings.home) / "bandit.npz", self.store)
        return bandit, StepOrderModel().fit(episodes_from_store(self.store))

    def _learn(self) -> None:
        """Feedback and command runs the bandit has not seen yet update it (and its cache)."""
        if self.bandit is not None:
            self.bandit = learned.refresh(self.bandit, Path(self.settings.home) / "bandit.npz", self.store)
            self._learned_at = time.monotonic()

    def _order(self, intent: str, entities: list[Entity], text: str,
               suggestions: list[Suggestion]) -> tuple[list[Suggestion], dict[str, Any] | None]:
        """The ranker's suggestions, same set, in the learned order: first the step order learned
        from solved sessions of this intent, then the bandit; only candidates within the bandit's
        margin of the best ranker score move. Returns what `:why` shows about it."""
        if self.bandit is None or len(suggestions) < 2:
            return suggestions, None
        if time.monotonic() - self._learned_at > LEARN_EVERY_S:
            self._learn()
        context = learned.Context.from_labels(intent, [e.label for e in entities], detect_platform(text))
        ranked = [learned.Candidate(s.spec.id, s.score) for s in suggestions]
        prior, utility = ranked, {s.spec.id: s.spec.utility for s in suggestions}
        if self.step_order is not None and self.step_order.knows(intent):
            steps = self.step_order.order_steps(intent, [utility[c.arm] for c in ranked])
            slots = learned.movable(ranked, self.bandit.margin)
            prior = learned.reorder(ranked, slots, sorted(slots, key=lambda i: (steps.index(utility[ranked[i].arm]), i)))
        shown = self.bandit.select(context, prior)
        by_id = {s.spec.id: s for s in suggestions}
        return [by_id[c.arm] for c in shown], {
            "slate": learned.slate_of(context, prior, shown).to_dict(),
            "ranker_order": [c.arm for c in ranked],
            "steps_order": prior != ranked,
            "reordered": shown != ranked,
        }

    @staticmethod
    def _note_moves(commands: list[dict[str, Any]], ordering: dict[str, Any] | None) -> None:
        """Say in a command's `why` when learning moved it up from where the ranker put it."""
        if not ordering or not ordering["reordered"]:
            return
        for position, command in enumerate(commands):
            was = ordering["ranker_order"].index(command["id"])
            if was > position:
                by = "solved sessions and feedback" if ordering["steps_order"] else "feedback on earlier answers"
                command["why"] += f" Moved up from #{was + 1} by {by}."

    @staticmethod
    def _reply_text(answer: Answer) -> str:
        if answer.clarify:
            return answer.clarify
        if answer.reply:
            return answer.reply
        return "\n".join(c["command"] for c in answer.commands)
