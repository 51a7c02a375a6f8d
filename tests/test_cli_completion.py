"""``eidos completion bash|zsh|fish``: scripts generated from the real parser, quoted, and working.

Each shell's script is checked for syntax by the shell itself, then run: bash through its
completion function and COMPREPLY, zsh with ``compadd``/``_files`` stubbed (no terminal
is needed), fish through ``complete -C``. A shell that is not installed makes its tests
skip with the reason (CI installs them; see .ci/run).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from eidos.cli.completion import (
    ANY,
    DIR,
    FILE,
    NONE,
    WORDS,
    Command,
    Option,
    Tree,
    Values,
    render_bash,
    render_fish,
    render_zsh,
)
from eidos.cli.main import COMMANDS
from tests.conftest import run_eidos


def need(shell: str) -> str:
    path = shutil.which(shell)
    if path is None:
        pytest.skip(f"{shell} is not installed: its completion script cannot be checked here")
    return path


def script(shell: str) -> str:
    result = run_eidos("completion", shell)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def schema():
    from eidos import engine

    return engine.load_graph([]).facts


# ---- bash -----------------------------------------------------------------------------------

BASH_DRIVER = r"""
source "$1"
shift
fn=$(complete -p eidos | sed -E 's/.*-F ([^ ]+) .*/\1/')
COMP_WORDS=("$@")
COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
"$fn"
printf '%s\n' "${COMPREPLY[@]}"
"""


def bash_complete(path: Path, *words: str, cwd: Path | None = None) -> list[str]:
    bash = need("bash")
    result = subprocess.run([bash, "-c", BASH_DRIVER, "driver", str(path), *words],
                            capture_output=True, text=True, timeout=30, cwd=cwd, check=False)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    return [line for line in result.stdout.splitlines() if line]


def test_bash_script_syntax(tmp_path):
    bash = need("bash")
    path = tmp_path / "eidos.bash"
    path.write_text(script("bash"))
    result = subprocess.run([bash, "-n", str(path)], capture_output=True, text=True, timeout=30, check=False)
    assert result.returncode == 0, result.stderr


def test_bash_completes_commands_flags_and_values(tmp_path, schema):
    path = tmp_path / "eidos.bash"
    path.write_text(script("bash"))
    assert bash_complete(path, "eidos", "rec") == ["recipe"]
    assert bash_complete(path, "eidos", "") == list(COMMANDS)
    assert bash_complete(path, "eidos", "recipe", "--serv") == ["--service"]
    assert bash_complete(path, "eidos", "recipe", "--service", "") == list(schema["service"].values)
    assert bash_complete(path, "eidos", "recipe", "--service", "e") == ["eks"]
    assert bash_complete(path, "eidos", "recipe", "--gpu", "gb") == ["gb200"]  # the alias flag too
    assert bash_complete(path, "eidos", "recipe", "--service", "=", "e") == ["eks"]  # --service=e
    assert bash_complete(path, "eidos", "snapshot", "-o", "") == ["yaml", "json"]
    assert bash_complete(path, "eidos", "validate", "--output", "s") == ["sarif"]
    assert bash_complete(path, "eidos", "bundle", "-d", "") == ["helm", "argocd", "flux", "script"]
    assert bash_complete(path, "eidos", "completion", "") == ["bash", "zsh", "fish"]
    assert "--collector-timeout" in bash_complete(path, "eidos", "snapshot", "--c")
    assert "--format" not in bash_complete(path, "eidos", "snapshot", "--f")  # deprecated: hidden
    assert bash_complete(path, "eidos", "recipe", "--nodes", "") == []  # free text: nothing offered


def test_bash_completes_files_and_directories(tmp_path):
    path = tmp_path / "eidos.bash"
    path.write_text(script("bash"))
    (tmp_path / "rules dir").mkdir()
    (tmp_path / "snap.yaml").write_text("")
    assert bash_complete(path, "eidos", "snapshot", "--out", "sn", cwd=tmp_path) == ["snap.yaml"]
    assert bash_complete(path, "eidos", "recipe", "--rules", "r", cwd=tmp_path) == ["rules dir"]
    assert bash_complete(path, "eidos", "lint", "r", cwd=tmp_path) == ["rules dir"]


# ---- zsh ------------------------------------------------------------------------------------

ZSH_DRIVER = r"""
source "$1"
shift
compadd() { [[ $1 == -- ]] && shift; print -rl -- "$@"; }
_files() { print -r -- "<files $*>"; }
compset() { : }
words=("$@")
CURRENT=$#
_eidos
"""


def zsh_complete(path: Path, *words: str) -> list[str]:
    zsh = need("zsh")
    result = subprocess.run([zsh, "-f", "-c", ZSH_DRIVER, "driver", str(path), *words],
                            capture_output=True, text=True, timeout=30, check=False)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    return result.stdout.splitlines()


def test_zsh_script_syntax(tmp_path):
    zsh = need("zsh")
    path = tmp_path / "_eidos"
    text = script("zsh")
    assert text.startswith("#compdef eidos\n")
    path.write_text(text)
    result = subprocess.run([zsh, "-n", str(path)], capture_output=True, text=True, timeout=30, check=False)
    assert result.returncode == 0, result.stderr


def test_zsh_completes_commands_flags_and_values(tmp_path, schema):
    path = tmp_path / "_eidos"
    path.write_text(script("zsh"))
    assert zsh_complete(path, "eidos", "") == list(COMMANDS)
    assert "--service" in zsh_complete(path, "eidos", "recipe", "--s")
    assert zsh_complete(path, "eidos", "recipe", "--service", "") == list(schema["service"].values)
    assert zsh_complete(path, "eidos", "recipe", "--service=e") == list(schema["service"].values)
    assert zsh_complete(path, "eidos", "lint", "-o", "") == ["text", "json"]
    assert zsh_complete(path, "eidos", "snapshot", "--out", "") == ["<files >"]
    assert zsh_complete(path, "eidos", "bundle", "--out", "") == ["<files -/>"]


# ---- fish -----------------------------------------------------------------------------------


def fish_complete(path: Path, line: str) -> list[str]:
    fish = need("fish")
    result = subprocess.run([fish, "--no-config", "-c", 'source $argv[1]; complete -C $argv[2]', str(path), line],
                            capture_output=True, text=True, timeout=30, check=False)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    return [row.split("\t", 1)[0] for row in result.stdout.splitlines()]


def test_fish_script_syntax(tmp_path):
    fish = need("fish")
    path = tmp_path / "eidos.fish"
    path.write_text(script("fish"))
    result = subprocess.run([fish, "--no-config", "-n", str(path)], capture_output=True, text=True, timeout=30, check=False)
    assert result.returncode == 0, result.stderr


def test_fish_completes_commands_flags_and_values(tmp_path, schema):
    path = tmp_path / "eidos.fish"
    path.write_text(script("fish"))
    assert fish_complete(path, "eidos rec") == ["recipe"]
    assert fish_complete(path, "eidos recipe --serv") == ["--service"]
    assert fish_complete(path, "eidos recipe --service ") == sorted(schema["service"].values)
    assert fish_complete(path, "eidos snapshot -o ") == ["json", "yaml"]
    assert fish_complete(path, "eidos completion ") == ["bash", "fish", "zsh"]


# ---- quoting ---------------------------------------------------------------------------------

HOSTILE = ("$(touch pwned1)", "`touch pwned2`", "it's", "a;touch pwned3", "*", "x y")


def hostile_tree() -> Tree:
    """A tree whose every generated word would run a command if it were not quoted."""
    values = Values(WORDS, HOSTILE)
    options = (
        Option(("--pick",), values, "help with 'quotes', $(touch pwned4) and `touch pwned5`"),
        Option(("--flag",), Values(NONE), "a switch"),
        Option(("--path",), Values(FILE), ""),
        Option(("--dir",), Values(DIR), ""),
        Option(("--free",), Values(ANY), ""),
    )
    return Tree("eidos", (Option(("--help",), Values(NONE), "help"),),
                (Command("run", "it's $(touch pwned6)", options, values),))


def test_bash_quotes_every_generated_word(tmp_path):
    path = tmp_path / "hostile.bash"
    path.write_text(render_bash(hostile_tree()))
    assert sorted(bash_complete(path, "eidos", "run", "--pick", "", cwd=tmp_path)) == sorted(HOSTILE)
    assert bash_complete(path, "eidos", "run", "--pick", "$", cwd=tmp_path) == ["$(touch pwned1)"]
    assert sorted(bash_complete(path, "eidos", "run", "", cwd=tmp_path)) == sorted(HOSTILE)
    assert not list(tmp_path.glob("pwned*"))


def test_zsh_quotes_every_generated_word(tmp_path):
    path = tmp_path / "_hostile"
    path.write_text(render_zsh(hostile_tree()))
    assert zsh_complete(path, "eidos", "run", "--pick", "") == list(HOSTILE)
    assert zsh_complete(path, "eidos", "run", "") == list(HOSTILE)
    assert not list(tmp_path.glob("pwned*")) and not list(Path.cwd().glob("pwned*"))


def test_fish_quotes_every_generated_word(tmp_path):
    path = tmp_path / "hostile.fish"
    path.write_text(render_fish(hostile_tree()))
    fish = need("fish")
    result = subprocess.run([fish, "--no-config", "-c", 'source $argv[1]; complete -C "eidos run --pick "', str(path)],
                            capture_output=True, text=True, timeout=30, cwd=tmp_path, check=False)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    rows = result.stdout.splitlines()
    assert sorted(r.split("\t")[0] for r in rows) == sorted(HOSTILE)
    assert all(r.split("\t")[1] == "help with 'quotes', $(touch pwned4) and `touch pwned5`" for r in rows)
    assert not list(tmp_path.glob("pwned*"))


def test_completion_out_writes_the_script(tmp_path):
    target = tmp_path / "eidos.bash"
    result = run_eidos("completion", "bash", "--out", str(target))
    assert result.returncode == 0 and result.stdout == ""
    assert "complete -F _eidos eidos" in target.read_text()
