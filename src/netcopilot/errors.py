"""Domain errors. The core raises these; each front end turns them into one clear line.

    NetcopilotError              anything the user can fix (exit code 2 on the CLI)
     ├── SettingError            an environment variable or option has a bad value
     ├── DataFormatError         a file we read is malformed (names file, line, field)
     ├── ModelsMissingError      models have not been built yet
     ├── ModelMismatchError      built models do not match the installed libraries or data
     └── InputError              a message or argument cannot be used
"""

from __future__ import annotations


class NetcopilotError(Exception):
    """An error with a message meant for the user."""


class SettingError(NetcopilotError):
    pass


class DataFormatError(NetcopilotError):
    def __init__(self, path: object, problem: str, line: int | None = None, field: str | None = None):
        where = str(path)
        if line is not None:
            where += f":{line}"
        if field:
            where += f": field '{field}'"
        super().__init__(f"{where}: {problem}")
        self.path, self.line, self.field, self.problem = path, line, field, problem


class ModelsMissingError(NetcopilotError):
    pass


class ModelMismatchError(NetcopilotError):
    pass


class InputError(NetcopilotError):
    pass
