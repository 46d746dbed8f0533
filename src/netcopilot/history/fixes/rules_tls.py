"""Rules for TLS: certificate verification failures (curl 60 and the same error from other clients)
and handshake failures (curl 35). Turning verification off is offered last, labelled dangerous."""

from __future__ import annotations

import re

from .model import Fix, Raw, Suggestion, sh
from .packages import Platform
from .parse import Failure, _valid
from .registry import rule

_REASONS = (
    ("self-signed", "the certificate is self-signed (or signed by a private CA this machine does not trust)"),
    ("unable to get local issuer", "it is signed by a CA this machine does not trust, or the server does not send "
                                   "its intermediate certificate"),
    ("expired", "the certificate has expired (or this machine's clock is wrong: check `date -u`)"),
    ("subject name", "the certificate is for another name than the one in the URL"),
    ("does not match", "the certificate is for another name than the one in the URL"),
)


def _connect(f: Failure) -> tuple[str | Raw, ...]:
    return ("openssl", "s_client", "-connect", Raw(f"{sh(f.target())}:{sh(f.port_or('443'))}"), "-servername",
            f.target())


def s_client(f: Failure) -> str:
    return sh(*_connect(f), "-showcerts", Raw("</dev/null"))


def cert_summary(f: Failure) -> str:
    return sh(Raw("echo |"), *_connect(f),
              Raw("2>/dev/null | openssl x509 -noout -subject -issuer -dates -ext subjectAltName"))


@rule("tls_certificate_problem", r"curl: \(60\)|SSL certificate problem|certificate verify failed|"
      r"CERTIFICATE_VERIFY_FAILED|cannot verify \S+ certificate|no alternative certificate subject name matches",
      statuses={"curl": {60}}, priority=75)
def tls_certificate_problem(f: Failure, m: re.Match | None, p: Platform) -> Fix:
    text = f.output.lower()
    reason = next((why for key, why in _REASONS if key in text), "the certificate could not be verified")
    url = f.url or Raw("<url>")
    return Fix("tls_certificate_problem",
               f"TLS certificate verification failed for {f.host or 'the server'}: {reason}.",
               [Suggestion(sh("curl", "--cacert", Raw("<ca.pem>"), url), "safe",
                           "trust the CA that signed it, for this request only"),
                Suggestion(p.privileged(sh("cp", Raw("<ca.crt>"), "/usr/local/share/ca-certificates/")) + " && "
                           + p.privileged("update-ca-certificates"), "caution",
                           "trust that CA system-wide (Debian/Ubuntu; RHEL: /etc/pki/ca-trust/source/anchors + "
                           "update-ca-trust)"),
                Suggestion(sh("curl", "-k", url), "dangerous",
                           "turns verification off: anyone on the path can read and change the traffic; a one-off "
                           "test only, never in scripts")],
               [cert_summary(f), s_client(f), "date -u"])


@rule("tls_handshake_failed", r"curl: \(35\)|SSL connect error|wrong version number|handshake failure|"
      r"alert protocol version|unsupported protocol", statuses={"curl": {35}}, priority=75)
def tls_handshake_failed(f: Failure, m: re.Match | None, p: Platform) -> Fix:
    text = f.output.lower()
    url = f.url or Raw("<url>")
    fixes: list[Suggestion] = []
    if "wrong version number" in text or "packet length too long" in text:
        diagnosis = (f"The TLS handshake failed: port {f.port or '?'} on {f.host or 'the server'} does not speak TLS "
                     "(it answered in plain HTTP or another protocol).")
        plain = _valid("url", f.url.replace("https://", "http://", 1)) if f.url else None
        if plain:
            fixes.append(Suggestion(sh("curl", "-sS", plain), "safe", "this port speaks plain HTTP"))
    elif "protocol version" in text or "unsupported protocol" in text:
        diagnosis = "The TLS handshake failed: client and server share no TLS version (one of them is too old)."
        fixes.append(Suggestion(sh("curl", "--tlsv1.2", url), "safe", "ask for TLS 1.2 or newer explicitly"))
    else:
        diagnosis = ("The TLS handshake failed: no common cipher or version, a missing SNI name, a client "
                     "certificate the server requires, or a middlebox interfering.")
    fixes.append(Suggestion(sh("curl", "-v", url), "safe", "show the handshake step that fails"))
    return Fix("tls_handshake_failed", diagnosis, fixes,
               [s_client(f), sh("nmap", "--script", "ssl-enum-ciphers", "-p", f.port_or("443"), f.target())])
