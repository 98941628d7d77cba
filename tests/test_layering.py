"""The house's floors: no module imports from a module above it, no cycles.

Every import of the package's modules is read with ``ast`` (imports inside
functions, the lazy ones, count as much as those at the top). Each top-level
module (or subpackage) of ``sklearn_gtn`` has a floor in ``LAYERS``; a module
may import only from lower floors. A new module must be given a floor here.
"""

import ast
import pathlib

import pytest

import sklearn_gtn

PACKAGE = pathlib.Path(sklearn_gtn.__file__).parent

# lowest floor first; a module may import from any floor below its own
LAYERS = [
    # helpers that import nothing of the package
    {"_version", "_utils", "_precision", "_registry", "_fitting"},
    # torch modules and the batch iterator join the registry
    {"_modules", "_batching", "_greedy", "plotting"},
    # runtime policy, the pairing step, metrics and data
    {"_runtime", "_accelerate", "labeling", "assignment", "metrics", "datasets"},
    # the training policy of GTNSampler (budget, schedule, selection) reads metrics
    {"_training"},
    {"_versioning"},
    # the estimators' floor
    {"_base"},
    {"sampler", "autoencoder", "pipeline"},
    {"mixture"},
    # make_tabular_sampler builds a pipeline around a sampler (by default a
    # GTNMixture)
    {"tabular"},
    {"oversampling"},
    # on top: the file format, the command line, the public namespace
    {"persistence"},
    {"cli"},
    {"__init__", "__main__"},
]

# (importer, imported): reason. Known upward imports, each to be removed by
# the work that owns it; an entry that no longer exists fails the test too.
KNOWN_UPWARD: dict[tuple[str, str], str] = {}


def _floor_of():
    floors = {}
    for level, names in enumerate(LAYERS):
        for name in names:
            floors[name] = level
    return floors


def _modules():
    """``(dotted parts within the package, path)`` of every module."""
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
        yield parts, path


def _imports(parts, path):
    """Top-level package modules imported by the module ``parts``."""
    is_package = parts[-1] == "__init__"
    package = parts[:-1]
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                if node.level - 1 > len(package):
                    continue  # beyond the package: not ours
                target = base + (node.module.split(".") if node.module else [])
                if target:
                    found.add(target[0])
                else:  # from . import x, y
                    found.update(alias.name.split(".")[0] for alias in node.names)
            elif node.module and node.module.split(".")[0] == "sklearn_gtn":
                rest = node.module.split(".")[1:]
                if rest:
                    found.add(rest[0])
                else:
                    found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                names = alias.name.split(".")
                if names[0] == "sklearn_gtn" and len(names) > 1:
                    found.add(names[1])
    own = parts[0] if not (is_package and len(parts) == 1) else "__init__"
    found.discard(own)
    return own, found


def _graph():
    graph = {}
    for parts, path in _modules():
        own, found = _imports(parts, path)
        graph.setdefault(own, set()).update(found)
    return graph


def test_every_module_has_a_floor():
    floors = _floor_of()
    missing = sorted(set(_graph()) - set(floors))
    assert not missing, f"give these modules a floor in LAYERS: {missing}"


def test_no_module_imports_from_above():
    floors = _floor_of()
    upward = []
    for module, deps in _graph().items():
        for dep in deps:
            if dep not in floors:
                continue  # a compiled module or a name, checked above
            if floors[dep] >= floors.get(module, len(LAYERS)):
                if (module, dep) not in KNOWN_UPWARD:
                    upward.append(
                        f"{module} (floor {floors[module]}) imports {dep} "
                        f"(floor {floors[dep]})"
                    )
    assert not upward, "\n".join(upward)


def test_known_upward_imports_still_exist():
    graph = _graph()
    gone = [edge for edge in KNOWN_UPWARD if edge[1] not in graph.get(edge[0], ())]
    assert not gone, f"remove these from KNOWN_UPWARD, they are fixed: {gone}"


def _cycle(graph):
    """One import cycle of ``graph`` as a list of modules, or ``None``."""
    state = {}
    stack = []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for dep in sorted(graph.get(node, ())):
            if (node, dep) in KNOWN_UPWARD:
                continue
            if state.get(dep) == "open":
                return stack[stack.index(dep) :] + [dep]
            if dep not in state:
                found = visit(dep)
                if found:
                    return found
        stack.pop()
        state[node] = "done"
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_there_is_no_import_cycle():
    cycle = _cycle(_graph())
    assert cycle is None, " -> ".join(cycle)


def test_the_cycle_finder_finds_a_cycle():
    # the check above could not fail if this one did not
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


@pytest.mark.parametrize(
    "source, expected",
    [
        ("from . import _utils", {"_utils"}),
        ("from ._runtime import seeded", {"_runtime"}),
        ("def f():\n    from .persistence import save", {"persistence"}),
        ("import sklearn_gtn.sampler as s", {"sampler"}),
        ("from sklearn_gtn import mixture", {"mixture"}),
        ("import numpy", set()),
    ],
)
def test_imports_are_read_also_inside_functions(tmp_path, source, expected):
    path = tmp_path / "m.py"
    path.write_text(source)
    assert _imports(["m"], path)[1] == expected
