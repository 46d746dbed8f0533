"""Ranking the catalog's commands for a question, and filling their parameters.

Every command gets a feature vector from the question:

- `intent`    how probable the command's intents are (first intent counts most)
- `example`   best cosine similarity between the question and the command's example requests
- `describe`  cosine similarity with the command's description
- `mention`   the question names the command's utility as the one to use ("use mtr")
- `slots`     share of the command's parameters the question supplies (host, port, interface...)
- `needs`     the command has required parameters the question leaves empty
- `platform`  +1 when the command is for the platform the question names, -1 when it is for
              another one (macOS, Cisco IOS, Junos are only suggested when asked for)
- `risk`      caution/dangerous commands, unless the question asks to change something
- `prior`     how often engineers reach for this utility first for the question's intents,
              learned from labelled requests (`knowledge_base/requests/train.yml`)
- `ran`       the question quotes this utility's output ("ping shows 300ms", "dig returns
              SERVFAIL"): it has been run already, so the next step is usually another tool
- `knn`       what engineers chose for the most similar labelled requests: a similarity-weighted
              vote of the nearest requests in `knowledge_base/requests/train.yml`
- `family`    an IPv6-only command for a question with nothing IPv6 in it, or an IPv4-only
              command for an IPv6 question
- `lexknn`    the same vote as `knn`, by TF-IDF n-gram similarity instead of meaning (error
              strings and tool names): `recommend/lexical.py`

The score is a linear function of these features plus a small tanh layer over them (for
interactions such as platform x similarity). Its weights are learned with a listwise
objective (softmax over all commands, maximising the probability of the acceptable ones) from
the labelled requests and the catalog's own example requests (leave-one-out for similarities,
cross-fitted priors: no query informs its own features). Results are diversified so the first
few commands use different utilities, then parameters are filled with validated, quoted values.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from netcopilot.errors import ModelMismatchError
from netcopilot.nlu.entities import Entity
from netcopilot.recommend.catalog import CommandSpec
from netcopilot.recommend.slots import ENTITY_SOURCES, Rendered, render, slot_values

FEATURES = ("intent", "example", "describe", "mention", "slots", "needs", "platform", "risk", "prior", "ran", "knn", "family",
            "lexknn")
DEFAULT_WEIGHTS = {
    "intent": 2.0, "example": 6.0, "describe": 2.0, "mention": 2.5, "slots": 1.0,
    "needs": -0.5, "platform": 1.5, "risk": -0.7, "prior": 2.0, "ran": -2.0, "knn": 2.0,
    "family": -1.0, "lexknn": 1.0,
}  # fmt: skip
_V6_COMMAND = re.compile(r"(?:^|\s)-6\b|\b(?:ping6|traceroute6|tracepath6|ip6tables)\b|\bip -6\b")
_V6_QUESTION = re.compile(r"\b(?:ipv6|v6|aaaa|ndp|slaac|icmpv6|dhcpv6|ip6)\b", re.I)
_V4_COMMAND = re.compile(r"(?:^|\s)-4\b")
KNN_K = 16  # neighbours that vote (chosen by benchmarks/cv_ranker.py)
KNN_TEMPERATURE = 0.1  # softmax temperature over their similarities
HIDDEN_UNITS = 8  # a small tanh layer beside the linear score (cv_ranker.py: +2 points top-1 over linear)
RAN_AFTER = (
    r"(?:[^.?!;]|[.?!](?=\S)){0,60}?\b(?:shows?|showed|says?|said|gives?|gave|returns?|returned|reports?|reported|"
    r"times?\s+out|timed\s+out|fails?|failed|hangs?|hung|stops?|stopped|prints?|lists?|outputs?|"
    r"complains?|gets|got|works|worked|is\s+fine|answers?|succeeds?|succeeded|errors?|is\s+\d|are\s+\d|"
    r"only|never|doesn't|does\s+not|can't|cannot|looks?)\b"
)

# Checked in this order: network OS evidence first, because "mac" in "show mac address-table"
# is a MAC address, not a Mac.
PLATFORM_WORDS = {
    "cisco-ios": r"\b(?:cisco|ios|ios-xe|catalyst|nexus|nx-os|isr|asr|c9[0-9]{3}|show ip|show run\w*|show int\w*|"
                 r"show cdp|show mac|show vlan|show spanning)\b",
    "junos": r"\b(?:juniper|junos|srx|mx[0-9]+|ex[0-9]{4}|qfx)\b",
    "macos": r"\b(?:macos|mac ?os|osx|os x|macbook\w*|imac|mac ?mini|darwin|sonoma|ventura|sequoia|"
             r"(?:my|on (?:a|the|my)|from (?:a|the|my)) mac(?! address| addr| table))\b",
    "linux": r"\b(?:linux|ubuntu|debian|centos|rhel|fedora|alpine|arch linux|rocky|alma|systemd)\b",
}
_PLATFORM_RX = {name: re.compile(rx, re.I) for name, rx in PLATFORM_WORDS.items()}
# Asking to change something: a change verb as an imperative (at the start of a clause, or after
# "please", "how do I", "I need to"...), not "is port 443 open" or "the link is down".
_CHANGE_VERBS = (
    r"add|allow|permit|block|deny|drop|open|close|flush|delete|remove|reset|bring|set|enable|disable|"
    r"restart|renew|release|change|configure|forward|unblock|whitelist|blacklist|ban|unban|start|stop|"
    r"create|generate|copy|push|install|clear|kill|apply|rotate|replace|update"
)
CHANGE_WORDS = re.compile(
    rf"(?:^|[.!?;:,]\s*|\b(?:please|pls|plz|how (?:do|can|should|would) (?:i|we|you)|how to|i (?:need|want) to|"
    rf"we (?:need|want) to|can you|could you|help me|let me|let's|lets|want to|need to|trying to|going to|then)\s+)"
    rf"(?:{_CHANGE_VERBS})\b",
    re.I,
)

# Names users write for a utility besides its own.
ALIASES = {
    "traceroute": ("tracert", "trace route"), "nc": ("netcat",), "tshark": ("wireshark",),
    "nslookup": ("ns lookup",), "ip": ("iproute2", "ip addr", "ip route", "ip link", "ip neigh", "ip -s"),
    "iperf3": ("iperf",), "ss": ("ss -",), "mtr": ("my traceroute",),
    "openssl": ("s_client",), "ssh-keygen": ("keygen",), "wg": ("wireguard",), "nft": ("nftables",),
    "firewall-cmd": ("firewalld",), "resolvectl": ("systemd-resolved",), "dhclient": ("dhcp client",),
}  # fmt: skip
# Words too common to count as naming the utility.
WEAK_NAMES = {"ip", "host", "show", "route", "cat", "watch", "last", "arp", "ping6"}


def detect_platform(text: str) -> str | None:
    for name, rx in _PLATFORM_RX.items():
        if rx.search(text):
            return name
    return None


@dataclass
class Suggestion:
    spec: CommandSpec
    rendered: Rendered
    score: float
    features: dict[str, float]
    why: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.spec.id,
            "command": self.rendered.command,
            "utility": self.spec.utility,
            "score": round(self.score, 4),
            "risk": self.spec.risk,
            "root": self.spec.root,
            "platform": self.spec.platform,
            "why": self.why,
            "complete": self.rendered.complete,
            "missing": list(self.rendered.missing),
            "filled": self.rendered.filled,
        }


@dataclass
class CommandRanker:
    catalog: list[CommandSpec]
    example_vectors: np.ndarray  # (n_examples, dim)
    example_owner: np.ndarray  # (n_examples,) index of the command each example belongs to
    describe_vectors: np.ndarray  # (n_commands, dim)
    weights: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    prior: dict[str, dict[str, float]] = field(default_factory=dict)  # intent -> utility -> [0, 1]
    neighbour_vectors: np.ndarray | None = None  # (n_requests, dim) labelled requests
    neighbour_votes: np.ndarray | None = None  # (n_requests, n_commands): 1 best utility, 0.5 acceptable
    hidden_layer: dict[str, Any] | None = None  # optional tanh layer beside the linear term
    lexical: Any = None  # LexicalIndex over the same labelled requests (the `lexknn` vote)

    def __post_init__(self) -> None:
        n = self._n = len(self.catalog)
        self._intent_names: list[str] = sorted({name for spec in self.catalog for name in spec.intents})
        col = {name: j for j, name in enumerate(self._intent_names)}
        self._intent_weight = np.zeros((n, len(col)), dtype=np.float32)  # 1, .75, .56... by position
        self._param_types = sorted({p.type for spec in self.catalog for p in spec.params})
        tcol = {t: j for j, t in enumerate(self._param_types)}
        self._uses = np.zeros((n, len(tcol)), dtype=np.float32)  # params of each type
        self._needs = np.zeros((n, len(tcol)), dtype=np.float32)  # required params without default
        self._platform = [spec.platform for spec in self.catalog]
        self._risk = np.array([{"safe": 0.0, "caution": 1.0, "dangerous": 2.0}[s.risk] for s in self.catalog], np.float32)
        for i, spec in enumerate(self.catalog):
            for j, name in enumerate(spec.intents):
                self._intent_weight[i, col[name]] = max(self._intent_weight[i, col[name]], 0.75**j)
            for p in spec.params:
                self._uses[i, tcol[p.type]] += 1
                if p.required and p.default is None:
                    self._needs[i, tcol[p.type]] += 1
        self._n_params = np.maximum(self._uses.sum(axis=1), 1)
        # One pattern finds every utility the question names; group names map back to utilities.
        names: dict[str, str] = {}
        for spec in self.catalog:
            for alias in ALIASES.get(spec.utility, ()):
                names[alias] = spec.utility
            if spec.utility not in WEAK_NAMES:
                names[spec.utility] = spec.utility
        ordered = sorted(names, key=len, reverse=True)
        self._mention_rx = re.compile(r"(?<![\w-])(" + "|".join(map(re.escape, ordered)) + r")(?![\w-])", re.I)
        self._mention_names = {name.lower(): utility for name, utility in names.items()}
        alternation = "|".join(map(re.escape, ordered))
        self._ran_rx = re.compile(
            rf"(?<![\w-])({alternation})(?![\w-]){RAN_AFTER}"
            rf"|\b(?:ran|tried|running|did|after|used)\s+(?:a\s+|an\s+|the\s+)?({alternation})(?![\w-])",
            re.I,
        )
        self._utility = np.array([spec.utility for spec in self.catalog])
        self._v6_only = np.array([bool(_V6_COMMAND.search(spec.template)) or any(p.type == "ipv6" for p in spec.params)
                                  for spec in self.catalog])
        self._v4_only = np.array([bool(_V4_COMMAND.search(spec.template)) or any(p.type == "ipv4" for p in spec.params)
                                  for spec in self.catalog])
        self._set_prior_matrix()

    def _set_prior_matrix(self) -> None:
        """prior as a (commands x intents) matrix aligned with `_intent_names`."""
        self._prior = np.zeros((self._n, len(self._intent_names)), dtype=np.float32)
        for j, intent in enumerate(self._intent_names):
            table = self.prior.get(intent, {})
            for i, spec in enumerate(self.catalog):
                self._prior[i, j] = table.get(spec.utility, 0.0)

    def set_neighbours(self, vectors: np.ndarray, utilities: Sequence[Sequence[str]], lexical: Any = None) -> None:
        """The labelled requests whose choices vote through the `knn` feature and, given their
        `LexicalIndex` (same requests, same order), the `lexknn` feature."""
        if lexical is not None and lexical.n_rows != len(utilities):
            raise ValueError(f"lexical index has {lexical.n_rows} rows for {len(utilities)} requests")
        self.lexical = lexical
        votes = np.zeros((len(utilities), self._n), dtype=np.float32)
        for j, choice in enumerate(utilities):
            for rank, utility in enumerate(choice):
                votes[j, self._utility == utility] = np.maximum(votes[j, self._utility == utility], 1.0 if rank == 0 else 0.5)
        self.neighbour_vectors = np.asarray(vectors, dtype=np.float32).reshape(len(utilities), -1)
        self.neighbour_votes = votes

    def _lexknn(self, text: str, exclude: int | None) -> np.ndarray:
        if self.lexical is None:
            return np.zeros(self._n, dtype=np.float32)
        return self._vote(self.lexical.similarities(text), exclude)

    def _knn(self, vector: np.ndarray, exclude: int | None) -> np.ndarray:
        if self.neighbour_vectors is None or len(self.neighbour_vectors) == 0:
            return np.zeros(self._n, dtype=np.float32)
        return self._vote(self.neighbour_vectors @ vector, exclude)

    def _vote(self, sims: np.ndarray, exclude: int | None) -> np.ndarray:
        if exclude is not None:
            sims[exclude] = -np.inf
        k = min(KNN_K, len(sims) - (exclude is not None))
        if k <= 0:
            return np.zeros(self._n, dtype=np.float32)
        top = np.argpartition(-sims, k - 1)[:k]
        weights = np.exp((sims[top] - sims[top].max()) / KNN_TEMPERATURE)
        weights /= weights.sum()
        return weights @ self.neighbour_votes[top]

    def ran_utilities(self, text: str) -> set[str]:
        """Utilities whose output the question quotes ("dig returns SERVFAIL")."""
        found = set()
        for m in self._ran_rx.finditer(text):
            name = m.group(1) or m.group(2)
            found.add(self._mention_names[name.lower()])
        return found

    # --- features ---------------------------------------------------------------------------

    def features(
        self,
        text: str,
        vector: np.ndarray,
        intent_proba: dict[str, float],
        slots: dict[str, list[str]],
        exclude_example: int | None = None,
        prior: np.ndarray | None = None,
        exclude_neighbour: int | None = None,
    ) -> np.ndarray:
        vector = np.asarray(vector, dtype=np.float32)  # a float64 vector would upcast every matrix below
        F = np.zeros((self._n, len(FEATURES)), dtype=np.float32)
        p = np.array([intent_proba.get(name, 0.0) for name in self._intent_names], dtype=np.float32)
        F[:, 0] = (self._intent_weight * p).max(axis=1)
        sims = self.example_vectors @ vector
        if exclude_example is not None:
            sims[exclude_example] = -1.0
        best = np.full(self._n, -1.0, dtype=np.float32)
        np.maximum.at(best, self.example_owner, sims)
        F[:, 1] = best
        F[:, 2] = self.describe_vectors @ vector
        named = {self._mention_names[m.lower()] for m in self._mention_rx.findall(text)}
        ran = self.ran_utilities(text) if named else set()
        if named - ran:  # named as the tool to use, not as one whose output is quoted
            F[:, 3] = np.isin(self._utility, list(named - ran))
        present = np.array([1.0 if t in slots else 0.0 for t in self._param_types], dtype=np.float32)
        F[:, 4] = (self._uses @ present) / self._n_params
        F[:, 5] = self._needs @ (1.0 - present)
        platform = detect_platform(text)
        for i, own in enumerate(self._platform):
            if own in ("linux", "any"):
                F[i, 6] = -1.0 if platform not in (None, "linux") and own == "linux" else 0.0
            else:
                F[i, 6] = 1.0 if platform == own else -1.0
        if not CHANGE_WORDS.search(text):
            F[:, 7] = self._risk
        F[:, 8] = (self._prior if prior is None else prior) @ p
        if ran:
            F[:, 9] = np.isin(self._utility, list(ran))
        F[:, 10] = self._knn(vector, exclude_neighbour)
        F[:, 12] = self._lexknn(text, exclude_neighbour)
        wants_v6 = "ipv6" in slots or bool(_V6_QUESTION.search(text))
        F[:, 11] = (self._v4_only if wants_v6 else self._v6_only).astype(np.float32)
        return F

    def scores(self, F: np.ndarray) -> np.ndarray:
        w = np.array([self.weights.get(name, 0.0) for name in FEATURES], dtype=np.float32)
        out = F @ w
        if self.hidden_layer:
            layer = self.hidden_layer
            out = out + np.tanh(F @ np.asarray(layer["W1"], np.float32) + np.asarray(layer["b1"], np.float32)) @ np.asarray(layer["v"], np.float32)
        return out

    # --- ranking ----------------------------------------------------------------------------

    def rank(
        self,
        text: str,
        vector: np.ndarray,
        intent_proba: dict[str, float],
        entities: Sequence[Entity],
        k: int = 5,
        slots: dict[str, list[str]] | None = None,
    ) -> list[Suggestion]:
        slots = slot_values(list(entities), text) if slots is None else slots
        F = self.features(text, vector, intent_proba, slots)
        raw = self.scores(F)
        probabilities = np.exp(raw - raw.max())
        probabilities /= probabilities.sum()  # the listwise model's probability of being the right first command
        order = diversify(raw, [spec.utility for spec in self.catalog], k)
        out = []
        for i in order:
            spec = self.catalog[i]
            rendered = render(spec.template, spec.param_dicts, assign_slots(spec, slots))
            prob = float(probabilities[i])
            feats = dict(zip(FEATURES, map(float, F[i])))
            out.append(Suggestion(spec, rendered, float(prob), feats, explain(spec, rendered, feats)))
        return out

    # --- learning -------------------------------------------------------------------------

    def fit(self, queries: list["TrainingQuery"], neighbours: list["TrainingQuery"] | None = None,
            folds: int = 5, l2: float = 0.01, seed: int = 42, hidden: int = HIDDEN_UNITS,
            candidates: int = 128) -> dict[str, float]:
        """Learn the utility prior and the feature weights from labelled queries; `neighbours`
        (default: the queries with an intent label) become the `knn` voters.

        Nothing a query contributes informs its own features: the prior is cross-fitted (a
        query's prior comes from the other folds) and a query never votes for itself."""
        from scipy.optimize import minimize

        rng = np.random.default_rng(seed)
        labelled = [q for q in queries if q.counts_for_prior]
        fold_of = {id(q): f for q, f in zip(labelled, rng.integers(0, folds, len(labelled)))}
        fold_priors = [self._prior_matrix(estimate_prior([q for q in labelled if fold_of[id(q)] != f]))
                       for f in range(folds)]
        nf, h = len(FEATURES), hidden
        start = np.concatenate([
            np.array([DEFAULT_WEIGHTS[name] for name in FEATURES], dtype=np.float64),
            np.random.default_rng(seed).normal(0, 0.3, nf * h), np.zeros(h), np.random.default_rng(seed + 1).normal(0, 0.3, h),
        ])
        neighbours = labelled if neighbours is None else neighbours
        from netcopilot.recommend.lexical import LexicalIndex

        self.set_neighbours(np.stack([q.vector for q in neighbours]) if neighbours else np.zeros((0, 1)),
                            [q.utilities for q in neighbours],
                            LexicalIndex.build([q.text for q in neighbours]) if neighbours else None)
        position = {id(q): j for j, q in enumerate(neighbours)}
        blocks, targets = [], []
        for q in queries:
            prior = fold_priors[fold_of[id(q)]] if id(q) in fold_of else None
            F = self.features(q.text, q.vector, q.intent_proba, q.slots, exclude_example=q.exclude_example, prior=prior,
                              exclude_neighbour=position.get(id(q)))
            positive = np.isin(self._utility, list(q.utilities))
            if positive.any():
                # Train on the positives and the commands a first-stage score finds hardest
                # (the rest are easy negatives that only cost time).
                first_stage = F @ start[:nf]
                keep = np.argsort(-np.where(positive, -np.inf, first_stage))[:candidates]
                keep = np.concatenate([np.flatnonzero(positive)[:candidates // 4], keep])[:candidates]
                blocks.append(F[keep])
                targets.append(positive[keep])
        X = np.stack(blocks)  # (queries, candidates, features)
        Y = np.stack(targets).astype(np.float64)

        def unpack(theta: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
            w = theta[:nf]
            W1 = theta[nf : nf + nf * h].reshape(nf, h)
            b1 = theta[nf + nf * h : nf + nf * h + h]
            v = theta[nf + nf * h + h :]
            return w, W1, b1, v

        def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
            w, W1, b1, v = unpack(theta)
            s = X @ w
            if h:
                hid = np.tanh(X @ W1 + b1)  # (q, c, h)
                s = s + hid @ v
            s = s - s.max(axis=1, keepdims=True)
            e = np.exp(s)
            z = e.sum(axis=1)
            zp = (e * Y).sum(axis=1)
            value = -np.mean(np.log(zp) - np.log(z)) + l2 * (theta @ theta)
            d = -((e * Y / zp[:, None]) - e / z[:, None]) / len(X)  # dLoss/dscore, (q, c)
            grad = [np.einsum("qc,qcf->f", d, X)]
            if h:
                back = d[..., None] * v * (1 - hid**2)  # (q, c, h)
                grad += [np.einsum("qcf,qch->fh", X, back).ravel(), back.sum(axis=(0, 1)), np.einsum("qc,qch->h", d, hid)]
            return float(value), np.concatenate(grad) + 2 * l2 * theta

        result = minimize(loss, start, jac=True, method="L-BFGS-B", options={"maxiter": 500})
        w, W1, b1, v = unpack(result.x)
        self.weights = {name: round(float(x), 5) for name, x in zip(FEATURES, w)}
        self.hidden_layer = {"W1": W1.round(5).tolist(), "b1": b1.round(5).tolist(), "v": v.round(5).tolist()} if h else None
        self.prior = estimate_prior(labelled)
        self._set_prior_matrix()
        return self.weights

    def _prior_matrix(self, prior: dict[str, dict[str, float]]) -> np.ndarray:
        saved, self.prior = self.prior, prior
        self._set_prior_matrix()
        matrix = self._prior
        self.prior = saved
        self._set_prior_matrix()
        return matrix

    def save_state(self, path: Path) -> None:
        state = {"weights": self.weights, "prior": self.prior, "hidden_layer": self.hidden_layer}
        Path(path).write_text(json.dumps(state, indent=2, sort_keys=True))

    def load_state(self, path: Path) -> None:
        data = json.loads(Path(path).read_text())
        missing = [name for name in FEATURES if name not in data.get("weights", {})]
        if missing:
            raise ModelMismatchError(f"{path}: ranker weights missing {missing} (built by an older netcopilot); run `netcopilot train`")
        self.weights, self.prior = data["weights"], data.get("prior", {})
        self.hidden_layer = data.get("hidden_layer")
        self._set_prior_matrix()


@dataclass
class TrainingQuery:
    text: str
    vector: np.ndarray
    intent_proba: dict[str, float]
    slots: dict[str, list[str]]
    utilities: list[str]  # acceptable first utilities, best first
    intent: str | None = None  # labelled intent (for the prior); None for catalog examples
    exclude_example: int | None = None  # the catalog example this query is (leave-one-out)

    @property
    def counts_for_prior(self) -> bool:
        return self.intent is not None


def estimate_prior(queries: list[TrainingQuery], alpha: float = 0.5) -> dict[str, dict[str, float]]:
    """P(first utility | intent) from labelled requests: the best utility counts 1, acceptable
    alternatives 0.5; add-alpha smoothing; scaled so each intent's favourite is 1."""
    counts: dict[str, dict[str, float]] = {}
    for q in queries:
        table = counts.setdefault(q.intent, {})
        for rank, utility in enumerate(q.utilities):
            table[utility] = table.get(utility, 0.0) + (1.0 if rank == 0 else 0.5)
    prior = {}
    for intent, table in counts.items():
        top = max(table.values()) + alpha
        prior[intent] = {u: round((c + alpha) / top, 4) for u, c in table.items()}
    return prior


# Parameters whose name says they are a different machine from the target never reuse its value.
_OTHER_ROLE = re.compile(r"server|resolver|gateway|gw|source|src|jump|via|peer|nexthop|next_hop|from|proxy|bastion|remote")


def assign_slots(spec: CommandSpec, slots: dict[str, list[str]]) -> dict[str, str]:
    """Choose a value for each parameter. A value goes to one parameter only, parameters of more
    specific types choose first (a `hostname` before a `host`), and parameters of the same type
    take successive values: `dig @{server} {name}` for "SERVFAIL for corp.example from 10.0.0.53"
    gets server 10.0.0.53 and name corp.example; with one port named, `{start_port}-{end_port}`
    fills only the first."""
    order = sorted(spec.params, key=lambda p: len(ENTITY_SOURCES.get(p.type, ())))
    taken: set[str] = set()
    values = {}
    for param in order:
        options = slots.get(param.type, [])
        fresh = [o for o in options if o not in taken]
        if fresh:
            values[param.name] = fresh[0]
        elif options and not _OTHER_ROLE.search(param.name) and param.type not in ("port", "count", "duration"):
            values[param.name] = options[0]  # e.g. -connect {host} -servername {hostname}: same name twice
        if param.name in values:
            taken.add(values[param.name])
    return values


def diversify(scores: np.ndarray, utilities: list[str], k: int, distinct: int = 3) -> list[int]:
    """Top-k indices by score, except that the first `distinct` suggestions use different
    utilities (five variants of ping help less than ping, mtr and traceroute)."""
    order = list(np.argsort(-scores))
    chosen: list[int] = []
    seen: set[str] = set()
    for i in order:
        if len(chosen) >= min(k, distinct):
            break
        if utilities[i] not in seen:
            chosen.append(i)
            seen.add(utilities[i])
    for i in order:
        if len(chosen) >= k:
            break
        if i not in chosen:
            chosen.append(i)
    return chosen


def explain(spec: CommandSpec, rendered: Rendered, feats: dict[str, float]) -> str:
    why = spec.why.rstrip(".")
    filled = ", ".join(f"{name} {value}" for name, value in rendered.filled.items())
    notes = []
    if filled:
        notes.append(f"with {filled}")
    if rendered.missing:
        notes.append("fill in " + ", ".join(f"<{m}>" for m in rendered.missing))
    if spec.root:
        notes.append("needs root")
    return why + (f" ({'; '.join(notes)})" if notes else "") + "."


def build_ranker(catalog: list[CommandSpec], embed: Any) -> CommandRanker:
    """A ranker with default weights; `embed(texts) -> (n, dim)` supplies the vectors."""
    texts: list[str] = []
    owner: list[int] = []
    for i, spec in enumerate(catalog):
        for example in spec.examples:
            texts.append(example)
            owner.append(i)
    describe = embed([spec.description for spec in catalog])
    return CommandRanker(catalog, embed(texts), np.array(owner, dtype=np.int64), describe)
