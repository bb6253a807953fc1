"""Imports go one way: numeric/ -> proofs/ -> api/ (the package face), and never in a circle.

The import graph is read from the source with ``ast``: every ``import`` and ``from ...
import`` anywhere in a file (inside functions too), and every ``importlib.import_module``
call whose module name is a literal or an f-string. An f-string is resolved statically:
``{__package__}`` and ``{__name__}`` are the file's own, any other placeholder matches one
module-name component, so ``f"attnsparse.cmd_{name}"`` stands for every ``attnsparse.cmd_*``.
``import attnsparse`` and ``from attnsparse import x`` (``x`` not a module) are imports of
the face, api/__init__.py. The folders map to packages as in setup.cfg: api -> attnsparse,
proofs -> attnsparse.proofs, numeric -> attnsparse.numeric.

The symbolic layer never imports numba (STYLE: proofs/ imports sympy, never numba).
"""

import ast
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FOLDERS = {"api": "attnsparse", "proofs": "attnsparse.proofs", "numeric": "attnsparse.numeric"}
#: floors, lowest first: a module may import its own floor and the floors below
FLOORS = ("numeric", "proofs", "api")


# ---------------------------------------------------------------------- the graph

def module_files(root=ROOT, folders=FOLDERS):
    """{dotted module name: path} of every .py file under the mapped folders."""
    out = {}
    for folder, package in folders.items():
        base = root / folder
        for path in sorted(base.rglob("*.py")):
            parts = list(path.relative_to(base).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            out[".".join([package] + parts)] = path
    return out


def _package_of(module, path):
    return module if path.name == "__init__.py" else module.rpartition(".")[0]


def _absolute(package, level, name):
    """The absolute name of ``from <level dots><name> import ...`` in ``package``."""
    if level == 0:
        return name
    parts = package.split(".")
    base = parts[:len(parts) - (level - 1)] if level > 1 else parts
    return ".".join(base + ([name] if name else []))


def _pattern(node, module, package):
    """A regex for the module name of ``import_module(<node>)``, or None if not static."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return re.escape(node.value)
    if not isinstance(node, ast.JoinedStr):
        return None
    out = ""
    for part in node.values:
        if isinstance(part, ast.Constant):
            out += re.escape(str(part.value))
        elif isinstance(part.value, ast.Name) and part.value.id == "__package__":
            out += re.escape(package)
        elif isinstance(part.value, ast.Name) and part.value.id == "__name__":
            out += re.escape(module)
        else:
            out += r"[A-Za-z0-9_]+"
    return out


def _is_import_module(call):
    f = call.func
    return ((isinstance(f, ast.Attribute) and f.attr == "import_module"
             and isinstance(f.value, ast.Name) and f.value.id == "importlib")
            or (isinstance(f, ast.Name) and f.id == "import_module"))


def imports_of(module, path, known):
    """[(imported module, line)] of one file, restricted to the ``known`` modules."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    package = _package_of(module, path)
    out = []

    def add(name, line):
        # the longest known prefix: ``attnsparse.numeric.check.CheckResult`` -> the module
        while name and name not in known:
            name = name.rpartition(".")[0]
        if name:
            out.append((name, line))

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                add(a.name, node.lineno)
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(package, node.level, node.module or "")
            for a in node.names:
                sub = f"{base}.{a.name}"
                add(sub if sub in known else base, node.lineno)
        elif isinstance(node, ast.Call) and _is_import_module(node) and node.args:
            pat = _pattern(node.args[0], module, package)
            if pat is not None:
                for m in known:
                    if re.fullmatch(pat, m):
                        out.append((m, node.lineno))
    return out


def import_graph(root=ROOT, folders=FOLDERS):
    """{module: {imported module: first line}} between the files of the mapped folders."""
    files = module_files(root, folders)
    graph = {}
    for m, path in files.items():
        edges = {}
        for target, line in imports_of(m, path, files):
            if target != m:
                edges.setdefault(target, line)
        graph[m] = edges
    return graph, files


def floor_of(module, folders=FOLDERS):
    """The floor of a module: the mapped folder with the longest matching package."""
    best = max((p for p in folders.values() if module == p or module.startswith(p + ".")), key=len)
    return next(f for f, p in folders.items() if p == best)


def cycles(graph):
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, {}):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sorted(out)


