"""Troubleshooting failed network commands, in the manner of thefuck: rules keyed on the command
and its error output each propose fixes (corrected command lines, with their risk) and the next
diagnostic steps. Nothing here runs a fix; `rerun` only re-runs allow-listed read-only commands
when the front end has the user's confirmation.

    diagnose("ping -c 1 web01", "ping: web01: Name or service not known", 2)  -> [Fix, ...] best first
"""

from __future__ import annotations

from . import exit_codes, rules_conn, rules_dns, rules_local, rules_ssh, rules_tls  # noqa: F401 - register rules
from .model import RISKS, Fix, Raw, Suggestion, sh
from .packages import PACKAGES, Platform, install_commands, near_misses
from .parse import Failure, parse_failure
from .registry import RULES, Rule, diagnose, diagnose_failure, rule
from .rerun import rerun, rerun_argv

__all__ = [
    "RISKS", "Fix", "Raw", "Suggestion", "sh", "PACKAGES", "Platform", "install_commands", "near_misses", "Failure",
    "parse_failure", "RULES", "Rule", "diagnose", "diagnose_failure", "rule", "rerun", "rerun_argv",
]
