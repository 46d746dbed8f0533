"""Keyed pseudonyms for IP addresses, host names, MAC addresses, user names and e-mail addresses.

The same value always becomes the same token under one key (`ip_3f9a2b1c` for 10.1.2.3), so
patterns stay learnable (which hosts come up together, which users ask what) while the raw value
is not stored. Tokens are HMAC-SHA256(key, kind:value), cut to 8 hex digits. Without the key they
cannot be reversed or recomputed from guesses.

Text is scanned with patterns (addresses, e-mails, `user@host`, fully qualified names, "user X",
`-l X`). Single-label host names such as `web01` carry no mark of their own, so callers pass the
names their entity recognizer found (`literals`); the pseudonymizer remembers their pseudonyms
(not the names) and replaces those names wherever they come up again in this process.
Loopback and unspecified addresses are kept: they say nothing about anyone's network.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import json
import re
from typing import Any, Iterable

from cryptography.fernet import Fernet, InvalidToken

TOKEN = re.compile(r"\b(?:ip|host|mac|user|email)_[0-9a-f]{8}\b")
KEEP_IPS = {"127.0.0.1", "0.0.0.0", "::1", "::", "255.255.255.255"}
# the last label of a "name.ext" that is a file, not a host
FILE_SUFFIXES = {
    "py", "txt", "log", "conf", "cfg", "ini", "yml", "yaml", "json", "csv", "tsv", "pcap", "pcapng", "gz", "tgz",
    "zip", "sh", "md", "html", "htm", "js", "css", "service", "socket", "timer", "d", "so", "pem", "crt", "key",
    "pub", "db", "sqlite", "xml", "toml", "lock", "tar", "bz2", "xz", "png", "jpg", "svg", "pdf", "rules",
}

_EMAIL = re.compile(r"\b[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b")
_USER_AT = re.compile(r"(?<![\w.+-])([a-z_][a-z0-9_.-]{0,31})@(?=[A-Za-z0-9\[])")
_MAC = re.compile(r"\b(?:[0-9A-Fa-f]{2}[:-]){5}[0-9A-Fa-f]{2}\b")
_IPV6 = re.compile(r"(?<![\w:])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?:%\w+)?(?![\w:])")
_IPV4 = re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?![\w.]*\d)")
_FQDN = re.compile(r"(?<![\w.@-])(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z][A-Za-z0-9-]{0,62}(?![\w-])")
_USER_WORD = re.compile(r"(?i)\b(user(?:name)?|login|account|as user)\s+([a-z_][a-z0-9_.-]{1,31})\b")
_USER_FLAG = re.compile(r"(?<=\s)(-l|--user|--username|-u)(\s+|=)([a-z_][a-z0-9_.-]{1,31})\b")
_WORD = re.compile(r"(?<![\w.-])[A-Za-z][\w-]*[\w](?![\w-])")
_NOT_USERS = {"is", "can", "cannot", "can't", "has", "the", "a", "an", "and", "on", "in", "to", "for", "from", "with",
              "root", "admin", "name", "id", "agent", "space", "data", "mode", "list", "group", "not", "was", "get"}


class Pseudonymizer:
    """Replaces identifying values in text and JSON with keyed tokens; seals what must be read back."""

    def __init__(self, key: bytes):
        if len(key) < 16:
            raise ValueError("the pseudonymisation key must be at least 16 bytes")
        self.key = key
        self._known: set[str] = set()  # pseudonyms (never raw names) of single-label host names seen
        self._fernet = Fernet(base64.urlsafe_b64encode(hmac.new(key, b"netcopilot-seal", hashlib.sha256).digest()))

    def token(self, kind: str, value: str) -> str:
        digest = hmac.new(self.key, f"{kind}:{value.lower()}".encode(), hashlib.sha256).hexdigest()
        return f"{kind}_{digest[:8]}"

    # --- text -------------------------------------------------------------------------------

    def text(self, text: str, literals: Iterable[str] = ()) -> str:
        if not text:
            return text
        out = _EMAIL.sub(lambda m: self.token("email", m.group(0)), text)
        out = _USER_AT.sub(lambda m: self.token("user", m.group(1)) + "@", out)
        out = _MAC.sub(lambda m: self.token("mac", m.group(0)), out)
        out = _IPV6.sub(self._ipv6, out)
        out = _IPV4.sub(self._ipv4, out)
        out = _FQDN.sub(self._fqdn, out)
        out = _USER_WORD.sub(lambda m: m.group(0) if m.group(2).lower() in _NOT_USERS
                             else f"{m.group(1)} {self.token('user', m.group(2))}", out)
        out = _USER_FLAG.sub(lambda m: f"{m.group(1)}{m.group(2)}{self.token('user', m.group(3))}", out)
        self.remember(literals)
        if self._known:  # names recognised earlier in this process, wherever they come up again
            out = _WORD.sub(lambda m: self._known_host(m.group(0)), out)
        return out

    def remember(self, literals: Iterable[str]) -> None:
        """Host names found by an entity recognizer: replaced wherever they come up from now on."""
        for literal in literals:
            if literal and len(literal) >= 2 and not TOKEN.fullmatch(literal):
                self._known.add(self.token("host", literal))

    def _known_host(self, word: str) -> str:
        token = self.token("host", word)
        return token if token in self._known else word

    def _ipv4(self, m: re.Match) -> str:
        raw = m.group(0)
        try:
            ipaddress.IPv4Address(raw)
        except ValueError:
            return raw
        return raw if raw in KEEP_IPS else self.token("ip", raw)

    def _ipv6(self, m: re.Match) -> str:
        raw = m.group(0)
        try:
            ipaddress.IPv6Address(raw.split("%")[0])
        except ValueError:
            return raw
        return raw if raw in KEEP_IPS else self.token("ip", raw)

    def _fqdn(self, m: re.Match) -> str:
        raw = m.group(0)
        last = raw.rsplit(".", 1)[-1].lower()
        if last in FILE_SUFFIXES or TOKEN.fullmatch(raw):
            return raw
        return self.token("host", raw)

    # --- JSON ---------------------------------------------------------------------------------

    def value(self, value: Any, literals: Iterable[str] = ()) -> Any:
        """A JSON-like value with every string inside it pseudonymised (keys are kept)."""
        literals = tuple(literals)
        if isinstance(value, str):
            return self.text(value, literals)
        if isinstance(value, dict):
            return {k: self.value(v, literals) for k, v in value.items()}
        if isinstance(value, list):
            return [self.value(v, literals) for v in value]
        return value

    # --- sealing: what the app must read back (a conversation's follow-up context) ----------

    def seal(self, value: Any) -> dict[str, str]:
        return {"sealed": self._fernet.encrypt(json.dumps(value, default=str).encode()).decode()}

    def unseal(self, value: Any) -> Any:
        if isinstance(value, dict) and set(value) == {"sealed"}:
            try:
                return json.loads(self._fernet.decrypt(value["sealed"].encode()))
            except InvalidToken:
                return {}  # sealed under another key: the context is lost, not the conversation
        return value


def entity_literals(entities: Iterable[dict[str, Any]]) -> set[str]:
    """Host names and addresses an entity recognizer found: replaced wherever they appear."""
    return {str(e.get("text", "")) for e in entities or ()
            if isinstance(e, dict) and e.get("label") in {"HOSTNAME", "IPV4", "IPV6", "MAC", "EMAIL", "USER", "URL"}}
