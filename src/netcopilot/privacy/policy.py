"""The data-use notice and policy, in one place (`netcopilot privacy policy`, the first answer)."""

from __future__ import annotations

from netcopilot.settings import Settings

NOTICE = ("netcopilot keeps your questions, its answers and your feedback to improve its suggestions"
          "{pseudo}. They are deleted after {days} days. Say `/netcopilot optout` to stop this; "
          "`netcopilot privacy policy` has the details.")


def notice(settings: Settings, pseudonymized: bool) -> str:
    pseudo = "; addresses, host names, user names and e-mails are stored as keyed pseudonyms" if pseudonymized else ""
    return NOTICE.format(pseudo=pseudo, days=settings.retention_days)


def policy(settings: Settings) -> str:
    return f"""netcopilot: what is stored, for how long, and why

What is stored (in the database at NETCOPILOT_DATABASE_URL):
  - your questions, the answers given (intent, entities, suggested commands) and how long they took;
  - feedback: buttons, reactions, :good/:bad, and the text and sentiment score of replies in an answer's thread;
  - commands you ran, when, where, for how long and whether they failed (only with the shell hook,
    `netcopilot init`; passwords, tokens and keys are masked before they are stored);
  - an audit record of each model decision: model version, a hash of the input, the output and why;
  - records that failed validation on the way in (`netcopilot quarantine list`, secrets masked), and
    cached features of stored questions (sentence vectors, keyed by a hash of the text).

Pseudonyms: with `pseudonymize` on (setting NETCOPILOT_PSEUDONYMIZE; now: {settings.pseudonymize}; auto means on
for Slack and the HTTP API), IP addresses, host names, user names and e-mails in stored text are replaced by keyed
pseudonyms (HMAC-SHA256): the same value gets the same pseudonym, so patterns can still be learned, but the raw
value is not stored. A conversation's follow-up context is stored encrypted with the same key.

How long: {settings.retention_days} days (NETCOPILOT_RETENTION_DAYS); `netcopilot privacy purge` deletes older records
(run it daily from cron, a systemd timer or a Kubernetes CronJob).

Why: to answer follow-up questions, to recall similar past sessions, and to learn which suggestions help
(rankings, retraining). Nothing is sent anywhere else.

Your choices: `/netcopilot optout` in Slack (or `netcopilot privacy optout --user ID`) deletes your conversations
and keeps nothing new; `netcopilot privacy export --user ID` gives a copy of everything stored about you.
"""
