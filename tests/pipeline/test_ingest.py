"""Ingest: every record read is stored or quarantined (with file, line, field and why), a mostly
bad file changes nothing, and quarantined text keeps no secrets. On SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from netcopilot.errors import DataFormatError
from netcopilot.pipeline import quarantine
from netcopilot.pipeline.ingest import ingest
from netcopilot.settings import Settings
from netcopilot.store.db import Store
from netcopilot.store.models import CommandRecord, QuarantinedRecord
from tests.clirun import cli_env, run

MIXED = [
    {"command": "ping -c 3 10.0.0.5", "duration_ms": 2051, "exit_status": 0, "user": "alice"},
    {"command": "curl -u bob:hunter2 https://intranet.example/", "duration_ms": 120, "exit_status": 7},
    {"command": "dig example.com", "duration_ms": -5},
    "not json at all",
    {"command": "ss -tlnp", "duraton_ms": 3},
    {"command": "traceroute 192.0.2.1", "exit_status": 300, "started_at": "2026-11-28T10:00:00"},
    {"command": "mysql -u root --password=s3cretpw", "exit_status": "one"},
    {"command": "ip addr", "started_at": 1764000000},
]


def _write_jsonl(path: Path, rows: list) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


def _count(store: Store, model: type) -> int:
    with store.session() as s:
        return s.scalar(select(func.count()).select_from(model))


def _settings(tmp_path: Path, url: str) -> Settings:
    return Settings.load(environ={}, home=tmp_path / "home", database_url=url)


def test_good_records_are_stored_and_bad_ones_quarantined_with_where_and_why(tmp_path: Path, store_url: str) -> None:
    path = _write_jsonl(tmp_path / "runs.jsonl", MIXED)
    store = Store(store_url)
    report = ingest(_settings(tmp_path, store_url), store, "commands", path, max_bad=0.9, user="team")

    assert (report.read, report.stored, report.quarantined) == (8, 3, 5)
    assert report.read == report.stored + report.quarantined  # nothing dropped silently
    assert _count(store, CommandRecord) == 3
    rows = {r.line: r for r in quarantine.records(store, kind="commands")}
    assert set(rows) == {3, 4, 5, 6, 7}
    assert rows[3].field == "duration_ms" and "greater than or equal to 0" in rows[3].reason
    assert rows[4].field == "" and "not valid JSON" in rows[4].reason
    assert rows[5].field == "duraton_ms" and "unknown field" in rows[5].reason and "duration_ms" in rows[5].reason
    assert rows[6].field == "exit_status"
    assert rows[7].field == "exit_status" and "s3cretpw" not in rows[7].record  # masked even in quarantine
    assert all(r.source == str(path) and r.batch == report.batch for r in rows.values())

    with store.session() as s:
        stored = {r.command: r for r in s.scalars(select(CommandRecord))}
    assert "curl -u bob:<secret> https://intranet.example/" in stored  # masked as the shell hook masks
    assert stored["ping -c 3 10.0.0.5"].user == "alice" and stored["ip addr"].user == "team"
    assert stored["ip addr"].started_at is not None and stored["ip addr"].source == "ingest:runs.jsonl"


def test_a_mostly_bad_file_is_refused_and_nothing_changes(tmp_path: Path, store_url: str) -> None:
    store = Store(store_url)
    good = _write_jsonl(tmp_path / "good.jsonl", [{"command": "ip route"}])
    ingest(_settings(tmp_path, store_url), store, "commands", good)
    before = (_count(store, CommandRecord), _count(store, QuarantinedRecord))

    bad = _write_jsonl(tmp_path / "bad.jsonl", MIXED)
    with pytest.raises(DataFormatError) as err:
        ingest(_settings(tmp_path, store_url), store, "commands", bad, max_bad=0.1)
    assert "5 of 8 records are bad" in str(err.value) and f"{bad}:3: field 'duration_ms'" in str(err.value)
    assert (_count(store, CommandRecord), _count(store, QuarantinedRecord)) == before


def test_csv_commands_and_labelled_examples(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    settings, store = _settings(tmp_path, url), Store(url)
    runs = tmp_path / "runs.csv"
    runs.write_text("command,duration_ms,exit_status,started_at\n"
                    "ping -c 1 127.0.0.1,11.5,0,1764000000\n"
                    "dig @127.0.0.1 -p 9 example.com,,9,\n"
                    "nc -z 10.0.0.1 22,5,0\n"
                    "\n")
    report = ingest(settings, store, "commands", runs, max_bad=0.5)
    assert (report.read, report.stored, report.quarantined) == (3, 2, 1)
    assert report.problems == [f"{runs}:4: 3 columns where the header has 4"]

    examples = tmp_path / "labelled.jsonl"
    _write_jsonl(examples, [{"text": "port 8443 refuses connections from the lb", "intent": "connectivity"},
                            {"text": "port 8443 refuses connections from the lb", "intent": "connectivity"},
                            {"text": "what colour is the sky", "intent": "weather"}])
    report = ingest(settings, store, "examples", examples, max_bad=0.5)
    assert (report.read, report.stored, report.duplicates, report.quarantined) == (3, 1, 1, 1)
    assert "unknown intent 'weather'" in report.problems[0]
    learned = (tmp_path / "home" / "learned" / "train" / "connectivity.txt").read_text()
    assert learned.splitlines() == ["port 8443 refuses connections from the lb"]


def test_cli_reports_quarantines_lists_and_drops(tmp_path: Path) -> None:
    env = cli_env(tmp_path / "home")
    path = _write_jsonl(tmp_path / "runs.jsonl", MIXED[:4])
    done = run(["ingest", "commands", str(path), "--max-bad", "0.5"], env)
    assert done.returncode == 0, done.stderr
    assert "4 command records read: 2 stored, 2 quarantined" in done.stdout.decode()
    assert f"quarantined {path}:3: field 'duration_ms'" in done.stderr.decode()

    refused = run(["ingest", "commands", str(path)], env)
    assert refused.returncode == 2
    err = refused.stderr.decode().strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err and "nothing was stored" in err

    listed = run(["quarantine", "list", "--json"], env)
    rows = [json.loads(line) for line in listed.stdout.decode().splitlines()]
    assert sorted(r["line"] for r in rows) == [3, 4]
    assert run(["quarantine", "drop", "--all"], env).stdout.decode().strip() == "dropped 2 quarantined records"
    assert run(["quarantine", "list"], env).stdout.decode().strip() == "Nothing is quarantined."

    wrong = run(["ingest", "metrics", str(path)], env)
    assert wrong.returncode == 2 and "expected one of commands, examples" in wrong.stderr.decode()


def test_with_pseudonyms_on_no_raw_address_is_stored_or_quarantined(tmp_path: Path, postgres_url: str) -> None:
    from netcopilot.privacy import open_store

    settings = Settings.load(environ={}, home=tmp_path / "home", database_url=postgres_url, pseudonymize="on")
    store = open_store(settings, "cli")
    path = _write_jsonl(tmp_path / "runs.jsonl", [
        {"command": "ssh admin@db7.corp.example.net", "host": "jump01.corp.example.net", "cwd": "/home/admin"},
        {"command": "ping -c 2 10.20.30.40", "exit_status": 999},
    ])
    report = ingest(settings, store, "commands", path, max_bad=0.5)
    assert (report.stored, report.quarantined) == (1, 1)
    with store.engine.connect() as connection:
        dump = " ".join(str(row) for table in ("command_history", "quarantine")
                        for row in connection.exec_driver_sql(f"SELECT * FROM {table}"))
    for raw in ("db7.corp.example.net", "jump01.corp.example.net", "10.20.30.40"):
        assert raw not in dump


def test_malformed_spool_lines_also_reach_the_stores_quarantine(tmp_path: Path) -> None:
    from netcopilot.history.shell import spool_dir

    home = tmp_path / "home"
    folder = spool_dir(home)
    folder.mkdir(parents=True, exist_ok=True)
    good = "1700000000000000\t1500\t0\t/srv\ts1\th\tu\tbash\tping -c 1 127.0.0.1"
    (folder / "s1.tsv").write_text("\n".join([good, "garbage without tabs", good.replace("\t0\t", "\tx\t", 1)]) + "\n")
    done = run(["history", "sync"], cli_env(home))
    assert done.returncode == 0 and "and the store's quarantine" in done.stderr.decode()
    rows = [json.loads(line) for line in run(["quarantine", "list", "--kind", "spool", "--json"], cli_env(home)).stdout.decode().splitlines()]
    assert sorted(r["line"] for r in rows) == [2, 3] and all(r["source"].startswith("spool:s1.") for r in rows)
    assert any("expected 9 tab-separated fields" in r["reason"] for r in rows)


def test_the_same_file_twice_is_taken_in_once_unless_forced(tmp_path: Path, store_url: str) -> None:
    from netcopilot.pipeline.lineage import batches

    settings, store = _settings(tmp_path, store_url), Store(store_url)
    path = _write_jsonl(tmp_path / "runs.jsonl", MIXED)
    first = ingest(settings, store, "commands", path, max_bad=0.9)
    again = ingest(settings, store, "commands", path, max_bad=0.9)
    assert first.already is None and "already taken in" in again.already and again.stored == 0
    assert (_count(store, CommandRecord), _count(store, QuarantinedRecord)) == (3, 5)
    forced = ingest(settings, store, "commands", path, max_bad=0.9, force=True)
    assert forced.stored == 3 and _count(store, CommandRecord) == 6
    assert [(b["kind"], b["read"], b["stored"], b["quarantined"]) for b in batches(store)] == [("commands", 8, 3, 5)]


def test_history_import_twice_stores_once(tmp_path: Path) -> None:
    env = cli_env(tmp_path / "home")
    history = tmp_path / "bash_history"
    history.write_text("ip route\nping -c 2 10.0.0.1\n")
    assert run(["history", "import", str(history), "--user", "al"], env).returncode == 0
    again = run(["history", "import", str(history), "--user", "al"], env)
    assert again.returncode == 0 and "already taken in" in again.stderr.decode()
    listed = json.loads(run(["history", "list", "--json"], env).stdout)
    assert [e["command"] for e in listed] == ["ip route", "ping -c 2 10.0.0.1"]
    assert "history" in run(["ingested"], env).stdout.decode()


def test_retention_purges_old_quarantined_records_and_cached_features(tmp_path: Path) -> None:
    from datetime import datetime, timedelta, timezone

    from sqlalchemy import update

    from netcopilot.pipeline.feature_store import FeatureStore
    from netcopilot.privacy.retention import purge
    from netcopilot.store.models import FeatureRow

    url = f"sqlite:///{tmp_path / 'store.db'}"
    store = Store(url)
    ingest(_settings(tmp_path, url), store, "commands", _write_jsonl(tmp_path / "r.jsonl", MIXED), max_bad=0.9)
    FeatureStore(store).vectors("question", "v1", ["old question"], lambda texts: [[1.0, 2.0]] * len(texts))
    old = datetime.now(timezone.utc) - timedelta(days=200)
    with store.session() as s, s.begin():
        s.execute(update(QuarantinedRecord).where(QuarantinedRecord.line == 3).values(created_at=old))
        s.execute(update(FeatureRow).values(created_at=old))
    counts = purge(store, timedelta(days=90))
    assert counts["quarantine"] == 1 and counts["feature_cache"] == 1
    assert _count(store, QuarantinedRecord) == 4 and _count(store, FeatureRow) == 0


def test_awkward_records_are_quarantined_or_named_never_a_traceback(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    settings, store = _settings(tmp_path, url), Store(url)
    path = tmp_path / "odd.jsonl"
    path.write_text("\n".join([
        '{"command": "ls", "exit_status": ' + "9" * 5000 + "}",           # an integer json cannot hold
        '{"command": "ls -l", "exit_status": true}',                       # a boolean is not a number
        '{"command": "ls -a", "duration_ms": false}',
        '{"command": "echo a\u2028b", "started_at": "2024-01-01T00:00:00+05:00"}',  # U+2028 inside a string
        '{"command": "sshpass -p hunter2 ssh 10.9.9.9", "exit_status": 999}',
        '{"command": "date", "started_at": 99999999999999}',                # not seconds since the epoch
        '{"command": "uptime", "started_at": "1970-01-01T00:00:00Z"}',
    ]) + "\n", encoding="utf-8")
    report = ingest(settings, store, "commands", path, max_bad=0.9)
    assert (report.read, report.stored) == (7, 1)
    rows = {r.line: r for r in quarantine.records(store)}
    assert "not valid JSON" in rows[1].reason and rows[2].field == "exit_status" and rows[3].field == "duration_ms"
    assert rows[5].field == "exit_status" and "hunter2" not in rows[5].record  # masked value by value
    assert rows[6].field == "started_at" and rows[7].field == "started_at"
    with store.session() as s:
        (stored,) = s.scalars(select(CommandRecord))
    assert stored.command == "echo a\u2028b" and stored.started_at.replace(tzinfo=None).isoformat() == "2023-12-31T19:00:00"

    for name, text, problem in [("cr.csv", "command,user\r\nls -x\rfoo,alice\r\n", "1 columns where the header has 2"),
                                ("dup.csv", "command,command\nls,ls\n", "names a column twice"),
                                ("big.csv", "command,user\n" + "a" * 200_000 + ",bob\n", "not CSV")]:
        (tmp_path / name).write_text(text, encoding="utf-8", newline="")
        with pytest.raises(DataFormatError, match=problem):
            ingest(settings, store, "commands", tmp_path / name)


def test_a_phrasing_that_would_read_as_a_comment_is_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    path = _write_jsonl(tmp_path / "ex.jsonl", [{"text": "# of hosts answering ping on the lan?", "intent": "connectivity"},
                                                {"text": "how many hosts answer ping on the lan", "intent": "connectivity"}])
    report = ingest(_settings(tmp_path, url), Store(url), "examples", path, max_bad=0.5)
    assert (report.stored, report.quarantined) == (1, 1) and "may not start with '#'" in report.problems[0]


def test_history_import_and_spool_quarantine_are_pseudonymised_when_on(tmp_path: Path) -> None:
    env = cli_env(tmp_path / "home", NETCOPILOT_PSEUDONYMIZE="on")
    history = tmp_path / "bash_history"
    history.write_text("ping -c 3 10.4.4.4\nssh admin@db01.corp.example\n")
    assert run(["history", "import", str(history)], env).returncode == 0
    with Store(f"sqlite:///{tmp_path / 'home' / 'netcopilot.db'}").engine.connect() as connection:
        dump = " ".join(str(r) for r in connection.exec_driver_sql("SELECT command FROM command_history"))
    assert "10.4.4.4" not in dump and "db01.corp.example" not in dump
