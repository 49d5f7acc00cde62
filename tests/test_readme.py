"""The README, read as a newcomer reads it: its commands parse, the quick ones run, its names and figures are true.

Every ``python -m memo_core <command> --flag`` in a code block, every command
of the *Command line* table and every inline ``command --flag`` must parse
with :func:`memo_core.cli.parser.build_parser`, so a flag that disappears (or
a command renamed) fails here. The examples that take seconds (``--help``,
``features``, ``models``, ``checkpoints``, ``datasets``, ``predict`` with one
shipped checkpoint and ``extract`` on ``song.wav``) run for real on a short
generated WAV in a temporary folder.
"""

from __future__ import annotations

import argparse
import importlib
import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from memo_core.cli.parser import build_parser, main
from tests._helpers import REPO, cli_commands, make_tone

README = (REPO / "README.md").read_text(encoding="utf-8")
PREFIX = "python -m memo_core"
FLAG = re.compile(r"(?<![\w-])--[a-z0-9][a-z0-9-]*")
#: The commands that answer in seconds, run for real (predict and extract only on ``song.wav``).
QUICK = {"--help", "features", "models", "checkpoints", "datasets", "predict", "extract"}


# --------------------------------------------------------------------------- reading the README


def _fenced_blocks(text: str) -> list[tuple[str, str]]:
    """``(language, body)`` of every fenced block."""
    return re.findall(r"^```(\w*)\n(.*?)^```", text, flags=re.M | re.S)


def _without_fences(text: str) -> str:
    return re.sub(r"^```.*?^```", "", text, flags=re.M | re.S)


def _indented_blocks(text: str) -> list[str]:
    """Markdown's indented code blocks (4 spaces after a blank line), outside fences and lists."""
    blocks, lines = [], _without_fences(text).splitlines()
    for i, line in enumerate(lines):
        if line.startswith("    ") and line.strip() and (i == 0 or not lines[i - 1].strip()):
            body = []
            for follow in lines[i:]:
                if not follow.startswith("    ") and follow.strip():
                    break
                body.append(follow[4:])
            blocks.append("\n".join(body))
    return blocks


def _section(title: str) -> str:
    """The text under a ``#``-heading, up to the next heading of the same or a higher level."""
    match = re.search(rf"^(#+) {re.escape(title)}\n", README, flags=re.M)
    assert match, f"the README has no section {title!r}"
    level = len(match.group(1))
    rest = README[match.end():]
    end = re.search(rf"^#{{1,{level}}} ", rest, flags=re.M)
    return rest[: end.start()] if end else rest


def _block_commands() -> list[list[str]]:
    """argv (after ``python -m memo_core``) of every command in a code block, continuations joined."""
    commands = []
    bodies = [body for lang, body in _fenced_blocks(README) if lang in ("", "bash", "sh")] + _indented_blocks(README)
    for body in bodies:
        for line in body.replace("\\\n", " ").splitlines():
            if PREFIX in line:
                commands.append(shlex.split(line[line.index(PREFIX) + len(PREFIX):], comments=True))
    return commands


def _inline_spans() -> list[str]:
    """Inline code spans outside code blocks, a span broken over lines joined with a space."""
    return [" ".join(span.split()) for span in re.findall(r"`([^`\n]+(?:\n[^`\n]+)*)`", _without_fences(README))]


COMMANDS = cli_commands(build_parser())


def _table_rows() -> list[list[str]]:
    """The *Command line* table's rows, as cells."""
    rows = [line for line in _section("Command line").splitlines() if line.startswith("| `")]
    return [[cell.strip() for cell in re.split(r"(?<!\\)\|", row)[1:-1]] for row in rows]


