"""The local chat: a read-answer loop over the Assistant.

Interactive on a terminal (line editing and history via readline, multi-line input by ending a
line with a backslash), and line-by-line when stdin is a pipe, so `echo QUESTION | make chat`
answers and exits at end of input.
"""

from __future__ import annotations

import getpass
import sys
from pathlib import Path
from typing import Callable, Iterator, TextIO

from rich.console import Console

from netcopilot.core.types import Answer, Request
from netcopilot.errors import NetcopilotError
from netcopilot.frontends.terminal import render_answer, render_why

HELP = """\
Ask a network question in plain words, e.g. "why can't I reach 10.0.0.5 on port 443?".
Follow-ups keep context: "and port 80?" reuses the host you named before.

  :why            how the last answer was chosen (intent members, ranking features)
  :good           the last answer helped: the session is remembered as solved
  :bad [comment]  the last answer did not help (the comment is kept)
  :all            show the commands of the last answer even if I asked for clarification
  :intent NAME    the last question was really about NAME (a correction `netcopilot retrain` learns from)
  :new            start a new conversation (forget the context)
  :history        your recent questions
  :help           this text
  :quit           leave (Ctrl-D works too)

End a line with \\ to continue on the next one. netcopilot never runs commands itself."""


def _user() -> str:
    try:
        return "cli:" + getpass.getuser()
    except Exception:  # noqa: BLE001 - no login name in some containers
        return "cli:local"


def _lines_interactive(console: Console, history_file: Path) -> Iterator[str]:
    try:
        import readline

        history_file.parent.mkdir(parents=True, exist_ok=True)
        if history_file.exists():
            readline.read_history_file(str(history_file))
        readline.set_history_length(1000)
    except (ImportError, OSError):
        readline = None  # type: ignore[assignment]
    try:
        while True:
            parts: list[str] = []
            prompt = "netcopilot> "
            while True:
                line = console.input(f"[bold cyan]{prompt}[/]")
                if line.endswith("\\"):
                    parts.append(line[:-1])
                    prompt = "        ... "
                    continue
                parts.append(line)
                break
            yield "\n".join(parts)
    except (EOFError, KeyboardInterrupt):
        console.print()
    finally:
        if readline is not None:
            try:
                readline.write_history_file(str(history_file))
            except OSError:
                pass


def _lines_piped(stream: TextIO) -> Iterator[str]:
    for raw in stream:
        yield raw.rstrip("\n")


class ChatSession:
    """State of one chat: the conversation and the last answer (for :why, :good, :bad)."""

    def __init__(self, assistant_factory: Callable[[], object], console: Console, user: str | None = None):
        self._factory = assistant_factory
        self._assistant = None
        self.console = console
        self.user = user or _user()
        self.conversation_id: int | None = None
        self.last: Answer | None = None

    @property
    def assistant(self):  # noqa: ANN201 - the Assistant, loaded on first use
        if self._assistant is None:
            with self.console.status("Loading models…", spinner="dots"):
                self._assistant = self._factory()
        return self._assistant

    def handle(self, line: str) -> bool:
        """Answer one input line; False means the user asked to leave."""
        text = line.strip()
        if not text:
            return True
        if text.startswith(":"):
            return self._command(text)
        try:
            answer = self.assistant.answer(
                Request(text=line, user=self.user, channel="cli", conversation_id=self.conversation_id)
            )
        except NetcopilotError as exc:
            self.console.print(f"[red]error:[/] {exc}")
            return True
        self.conversation_id = answer.conversation_id
        self.last = answer
        render_answer(answer, self.console)
        return True

    def _command(self, text: str) -> bool:
        name, _, arg = text.partition(" ")
        name = name.lower()
        if name in (":q", ":quit", ":exit"):
            return False
        if name == ":help":
            self.console.print(HELP, markup=False)
        elif name == ":new":
            self.conversation_id, self.last = None, None
            self.console.print("New conversation.")
        elif name == ":history":
            self.handle("show my recent questions")
        elif name in (":why", ":all", ":good", ":bad", ":intent") and self.last is None:
            self.console.print("Ask a question first.")
        elif name == ":why":
            render_why(self.last, self.console)
        elif name == ":all":
            render_answer(self.last, self.console, show_all_commands=True)
        elif name in (":good", ":bad"):
            if self.last.answer_id is None:
                self.console.print("That answer was not stored, so there is nothing to rate.")
                return True
            good = name == ":good"
            self.assistant.feedback(self.last.answer_id, self.user, name[1:], 1.0 if good else -1.0, arg.strip())
            if good and self.last.conversation_id is not None:
                self.assistant.mark_solved(self.last.conversation_id)
                self.console.print("Thanks! Marked as solved: I will recall this session for similar questions.")
            else:
                self.console.print("Thanks, noted. Tell me more and I'll try again, or type :new to start over.")
        elif name == ":intent":
            self._correct(arg.strip())
        else:
            self.console.print(f"Unknown command {name}; type :help.")
        return True

    def _correct(self, intent: str) -> None:
        known = list(self.assistant.intents.classes)
        if intent not in known:
            self.console.print(f"Say which intent, one of: {', '.join(sorted(known))}", markup=False)
        elif self.last.answer_id is None:
            self.console.print("That answer was not stored, so there is nothing to correct.")
        else:
            self.assistant.feedback(self.last.answer_id, self.user, "correction", -0.5, source=intent)
            self.console.print(f"Thanks: noted that this was about {intent}; `netcopilot retrain` will learn from it.",
                               markup=False)


def run_chat(assistant_factory: Callable[[], object], console: Console, history_file: Path,
             stdin: TextIO | None = None) -> int:
    stdin = stdin or sys.stdin
    session = ChatSession(assistant_factory, console)
    interactive = stdin.isatty()
    if interactive:
        console.print("[bold magenta]netcopilot[/] — ask about a network problem. :help for commands, Ctrl-D to leave.")
        lines = _lines_interactive(console, history_file)
    else:
        lines = _lines_piped(stdin)
    for line in lines:
        if not session.handle(line):
            break
    return 0