def one_cycle(graph, comp):
    """A shortest circle through the first module of the component ``comp``, as a path."""
    start, members = comp[0], set(comp)
    prev, frontier = {start: None}, [start]
    while frontier:
        nxt = []
        for v in frontier:
            for w in sorted(graph[v]):
                if w == start:
                    path = [v]
                    while prev[path[-1]] is not None:
                        path.append(prev[path[-1]])
                    return [start] + path[::-1][1:] + [start] if len(path) > 1 else [start, v, start]
                if w in members and w not in prev:
                    prev[w] = v
                    nxt.append(w)
        frontier = nxt
    return comp


def _where(graph, files, a, b):
    return f"{files[a].relative_to(ROOT)}:{graph[a][b]}"


def describe_cycles(graph, files):
    lines = []
    for comp in cycles(graph):
        path = one_cycle(graph, comp)
        lines.append(f"circle of {len(comp)} modules: {', '.join(comp)}")
        lines.append("  for example " + " -> ".join(
            f"{a} ({_where(graph, files, a, b)})" for a, b in zip(path, path[1:])) + f" -> {path[-1]}")
    return lines


def upward_imports(graph, files, folders=FOLDERS):
    """Lines naming every import of a higher floor (the face counts as api)."""
    rank = {f: i for i, f in enumerate(FLOORS)}
    out = []
    for a in sorted(graph):
        for b in sorted(graph[a]):
            fa, fb = floor_of(a, folders), floor_of(b, folders)
            if rank[fb] > rank[fa]:
                out.append(f"{fa}/ imports {fb}/: {a} -> {b} ({_where(graph, files, a, b)})")
    return out


# ---------------------------------------------------------------------- the tests

def test_no_import_circle_between_files():
    graph, files = import_graph()
    found = describe_cycles(graph, files)
    assert not found, "import circles (break each by moving the shared names down a floor):\n" + "\n".join(found)


def test_no_upward_import():
    graph, files = import_graph()
    found = upward_imports(graph, files)
    assert not found, "upward imports (numeric/ < proofs/ < api/):\n" + "\n".join(found)


def test_the_reader_sees_function_imports_and_import_module(tmp_path):
    """The graph reader on a small tree: imports inside functions, relative imports, the face
    and ``importlib.import_module`` with f-strings are all edges."""
    for folder, files in {
        "api": {"__init__.py": "from .cli import main\n", "cli.py": (
            "import importlib\nfor n in ('a',):\n    importlib.import_module(f'attnsparse.cmd_{n}')\n"),
                "cmd_a.py": "def f():\n    from .cli import main\n"},
        "proofs": {"__init__.py": "", "claim.py": "def g():\n    from ..numeric import check\n",
                   "claims/__init__.py": "", "claims/x.py": (
                       "import importlib\nimportlib.import_module(f'{__package__}.y')\n"),
                   "claims/y.py": "from .. import claim\n"},
        "numeric": {"__init__.py": "", "check.py": "def h():\n    import attnsparse as asp\n"},
    }.items():
        for name, text in files.items():
            p = tmp_path / folder / name
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text(text)
    graph, files = import_graph(tmp_path)
    assert set(graph["attnsparse.cli"]) == {"attnsparse.cmd_a"}
    assert set(graph["attnsparse.cmd_a"]) == {"attnsparse.cli"}
    assert set(graph["attnsparse.proofs.claims.x"]) == {"attnsparse.proofs.claims.y"}
    assert set(graph["attnsparse.proofs.claims.y"]) == {"attnsparse.proofs.claim"}
    assert set(graph["attnsparse.numeric.check"]) == {"attnsparse"}
    assert cycles(graph) == [["attnsparse.cli", "attnsparse.cmd_a"]]
    global ROOT
    old, ROOT = ROOT, tmp_path
    try:
        assert upward_imports(graph, files) == [
            "numeric/ imports api/: attnsparse.numeric.check -> attnsparse (numeric/check.py:2)"]
        assert "attnsparse.cli (api/cli.py:3) -> attnsparse.cmd_a" in describe_cycles(graph, files)[1]
    finally:
        ROOT = old


def test_proofs_and_catalogue_do_not_import_numba():
    code = ("import sys, attnsparse as asp; asp.claims(); "
            "[c.rhs for c in asp.claims()]; "
            "bad = sorted(m for m in sys.modules if m == 'numba' or m.startswith('numba.')); "
            "print(bad); sys.exit(1 if bad else 0)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