def _flag_uses() -> list[tuple[str, str, str]]:
    """``(command, flag, where)`` for every flag the README shows with a command."""
    uses = []
    for argv in _block_commands():
        if argv and argv[0] in COMMANDS:
            uses += [(argv[0], f, " ".join(argv)) for a in argv[1:] for f in FLAG.findall(a) if a.startswith("--")]
    for cells in _table_rows():
        first = None
        for span in re.findall(r"`([^`]+)`", cells[0]):
            command = span.split()[0]
            first = first or command
            uses += [(command, f, span) for f in FLAG.findall(span)]
        for cell in cells[1:]:
            for span in re.findall(r"`([^`]+)`", cell):
                if span.startswith("--"):
                    uses += [(first, f, span) for f in FLAG.findall(span)]
    for span in _inline_spans():
        words = span.removeprefix(PREFIX).split()
        if words and words[0] in COMMANDS and "--" in span:
            uses += [(words[0], f, span) for f in FLAG.findall(span)]
    return uses


def _mentioned_commands() -> set[str]:
    named = {argv[0] for argv in _block_commands() if argv and argv[0] in COMMANDS}
    named |= {span.split()[0] for cells in _table_rows() for span in re.findall(r"`([^`]+)`", cells[0])}
    return named


# --------------------------------------------------------------------------- the commands


def test_the_readme_shows_commands_to_check():
    assert len(_block_commands()) >= 20 and len(_flag_uses()) >= 60


def test_every_command_the_readme_names_exists_and_the_table_lists_every_command():
    assert _mentioned_commands() <= set(COMMANDS)
    in_table = {span.split()[0] for cells in _table_rows() for span in re.findall(r"`([^`]+)`", cells[0])}
    assert set(COMMANDS) <= in_table, f"commands missing from the README's table: {set(COMMANDS) - in_table}"


def _command_parser(command: str, where: str) -> argparse.ArgumentParser | None:
    """The parser of ``command``, or of its subcommand (``library analyse``) when ``where`` names one."""
    parser = COMMANDS.get(command)
    group = next((a for a in getattr(parser, "_actions", ()) if isinstance(a, argparse._SubParsersAction)), None)
    words = where.removeprefix(PREFIX).split()
    if group is not None and command in words and words.index(command) + 1 < len(words):
        return group.choices.get(words[words.index(command) + 1], parser)
    return parser


def test_every_flag_the_readme_shows_exists_for_its_command():
    missing = sorted({(command, flag, where) for command, flag, where in _flag_uses()
                      if command not in COMMANDS or flag not in _command_parser(command, where)._option_string_actions})
    assert not missing, "README flags the parser does not know:\n" + "\n".join(map(str, missing))


def test_every_example_command_parses():
    parser = build_parser()
    for argv in _block_commands():
        if "--help" in argv:
            with pytest.raises(SystemExit) as info:
                parser.parse_args(argv)
            assert info.value.code == 0, argv
        else:
            try:
                args = parser.parse_args(argv)
            except SystemExit:  # argparse exits with status 2 on anything it cannot parse
                pytest.fail(f"the README's example does not parse: python -m memo_core {shlex.join(argv)}")
            assert args.command == argv[0]


@pytest.mark.parametrize("command", sorted(_mentioned_commands()))
def test_each_command_the_readme_names_has_help(command, capsys):
    with pytest.raises(SystemExit) as info:
        build_parser().parse_args([command, "--help"])
    assert info.value.code == 0 and "usage:" in capsys.readouterr().out


def _quick(argv: list[str]) -> bool:
    if argv == ["--help"] or argv in (["features"], ["models"], ["checkpoints"], ["datasets"]):
        return True
    if argv and argv[0] in ("predict", "extract") and "song.wav" in argv:
        checkpoint = argv[argv.index("--checkpoint") + 1] if "--checkpoint" in argv else None
        return argv[0] == "extract" or (checkpoint is not None and not checkpoint.endswith(".pt"))
    return False


