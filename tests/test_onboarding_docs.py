"""The README's "Onboarding a firm" commands are exact: every ``flask hub …`` command it shows exists with the
options it uses, and every API path it calls is a route of the app with that method."""

import re
import shlex
from pathlib import Path

import click

README = Path(__file__).resolve().parents[1] / "README.md"


def section() -> str:
    text = README.read_text()
    start = text.index("## Onboarding a firm")
    return text[start:text.index("\n## ", start + 1)]


def commands() -> list[list[str]]:
    out = []
    for block in re.findall(r"```sh\n(.*?)```", section(), re.S):
        for line in block.splitlines():
            line = line.split(" #", 1)[0].strip()
            for part in line.split(";"):
                part = part.strip().replace("[", "").replace("]", "")
                if part.startswith("flask hub "):
                    out.append(shlex.split(part)[2:])
    return out


def test_every_cli_command_of_the_section_exists_with_its_options():
    from hub.cli import hub_cli

    found = commands()
    assert len(found) >= 15
    for words in found:
        command, rest = hub_cli, list(words)
        while isinstance(command, click.Group):
            name = rest.pop(0)
            assert name in command.commands, f"no command {name!r} in {words}"
            command = command.commands[name]
        known = {opt for p in command.params for opt in p.opts if opt.startswith("--")} | {"--help"}
        used = {w for w in rest if w.startswith("--")}
        assert used <= known, f"{words}: unknown options {used - known}"
        arguments = [p for p in command.params if isinstance(p, click.Argument)]
        values = [w for i, w in enumerate(rest) if not w.startswith("--")
                  and not (i and rest[i - 1].startswith("--") and not _is_flag(command, rest[i - 1]))]
        assert len(values) == len(arguments), f"{words}: {len(arguments)} arguments expected, got {values}"


def _is_flag(command, opt) -> bool:
    return any(opt in p.opts and getattr(p, "is_flag", False) for p in command.params)


def test_every_api_call_of_the_section_is_a_route(hub_app):
    calls = re.findall(r"curl -X (\w+) .*?\$API(/\S+)", section())
    assert len(calls) >= 6
    adapter = hub_app.url_map.bind("hub.example")
    for method, path in calls:
        adapter.match("/api/v1" + path, method=method)  # raises NotFound / MethodNotAllowed
