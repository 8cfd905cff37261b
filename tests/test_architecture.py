"""Imports point one way, down the path data -> model -> objectives -> trainer -> generate -> evaluate
(docs/architecture.md), with the readers below the trainer. A module may import its own layer's modules and any layer below, never above."""
import ast
from pathlib import Path

import seqdraw

LAYERS = [
    ("errors", "settings", "files", "pictures", "cores", "devices"),   # foundations: errors, settings, safe writes, cores
    ("data",),
    ("model",),
    ("checkpoint",),                                 # model files: safetensors, checked metadata
    ("readers",),                                    # readers of house numbers: a training input (the guide)
    ("objectives",),
    ("trainer", "train_config"),
    ("generate", "deploy", "dataset", "demo"),
    ("evaluate",),
    ("experiments",),                                # Table II: trains and judges rows
    ("cli", "__init__", "__main__"),
]


def layer_of(module: str) -> int:
    top = module.split(".")[1] if module.count(".") else "__init__"
    return next(i for i, names in enumerate(LAYERS) if top in names)


def imports(path: Path):
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("seqdraw"):
            yield node.module
        elif isinstance(node, ast.Import):
            yield from (a.name for a in node.names if a.name.startswith("seqdraw"))


def test_imports_point_one_way():
    root = Path(seqdraw.__file__).parent
    wrong = []
    for path in root.rglob("*.py"):
        module = ".".join(("seqdraw",) + path.relative_to(root).with_suffix("").parts)
        for dep in imports(path):
            if dep != "seqdraw" and layer_of(dep) > layer_of(module):
                wrong.append(f"{module} imports {dep}")
    assert wrong == []


def test_the_trainer_does_not_know_the_yardstick():
    trainer = Path(seqdraw.__file__).parent / "trainer.py"
    assert not [d for d in imports(trainer) if d.startswith("seqdraw.evaluate")]


def test_functions_stay_small():
    """No function in the package is longer than 60 lines or takes more than 8 parameters (issue 38): a
    longer one is split, a wider one takes a config."""
    root = Path(seqdraw.__file__).parent
    too_big = []
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                a = node.args
                params = [p.arg for p in a.posonlyargs + a.args + a.kwonlyargs if p.arg not in ("self", "cls")]
                lines = node.end_lineno - node.lineno + 1
                if lines > 60 or len(params) > 8:
                    too_big.append(f"{path.relative_to(root)}:{node.lineno} {node.name}: {lines} lines, "
                                   f"{len(params)} parameters")
    assert too_big == []


def test_every_command_flag_comes_from_settings():
    """Flags are declared once, as settings dataclass fields (settings.add_arguments); the command line
    hand-writes only what says what to do with files and runs, and the positional numbers."""
    allowed = {"--overwrite", "--out", "--config", "--set", "--resume", "--version", "numbers",
               "--random", "--strings"}                    # the last two: hidden, say where the export went
    written = set()
    for path in (Path(seqdraw.__file__).parent / "cli").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "add_argument":
                written.add(node.args[0].value)
    assert written <= allowed, written - allowed