def test_the_quick_examples_run(tmp_path, monkeypatch, capsys):
    from memo_core.pretrained import read_manifest

    examples = [argv for argv in _block_commands() if _quick(argv)]
    assert {argv[0] for argv in examples} >= QUICK, "the README lost one of its quick examples"
    monkeypatch.chdir(tmp_path)
    sf.write(tmp_path / "song.wav", make_tone(3.0, 22_050), 22_050)
    tasks = {entry["key"]: entry["task"] for entry in read_manifest()["checkpoints"]}
    for argv in examples:
        if argv == ["--help"]:  # the real entry point, in a fresh interpreter
            done = subprocess.run([sys.executable, "-m", "memo_core", "--help"], capture_output=True, text=True,
                                  cwd=REPO, timeout=60)
            assert done.returncode == 0 and all(command in done.stdout for command in COMMANDS)
            continue
        assert main(argv + (["-q"] if argv[0] in ("predict", "extract") else [])) == 0, argv
        printed = capsys.readouterr().out
        out = tmp_path / argv[argv.index("--out") + 1] if "--out" in argv else None
        if argv[0] == "predict":
            key = argv[argv.index("--checkpoint") + 1]
            assert printed.startswith(f"{key}") and "1 of 1 files" in printed  # the line names the key
            header = (out / "song.csv").read_text().splitlines()[0]  # NAME: the file name without its suffix
            assert header == ("tag,score,threshold,predicted" if tasks[key] == "tagging"
                              else "time_s,valence,arousal,frame_end_s")
            assert f"`{header}`" in README  # the README states the header this writes
            assert (out / "song.explanations.npz").is_file()
        elif argv[0] == "extract":
            features = argv[argv.index("--features") + 1]
            frames = np.load(out / f"song.{features}.npy")
            assert len(frames) == 6  # 3 s on the 500 ms grid
            if "--csv" in argv:
                np.testing.assert_allclose(pd.read_csv(out / f"song.{features}.csv")["time_s"], np.arange(6) * 0.5)
        else:
            assert printed.strip()


def test_the_readme_states_the_output_naming_rule_of_help():
    from memo_core.cli.parser import OUTPUT_NAMES

    text = " ".join(_section("Command line").split())
    assert "whether you give a file or a folder" in text and "whether you give a file or a folder" in OUTPUT_NAMES
    assert "`3.mp3` gives `3.csv`" in text and "(`a.wav.csv`, `a.mp3.csv`)" in text
    assert "**`time_s` is the frame's start** and `frame_end_s` its end" in text


def test_the_documented_defaults_point_at_the_developers_fixtures():
    """``transfer --shared`` and ``validate-real`` read ``../shared/data`` by default, as the README says."""
    from memo_core.experiments.validate_real import DEFAULT_SHARED

    shared = REPO.parent / "shared" / "data"
    assert Path(COMMANDS["transfer"]._option_string_actions["--shared"].default) == shared
    assert DEFAULT_SHARED.resolve() == shared.resolve()
    assert "../shared/STYLE.md" not in README


# --------------------------------------------------------------------------- names, layout, set-up


def test_every_module_and_name_the_readme_cites_exists():
    for span in _inline_spans():
        for name in re.findall(r"\bmemo_core(?:\.\w+)+", span):
            parts = name.split(".")
            for cut in range(len(parts), 0, -1):
                try:
                    obj = importlib.import_module(".".join(parts[:cut]))
                except ModuleNotFoundError:
                    continue
                for attr in parts[cut:]:
                    assert hasattr(obj, attr), f"README cites {name}, which does not exist"
                    obj = getattr(obj, attr)
                break
        for path in re.findall(r"(?<![\w./])((?:memo_core|dashboard|docs|checkpoints)/[\w./-]*)", span):
            if not re.search(r"[<{*]|KEY", path):
                assert (REPO / path).exists(), f"README cites {path}, which does not exist"


def test_layout_points_to_the_architecture_and_names_every_package():
    layout = _section("Layout")
    assert "docs/ARCHITECTURE.md" in layout and (REPO / "docs" / "ARCHITECTURE.md").is_file()
    assert "../shared" not in layout  # nothing outside the repository
    packages = sorted(p.name for p in (REPO / "memo_core").iterdir() if (p / "__init__.py").is_file())
    assert packages, "no packages found"
    for package in packages:
        assert f"`{package}/`" in layout, f"the README's Layout does not name memo_core/{package}/"
    for module in ("pretrained.py", "papers.py"):
        assert f"`{module}`" in layout


def test_the_audio_section_describes_what_load_audio_returns():
    from memo_core.audio import Audio, load_audio

    audio_text = " ".join(_section("Audio").split())
    assert load_audio.__annotations__["return"] in ("Audio", Audio)
    assert "returns an `Audio`" in audio_text
    attributes = re.findall(r"`\.(\w+)`", audio_text)
    assert {"samples", "sample_rate", "duration", "n_frames"} <= set(attributes)
    song = Audio(np.zeros(22_050, np.float32), 22_050, "x.wav")
    for attribute in attributes:
        assert hasattr(song, attribute), f"the README names Audio.{attribute}, which does not exist"


def test_quick_start_installs_the_cpu_torch_in_a_virtual_environment():
    quick = _section("Quick start")
    blocks = [body for lang, body in _fenced_blocks(quick) if lang == "bash"]
    lines = [line for line in blocks[0].splitlines() if line.strip()]
    assert len(lines) == 3 and lines[1:] == ["streamlit run dashboard/app.py", "python -m pytest"]
    assert "python -m venv .venv" in lines[0] and "--extra-index-url https://download.pytorch.org/whl/cpu" in lines[0]
    assert "-r requirements.txt" in lines[0] and 'pip install -e ".[dashboard,test]"' in quick
    comment = [line for line in (REPO / "requirements.txt").read_text().splitlines() if line.startswith("#")]
    assert comment and "this machine" not in " ".join(comment)
    assert "download.pytorch.org/whl/cpu" in " ".join(comment)
    pyproject = (REPO / "pyproject.toml").read_text()
    assert 'dashboard = [' in pyproject and 'test = [' in pyproject


# --------------------------------------------------------------------------- what the shipped set is


def _figure(entry: dict, *path: str) -> float:
    value = entry
    for key in path:
        value = value[key]
    return float(value["value"])


def test_the_top_says_what_the_shipped_set_learned_from_and_how_it_scores_on_real_music():
    manifest = json.loads((REPO / "checkpoints" / "manifest.json").read_text())
    entries = manifest["checkpoints"]
    top = " ".join(README[: README.index("## Quick start")].split())
    explained = [e for e in entries if e["task"] == "regression" and e["family"] != "Baselines"]
    by_key = {e["key"]: e for e in entries}

    def span(values, sep):
        return f"{min(values):.2f}{sep}{max(values):.2f}"

    arousal = [_figure(e, "validation_real", "4q", "arousal_auc") for e in explained]
    valence = [_figure(e, "validation_real", "4q", "valence_auc") for e in explained]
    best = max(explained, key=lambda e: _figure(e, "validation_real", "4q", "valence_auc"))
    songlin = by_key["songlin"]
    clips_a = [_figure(e, "validation_real", "clips", "arousal", "pooled_r") for e in explained]
    clips_v = [_figure(e, "validation_real", "clips", "valence", "pooled_r") for e in explained]
    tags = [_figure(e, "tag_spread", "tag_auc_mean") for e in entries if e["task"] == "tagging"]
    fourq = next(s for s in explained[0]["training_sources"] if s["dataset"] == "4q")
    expected = [
        f"{len(entries)} small trained checkpoints",
        f"{sum(fourq['songs'].values())} real commercial recordings of the 4Q dataset",
        f"the {fourq['songs']['test']} 4Q clips",
        f"ROC-AUC {span(arousal, '-')} on arousal and {span(valence, '-')} on valence",
        f"`{best['key']}`, {_figure(best, 'validation_real', '4q', 'arousal_auc'):.2f} / "
        f"{_figure(best, 'validation_real', '4q', 'valence_auc'):.2f}",
        f"`songlin` reaches {_figure(songlin, 'validation_real', '4q', 'arousal_auc'):.2f} / "
        f"{_figure(songlin, 'validation_real', '4q', 'valence_auc'):.2f}",
        f"pooled r {span(clips_a, ' to ')}",
        f"pooled r {span(clips_v, ' to ')}",
        f"mean tag ROC-AUC of {span(tags, '-')}",
    ]
    for phrase in expected:
        assert phrase in top, f"the README's opening should say {phrase!r} (from checkpoints/manifest.json)"
    assert {s["dataset"] for s in explained[0]["training_sources"]} == {"synth", "4q"}
    assert not re.search(r"trained (only )?on (the )?synthetic (data|corpus) only|trained only on synthetic", README)


# --------------------------------------------------------------------------- getting the datasets

#: Each dataset of *Getting the datasets*: its official source, as the README names it.
SOURCES = {
    "deam": "cvml.unige.ch/databases/DEAM",
    "emomusic": "cvml.unige.ch/databases/emoMusic",
    "pmemo": "github.com/HuiZhangDB/PMEmo",
    "mtg_jamendo": "github.com/MTG/mtg-jamendo-dataset",
    "vgmidi": "github.com/lucasnfe/vgmidi",
    "emopia": "zenodo.org/records/5090631",
    "4q": "mir.dei.uc.pt/resources",
}
#: The README's ``~/data/<folder>`` for each dataset -> the developers' fixture folder of the same layout.
FIXTURE_FOLDERS = {"mtg-jamendo-dataset": "mtg_jamendo"}


def _dataset_trees() -> dict[str, str]:
    """``{loader name: its tree}`` from *Getting the datasets* (a ``**Title** (`name`)`` paragraph, then a tree)."""
    section = _section("Getting the datasets")
    trees = {}
    for match in re.finditer(r"\*\*[^*]+\*\* \(`(\w+)`\)(.*?)```text\n(.*?)```", section, flags=re.S):
        trees[match.group(1)] = (match.group(2), match.group(3))
    return trees


def _required_files(tree: str) -> tuple[str, list[str]]:
    """The tree's root (``~/data/...``) and the paths under it marked ``(required)``."""
    lines = tree.splitlines()
    root = lines[0].split()[0]
    stack: list[str] = []
    required = []
    for line in lines[1:]:
        branch = max(line.find("├── "), line.find("└── "))
        if branch < 0:
            continue
        depth = branch // 4
        name = re.split(r"\s{2,}", line[branch + 4:])[0]
        stack[depth:] = [name.rstrip("/")]
        if "(required)" in line:
            required.append("/".join(stack))
    return root, required


def test_getting_the_datasets_names_source_licence_and_tree_for_each_dataset():
    from memo_core.data import list_datasets
    from memo_core.data.licences import licence_of

    trees = _dataset_trees()
    assert set(trees) == set(SOURCES) and set(SOURCES) <= set(list_datasets())
    for name, (prose, tree) in trees.items():
        prose = " ".join(prose.split())
        assert SOURCES[name] in prose, f"{name}: the official source is not named"
        assert f"Licence: {licence_of(name)}" in prose, f"{name}: the licence is not the one licences.py records"
        assert tree.startswith("~/data/") and "--root ~/data/" in tree.splitlines()[0]
    for _lang, body in _fenced_blocks(README):  # examples use placeholders, never the developers' fixtures
        assert "../shared/data" not in body, body


def test_each_tree_is_the_layout_its_loader_reads(shared_data):
    """The root each tree shows, mapped onto the developers' fixtures (the same official layouts), loads,
    and every file the tree marks required is where the tree puts it."""
    from memo_core.data import load_dataset

    for name, (_, tree) in _dataset_trees().items():
        root, required = _required_files(tree)
        parts = Path(root.removeprefix("~/data/")).parts
        fixture = shared_data.joinpath(FIXTURE_FOLDERS.get(parts[0], parts[0]), *parts[1:])
        assert fixture.is_dir(), f"{name}: {fixture} (from the README's {root}) is not in the fixtures"
        for path in required:
            assert (fixture / path).is_file(), f"{name}: the README's required {path} is not in the official layout"
        assert load_dataset(name, fixture).songs, name
